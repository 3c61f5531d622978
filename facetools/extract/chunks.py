"""Running work over consecutive chunks whose size halves when the GPU runs out of memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

from facetools.errors import GPUMemoryError

T = TypeVar("T")


def initial_chunk(device: torch.device, bytes_per_item: int, cpu_chunk: int, most: int = 64) -> int:
    """Items per chunk: ``cpu_chunk`` on the CPU; on CUDA as many as fit in half the free memory."""
    if device.type != "cuda":
        return cpu_chunk
    free, _total = torch.cuda.mem_get_info(device)
    return int(max(1, min(most, free // 2 // max(bytes_per_item, 1))))


def in_chunks(work: Callable[[slice], T], total: int, size: int, what: str) -> tuple[list[T], int]:
    """``work`` on consecutive slices of ``range(total)`` of at most ``size`` items.

    On ``torch.cuda.OutOfMemoryError`` the chunk is halved and retried; only when a single item
    does not fit is :class:`GPUMemoryError` raised. Returns the results and the size that worked.
    """
    out: list[T] = []
    start = 0
    while start < total:
        n = min(size, total - start)
        try:
            out.append(work(slice(start, start + n)))
        except torch.cuda.OutOfMemoryError as exc:
            if n == 1:
                raise GPUMemoryError(f"{what}: one item does not fit in GPU memory; lower the resolution or use --device cpu") from exc
            size = max(1, n // 2)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            continue
        start += n
    return out, size
