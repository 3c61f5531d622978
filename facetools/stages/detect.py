"""Batched MTCNN face detection on device tensors."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from facetools.errors import ModelLoadError
from facetools.stages.chunks import in_chunks, initial_chunk


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


class FaceDetector:
    """MTCNN (facenet-pytorch weights) run on whole batches at a reduced size.

    Args:
        device: where the networks run.
        long_side: frames are downscaled so their long side is at most this many pixels.
        min_face_size: smallest face to find, in pixels of the original frame.
        thresholds: MTCNN's three stage thresholds.
        factor: scale step of the image pyramid.
        min_score: faces below this probability are dropped.
    """

    def __init__(
        self,
        device: torch.device | str = "cpu",
        *,
        long_side: int = 1280,
        min_face_size: int = 20,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
        min_score: float = 0.9,
    ) -> None:
        try:
            from facenet_pytorch import MTCNN
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ModelLoadError("facenet-pytorch is not installed: pip install 'facenet-pytorch==2.5.3'") from exc
        self.device = torch.device(device)
        self.long_side = long_side
        self.min_face_size = min_face_size
        self.thresholds = thresholds
        self.factor = factor
        self.min_score = min_score
        self.chunk = 0  # frames per MTCNN call, chosen on first use
        mtcnn = MTCNN(device=self.device)
        self._nets = (mtcnn.pnet.eval(), mtcnn.rnet.eval(), mtcnn.onet.eval())

    def detect(self, frames: torch.Tensor, indices: np.ndarray, scale: float = 1.0) -> Detections:
        """Find faces in ``frames`` (uint8 ``N×H×W×3``); ``scale`` maps frame pixels to original pixels.

        Frames go through MTCNN in chunks: 4 on the CPU (larger ones only raise peak memory), on
        CUDA as many as half the free memory holds, halved on out-of-memory (:mod:`batching`).
        """
        if len(frames) == 0:
            return Detections()
        if self.chunk == 0:
            h, w = frames.shape[1:3]
            r = min(1.0, self.long_side / max(h, w))
            self.chunk = initial_chunk(self.device, int(h * w * r * r * 3 * 4 * 60), cpu_chunk=4)
        parts, self.chunk = in_chunks(lambda s: self._detect(frames[s], indices[s], scale), len(frames), self.chunk, "face detection")
        return Detections.concat(parts)

    @torch.inference_mode()
    def _detect(self, frames: torch.Tensor, indices: np.ndarray, scale: float) -> Detections:
        from facenet_pytorch.models.utils.detect_face import detect_face

        h, w = frames.shape[1:3]
        r = min(1.0, self.long_side / max(h, w))
        images = frames.to(self.device).permute(0, 3, 1, 2).float()
        if r < 1.0:
            images = F.interpolate(images, size=(round(h * r), round(w * r)), mode="bilinear", antialias=True, align_corners=False)
        min_size = max(12.0, self.min_face_size * r / scale)
        if min(images.shape[2:]) < min_size:  # smaller than the smallest face: MTCNN has no pyramid level
            return Detections()
        batch_boxes, batch_points = detect_face(
            images.permute(0, 2, 3, 1), min_size, *self._nets, list(self.thresholds), self.factor, self.device
        )
        to_original = scale / r
        parts = []
        for frame_no, boxes, points in zip(indices, batch_boxes, batch_points):
            boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 5)
            points = np.asarray(points, dtype=np.float32).reshape(-1, 5, 2)
            keep = boxes[:, 4] >= self.min_score
            boxes, points = boxes[keep], points[keep]
            parts.append(
                Detections(
                    np.full(len(boxes), frame_no, dtype=np.int64),
                    boxes[:, :4] * to_original,
                    boxes[:, 4],
                    points * to_original,
                )
            )
        return Detections.concat(parts)

    def largest(self, image: np.ndarray) -> Detections:
        """The largest face in one RGB uint8 image (empty when there is none)."""
        found = self.detect(torch.tensor(image, dtype=torch.uint8)[None], np.array([0]))
        if len(found) == 0:
            return found
        area = (found.boxes[:, 2] - found.boxes[:, 0]) * (found.boxes[:, 3] - found.boxes[:, 1])
        return found[np.array([int(np.argmax(area))])]
