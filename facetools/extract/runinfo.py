"""How an extraction went: stage timings, versions, and the ``RunInfo`` that ``run.json`` records."""

from __future__ import annotations

import platform
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata

from facetools.io import ffmpeg


class Timer:
    """Seconds spent per stage: ``with timer("detect"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - t0


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("facetools", "torch", "facenet-pytorch", "dlib-bin", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    out["ffmpeg"] = ffmpeg.version()
    return out
