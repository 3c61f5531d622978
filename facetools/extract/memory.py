"""Handing memory that the process has freed back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import time
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None


class MemoryReleaser:
    """Call :meth:`maybe` often; at most every ``every_s`` seconds it runs glibc's ``malloc_trim``.

    Streaming allocates and frees tens of MiB per batch from several threads; glibc keeps the
    freed pages in its arenas, so resident memory crept up with video length. Measured on 200 s
    of 1080p: 1.67 → 2.43 GiB over the run without trimming; with a trim every 60 batches the
    trimmed size grew by 25 KiB per frame (the tracks' face patches, which are kept).
    """

    def __init__(self, every_s: float = 5.0) -> None:
        self.every_s = every_s
        self._last = time.monotonic()

    def maybe(self) -> None:
        now = time.monotonic()
        trim = _malloc_trim()
        if trim is not None and now - self._last >= self.every_s:
            trim(0)
            self._last = now
