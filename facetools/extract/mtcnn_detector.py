"""MTCNN as a :class:`~facetools.extract.detections.Detector`: batched on device tensors, and re-detection around tracks."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from facetools.extract.chunks import in_chunks, initial_chunk
from facetools.extract.detections import AROUND_CONTEXT, AROUND_PX, Detections, Detector, misses, square_cut
from facetools.extract.mtcnn import cascade
from facetools.extract.mtcnn_nets import load_nets


class MtcnnDetector(Detector):
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
