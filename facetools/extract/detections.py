"""What face detectors give (``Detections``) and the interface every detector has (``Detector``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import torch

AROUND_CONTEXT = 3.0
"""Side of the square cut around a predicted box for re-detection, in multiples of the box's size."""
AROUND_PX = 144
"""Side the cut is scaled to: the predicted face spans a third of it."""


@dataclass
class Detections:
    """Faces found in a set of frames, in pixels of the original frame.

    Attributes:
        frame: frame number of each face, ``(n,)``.
        boxes: ``x1, y1, x2, y2`` per face, ``(n, 4)``.
        scores: detector probability per face, ``(n,)``.
        landmarks: eyes, nose and mouth corners as ``(x, y)``, ``(n, 5, 2)``.
    """

    frame: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), dtype=np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros((0, 5, 2), dtype=np.float32))

    def __post_init__(self) -> None:
        n = len(self.frame)
        if self.boxes.shape != (n, 4) or self.scores.shape != (n,) or self.landmarks.shape != (n, 5, 2):
            raise ValueError("Detections: frame, boxes, scores and landmarks must describe the same faces")

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, index: np.ndarray | slice) -> Detections:
        return Detections(self.frame[index], self.boxes[index], self.scores[index], self.landmarks[index])

    @classmethod
    def concat(cls, parts: list[Detections]) -> Detections:
        if not parts:
            return cls()
        return cls(
            np.concatenate([p.frame for p in parts]),
            np.concatenate([p.boxes for p in parts]),
            np.concatenate([p.scores for p in parts]),
            np.concatenate([p.landmarks for p in parts]),
        )


class Detector(ABC):
    """Finds faces in video frames: full passes over batches of frames, and re-detection around tracks.

    Attributes:
        name: what ``run.json`` calls it.
        long_side: frames are downscaled so their long side is at most this many pixels.
        min_face_size: smallest face to find, in pixels of the original frame.
        min_score: faces the detector scores lower are dropped.
    """

    name: str
    long_side: int
    min_face_size: int
    min_score: float
    whole_frame = False
    """Whether :meth:`around` looks at the whole frame: then :meth:`pair` gives its result from :meth:`detect`'s, and detection
    can run ahead of tracking."""

    @abstractmethod
    def detect(self, frames: torch.Tensor, indices: np.ndarray, scale: float = 1.0) -> Detections:
        """The faces in ``frames`` (uint8 ``N×H×W×3`` RGB) of frame numbers ``indices``; ``scale`` maps frame pixels to original pixels."""

    @abstractmethod
    def around(self, frame: torch.Tensor, boxes: np.ndarray, frame_no: int = 0, scale: float = 1.0) -> tuple[Detections, Detections]:
        """Faces re-detected near predicted ``boxes`` (original pixels) in one ``H×W×3`` uint8 frame, and the others it saw.

        The first has one entry per box: the face nearest its centre, within a square ``AROUND_CONTEXT`` times its size and at
        least half its size (not below ``min_face_size``), or a box of NaNs with score 0. The second holds the faces near no
        box, found by a detector that looks at the whole frame anyway (empty for one that looks only around the boxes).
        """

    def pair(self, found: Detections, boxes: np.ndarray, frame_no: int) -> tuple[Detections, Detections]:
        """:meth:`around`'s result from the faces :meth:`detect` ``found`` in frame ``frame_no`` (only where ``whole_frame``)."""
        raise NotImplementedError(f"{self.name} re-detects only around the boxes")

    def largest(self, image: np.ndarray) -> Detections:
        """The largest face in one RGB uint8 image (empty when there is none)."""
        found = self.detect(torch.tensor(image, dtype=torch.uint8)[None], np.array([0]))
        if len(found) == 0:
            return found
        area = (found.boxes[:, 2] - found.boxes[:, 0]) * (found.boxes[:, 3] - found.boxes[:, 1])
        return found[np.array([int(np.argmax(area))])]


def misses(n: int, frame_no: int) -> Detections:
    """``n`` entries of :meth:`Detector.around` that found nothing (filled in where a face is found)."""
    return Detections(np.full(n, frame_no, dtype=np.int64), np.full((n, 4), np.nan, np.float32), np.zeros(n, np.float32),
                      np.full((n, 5, 2), np.nan, np.float32))  # fmt: skip


def square_cut(frame: torch.Tensor, x0: int, y0: int, side: int) -> torch.Tensor:
    """The ``side``-pixel square of ``frame`` (``H×W×C``) whose top left is ``(x0, y0)``, zero where it leaves the frame."""
    h, w = frame.shape[:2]
    crop = torch.zeros((side, side, frame.shape[2]), dtype=frame.dtype, device=frame.device)
    xa, ya, xb, yb = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    if xb > xa and yb > ya:
        crop[ya - y0 : yb - y0, xa - x0 : xb - x0] = frame[ya:yb, xa:xb]
    return crop
