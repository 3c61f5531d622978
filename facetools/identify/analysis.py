"""What identification finds in a run, ``Identification``: identities, the unidentified faces, timelines, suggestions."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from facetools.config import Config
from facetools.errors import InputValidationError
from facetools.geometry import interpolate_boxes
from facetools.identify.identities import Identity
from facetools.identify.suggestions import Suggestion
from facetools.intervals import overlap_seconds
from facetools.io.probe import VideoInfo
from facetools.trackset.records import RunInfo, TrackSet
from facetools.trackset.store import TRACKS_FILE, Edits


@dataclass
class Unidentified:
    """The faces no identity could vouch for: shown, not hidden, and assignable by hand."""

    tracks: list[int]
    faces: int
    segments: list[tuple[float, float]]
    best_tracks: list[int] = field(default_factory=list)
    thumbnails: list[str] = field(default_factory=list)

    @property
    def screen_time_s(self) -> float:
        return float(sum(e - s for s, e in self.segments))

    def to_dict(self) -> dict[str, Any]:
        return {"faces": self.faces, "tracks": self.tracks, "screen_time_s": round(self.screen_time_s, 3),
                "segments": [[round(s, 3), round(e, 3)] for s, e in self.segments], "thumbnails": self.thumbnails}  # fmt: skip


@dataclass
class Identification:
    """Who appears in a video, when, and how the run went (saved with its files by :class:`facetools.outputs.analysis.Analysis`).

    Attributes:
        trackset: the stored tracks it was identified from.
        faces: one row per detected face (``FACE_COLUMNS``).
        tracks: one row per track (``TRACK_COLUMNS``).
        identities: people, sorted by screen time, largest first.
        unidentified: the faces left without an identity.
        run: versions, device, config, counts, stage timings, speed, memory, thresholds.
        thumbnails: best face (RGB uint8) per identity id.
        edits: the user's corrections that were applied.
        suggestions: pairs of identities that may be one person, best first (for the user to answer).
    """

    trackset: TrackSet = field(repr=False)
    faces: pd.DataFrame
    tracks: pd.DataFrame
    identities: list[Identity]
    unidentified: Unidentified
    run: RunInfo
    thumbnails: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    edits: Edits = field(default_factory=Edits)
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def video(self) -> VideoInfo:
        return self.trackset.video

    @property
    def embedder(self) -> str:
        return self.run.embedder

    @property
    def utilization(self) -> pd.DataFrame:
        return self.trackset.utilization

    @property
    def frame_times(self) -> np.ndarray:
        """Every decoded frame's time by frame number (NaN where a frame could not be decoded)."""
        return self.trackset.frame_times

    def frame_at(self, seconds: float) -> int:
        """The number of the frame on screen at ``seconds``."""
        times = self.frame_times
        return int(np.clip(np.searchsorted(np.nan_to_num(times, nan=-1.0), seconds + 1e-6, side="right") - 1, 0, len(times) - 1))

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

    def faces_of(self, identity: int, count: int = 4) -> list[np.ndarray]:
        """The thumbnails of an identity's best tracks (by their best face's quality), best first."""
        by_id = {r.id: r for r in self.trackset.tracks}
        best = sorted((by_id[t] for t in self.identity(identity).tracks), key=lambda r: -r.quality)
        return [r.thumbnail for r in best[:count]]

    def co_appearance(self) -> pd.DataFrame:
        """Seconds each pair of identities is on screen together (the diagonal: screen time)."""
        names = [p.name for p in self.identities]
        together = np.array([[overlap_seconds(a.segments, b.segments) for b in self.identities] for a in self.identities])
        return pd.DataFrame(together.reshape(len(names), len(names)), index=names, columns=names)

    def summary(self) -> pd.DataFrame:
        """One row per identity (name, faces, screen time, first and last appearance), then one for the unidentified faces."""
        rows = [{k: v for k, v in p.to_dict().items() if k not in ("segments", "tracks", "thumbnail")} for p in self.identities]
        loose = self.unidentified
        if loose.tracks:
            first, last = loose.segments[0][0], loose.segments[-1][1]
            rows.append({"id": -1, "name": f"unidentified ({len(loose.tracks)} tracks)", "faces": loose.faces,
                         "screen_time_s": round(loose.screen_time_s, 3), "first_s": first, "last_s": last})  # fmt: skip
        return pd.DataFrame(rows, columns=["id", "name", "faces", "screen_time_s", "first_s", "last_s"])

    def identities_json(self) -> dict[str, Any]:
        return {"video": self.video.path, "embedder": self.embedder, "space": self.trackset.space.key,
                "identities": [p.to_dict() for p in self.identities], "unidentified": self.unidentified.to_dict(),
                "suggestions": [s.to_dict() for s in self.suggestions]}  # fmt: skip


def stored_config(out_dir: str | os.PathLike[str]) -> Config:
    """The options of a complete run directory's last identification (from its ``run.json``)."""
    out = Path(out_dir)
    if not (out / "identities.json").is_file():
        raise InputValidationError(f"{out}: no complete analysis here (identities.json missing)")
    if not (out / TRACKS_FILE).is_file():
        raise InputValidationError(f"{out}: made by an older facetools without stored tracks; re-run `facetools analyze`")
    return Config.from_dict(json.loads((out / "run.json").read_text())["config"])
