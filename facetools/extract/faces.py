"""Face patches cut from frames, and how good a face each is to embed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from facetools.extract.quality import estimate_yaw, face_sharpness


@dataclass(eq=False)
class FacePatch:
    """A face cut out of a frame with some context, kept to be embedded later.

    Attributes:
        image: uint8 ``H×W×3`` RGB pixels around the face.
        box: the face's ``x1, y1, x2, y2`` in patch pixels.
        landmarks: the five MTCNN landmarks in patch pixels, ``(5, 2)``.
        quality: higher is a better face to embed (see :func:`face_quality`).
        height: the face's height in frame pixels.
        yaw: signed head turn estimated from the landmarks (0 frontal, about ±0.5 half profile).
        sharpness: variance of the Laplacian of the face's grey pixels.
        vector: its embedding, once computed (see :func:`facetools.extract.embed.embed_patches`).
    """

    image: np.ndarray
    box: np.ndarray
    landmarks: np.ndarray
    quality: float
    height: float = 0.0
    yaw: float = 0.0
    sharpness: float = 0.0
    vector: np.ndarray | None = None


def face_quality(score: float, height: float, yaw: float, sharpness: float) -> float:
    """Score a face for embedding: detector confidence × size × sharpness × frontality.

    Size saturates at 80 px of face height; sharpness (Laplacian variance) is mapped to [0, 1);
    frontality drops as the nose leaves the middle of the eyes.
    """
    sharp = sharpness / (sharpness + 100.0)
    frontal = max(0.05, 1.0 - 1.5 * abs(yaw))
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
        image = resize(image, (max(1, round(image.shape[0] * s)), max(1, round(image.shape[1] * s))))
        pbox, plm = pbox * s, plm * s
    image = np.ascontiguousarray(image)
    sharpness, yaw = face_sharpness(image, pbox), estimate_yaw(plm)
    quality = face_quality(score, bh * s, yaw, sharpness)
    return FacePatch(image, pbox.astype(np.float32), plm.astype(np.float32), quality, float(bh), yaw, sharpness)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` (uint8 H×W×3) resized to ``size`` = (height, width), bilinear with antialiasing."""
    t = torch.from_numpy(np.require(image, requirements=["C", "W"])).permute(2, 0, 1)[None].float()  # copies read-only arrays
    out = F.interpolate(t, size=size, mode="bilinear", antialias=True)
    return out.round().clamp(0, 255).byte()[0].permute(1, 2, 0).numpy()


def square_crop(image: np.ndarray, box: np.ndarray, size: int = 160) -> np.ndarray:
    """A ``size``-pixel square around ``box`` (the face with some context): a thumbnail."""
    x1, y1, x2, y2 = box
    cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) * 0.7
    h, w = image.shape[:2]
    crop = image[int(max(0, cy - half)) : int(min(h, cy + half)), int(max(0, cx - half)) : int(min(w, cx + half))]
    return resize(crop, (size, size))
