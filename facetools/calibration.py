"""Identity thresholds per embedder, calibrated on real people (``benchmarks/calibrate.py``).

The numbers live in ``facetools/data/calibration.json``, written by that script with the hash of
the photos it used; the package only reads them. ``threshold`` is the cosine distance under which
two good single faces may be taken as one person (the tracker's check of a link); ``strict_threshold``
applies where either face is low quality (small, turned away or blurred). Identities are sets of
faces: :class:`SetThresholds` holds the distance between two sets' mean embeddings under which they
are one person, by how many independent views stand behind each side and by their quality.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

CALIBRATION_FILE = "calibration.json"


BANDS = ("good", "mixed", "low")
"""Quality of a pair of face sets: both good, one good and one low quality, both low quality."""
UNCALIBRATED_ASK = 4 / 3
"""Without a calibration, pairs up to this factor over the threshold are worth a "same person?" question."""


@dataclass(frozen=True)
class SetThresholds:
    """Distances between the mean embeddings of two face sets under which they are one person.

    ``table[band][i][j]`` holds for ``views[i]`` views on one side and ``views[j]`` on the other (for
    ``mixed``: the good side first). A side whose count lies between two listed ones reads the
    stricter of their two rows (the calibration measures only the listed counts); one above the
    last reads the last. ``ask[band]``: under this distance two sets that did not join are worth a
    "same person?" question (1 % of different people's single faces lie closer).
    """

    views: tuple[int, ...]
    table: dict[str, np.ndarray]
    ask: dict[str, float]

    def __call__(self, a_low: bool, a_views: int, b_low: bool, b_views: int) -> float:
        """The threshold for a set of ``a_views`` views (low quality or not) against one of ``b_views``."""
        return float(self.against(a_low, a_views, np.array([b_low]), np.array([b_views]))[0])

    def against(self, a_low: bool, a_views: int, lows: np.ndarray, views: np.ndarray) -> np.ndarray:
        """The thresholds of one set against many (``lows`` and ``views`` per other set), as :meth:`__call__` gives each."""
        lows = np.asarray(lows, dtype=bool)
        lo, hi = self._rows(np.asarray(views))
        row_lo, row_hi = (int(r[0]) for r in self._rows(np.array([a_views])))
        out = np.full(len(lows), np.inf)
        for row in (row_lo, row_hi):
            for rows in (lo, hi):
                if a_low:
                    cell = np.where(lows, self.table["low"][row, rows], self.table["mixed"][rows, row])
                else:
                    cell = np.where(lows, self.table["mixed"][row, rows], self.table["good"][row, rows])
                out = np.minimum(out, cell)
        return out

    def _rows(self, views: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows bracketing each count: the largest listed ≤ it and the smallest listed ≥ it (the last above the last)."""
        listed = np.asarray(self.views)
        k = np.maximum(views, 1)
        lo = np.maximum(np.searchsorted(listed, k, side="right") - 1, 0)
        hi = np.minimum(np.searchsorted(listed, k, side="left"), len(listed) - 1)
        return lo, hi

    def asking(self, a_low: bool, b_low: bool) -> float:
        """The distance under which two sets of this quality are worth a "same person?" question."""
        return self.ask["good" if not (a_low or b_low) else "low" if a_low and b_low else "mixed"]

    def scaled(self, factor: float) -> SetThresholds:
        """Every threshold times ``factor`` (a user's looser or stricter setting); what is worth asking stays."""
        return SetThresholds(self.views, {band: t * factor for band, t in self.table.items()}, self.ask)

    @classmethod
    def constant(cls, threshold: float, strict: float) -> SetThresholds:
        """One threshold for good sets and a strict one wherever a side is low quality (an uncalibrated embedder);
        worth asking up to a third above them."""
        table = {"good": threshold, "mixed": strict, "low": strict}
        return cls((1,), {b: np.array([[t]]) for b, t in table.items()}, {b: UNCALIBRATED_ASK * t for b, t in table.items()})


@dataclass(frozen=True)
class Calibration:
    """Calibrated decisions for one embedder.

    Attributes:
        embedder: the embedder's name (``dlib``, ``sface`` ...).
        threshold: cosine distance under which two good-quality faces are one person.
        strict_threshold: the same where either face is low quality (≤ ``threshold``).
        min_face_px: faces shorter than this (frame pixels) are low quality.
        max_yaw: faces with ``|facetools.extract.quality.estimate_yaw|`` above this are low quality.
        min_sharpness: faces whose :func:`facetools.extract.quality.face_sharpness` is below this are low quality.
        script_version: version of the script that wrote the numbers.
        data_sha256: hash of the labels and photos they were measured on.
        sets: thresholds between sets of faces (:class:`SetThresholds`).

    An embedder the script cannot measure here (FaceNet: its weights cannot be fetched offline) has an entry
    with ``data_sha256`` empty: one threshold for sets of every size.
    """

    embedder: str
    threshold: float
    strict_threshold: float
    min_face_px: float
    max_yaw: float
    min_sharpness: float
    script_version: int
    data_sha256: str
    sets: SetThresholds

    @property
    def measured(self) -> bool:
        """Whether the numbers were measured on the labelled photos (else taken as given)."""
        return bool(self.data_sha256)

    def is_low_quality(self, height_px: float, yaw: float, sharpness: float) -> bool:
        """Whether a face this tall (frame pixels), this turned and this sharp is weak evidence of identity."""
        return height_px < self.min_face_px or abs(yaw) > self.max_yaw or sharpness < self.min_sharpness

    def threshold_for(self, low_quality: bool) -> float:
        """The distance to use for a pair of faces: strict when either is low quality."""
        return self.strict_threshold if low_quality else self.threshold


@cache
def _entries() -> dict[str, Any]:
    text = resources.files("facetools").joinpath("data", CALIBRATION_FILE).read_text(encoding="utf-8")
    return {k: v for k, v in json.loads(text).items() if isinstance(v, dict) and "threshold" in v}


def calibrated_embedders() -> list[str]:
    """Names of the embedders the packaged calibration covers."""
    return sorted(_entries())


def load_calibration(embedder_name: str) -> Calibration:
    """The packaged calibration of ``embedder_name``; ``KeyError`` naming the calibrated ones when it has none."""
    entries = _entries()
    if embedder_name not in entries:
        raise KeyError(f"no calibration for embedder {embedder_name!r}: calibrated are {sorted(entries)} (run benchmarks/calibrate.py)")
    e = entries[embedder_name]
    q = e["quality"]
    if "sets" in e:
        tables = {b: np.array(e["sets"]["thresholds"][b], dtype=np.float64) for b in BANDS}
        ask = e["sets"].get("ask") or {b: UNCALIBRATED_ASK * float(t[0, 0]) for b, t in tables.items()}
        sets = SetThresholds(tuple(e["sets"]["views"]), tables, {b: float(ask[b]) for b in BANDS})
    else:
        sets = SetThresholds.constant(float(e["threshold"]), float(e["strict_threshold"]))
    return Calibration(
        embedder=embedder_name,
        threshold=float(e["threshold"]),
        strict_threshold=float(e["strict_threshold"]),
        min_face_px=float(q["min_face_px"]),
        max_yaw=float(q["max_yaw"]),
        min_sharpness=float(q["min_sharpness"]),
        script_version=int(e.get("script_version", 0)),
        data_sha256=str(e.get("data_sha256", "")),
        sets=sets,
    )
