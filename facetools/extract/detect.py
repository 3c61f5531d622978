"""Face detectors for video frames: the common interface, and batched MTCNN on device tensors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from facetools.errors import ModelLoadError
from facetools.extract.chunks import in_chunks, initial_chunk
from facetools.extract.mtcnn import cascade
from facetools.extract.mtcnn_nets import load_nets

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


def load_detector(
    name: str,
    device: torch.device,
    *,
    long_side: int | None = None,
    min_score: float | None = None,
    min_face_size: int = 20,
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
    factor: float = 0.709,
) -> Detector:
    """The detector ``name`` (see :func:`detector_name`); ``None`` options take the detector's own default."""
    from facetools.extract.yunet import YuNetDetector

    name = detector_name(name, device)
    given = {"min_face_size": min_face_size} | ({"long_side": long_side} if long_side else {})
    given |= {} if min_score is None else {"min_score": min_score}
    if name == "yunet":
        return YuNetDetector(**given)
    if name == "mtcnn":
        return FaceDetector(device, thresholds=thresholds, factor=factor, **given)
    raise ModelLoadError(f"unknown detector {name!r}: choose auto, mtcnn or yunet")


def detector_name(name: str, device: torch.device) -> str:
    """``name``, with ``auto`` resolved: YuNet on the CPU where OpenCV and its weights are installed, else MTCNN.

    On the crowd video's 1080p frames YuNet at 960 px finds as many of full-resolution MTCNN's faces as MTCNN at 1280 px,
    at a tenth of the cost; on CUDA batched MTCNN runs whole batches on the GPU.
    """
    from facetools.extract import opencv_zoo
    from facetools.extract.yunet import YUNET_FILE

    if name == "auto":
        return "yunet" if device.type == "cpu" and opencv_zoo.installed(YUNET_FILE) else "mtcnn"
    return name


class FaceDetector(Detector):
    """MTCNN (facenet-pytorch weights) run on whole batches at a reduced size.

    Args:
        device: where the networks run.
        long_side: frames are downscaled so their long side is at most this many pixels.
        min_face_size: smallest face to find, in pixels of the original frame.
        thresholds: MTCNN's three stage thresholds.
        factor: scale step of the image pyramid.
        min_score: faces below this probability are dropped.
    """

    name = "mtcnn"
    long_side = 1280
    min_score = 0.9

    def __init__(
        self,
        device: torch.device | str = "cpu",
        *,
        long_side: int = long_side,
        min_face_size: int = 20,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
        min_score: float = min_score,
    ) -> None:
        self.device = torch.device(device)
        self.long_side = long_side
        self.min_face_size = min_face_size
        self.thresholds = thresholds
        self.factor = factor
        self.min_score = min_score
        self.chunk = 0  # frames per MTCNN call, chosen on first use
        self._nets = load_nets(self.device)

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
        h, w = frames.shape[1:3]
        r = min(1.0, self.long_side / max(h, w))
        images = frames.to(self.device).permute(0, 3, 1, 2).float()
        if r < 1.0:  # bicubic: on the crowd video's 1080p frames MTCNN finds 0.96 of full-resolution faces at 1280 px, 0.91 after bilinear
            images = F.interpolate(images, size=(round(h * r), round(w * r)), mode="bicubic", antialias=True, align_corners=False)
        min_size = max(12.0, self.min_face_size * r / scale)
        if min(images.shape[2:]) < min_size:  # smaller than the smallest face: MTCNN has no pyramid level
            return Detections()
        return self._detections(self._mtcnn(images, min_size), indices, scale / r)

    def _mtcnn(self, images: torch.Tensor, min_size: float) -> list[tuple[np.ndarray, np.ndarray]]:
        """MTCNN on ``images`` (``N×3×H×W`` float): per image, boxes with scores ``(n, 5)`` and landmarks ``(n, 5, 2)``."""
        return cascade(images, min_size, self._nets, list(self.thresholds), self.factor)

    def _detections(self, per_image: list[tuple[np.ndarray, np.ndarray]], frames: np.ndarray, to_original: float) -> Detections:
        """MTCNN's boxes and landmarks of each image (or predicted box) as :class:`Detections` of ``frames``, above ``min_score``."""
        parts = []
        for frame_no, (boxes, points) in zip(frames, per_image):
            keep = boxes[:, 4] >= self.min_score
            parts.append(Detections(np.full(int(keep.sum()), frame_no, dtype=np.int64), boxes[keep, :4] * to_original,
                                    boxes[keep, 4], points[keep] * to_original))  # fmt: skip
        return Detections.concat(parts)

    @torch.inference_mode()
    def around(self, frame: torch.Tensor, boxes: np.ndarray, frame_no: int = 0, scale: float = 1.0) -> tuple[Detections, Detections]:
        """Each box is cut out as a square ``AROUND_CONTEXT`` times its size, scaled to ``AROUND_PX`` pixels, and all cuts go
        through MTCNN as one batch: a few milliseconds per face where a full pass over a 1280 px frame costs hundreds."""
        n = len(boxes)
        out = misses(n, frame_no)
        if n == 0:
            return out, Detections()
        crops, origins, scales = [], [], []
        for box in np.asarray(boxes, np.float32) / scale:
            side = int(max(box[2] - box[0], box[3] - box[1], 4.0) * AROUND_CONTEXT)
            x0, y0 = int((box[0] + box[2] - side) / 2), int((box[1] + box[3] - side) / 2)
            crop = square_cut(frame, x0, y0, side).to(self.device).permute(2, 0, 1)[None].float()
            crops.append(F.interpolate(crop, size=(AROUND_PX, AROUND_PX), mode="bilinear", antialias=True, align_corners=False))
            origins.append(np.array([x0, y0], np.float32))
            scales.append(side / AROUND_PX)
        per_crop = self._mtcnn(torch.cat(crops), AROUND_PX / AROUND_CONTEXT / 2)
        for i, ((found, points), origin, k, box) in enumerate(zip(per_crop, origins, scales, boxes)):
            keep = (found[:, 4] >= self.min_score) & ((found[:, 3] - found[:, 1]) * k * scale >= self.min_face_size)
            if not keep.any():
                continue
            found, points = found[keep], points[keep] * k + origin
            corners = found[:, :4] * k + np.tile(origin, 2)
            centres = (corners[:, :2] + corners[:, 2:]) / 2
            j = int(np.argmin(np.hypot(*(centres - (box[:2] + box[2:]) / 2 / scale).T)))
            out.boxes[i], out.scores[i], out.landmarks[i] = corners[j] * scale, found[j, 4], points[j] * scale
        return out, Detections()
