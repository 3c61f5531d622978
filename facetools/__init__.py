"""facetools: who appears in a video, when, and for how long.

The heavy names (``analyze``, ``extract``: torch and the models) are imported on first use, so
that ``recluster`` and the cross-video tools start without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from facetools import (
    _import_order,  # noqa: F401  (first: refuses a crash-prone import order)
    _openmp,  # noqa: F401  (before torch loads: OpenMP threads sleep instead of spinning)
)
from facetools.config import Config
from facetools.errors import FacetoolsError, FFmpegError, GPUMemoryError, InputValidationError, ModelLoadError, VideoDecodeError
from facetools.io.probe import VideoInfo, probe

__version__ = "0.1.0"

_LAZY = {
    "Analysis": "facetools.outputs.analysis",
    "BatchItem": "facetools.run.batch",
    "analyze": "facetools.run.pipeline",
    "analyze_batch": "facetools.run.batch",
    "extract": "facetools",  # the callable stage packages (facetools._callable): imported, not looked up
    "find": "facetools.people",
    "forget": "facetools.people",
    "people": "facetools",
    "identify": "facetools",
    "recluster": "facetools.run.recluster",
}

__all__ = [
    "Analysis",
    "BatchItem",
    "Config",
    "FFmpegError",
    "FacetoolsError",
    "GPUMemoryError",
    "InputValidationError",
    "ModelLoadError",
    "VideoDecodeError",
    "VideoInfo",
    "analyze",
    "analyze_batch",
    "extract",
    "find",
    "forget",
    "identify",
    "people",
    "probe",
    "recluster",
]


def __getattr__(name: str) -> Any:
    if _LAZY.get(name) == "facetools":
        return importlib.import_module(f"facetools.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'facetools' has no attribute {name!r}")
