"""Refuse the import order that makes torch segfault later (decord before torch with CUDA wheels)."""

from __future__ import annotations

import sys


def _nvblas_loaded() -> bool:
    try:
        with open("/proc/self/maps") as maps:
            return "libnvblas" in maps.read()
    except OSError:
        return False


if "decord" in sys.modules and "torch" not in sys.modules and _nvblas_loaded():
    # Measured here: with torch's CUDA wheels installed, `import decord` first loads NVIDIA's
    # libnvblas, whose BLAS symbols then take torch's CPU matrix products: a segfault later.
    raise ImportError("decord was imported before torch and loaded libnvblas, which crashes torch on the CPU: import facetools first")
