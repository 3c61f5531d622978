"""Extraction checkpoints: a long extraction that crashes resumes at its last saved shot cut instead of starting over.

A checkpoint is taken at the start of a shot (every track of the shots before it is finished then,
and the shot detector starts afresh after a cut), so resuming there gives the same tracks as an
uninterrupted run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facetools.trackset.records import TrackRecord
from facetools.trackset.store import pack_records, save_arrays, unpack_records

VERSION = 1
CHECKPOINT_FILE = ".extract-checkpoint.npz"
"""Where ``facetools analyze --out DIR`` keeps it, until the run is saved."""


@dataclass
class ExtractState:
    """What extraction has gathered so far: face rows, their tracks, finished tracks, frame times, samples per shot."""

    rows: list[list[float]] = field(default_factory=list)
    row_track: list[int] = field(default_factory=list)
    records: list[TrackRecord] = field(default_factory=list)
    times: dict[int, float] = field(default_factory=dict)
    shot_samples: dict[int, int] = field(default_factory=dict)


@dataclass
class Checkpoint:
    """An :class:`ExtractState` up to frame ``resume_frame`` (a shot's first frame), and how to go on from there."""

    key: dict[str, Any]
    resume_frame: int
    shot: int
    cuts: list[int]
    next_track: int
    state: ExtractState

    def save(self, path: Path) -> None:
        s = self.state
        meta = {"version": VERSION, "key": self.key, "resume_frame": self.resume_frame, "shot": self.shot, "cuts": self.cuts,
                "next_track": self.next_track, "shot_samples": {str(k): v for k, v in s.shot_samples.items()}}  # fmt: skip
        frames = np.array(sorted(s.times), dtype=np.int64)
        save_arrays(path, {"meta": np.array(json.dumps(meta)), "rows": np.array(s.rows, dtype=np.float64).reshape(-1, 7),
                           "row_track": np.array(s.row_track, dtype=np.int64), "time_frames": frames,
                           "time_values": np.array([s.times[int(f)] for f in frames]), **pack_records(s.records)})  # fmt: skip


def key_of(video: str, extract_options: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the file (path, size, modification time) and the extraction options."""
    st = os.stat(video)
    return {
        "video": str(Path(video).resolve()),
        "size": st.st_size,
        "mtime": st.st_mtime,
        "options": json.loads(json.dumps(extract_options)),
    }


def load_checkpoint(path: Path, key: dict[str, Any]) -> Checkpoint | None:
    """The checkpoint at ``path`` when it belongs to this video and these options, else ``None``."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError):
        return None
    if meta.get("version") != VERSION or meta.get("key") != key:
        return None
    state = ExtractState(
        rows=data["rows"].tolist(), row_track=data["row_track"].tolist(), records=unpack_records(data),
        times=dict(zip(data["time_frames"].tolist(), data["time_values"].tolist())),
        shot_samples={int(k): int(v) for k, v in meta["shot_samples"].items()},
    )  # fmt: skip
    return Checkpoint(key, int(meta["resume_frame"]), int(meta["shot"]), [int(c) for c in meta["cuts"]], int(meta["next_track"]), state)
