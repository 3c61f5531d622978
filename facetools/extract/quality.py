"""How good a face is as evidence of identity: its turn (yaw) from landmarks and its sharpness."""

from __future__ import annotations

import numpy as np


def estimate_yaw(landmarks: np.ndarray) -> float:
    """Signed head turn from 5 MTCNN landmarks: the nose's offset from the eyes' midpoint over the eye distance.

    0 is frontal; about ±0.5 is a half profile. Positive when the nose is right of the eyes' middle (image x).
    """
    lm = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    left, right, nose = lm[0], lm[1], lm[2]
    eye_dist = max(float(np.linalg.norm(right - left)), 1e-3)
    return float(nose[0] - (left[0] + right[0]) / 2) / eye_dist


def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a grey image (0 for images under 3×3): higher is sharper."""
    g = np.asarray(gray, dtype=np.float32)
    if g.ndim != 2 or min(g.shape) < 3:
        return 0.0
    lap = g[1:-1, 1:-1] * 4 - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(lap.var())


def face_sharpness(image: np.ndarray, box: np.ndarray) -> float:
    """Sharpness of the face ``box`` (x1, y1, x2, y2) of an RGB patch: Laplacian variance of its grey pixels."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = np.clip(np.asarray(box, dtype=np.float64), 0, [w, h, w, h]).astype(int)
    if x2 - x1 < 3 or y2 - y1 < 3:
        return 0.0
    return laplacian_variance(image[y1:y2, x1:x2].astype(np.float32).mean(axis=2))
