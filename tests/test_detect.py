"""MTCNN on batches: boxes on real faces, mapped back to original pixels when downscaled."""

from __future__ import annotations

import numpy as np
import torch
from skimage import data

from facetools.devdata.sample import ASTRONAUT_FACE
from facetools.geometry import iou_matrix
from facetools.stages.detect import Detections, FaceDetector


def test_finds_the_astronaut(detector: FaceDetector) -> None:
    found = detector.detect(torch.from_numpy(data.astronaut()[None]), np.array([7]))
    assert len(found) == 1 and found.frame.tolist() == [7]
    assert found.scores[0] > 0.99
    assert iou_matrix(found.boxes, np.array([ASTRONAUT_FACE]))[0, 0] > 0.9
    left_eye, right_eye = found.landmarks[0, 0], found.landmarks[0, 1]
    assert left_eye[0] < right_eye[0]


def test_downscaled_detection_maps_back_to_full_resolution() -> None:
    big = torch.nn.functional.interpolate(torch.from_numpy(data.astronaut()).permute(2, 0, 1)[None].float(), scale_factor=3)
    frames = big.round().clamp(0, 255).byte().permute(0, 2, 3, 1)
    small = FaceDetector("cpu", long_side=512).detect(frames, np.array([0]))
    assert len(small) == 1
    expected = np.array([ASTRONAUT_FACE]) * 3
    assert iou_matrix(small.boxes, expected)[0, 0] > 0.85


def test_batch_of_frames_keeps_frame_numbers(detector: FaceDetector) -> None:
    empty = np.zeros((512, 512, 3), dtype=np.uint8)
    frames = torch.from_numpy(np.stack([data.astronaut(), empty, data.astronaut()]))
    found = detector.detect(frames, np.array([10, 11, 12]))
    assert found.frame.tolist() == [10, 12]


def test_detections_validate_shapes() -> None:
    import pytest

    with pytest.raises(ValueError):
        Detections(np.zeros(2, dtype=np.int64), np.zeros((1, 4)), np.zeros(2), np.zeros((2, 5, 2)))
    assert len(Detections.concat([])) == 0
