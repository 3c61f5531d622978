"""Extraction, the heavy stage: decode, detect, cut into shots, track and embed — a video file to a ``TrackSet``.

The package is callable — ``facetools.extract(video, config)`` is :func:`facetools.extract.extractor.extract` — since its
name is also the function's; ``extract``, ``Models`` and ``load_models`` are imported on first use (they load torch).
"""

from __future__ import annotations

import importlib
from typing import Any

from facetools._callable import callable_package

_LAZY = {"extract": "facetools.extract.extractor", "Models": "facetools.extract.models", "load_models": "facetools.extract.models"}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'facetools.extract' has no attribute {name!r}")


callable_package(__name__, "facetools.extract.extractor", "extract")
