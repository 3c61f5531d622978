"""Choosing a decoder backend: the ffmpeg pipe or decord, behind the loader interface of :mod:`facetools.io.loader`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from facetools.errors import InputValidationError, VideoDecodeError
from facetools.io.frame_table import frame_times
from facetools.io.loader import FrameBatch, FrameLoader
from facetools.io.probe import VideoInfo

DECODERS = ("auto", "ffmpeg", "decord")
AUTO_REASON = (
    "auto: the ffmpeg pipe (on the CPU it decodes about twice as fast as decord and its memory stays flat with "
    "video length; benchmarks/decode.py)"
)


def open_loader(info: VideoInfo, decoder: str = "auto", **options: Any) -> tuple[Any, str]:
    """A streaming loader for ``info`` by ``decoder`` name, and why it was chosen (recorded in run.json).

    ``decord`` raises :class:`~facetools.io.decord_backend.DecordUnsupported` for inputs it cannot be
    trusted with (rotation, variable frame rate, unopenable files).
    """
    if decoder not in DECODERS:
        raise InputValidationError(f"unknown decoder {decoder!r}: use {', '.join(DECODERS)}")
    if decoder == "decord":
        from facetools.io.decord_backend import DecordLoader

        options.pop("times", None)
        options.pop("sample_every", None)  # decord converts every frame it decodes
        return DecordLoader(info, **options), "decord: asked for"
    return FrameLoader(info, **options), AUTO_REASON if decoder == "auto" else "ffmpeg: asked for"


def read_frames_by(decoder: str, info: VideoInfo, indices: Sequence[int], times: np.ndarray | None = None) -> FrameBatch:
    """Random access through the backend that made a run (``decoder`` as recorded: ``ffmpeg-cpu``, ``decord-cpu``)."""
    if decoder.startswith("decord"):
        from facetools.io.decord_backend import read_frames_decord

        return read_frames_decord(info, indices)
    return read_frames(info, indices, times=times)


def read_frames(info: VideoInfo, indices: Sequence[int], max_side: int = 3840, times: np.ndarray | None = None) -> FrameBatch:
    """Frames ``indices`` of the video (random access), one ffmpeg seek per run of consecutive indices.

    ``times`` is every frame's time from a sequential pass (an analysis stores it); without it
    the times come from the demuxer (:func:`frame_times`).

    About 0.3-0.5 s a seek on 1080p H.264 here, and no memory kept afterwards: one random read
    through decord left 1.5-2.4 GiB of frames decoded ahead behind it.
    """
    wanted = sorted(set(int(i) for i in indices))
    runs: list[list[int]] = []
    for i in wanted:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    table = frame_times(info) if times is None else times
    batches = [b for run in runs for b in FrameLoader(info, max_side=max_side, first=run[0], count=len(run), times=table)]
    if not batches:
        raise VideoDecodeError(f"{info.path}: frames {list(indices)[:5]} could not be read")
    got = FrameBatch(torch.cat([b.frames for b in batches]), np.concatenate([b.indices for b in batches]),
                     np.concatenate([b.times for b in batches]), batches[0].scale)  # fmt: skip
    missing = sorted(set(wanted) - set(got.indices.tolist()))
    if missing:
        raise VideoDecodeError(f"{info.path}: frames {missing[:5]} could not be read")
    pick = [int(np.flatnonzero(got.indices == int(i))[0]) for i in indices]
    return FrameBatch(got.frames[pick], got.indices[pick], got.times[pick], got.scale)
