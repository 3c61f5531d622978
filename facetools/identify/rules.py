"""The identity decisions of one embedding space: ``Rules``, read from the packaged calibration (and a user's threshold)."""

from __future__ import annotations

from dataclasses import dataclass

from facetools.calibration import Calibration, SetThresholds, load_calibration
from facetools.config import Config
from facetools.errors import InputValidationError


@dataclass(frozen=True)
class Rules:
    """The identity decisions of one embedding space.

    Attributes:
        sets: thresholds between face sets by views and quality.
        threshold: two good single faces (gallery names, search by photo).
        strict_threshold: two single faces of which one is low quality.
        min_faces: tracks with fewer faces (and fewer than their shot's samples) only join others.
        long_track_s: a track of ``min_faces`` or more faces this long is one person by construction.
    """

    sets: SetThresholds
    threshold: float
    strict_threshold: float
    min_faces: int = 3
    long_track_s: float = 1.0

    @classmethod
    def uniform(cls, threshold: float, strict_threshold: float, min_faces: int = 3) -> Rules:
        """The same thresholds for sets of every size (an uncalibrated embedder)."""
        return cls(SetThresholds.constant(threshold, strict_threshold), threshold, strict_threshold, min_faces)

    def scaled(self, factor: float) -> Rules:
        """Every threshold times ``factor``."""
        return Rules(self.sets.scaled(factor), self.threshold * factor, self.strict_threshold * factor, self.min_faces, self.long_track_s)


def calibrated_rules(embedder: str, config: Config) -> tuple[Rules, Calibration]:
    """The rules of ``embedder``'s packaged calibration, scaled so that two single good faces join under
    ``config.cluster_threshold`` when that is set; a one-line error for an embedder it does not know."""
    try:
        cal = load_calibration(embedder)
    except KeyError as exc:
        raise InputValidationError(str(exc).strip("'\"")) from None
    rules = Rules(cal.sets, cal.threshold, cal.strict_threshold, config.min_track_faces, config.long_track_s)
    if config.cluster_threshold is None:
        return rules, cal
    return rules.scaled(config.cluster_threshold / rules.threshold if rules.threshold > 0 else 0.0), cal
