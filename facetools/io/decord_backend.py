"""Reading a video's frames through decord, with memory bounded by parking the reader after each chunk.

decord's ``VideoReader`` feeds its decoder thread through unbounded queues: while ``get_batch``
waits for a frame, the caller's thread keeps demuxing packets into the decoder's queue (often the
rest of the file), and the decoder thread then turns every one of them into an RGB frame in the
background, whether anyone reads it or not. ``seek`` clears both queues and joins that thread, so
this module reads one chunk (at most ``chunk_frames`` frames, never across a keyframe) per
``get_batch`` and calls ``seek(0)`` right after it: the reader is parked, and the next chunk
seeks to its keyframe and decodes forward to where the last one stopped.

decord is imported lazily (never at package import), always after torch, and without its preload
of the pip CUDA libraries, which the CPU wheel does not use and which otherwise load libnvblas
(it takes over torch's CPU matrix products) and add about 630 MiB of resident libraries.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

import numpy as np
import torch

from facetools.errors import FacetoolsError, FFmpegError, VideoDecodeError
from facetools.io import ffmpeg
from facetools.io.batches import FrameBatch, QueuedLoader
from facetools.io.probe import VideoInfo, decode_size

CHUNK_FRAMES = 32
"""Most frames one ``get_batch`` decodes before the reader is parked."""


class DecordUnsupported(FacetoolsError):
    """decord cannot (or cannot be trusted to) decode this input; the message says why. Use the ffmpeg loader."""


_import_lock = threading.Lock()


def import_decord() -> ModuleType:
    """Import decord safely: after torch, and with ``nvidia`` hidden from its CUDA-library preload.

    Raises:
        DecordUnsupported: decord (the ``decord2`` package) is not installed.
    """
    if "decord" in sys.modules:
        return sys.modules["decord"]
    with _import_lock:
        if "decord" in sys.modules:
            return sys.modules["decord"]
        # decord's import dlopens every library of the nvidia-* pip packages (for its CUDA wheels);
        # importlib.util.find_spec("nvidia") answers None while sys.modules holds None for it.
        saved = sys.modules.get("nvidia")
        sys.modules["nvidia"] = None  # type: ignore[assignment]
        try:
            import decord
        except ImportError as exc:
            raise DecordUnsupported(f"decord is not installed ({exc}): pip install decord2") from exc
        finally:
            if saved is None:
                sys.modules.pop("nvidia", None)
            else:
                sys.modules["nvidia"] = saved
        return decord


def unsupported_reason(info: VideoInfo) -> str | None:
    """Why decord should not decode ``info``'s video (checked from the probe, before opening it), or None."""
    if info.variable_frame_rate:
        return "variable frame rate"
    if info.rotation:
        return f"rotation metadata ({info.rotation}°)"
    return None


def _first_line(exc: BaseException) -> str:
    """The gist of a decord exception: its last informative line, without ``[time] file.cc:N:`` prefixes."""
    lines = [re.sub(r"\[\d\d:\d\d:\d\d\] \S+:\d+: ", "", line).strip() for line in str(exc).strip().splitlines()]
    lines = [line for line in lines if line and not line.startswith(("Stack trace", "[bt]"))]
    return (lines[0] if lines else type(exc).__name__)[:160]


def _video_start(info: VideoInfo) -> float:
    """Where the video stream starts on the project's time base (its start time minus the container's)."""
    known = getattr(info, "video_start_s", None)
    if known is not None and hasattr(info, "start_s"):
        return float(known)
    entries = ["-show_entries", "stream=start_time:format=start_time"]
    try:
        out = ffmpeg.run(
            ["ffprobe", "-v", "error", "-select_streams", "V:0", *entries, "-of", "json", info.path], timeout=60, what="ffprobe failed"
        )
    except FFmpegError:
        return 0.0
    meta = json.loads(out or b"{}")

    def seconds(text: Any) -> float | None:
        try:
            return float(text)
        except (TypeError, ValueError):
            return None

    stream = seconds(next(iter(meta.get("streams", [])), {}).get("start_time"))
    container = seconds(meta.get("format", {}).get("start_time"))
    return stream - (container or 0.0) if stream is not None else 0.0


