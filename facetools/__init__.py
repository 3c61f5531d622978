"""facetools: who appears in a video, when, and for how long."""

from __future__ import annotations

from . import _import_order  # noqa: F401  (first: refuses a crash-prone import order)
from .batch import BatchItem, analyze_batch
from .errors import FacetoolsError, FFmpegError, GPUMemoryError, InputValidationError, ModelLoadError, VideoDecodeError
from .pipeline import Config, analyze
from .results import Analysis
from .video import VideoInfo, probe

__version__ = "0.1.0"

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
    "probe",
]
