"""Evaluation metrics on small constructed cases."""

from __future__ import annotations

import pandas as pd
import pytest

from facetools.devdata.evaluate import bcubed, label_faces, purity, temporal_iou


def test_bcubed_perfect_and_merged() -> None:
    assert bcubed([0, 0, 1], ["a", "a", "b"]) == (1.0, 1.0, 1.0)
    p, r, f = bcubed([0, 0, 0, 0], ["a", "a", "b", "b"])
    assert p == pytest.approx(0.5) and r == 1.0 and f == pytest.approx(2 / 3)
    p, r, _ = bcubed([0, 1, 2, 3], ["a", "a", "a", "a"])
    assert p == 1.0 and r == pytest.approx(0.25)


def test_purity() -> None:
    assert purity([0, 0, 0, 1], ["a", "a", "b", "b"]) == pytest.approx(0.75)


def test_temporal_iou() -> None:
    assert temporal_iou([(0, 2)], [(1, 3)]) == pytest.approx(1 / 3)
    assert temporal_iou([(0, 1), (2, 3)], [(0, 1), (2, 3)]) == 1.0
    assert temporal_iou([(0, 1)], [(2, 3)]) == 0.0


def test_label_faces_matches_by_iou_within_the_frame() -> None:
    truth = {"people": {"ann": [[0, 0, 0, 10, 10]], "bob": [[0, 20, 0, 30, 10], [1, 0, 0, 10, 10]]}}
    faces = pd.DataFrame({"frame": [0, 0, 1, 2], "x1": [21, 1, 50, 0], "y1": [0, 0, 50, 0], "x2": [30, 10, 60, 10], "y2": [10, 10, 60, 10]})
    assert label_faces(faces, truth).tolist() == ["bob", "ann", None, None]
