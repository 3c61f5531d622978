"""The run directory's stored tracks (``tracks.npz``, versioned) and the user's edits (``edits.json``)."""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from facetools.errors import InputValidationError
from facetools.io.probe import VideoInfo
from facetools.trackset.records import EmbeddingSpace, RunInfo, TrackRecord, TrackSet

SCHEMA_VERSION = 1
TRACKS_FILE = "tracks.npz"
EDITS_FILE = "edits.json"
_FACE_FIELDS = ["frame", "time_s", "x1", "y1", "x2", "y2", "score", "track"]


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` and move the result to ``path`` only once it is complete."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def save_tracks(tracks: TrackSet, run_dir: str | os.PathLike[str]) -> Path:
    """Write ``tracks`` to ``run_dir/tracks.npz`` (atomically); returns the file."""
    out = Path(run_dir) / TRACKS_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    recs = tracks.tracks
    dim = recs[0].embedding.shape[0] if recs else 0
    meta = {
        "schema": SCHEMA_VERSION,
        "video": tracks.video.to_dict(),
        "cuts": tracks.cuts,
        "shot_samples": {str(k): v for k, v in tracks.shot_samples.items()},
        "space": asdict(tracks.space),
        "run": asdict(tracks.run),
        "gallery": sorted(tracks.gallery),
        "utilization": tracks.utilization.to_csv(index=False),
    }
    arrays: dict[str, np.ndarray] = {
        "meta": np.array(json.dumps(meta)),
        "frame_times": tracks.frame_times,
        **pack_records(recs),
        "gallery_embeddings": np.stack([tracks.gallery[n] for n in sorted(tracks.gallery)]) if tracks.gallery else np.zeros((0, dim)),
    }
    for name in _FACE_FIELDS:  # typed even when empty (an empty column is an object array, which needs pickle)
        arrays[f"faces_{name}"] = tracks.faces[name].to_numpy(np.int64 if name in ("frame", "track") else np.float64)
    save_arrays(out, arrays)
    return out


def pack_records(recs: list[TrackRecord]) -> dict[str, np.ndarray]:
    """Stored tracks as flat arrays (read back by :func:`unpack_records`)."""
    dim = recs[0].embedding.shape[0] if recs else 0
    return {
        "track_id": np.array([r.id for r in recs], dtype=np.int64),
        "track_shot": np.array([r.shot for r in recs], dtype=np.int64),
        "track_span": np.array([r.span for r in recs], dtype=np.float64).reshape(-1, 2),
        "track_embedding": np.stack([r.embedding for r in recs]).astype(np.float32) if recs else np.zeros((0, dim), np.float32),
        "track_frames": np.concatenate([r.frames for r in recs]).astype(np.int64) if recs else np.zeros(0, np.int64),
        "frame_offsets": np.cumsum([0] + [len(r.frames) for r in recs]),
        "face_embeddings": np.concatenate([r.face_embeddings for r in recs]).astype(np.float32) if recs else np.zeros((0, dim)),
        "face_quality": np.concatenate([r.face_quality for r in recs]).astype(np.float32) if recs else np.zeros((0, 4)),
        "face_offsets": np.cumsum([0] + [len(r.face_embeddings) for r in recs]),
        "thumbnails": np.stack([r.thumbnail for r in recs]) if recs else np.zeros((0, 160, 160, 3), np.uint8),
    }


def unpack_records(data: dict[str, np.ndarray]) -> list[TrackRecord]:
    """The tracks of :func:`pack_records`' arrays."""
    fo, eo = data["frame_offsets"], data["face_offsets"]
    return [
        TrackRecord(
            int(tid),
            int(data["track_shot"][k]),
            data["track_frames"][fo[k] : fo[k + 1]],
            tuple(data["track_span"][k]),
            data["track_embedding"][k],
            data["face_embeddings"][eo[k] : eo[k + 1]],
            data["face_quality"][eo[k] : eo[k + 1]],
            data["thumbnails"][k],
        )  # fmt: skip
        for k, tid in enumerate(data["track_id"])
    ]


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` to ``path``, atomically."""
    atomic_write(path, lambda tmp: _savez(tmp, arrays))


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def load_tracks(run_dir: str | os.PathLike[str]) -> TrackSet:
    """Read ``run_dir/tracks.npz``; a missing file or another schema gives a one-line error saying what to re-run."""
    path = Path(run_dir) / TRACKS_FILE
    if not path.is_file():
        raise InputValidationError(f"{run_dir}: no stored tracks ({TRACKS_FILE}); run `facetools analyze VIDEO --out {run_dir}` first")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError) as exc:
        raise InputValidationError(f"{path}: unreadable stored tracks ({exc}); re-run `facetools analyze`") from exc
    if meta.get("schema") != SCHEMA_VERSION:
        raise InputValidationError(
            f"{path}: stored with schema {meta.get('schema')}, this facetools reads schema {SCHEMA_VERSION}; re-run `facetools analyze`"
        )
    records = unpack_records(data)
    faces = pd.DataFrame({name: data[f"faces_{name}"] for name in _FACE_FIELDS})
    return TrackSet(
        video=VideoInfo(**meta["video"]),
        frame_times=data["frame_times"],
        cuts=[int(c) for c in meta["cuts"]],
        shot_samples={int(k): int(v) for k, v in meta["shot_samples"].items()},
        faces=faces,
        tracks=records,
        space=EmbeddingSpace(**meta["space"]),
        run=RunInfo(**meta["run"]),
        utilization=pd.read_csv(io.StringIO(meta["utilization"])),
        gallery=dict(zip(meta["gallery"], data["gallery_embeddings"])),
    )


@dataclass
class Edits:
    """A user's corrections, as facts about tracks (identity numbers change between runs; tracks do not).

    Attributes:
        names: a name → the tracks it was given to.
        must_link: groups of tracks that are one person (merges, hand assignments).
        cannot_link: pairs of tracks that are two people.
    """

    names: dict[str, list[int]] = field(default_factory=dict)
    must_link: list[list[int]] = field(default_factory=list)
    cannot_link: list[list[int]] = field(default_factory=list)

    def save(self, run_dir: str | os.PathLike[str]) -> Path:
        path = Path(run_dir) / EDITS_FILE
        atomic_write(path, lambda tmp: tmp.write_text(json.dumps({"version": 1, **asdict(self)}, indent=2), encoding="utf-8"))
        return path

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str]) -> Edits:
        """The edits saved in ``run_dir`` (none when it has no ``edits.json``)."""
        path = Path(run_dir) / EDITS_FILE
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls({str(k): [int(t) for t in v] for k, v in data.get("names", {}).items()},
                       [[int(t) for t in g] for g in data.get("must_link", [])],
                       [[int(t) for t in p] for p in data.get("cannot_link", [])])  # fmt: skip
        except (ValueError, TypeError, AttributeError) as exc:
            raise InputValidationError(f"{path}: not a valid edits file ({exc})") from exc
