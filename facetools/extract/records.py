"""What a finished track keeps (``TrackRecord``: its best faces embedded, their quality, a thumbnail) and its time on screen."""

from __future__ import annotations

import numpy as np

from facetools.extract.embed import Embedder, embed_patches
from facetools.extract.faces import square_crop
from facetools.extract.tracker import Track
from facetools.trackset.records import TrackRecord


def track_records(tracks: list[Track], embedder: Embedder) -> list[TrackRecord]:
    """Embed finished tracks' kept faces in one batch and keep what identification needs (spans are set at the end)."""
    vectors = embed_patches(embedder, [p for t in tracks for p in t.patches])
    out, start = [], 0
    for t in tracks:
        faces = vectors[start : start + len(t.patches)]
        start += len(t.patches)
        mean = faces.mean(0)
        quality = np.array([[p.quality, p.height, p.yaw, p.sharpness] for p in t.patches], dtype=np.float32)
        best = t.best_patch
        out.append(
            TrackRecord(
                t.id,
                t.shot,
                np.asarray(t.frames),
                (0.0, 0.0),
                mean / np.linalg.norm(mean),
                faces,
                quality,
                square_crop(best.image, best.box),
            )  # fmt: skip
        )
    return out


def set_spans(records: list[TrackRecord], frame_times: np.ndarray, cuts: list[int], stride: int) -> None:
    """Each track's on-screen interval: its first face to one detection step after its last, within its shot.

    ``frame_times`` holds each frame's time (NaN for frames that could not be decoded).
    """
    decoded = np.flatnonzero(~np.isnan(frame_times))
    step = float(np.nanmedian(np.diff(frame_times))) if len(decoded) > 1 else 0.04
    end_of_video = float(frame_times[decoded[-1]]) + step if len(decoded) else 0.0
    cut_array = np.asarray(cuts, dtype=np.int64)
    for t in records:
        start = float(frame_times[t.frames[0]])
        end = float(frame_times[t.frames[-1]]) + step * stride
        later = cut_array[cut_array > t.frames[-1]]
        limit = float(frame_times[later[0]]) if len(later) else end_of_video
        t.span = (start, min(end, limit))


def frame_rate_varies(frame_times: np.ndarray) -> bool:
    """Frame intervals differ by more than 10 % from their median somewhere (a variable frame rate)."""
    steps = np.diff(frame_times[~np.isnan(frame_times)])
    if len(steps) < 2:
        return False
    median = float(np.median(steps))
    return bool(median > 0 and np.any(np.abs(steps - median) > 0.1 * median))
