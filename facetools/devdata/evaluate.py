"""Scoring an analysis against ground truth: BCubed, purity, identity count, temporal IoU."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from facetools.devdata.synth import truth_segments
from facetools.geometry import iou_matrix
from facetools.intervals import overlap_seconds

if TYPE_CHECKING:
    from facetools.identify.analysis import Identification


def label_faces(faces: pd.DataFrame, truth: dict[str, Any], min_iou: float = 0.3) -> pd.Series:
    """The true person of each detected face (matched by IoU within its frame), ``None`` if none."""
    by_frame: dict[int, list[tuple[str, list[float]]]] = {}
    for label, rows in truth["people"].items():
        for frame, *box in rows:
            by_frame.setdefault(int(frame), []).append((label, box))
    labels: list[str | None] = [None] * len(faces)
    positions = {idx: i for i, idx in enumerate(faces.index)}
    for frame, group in faces.groupby("frame"):
        people = by_frame.get(int(frame), [])
        if not people:
            continue
        iou = iou_matrix(group[["x1", "y1", "x2", "y2"]].to_numpy(float), np.array([b for _, b in people], dtype=float))
        for r, c in zip(*linear_sum_assignment(-iou)):
            if iou[r, c] >= min_iou:
                labels[positions[group.index[r]]] = people[c][0]
    return pd.Series(labels, index=faces.index, dtype=object)


def bcubed(predicted: list[Any], true: list[Any]) -> tuple[float, float, float]:
    """BCubed precision, recall and F1 of a clustering of items against their true classes."""
    n = len(true)
    if n == 0:
        return 1.0, 1.0, 1.0
    pairs = Counter(zip(predicted, true))
    by_pred = Counter(predicted)
    by_true = Counter(true)
    precision = sum(c * c / by_pred[p] for (p, _), c in pairs.items()) / n
    recall = sum(c * c / by_true[t] for (_, t), c in pairs.items()) / n
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def purity(predicted: list[Any], true: list[Any]) -> float:
    """Share of items whose cluster's majority class is their own."""
    if not true:
        return 1.0
    best = Counter()
    for (p, _t), c in Counter(zip(predicted, true)).items():
        best[p] = max(best[p], c)
    return sum(best.values()) / len(true)


def _length(segments: list[tuple[float, float]]) -> float:
    return float(sum(max(0.0, e - s) for s, e in segments))


def temporal_iou(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Intersection over union of two sets of disjoint time intervals."""
    inter = overlap_seconds(a, b)
    union = _length(a) + _length(b) - inter
    return inter / union if union > 0 else 1.0


@dataclass
class Evaluation:
    """How an analysis compares with the truth.

    ``coverage[person]`` is the share of that person's truth faces on detected frames that
    were found and given the person's main identity; ``identity_of[person]`` names that identity.
    """

    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    purity: float
    identities: int
    true_identities: int
    coverage: dict[str, float] = field(default_factory=dict)
    identity_of: dict[str, int] = field(default_factory=dict)
    temporal_iou: dict[str, float] = field(default_factory=dict)
    false_faces: int = 0


def evaluate(analysis: Identification, truth: dict[str, Any]) -> Evaluation:
    """Score an analysis against the ground truth written by :func:`facetools.devdata.synth.render`.

    Faces matched to no true person count as false faces and are left out of BCubed;
    unassigned faces (identity −1) count as singletons, so they lower recall.
    """
    faces = analysis.faces
    segments = {p.id: p.segments for p in analysis.identities}
    segments_true = truth_segments(truth)
    truth_label = label_faces(faces, truth)
    known = truth_label.notna()
    matched = faces[known]
    true = truth_label[known].tolist()
    predicted = [int(i) if i >= 0 else f"unassigned-{k}" for k, i in zip(matched.index, matched["identity"])]
    p, r, f = bcubed(predicted, true)
    stride = int(analysis.run.stride)
    coverage, identity_of, tiou = {}, {}, {}
    for person, rows in truth["people"].items():
        ids = matched.loc[truth_label[known] == person, "identity"]
        main = Counter(i for i in ids if i >= 0).most_common(1)
        identity_of[person] = int(main[0][0]) if main else -1
        on_detected_frames = sum(1 for row in rows if row[0] % stride == 0)
        hits = int((ids == identity_of[person]).sum()) if main else 0
        coverage[person] = hits / max(on_detected_frames, 1)
        tiou[person] = temporal_iou(segments.get(identity_of[person], []), segments_true[person]) if main else 0.0
    return Evaluation(
        p, r, f, purity(predicted, true), len(analysis.identities), len(truth["people"]), coverage, identity_of, tiou, int((~known).sum())
    )
