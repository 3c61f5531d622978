"""YuNet (OpenCV Zoo, Apache-2.0): a small single-shot face detector with five landmarks, run through OpenCV on the CPU."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from facetools.errors import ModelLoadError
from facetools.extract.detections import AROUND_CONTEXT, Detections, Detector, misses, square_cut
from facetools.extract.mtcnn_nets import load_onet
from facetools.extract.opencv_zoo import model_path, opencv

YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
YUNET_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
NMS_IOU = 0.3


class YuNetDetector(Detector):
    """YuNet through ``cv2.FaceDetectorYN``, one frame at a time, downscaled with area averaging; MTCNN's O-Net places the landmarks.

    On the crowd video's 1080p frames at 960 px it takes about 22 ms a frame on two cores (a full
    MTCNN pass at 1280 px: 245 ms) and finds as many of full-resolution MTCNN's faces; its boxes
    are alike. Its own landmarks align faces less well for SFace (on the people/ benchmark video the
    worst person's frontal coverage fell from 0.75 to 0.33), so O-Net, MTCNN's last stage, places
    the five landmarks in each box at full resolution (about a millisecond a face), in MTCNN's order.

    Args:
        long_side: frames are downscaled so their long side is at most this many pixels.
        min_face_size: smallest face kept, in pixels of the original frame.
        min_score: faces YuNet scores lower are dropped.
    """

    name = "yunet"
    long_side = 960
    min_score = 0.7
    whole_frame = True

    def __init__(self, *, long_side: int = long_side, min_face_size: int = 20, min_score: float = min_score) -> None:
        self._cv2 = cv2 = opencv()
        path = model_path(YUNET_FILE, YUNET_SHA256)
        try:
            self._net = cv2.FaceDetectorYN.create(str(path), "", (320, 320), min_score, NMS_IOU, 5000)
        except (cv2.error, AttributeError) as exc:  # AttributeError: an OpenCV without FaceDetectorYN (before 4.5.4)
            raise ModelLoadError(f"OpenCV {cv2.__version__} cannot load {path.name}: use opencv-python-headless>=4.8,<5 ({exc})") from exc
        self.long_side = long_side
        self.min_face_size = min_face_size
        self.min_score = min_score
        self._onet = load_onet()

    def detect(self, frames: torch.Tensor, indices: np.ndarray, scale: float = 1.0) -> Detections:
        return Detections.concat([self._detect(frame, int(i), scale) for frame, i in zip(frames, indices)])

    def _detect(self, frame: torch.Tensor, frame_no: int, scale: float) -> Detections:
        cv2 = self._cv2
        image = np.ascontiguousarray(frame.cpu().numpy())
        h, w = image.shape[:2]
        r = min(1.0, self.long_side / max(h, w))
        size = (max(1, round(w * r)), max(1, round(h * r)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if r < 1.0 else image
        self._net.setInputSize(size)
        _, faces = self._net.detect(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))  # YuNet reads BGR
        faces = np.zeros((0, 15), np.float32) if faces is None else np.asarray(faces, np.float32)
        k = scale / r  # detector pixels to original pixels
        faces = faces[faces[:, 3] * k >= self.min_face_size]  # YuNet itself dropped those under min_score
        boxes = np.c_[faces[:, :2], faces[:, :2] + faces[:, 2:4]] / r  # frame pixels
        landmarks = self._landmarks(frame, boxes) * scale
        return Detections(np.full(len(faces), frame_no, np.int64), boxes * scale, faces[:, 14].copy(), landmarks)

    @torch.inference_mode()
    def _landmarks(self, frame: torch.Tensor, boxes: np.ndarray) -> np.ndarray:
        """O-Net's five landmarks, ``(n, 5, 2)`` in frame pixels, for ``boxes`` (frame pixels) made square, as MTCNN feeds it."""
        if len(boxes) == 0:
            return np.zeros((0, 5, 2), np.float32)
        frame = frame.cpu()
        crops, squares = [], []
        for box in boxes:
            side = max(1, round(float(max(box[2] - box[0], box[3] - box[1]))))
            x0, y0 = round(float(box[0] + box[2] - side) / 2), round(float(box[1] + box[3] - side) / 2)
            crop = square_cut(frame, x0, y0, side).permute(2, 0, 1)[None].float()
            crops.append(F.interpolate(crop, size=(48, 48), mode="area"))
            squares.append((x0, y0, side))
        points = self._onet((torch.cat(crops) - 127.5) * 0.0078125)[1].numpy()  # x of the five, then y, in [0, 1] of the square
        square = np.asarray(squares, np.float32)
        xy = np.stack([points[:, :5], points[:, 5:]], axis=2) * square[:, None, 2:] + square[:, None, :2]
        return xy.astype(np.float32)

    def around(self, frame: torch.Tensor, boxes: np.ndarray, frame_no: int = 0, scale: float = 1.0) -> tuple[Detections, Detections]:
        """A whole-frame pass costs YuNet no more than cut-outs would (see :meth:`pair`)."""
        return self.pair(self._detect(frame, frame_no, scale), boxes, frame_no)

    def pair(self, found: Detections, boxes: np.ndarray, frame_no: int) -> tuple[Detections, Detections]:
        """Boxes and faces within reach are paired one to one, nearest centres first overall (the Hungarian method on centre
        distance in box sizes); unpaired faces are newcomers."""
        out = misses(len(boxes), frame_no)
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        sides = np.maximum(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]), 4.0)[:, None]
        offset = ((found.boxes[None, :, :2] + found.boxes[None, :, 2:]) - (boxes[:, None, :2] + boxes[:, None, 2:])) / 2
        heights = (found.boxes[:, 3] - found.boxes[:, 1])[None]
        reach = (np.abs(offset).max(2) <= sides * AROUND_CONTEXT / 2) & (heights >= sides / 2)
        cost = np.where(reach, np.hypot(offset[..., 0], offset[..., 1]) / sides, 1e6)
        claimed = np.zeros(len(found), bool)
        if reach.any():
            for i, j in zip(*linear_sum_assignment(cost)):
                if reach[i, j]:
                    out.boxes[i], out.scores[i], out.landmarks[i] = found.boxes[j], found.scores[j], found.landmarks[j]
                    claimed[j] = True
        return out, found[~claimed]
