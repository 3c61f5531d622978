"""Probing a video file: what ffprobe says about it, checked before any decoding."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from facetools.errors import FFmpegError, InputValidationError
from facetools.io import ffmpeg

_MAGIC = {
    b"PK\x03\x04": "a ZIP archive",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
}


@dataclass(frozen=True)
class VideoInfo:
    """What ffprobe says about a video file, before any decoding.

    ``width`` and ``height`` are those of the frames as displayed (after ``rotation``).
    ``frame_count`` is the container's count where it has one (``frame_count_exact``), else
    duration × frame rate. Times are on the one time base of the project: a frame's presentation
    time minus the container's start time ``start_s`` (the position a player shows, what
    ``ffmpeg -ss`` seeks to); ``video_start_s`` is where the video stream starts on it.
    """

    path: str
    width: int
    height: int
    fps: float
    duration_s: float
    frame_count: int
    codec: str
    pixel_format: str
    variable_frame_rate: bool
    rotation: int
    has_audio: bool
    frame_count_exact: bool = True
    start_s: float = 0.0
    video_start_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fraction(text: str) -> float:
    num, _, den = text.partition("/")
    try:
        value = float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return 0.0
    return value


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return int(round(float(side["rotation"]))) % 360
    return int(stream.get("tags", {}).get("rotate", 0)) % 360


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Validate ``path`` and describe its first video stream.

    Raises:
        InputValidationError: the file is missing, empty, unreadable or holds no video stream.
    """
    p = Path(path)
    if not p.exists():
        raise InputValidationError(f"{p}: file not found")
    if not p.is_file():
        raise InputValidationError(f"{p}: not a regular file")
    if p.stat().st_size == 0:
        raise InputValidationError(f"{p}: file is empty")
    try:
        with p.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise InputValidationError(f"{p}: cannot read file ({exc.strerror})") from exc
    kind = next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)
    if kind:
        raise InputValidationError(f"{p}: not a video: looks like {kind}")
    try:
        out = ffmpeg.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(p)],
            timeout=60,
            what="ffprobe failed",
        )
    except FFmpegError as exc:
        lines = [line.split("] ")[-1].strip() for line in exc.stderr.strip().splitlines() if line.strip()]
        detail = f" (ffprobe: {lines[-1][:120]})" if lines else ""
        raise InputValidationError(f"{p}: not a recognised video container{detail}") from exc
    meta = json.loads(out or b"{}")
    streams = meta.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")), None)
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    if video is None:
        reason = "no video stream (audio only)" if has_audio else "no video stream"
        raise InputValidationError(f"{p}: {reason}")
    width, height = int(video.get("width", 0)), int(video.get("height", 0))
    if width <= 0 or height <= 0:
        raise InputValidationError(f"{p}: video stream has no frame size")
    rotation = _rotation(video)
    if rotation in (90, 270):  # decord, like ffmpeg, returns frames as displayed
        width, height = height, width
    real_rate = _fraction(video.get("r_frame_rate", "0/1"))
    avg_rate = _fraction(video.get("avg_frame_rate", "0/1"))
    fps = avg_rate or real_rate
    if fps <= 0:
        raise InputValidationError(f"{p}: video stream has no frame rate")
    duration = float(video.get("duration") or meta.get("format", {}).get("duration") or 0.0)
    frames = int(video.get("nb_frames") or round(duration * fps))
    start = _seconds(meta.get("format", {}).get("start_time"))
    return VideoInfo(
        path=str(p),
        width=width,
        height=height,
        fps=fps,
        duration_s=duration,
        frame_count=frames,
        codec=str(video.get("codec_name", "unknown")),
        pixel_format=str(video.get("pix_fmt", "unknown")),
        variable_frame_rate=bool(real_rate and avg_rate and abs(real_rate - avg_rate) / real_rate > 0.01),
        rotation=rotation,
        has_audio=has_audio,
        frame_count_exact=bool(video.get("nb_frames")),
        start_s=start,
        video_start_s=round(_seconds(video.get("start_time"), start) - start, 6),
    )


def _seconds(text: Any, default: float = 0.0) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return default


def decode_size(info: VideoInfo, max_side: int) -> tuple[int, int]:
    """Frame size to decode at: the original, or scaled so its long side is ``max_side``."""
    long_side = max(info.width, info.height)
    if long_side <= max_side:
        return info.width, info.height
    s = max_side / long_side
    return max(2, int(round(info.width * s / 2)) * 2), max(2, int(round(info.height * s / 2)) * 2)
