"""Identification, the cheap stage: stored tracks to identities (no decoding, no torch), re-runnable with other options."""

from facetools.identify.analysis import Identification
from facetools.identify.identifier import identify, identify_run

__all__ = ["Identification", "identify", "identify_run"]
