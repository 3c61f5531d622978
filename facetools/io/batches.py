"""Batches of decoded frames (``FrameBatch``, with their numbers, times and shot thumbnails) and the bounded queue that
carries them from a decoder thread to the consumer (``QueuedLoader``)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from facetools.errors import VideoDecodeError
from facetools.io.probe import VideoInfo, decode_size

THUMB_SIZE = (32, 18)
"""Width and height of the luma thumbnails a loader makes for the shot detector."""


@dataclass
class Thumbnails:
    """Every frame of a decoded stretch as a tiny luma image (full range), made by the decoder.

    Attributes:
        luma: uint8 tensor ``M×18×32`` on the CPU.
        indices: frame numbers in the video, shape ``(M,)``.
        times: presentation time of each frame in seconds, shape ``(M,)``.
    """

    luma: torch.Tensor
    indices: np.ndarray
    times: np.ndarray


@dataclass
class FrameBatch:
    """Decoded frames: consecutive ones, or the sampled ones of a stretch with ``thumbs`` of all its frames.

    Attributes:
        frames: uint8 tensor ``N×H×W×3`` (RGB) on the compute device, at decode size.
        indices: frame numbers in the video, shape ``(N,)``.
        times: presentation time of each frame in seconds, shape ``(N,)``.
        scale: original width divided by decoded width (1.0 unless decoded smaller).
        thumbs: where the loader was asked to sample, every frame of the stretch the batch covers
            (``frames`` then holds only the sampled ones).
    """

    frames: torch.Tensor
    indices: np.ndarray
    times: np.ndarray
    scale: float = 1.0
    thumbs: Thumbnails | None = None

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def decoded(self) -> int:
        """Frames decoded for this batch: its stretch where it has thumbnails, else its frames."""
        return len(self.thumbs.indices) if self.thumbs is not None else len(self.indices)


class QueuedLoader:
    """What both frame loaders share: batches and a queue bounded in bytes, filled by ``_produce`` on a thread.

    Subclasses set ``backend`` and implement ``_produce``, which queues batches, then ``None``
    (or an exception, re-raised to the consumer), and stops when ``_put`` returns False.
    """

    backend = ""

    def __init__(
        self,
        info: VideoInfo,
        *,
        batch_size: int,
        device: torch.device | str,
        max_side: int,
        queue_bytes: int,
        batch_bytes: int,
        timeout_s: float,
        first: int,
        count: int | None,
    ) -> None:
        self.info = info
        self.first = first
        self.count = count
        self.device = torch.device(device)
        self.size = decode_size(info, max_side)
        frame_bytes = self.size[0] * self.size[1] * 3
        self.batch_size = max(1, min(batch_size, batch_bytes // frame_bytes))
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_bytes // (frame_bytes * self.batch_size)))
        self._stop = threading.Event()
        self.timeout_s = timeout_s
        self.frames_decoded = 0
        self.frames_total = 0

    def _produce(self) -> None:
        raise NotImplementedError

    def _put(self, item: Any) -> bool:
        """Queue ``item``, waiting while the queue is full; False once the consumer has stopped."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    @property
    def _expected(self) -> int:
        return self.count if self.count is not None else self.info.frame_count - self.first

    def _stream(self, thread_name: str) -> Iterator[FrameBatch]:
        """Run ``_produce`` on a thread and yield what it queues: batches, then ``None``; an exception is re-raised here.

        No item for ``timeout_s`` seconds raises :class:`VideoDecodeError` (never a hang); the
        producer is told to stop however the consumer ends.
        """
        thread = threading.Thread(target=self._produce, name=thread_name, daemon=True)
        thread.start()
        try:
            while True:
                try:
                    item = self._queue.get(timeout=self.timeout_s)
                except queue.Empty:
                    raise VideoDecodeError(
                        f"{self.info.path}: decoding stalled (no frame for {self.timeout_s:.0f} s after {self.frames_decoded} frames)"
                    ) from None
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                self.frames_decoded += item.decoded
                yield item
        finally:
            self._stop.set()
            thread.join(timeout=5)
