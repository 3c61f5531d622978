"""Geometry shared by the stages: box overlap, box interpolation, cosine distance."""

from __future__ import annotations

import numpy as np


def interpolate_boxes(frames: np.ndarray, boxes: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``boxes`` (n×4, at increasing ``frames``) at ``query`` frames."""
    query = np.asarray(query, dtype=np.float64)
    return np.stack([np.interp(query, frames, boxes[:, k]) for k in range(4)], axis=-1).astype(np.float32)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` (n×4) with every box in ``b`` (m×4)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def cosine_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``1 − a·bᵀ`` for rows of L2-normalised vectors."""
    return 1.0 - np.asarray(a, dtype=np.float64) @ np.asarray(b, dtype=np.float64).T
