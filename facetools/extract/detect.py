"""Choosing and loading the video detector: YuNet on the CPU where installed, else MTCNN."""

from __future__ import annotations

import torch

from facetools.errors import ModelLoadError
from facetools.extract.detections import Detector
from facetools.extract.mtcnn_detector import MtcnnDetector


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
        return MtcnnDetector(device, thresholds=thresholds, factor=factor, **given)
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
