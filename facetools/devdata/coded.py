"""Test videos whose frames show their own number as a row of black and white blocks (read back by :func:`read_code`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from facetools.io import ffmpeg

BITS = 10
_W, _H = 320, 240


def coded_frame(index: int) -> np.ndarray:
    """A grey frame with ``index`` in binary as blocks along the bottom, and a block that moves with it."""
    frame = np.full((_H, _W, 3), 60, np.uint8)
    for bit in range(BITS):
        frame[_H - 40 : _H - 8, 8 + bit * 30 : 34 + bit * 30] = 255 if (index >> bit) & 1 else 0
    x = (index * 2) % (_W - 40)
    frame[20:60, x : x + 40] = 200
    return frame


def read_code(frame: np.ndarray) -> int:
    """The number a :func:`coded_frame` shows (the frame may be scaled)."""
    f = np.asarray(frame, dtype=np.float32)
    h, w = f.shape[:2]
    y = int(round((_H - 24) * h / _H))
    return sum(int(f[y, int(round((21 + bit * 30) * w / _W))].mean() > 128) << bit for bit in range(BITS))


def write_coded_video(path: str | Path, frames: int = 150, fps: int = 25) -> Path:
    """H.264 (B-frames, a keyframe every 30 frames) of ``frames`` coded frames."""
    out = Path(path)
    cmd = [ffmpeg.binary("ffmpeg"), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{_W}x{_H}", "-r", str(fps),
           "-i", "-", "-c:v", "libx264", "-bf", "2", "-g", "30", "-pix_fmt", "yuv420p", str(out)]  # fmt: skip
    data = b"".join(coded_frame(i).tobytes() for i in range(frames))
    subprocess.run(cmd, input=data, check=True, timeout=120)
    return out
