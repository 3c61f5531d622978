"""The result of a run, ``Analysis``, and its files (the contract of DESIGN.md)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from facetools.geometry import interpolate_boxes
from facetools.intervals import overlap_seconds
from facetools.io.probe import VideoInfo
from facetools.stages.identity import Identity

FACE_COLUMNS = ["frame", "time_s", "x1", "y1", "x2", "y2", "score", "track", "identity"]
TRACK_COLUMNS = ["track", "identity", "shot", "faces", "first_frame", "last_frame", "start_s", "end_s"]
# identities.json is written last: its presence means the directory is complete.
CONTRACT_FILES = [
    "faces.csv",
    "tracks.csv",
    "embeddings.npy",
    "run.json",
    "utilization.csv",
    "timeline.png",
    "utilization.png",
    "identities.json",
]


@dataclass
class Analysis:
    """Who appears in a video, when, and how the run went.

    Attributes:
        video: the probed input.
        faces: one row per detected face (``FACE_COLUMNS``).
        tracks: one row per track (``TRACK_COLUMNS``).
        identities: people, sorted by screen time, largest first.
        embedder: name of the embedder used.
        run: versions, device, config, counts, stage timings, speed, memory.
        utilization: samples of the resource monitor.
        thumbnails: best face (RGB uint8) per identity id.
    """

    video: VideoInfo
    faces: pd.DataFrame
    tracks: pd.DataFrame
    identities: list[Identity]
    embedder: str
    run: dict[str, Any]
    utilization: pd.DataFrame
    thumbnails: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def identity(self, key: int | str) -> Identity:
        """The identity with id or name ``key``."""
        for person in self.identities:
            if person.id == key or person.name == key:
                return person
        raise KeyError(key)

    def boxes_at(self, frame: int) -> pd.DataFrame:
        """Every track's box at ``frame``: detected there, or interpolated between its detections.

        Columns: ``track, identity, x1, y1, x2, y2, detected``.
        """
        rows = []
        for track, g in self.faces.groupby("track"):
            frames = g["frame"].to_numpy()
            if track < 0 or not frames[0] <= frame <= frames[-1]:
                continue
            box = interpolate_boxes(frames, g[["x1", "y1", "x2", "y2"]].to_numpy(np.float32), np.array([frame]))[0]
            rows.append([int(track), int(g["identity"].iloc[0]), *box.tolist(), bool(frame in frames)])
        return pd.DataFrame(rows, columns=["track", "identity", "x1", "y1", "x2", "y2", "detected"])

    def co_appearance(self) -> pd.DataFrame:
        """Seconds each pair of identities is on screen together (the diagonal: screen time)."""
        names = [p.name for p in self.identities]
        together = np.array([[overlap_seconds(a.segments, b.segments) for b in self.identities] for a in self.identities])
        return pd.DataFrame(together.reshape(len(names), len(names)), index=names, columns=names)

    def summary(self) -> pd.DataFrame:
        """One row per identity: name, screen time, faces, first and last appearance."""
        return pd.DataFrame(
            [{k: v for k, v in p.to_dict().items() if k not in ("segments", "tracks", "thumbnail")} for p in self.identities],
            columns=["id", "name", "faces", "screen_time_s", "first_s", "last_s"],
        )

    def identities_json(self) -> dict[str, Any]:
        return {"video": self.video.path, "embedder": self.embedder, "identities": [p.to_dict() for p in self.identities]}

    def save(self, out_dir: str | os.PathLike[str]) -> Path:
        """Write the contract files to ``out_dir``; returns it.

        Everything is written to a temporary folder first and moved in with
        ``identities.json`` last, so an interrupted save never looks complete.
        """
        from facetools.outputs import plots

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "identities.json").unlink(missing_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".facetools-", dir=out))
        try:
            self.faces.to_csv(tmp / "faces.csv", index=False)
            self.tracks.to_csv(tmp / "tracks.csv", index=False)
            self.utilization.to_csv(tmp / "utilization.csv", index=False)
            (tmp / "run.json").write_text(json.dumps(self.run, indent=2, default=str))
            embeddings = np.stack([p.embedding for p in self.identities]) if self.identities else np.zeros((0, 0), np.float32)
            np.save(tmp / "embeddings.npy", embeddings)
            thumbs = tmp / "thumbnails"
            thumbs.mkdir()
            for person in self.identities:
                if person.id in self.thumbnails:
                    person.thumbnail = f"thumbnails/identity_{person.id}.jpg"
                    Image.fromarray(self.thumbnails[person.id]).save(tmp / person.thumbnail, quality=92)
            plots.save(plots.timeline(self), tmp / "timeline.png")
            plots.save(plots.utilization(self.utilization), tmp / "utilization.png")
            (tmp / "identities.json").write_text(json.dumps(self.identities_json(), indent=2))
            shutil.rmtree(out / "thumbnails", ignore_errors=True)
            os.replace(thumbs, out / "thumbnails")
            for name in CONTRACT_FILES:
                os.replace(tmp / name, out / name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return out

    @classmethod
    def load(cls, out_dir: str | os.PathLike[str]) -> Analysis:
        """Read an analysis written by :meth:`save`."""
        out = Path(out_dir)
        if not (out / "identities.json").is_file():
            from facetools.errors import InputValidationError

            raise InputValidationError(f"{out}: no complete analysis here (identities.json missing)")
        meta = json.loads((out / "identities.json").read_text())
        run = json.loads((out / "run.json").read_text())
        embeddings = np.load(out / "embeddings.npy") if (out / "embeddings.npy").is_file() else np.zeros((0, 0))
        identities = []
        thumbnails = {}
        for k, d in enumerate(meta["identities"]):
            emb = embeddings[k] if k < len(embeddings) else np.zeros(0)
            identities.append(Identity(d["id"], d["name"], d["tracks"], d["faces"], [tuple(s) for s in d["segments"]], emb, d["thumbnail"]))
            if d["thumbnail"] and (out / d["thumbnail"]).is_file():
                thumbnails[d["id"]] = np.asarray(Image.open(out / d["thumbnail"]).convert("RGB"))
        return cls(
            video=VideoInfo(**run["video"]),
            faces=pd.read_csv(out / "faces.csv"),
            tracks=pd.read_csv(out / "tracks.csv"),
            identities=identities,
            embedder=meta["embedder"],
            run=run,
            utilization=pd.read_csv(out / "utilization.csv"),
            thumbnails=thumbnails,
        )
