"""Identification, the cheap stage: stored tracks to identities (no decoding, no torch), re-runnable with other options.

The package is callable — ``facetools.identify(tracks)`` is :func:`facetools.identify.identifier.identify` — since its
name is also the function's.
"""

from facetools._callable import callable_package
from facetools.identify.analysis import Identification
from facetools.identify.identifier import identify, identify_run

__all__ = ["Identification", "identify", "identify_run"]

callable_package(__name__, "facetools.identify.identifier", "identify")
