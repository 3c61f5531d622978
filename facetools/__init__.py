"""facetools: who appears in a video, when, and for how long."""

from __future__ import annotations

from facetools.config import Config
from facetools.errors import FacetoolsError, FFmpegError, GPUMemoryError, InputValidationError, ModelLoadError, VideoDecodeError
from facetools.io.probe import VideoInfo, probe
from facetools.outputs.analysis import Analysis
from facetools.run.batch import BatchItem, analyze_batch
from facetools.run.pipeline import analyze

from . import _import_order  # noqa: F401  (first: refuses a crash-prone import order)

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