class _Reader:
    """One decord ``VideoReader`` at a given size, its frame times on the project's time base, and its keyframes."""

    def __init__(self, info: VideoInfo, size: tuple[int, int], threads: int | None = None) -> None:
        if reason := unsupported_reason(info):
            raise DecordUnsupported(f"{info.path}: decord is not used for this input: {reason}")
        self.info = info
        self.size = size
        self.threads = threads or min(4, os.cpu_count() or 1)
        self.vr = self._open()
        self.frame_count = len(self.vr)
        if self.frame_count == 0:
            raise DecordUnsupported(f"{info.path}: decord finds no video frame in the file")
        stamps = np.asarray(self.vr.get_frame_timestamp(np.arange(self.frame_count)), np.float64)[:, 0]
        # decord gives float32 seconds from the stream's first timestamp; the project counts from the container's start
        self.times = np.round(stamps + _video_start(info), 6)
        keys = np.asarray(self.vr.get_key_indices(), np.int64)
        self.keyframes = keys if len(keys) and keys[0] == 0 else np.concatenate([[0], keys]).astype(np.int64)

    def _open(self) -> Any:
        decord = import_decord()
        self.to_torch = decord.bridge.to_torch
        width, height = self.size if self.size != (self.info.width, self.info.height) else (-1, -1)
        try:
            return decord.VideoReader(self.info.path, ctx=decord.cpu(0), width=width, height=height, num_threads=self.threads)
        except Exception as exc:  # decord raises DECORDError or RuntimeError with a C++ trace
            raise DecordUnsupported(f"{self.info.path}: decord cannot open the video ({_first_line(exc)})") from exc

    def read(self, indices: Sequence[int]) -> torch.Tensor:
        """Frames ``indices`` (ascending) as one ``N×H×W×3`` uint8 tensor; the reader is parked again before returning.

        Raises:
            Exception: decord's own error when a frame cannot be decoded (the reader is reset first).
        """
        try:
            frames = self.to_torch(self.vr.get_batch(list(indices)))
        finally:
            self.park()
        return frames

    def park(self) -> None:
        """Flush decord's queues and stop its decoder thread (``seek(0)``); reopen the reader if even that fails."""
        try:
            self.vr.seek(0)
        except Exception:  # a decoder left in an error state: start afresh
            self.vr = self._open()

    def salvage(self, chunk: range) -> Iterator[tuple[range, torch.Tensor | str]]:
        """Read ``chunk``; where that fails, read its halves, and so on: each part with its frames or the reason it failed."""
        try:
            yield chunk, self.read(chunk)
        except Exception as exc:  # decord's DECORDError (a corrupt packet, a filter graph error)
            if len(chunk) == 1:
                yield chunk, _first_line(exc)
                return
            half = chunk.start + len(chunk) // 2
            yield from self.salvage(range(chunk.start, half))
            yield from self.salvage(range(half, chunk.stop))

    def chunks(self, first: int, stop: int, most: int) -> Iterator[range]:
        """Consecutive ranges covering ``[first, stop)``, none crossing a keyframe, each GOP split evenly into ranges of ≤ ``most``."""
        bounds = [int(k) for k in self.keyframes if first < k < stop]
        for a, b in zip([first, *bounds], [*bounds, stop], strict=True):
            n = -(-(b - a) // most)
            size = -(-(b - a) // n) if n else 0
            for start in range(a, b, max(1, size)):
                yield range(start, min(b, start + size))


class DecordLoader(QueuedLoader):
    """Iterate over a video in :class:`FrameBatch` es decoded by decord on a background thread.

    The same interface as :class:`facetools.io.loader.FrameLoader`: batches go through a queue
    bounded in bytes; frames ``first`` to ``first + count - 1`` in the numbering of a sequential
    pass; times on the project's time base (presentation time minus the container's start time);
    decoded at the detection size when ``max_side`` asks for a smaller one. A chunk that fails
    to decode is skipped and listed in ``warnings``; no frame at all, more frames lost than
    decoded, or no frame for ``timeout_s`` seconds raises :class:`VideoDecodeError`.

    The reader is opened in the constructor, so an input decord cannot handle (rotation
    metadata, variable frame rate, a codec or container it fails to open) raises
    :class:`DecordUnsupported` there, before any frame: the caller falls back to ffmpeg.
    Each chunk of at most ``chunk_frames`` frames (one ``get_batch``) is followed by a park
    (see the module's docstring); frames of a GOP before a chunk's first frame are decoded again.
    """

    backend = "decord-cpu"

    def __init__(
        self,
        info: VideoInfo,
        *,
        batch_size: int = 16,
        device: torch.device | str = "cpu",
        max_side: int = 3840,
        queue_bytes: int = 256 * 2**20,
        batch_bytes: int = 24 * 2**20,
        timeout_s: float = 120.0,
        first: int = 0,
        count: int | None = None,
        chunk_frames: int = CHUNK_FRAMES,
        threads: int | None = None,
    ) -> None:
        super().__init__(info, batch_size=batch_size, device=device, max_side=max_side, queue_bytes=queue_bytes,
                         batch_bytes=batch_bytes, timeout_s=timeout_s, first=first, count=count)  # fmt: skip
        self.chunk_frames = max(1, chunk_frames)
        self.failed: list[tuple[int, int, str]] = []
        self._reader: _Reader | None = _Reader(info, self.size, threads)
        self.frames_available = self._reader.frame_count
        self._gaps = _gaps(self._reader.times, info.fps)
        if not 0 <= first < self.frames_available:
            raise VideoDecodeError(f"{info.path}: frame {first} does not exist (the video has {self.frames_available} frames)")

    @property
    def _stop_index(self) -> int:
        return self.frames_available if self.count is None else min(self.frames_available, self.first + self.count)

    def _produce(self) -> None:
        reader = self._reader
        assert reader is not None, "a DecordLoader is iterated once"
        self._reader = None
        try:
            for chunk in reader.chunks(self.first, self._stop_index, self.chunk_frames):
                if self._stop.is_set():
                    return
                for part, frames in reader.salvage(chunk):
                    if isinstance(frames, str):  # corrupt packets: skip these frames, say so, go on
                        self._failed(part.start, part.stop - 1, frames)
                        continue
                    self.frames_total += len(part)
                    for at in range(0, len(part), self.batch_size):
                        # a copy, so that the chunk is freed now: the queue's bound in bytes then holds
                        tensor = frames[at : at + self.batch_size]
                        tensor = tensor.pin_memory().to(self.device, non_blocking=True) if self.device.type == "cuda" else tensor.clone()
                        indices = np.arange(part.start + at, min(part.stop, part.start + at + self.batch_size))
                        if not self._put(FrameBatch(tensor, indices, reader.times[indices], self.info.width / self.size[0])):
                            return
                    del frames
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)
            return
        finally:
            del reader
        self._put(None)

    def _failed(self, first: int, last: int, reason: str) -> None:
        if self.failed and self.failed[-1][1] == first - 1:
            first = self.failed.pop()[0]
        self.failed.append((first, last, reason))

    @property
    def warnings(self) -> list[str]:
        """Frame ranges that could not be decoded, and frames the container announced but the file does not hold."""
        out = [f"frames {a}-{b} could not be decoded and were skipped ({why})" for a, b, why in self.failed]
        if self._gaps:
            lost, after, at_s = self._gaps
            out.append(
                f"about {lost} frames are missing from the file (gaps in the frame times; the first after frame {after}, {at_s:.2f} s)"
            )
        if self.info.frame_count_exact and self.count is None and self.frames_available < 0.9 * self._expected:
            out.append(f"the container announces {self.info.frame_count} frames but only {self.frames_available} could be read")
        return out

    def __iter__(self) -> Iterator[FrameBatch]:
        yield from self._stream("facetools-decord")
        skipped = sum(b - a + 1 for a, b, _ in self.failed)
        if self.frames_decoded == 0 or skipped > self.frames_decoded:
            reason = self.failed[0][2] if self.failed else "no frames"
            raise VideoDecodeError(f"{self.info.path}: {skipped} of {skipped + self.frames_decoded} frames could not be decoded ({reason})")


def _gaps(times: np.ndarray, fps: float) -> tuple[int, int, float] | None:
    """Frames missing from a constant-rate stream, judged by its frame times: (how many, the frame before the first gap, its time)."""
    steps = np.diff(times) * fps
    gaps = np.flatnonzero(steps > 1.5)
    if not len(gaps) or len(gaps) > 0.05 * len(steps):  # none, or so many that the rate varies (VFR the probe missed)
        return None
    return int(np.round(steps[gaps]).sum() - len(gaps)), int(gaps[0]), float(times[gaps[0]])


def read_frames_decord(info: VideoInfo, indices: Sequence[int], max_side: int = 3840, chunk_frames: int = CHUNK_FRAMES) -> FrameBatch:
    """Frames ``indices`` (any order, repeats allowed) by random access, numbered as a sequential pass numbers them.

    Reads at most ``chunk_frames`` wanted frames per ``get_batch`` and parks the reader after each.
    Opening indexes the whole file (one demuxing pass, no decoding).

    Raises:
        DecordUnsupported: decord cannot handle the input (the caller falls back to ffmpeg).
        VideoDecodeError: an index does not exist or its frame cannot be decoded.
    """
    size = decode_size(info, max_side)
    reader = _Reader(info, size)
    wanted = sorted({int(i) for i in indices})
    bad = [i for i in wanted if not 0 <= i < reader.frame_count]
    if bad or not wanted:
        shown = bad[:5] or list(indices)[:5]
        raise VideoDecodeError(f"{info.path}: frames {shown} could not be read (the video has {reader.frame_count} frames)")
    parts = []
    for at in range(0, len(wanted), max(1, chunk_frames)):
        group = wanted[at : at + chunk_frames]
        try:
            parts.append(reader.read(group))
        except Exception as exc:
            raise VideoDecodeError(f"{info.path}: frames {group[:5]} could not be read ({_first_line(exc)})") from exc
    frames = torch.cat(parts) if len(parts) > 1 else parts[0]
    pick = np.searchsorted(np.asarray(wanted), np.asarray([int(i) for i in indices]))
    chosen = np.asarray(wanted)[pick]
    return FrameBatch(frames[torch.from_numpy(pick)], chosen, reader.times[chosen], info.width / size[0])
