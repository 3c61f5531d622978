"""Choosing a decoder backend: the ffmpeg pipe or decord, behind the loader interface of :mod:`facetools.io.loader`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from facetools.errors import InputValidationError
from facetools.io.loader import FrameBatch, FrameLoader, read_frames
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
        return DecordLoader(info, **options), "decord: asked for"
    return FrameLoader(info, **options), AUTO_REASON if decoder == "auto" else "ffmpeg: asked for"


def read_frames_by(decoder: str, info: VideoInfo, indices: Sequence[int], times: np.ndarray | None = None) -> FrameBatch:
    """Random access through the backend that made a run (``decoder`` as recorded: ``ffmpeg-cpu``, ``decord-cpu``)."""
    if decoder.startswith("decord"):
        from facetools.io.decord_backend import read_frames_decord

        return read_frames_decord(info, indices)
    return read_frames(info, indices, times=times)
