"""Every frame's time by its number: the table that makes random access frame-exact."""

from __future__ import annotations

import functools
import os

import numpy as np

from facetools.errors import VideoDecodeError
from facetools.io import ffmpeg
from facetools.io.probe import VideoInfo


def interval(table: np.ndarray, i: int) -> float:
    """The time from frame ``i`` to its neighbour (the next, or the previous for the last frame)."""
    if len(table) < 2:
        return 1.0
    j = min(int(i), len(table) - 2)
    return float(max(table[j + 1] - table[j], 1e-3))


@functools.lru_cache(maxsize=16)
def _packet_times(path: str, size: int, mtime: float, start: float) -> np.ndarray:
    out = ffmpeg.run(
        ["ffprobe", "-v", "error", "-select_streams", "V:0", "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", path],
        timeout=300,
        what="ffprobe could not list the video's packets",
    )
    times = []
    for line in out.decode(errors="replace").splitlines():
        pts, _, flags = line.partition(",")
        if "D" not in flags and pts not in ("", "N/A"):
            times.append(float(pts) - start)
    return np.sort(np.asarray(times, dtype=np.float64))


def frame_times(info: VideoInfo) -> np.ndarray:
    """Every frame's time (presentation time minus the container's start) from the demuxer's packets.

    Fast (no decoding); packets an edit list discards are left out and B-frame reordering is
    undone by sorting. A sequential pass's own times (stored with an analysis) are preferred
    where they exist: they also reflect frames a damaged file could not give.
    """
    st = os.stat(info.path)
    table = _packet_times(info.path, st.st_size, st.st_mtime, info.start_s)
    if len(table) == 0:
        raise VideoDecodeError(f"{info.path}: the video stream holds no frames with timestamps")
    return table.copy()
