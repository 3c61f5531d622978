"""Face patches cut from frames, and how good a face each is to embed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(eq=False)
class FacePatch:
    """A face cut out of a frame with some context, kept to be embedded later.

    Attributes:
        image: uint8 ``H×W×3`` RGB pixels around the face.
        box: the face's ``x1, y1, x2, y2`` in patch pixels.
        landmarks: the five MTCNN landmarks in patch pixels, ``(5, 2)``.
        quality: higher is a better face to embed (see :func:`face_quality`).
        vector: its embedding, once computed (see :func:`embed_patches`).
    """

    image: np.ndarray
    box: np.ndarray
    landmarks: np.ndarray
    quality: float
    vector: np.ndarray | None = None


def face_quality(gray_face: np.ndarray, score: float, height: float, landmarks: np.ndarray) -> float:
    """Score a face for embedding: detector confidence × size × sharpness × frontality.

    Size saturates at 80 px of face height; sharpness is the variance of the Laplacian
    mapped to [0, 1); frontality drops as the nose leaves the middle of the eyes.
    """
    g = gray_face.astype(np.float32)
    if min(g.shape) >= 3:
        lap = g[1:-1, 1:-1] * 4 - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
        var = float(lap.var())
    else:
        var = 0.0
    sharp = var / (var + 100.0)
    left, right, nose = landmarks[0], landmarks[1], landmarks[2]
    eye_dist = max(float(np.linalg.norm(right - left)), 1e-3)
    yaw = abs(float(nose[0] - (left[0] + right[0]) / 2)) / eye_dist
    frontal = max(0.05, 1.0 - 1.5 * yaw)
    return float(score) * min(1.0, height / 80.0) * sharp * frontal


def cut_patch(frame: np.ndarray, box: np.ndarray, landmarks: np.ndarray, score: float, *, max_face: int = 160) -> FacePatch:
    """Cut ``box`` (frame pixels) with 40 % context from ``frame``; shrink so the face is ≤ ``max_face`` px."""
    h, w = frame.shape[:2]
    bw, bh = box[2] - box[0], box[3] - box[1]
    x1, y1 = int(max(0, box[0] - 0.4 * bw)), int(max(0, box[1] - 0.4 * bh))
    x2, y2 = int(min(w, np.ceil(box[2] + 0.4 * bw))), int(min(h, np.ceil(box[3] + 0.4 * bh)))
    image = frame[y1:y2, x1:x2]
    origin = np.array([x1, y1], dtype=np.float32)
    pbox = (box.reshape(2, 2) - origin).reshape(4)
    plm = landmarks - origin
    s = min(1.0, max_face / max(bh, 1.0))
    if s < 1.0:
        t = torch.tensor(image).permute(2, 0, 1)[None].float()
        size = (max(1, round(image.shape[0] * s)), max(1, round(image.shape[1] * s)))
        image = F.interpolate(t, size=size, mode="bilinear", antialias=True).round().clamp(0, 255).byte()[0].permute(1, 2, 0).numpy()
        pbox, plm = pbox * s, plm * s
    image = np.ascontiguousarray(image)
    fx1, fy1, fx2, fy2 = np.clip(pbox, 0, [image.shape[1], image.shape[0]] * 2).astype(int)
    gray = image[fy1:fy2, fx1:fx2].mean(axis=2) if fx2 > fx1 and fy2 > fy1 else np.zeros((1, 1))
    return FacePatch(image, pbox.astype(np.float32), plm.astype(np.float32), face_quality(gray, score, bh * s, plm))
