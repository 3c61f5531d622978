"""Chunks halve on (injected) CUDA out-of-memory; GPUMemoryError only when one frame does not fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data

from facetools import GPUMemoryError
from facetools.extract.chunks import in_chunks
from facetools.extract.mtcnn_detector import MtcnnDetector


def test_in_chunks_halves_on_out_of_memory() -> None:
    seen = []

    def work(s: slice) -> int:
        if s.stop - s.start > 3:
            raise torch.cuda.OutOfMemoryError("injected")
        seen.append((s.start, s.stop))
        return s.stop - s.start

    out, size = in_chunks(work, 10, 16, "test")
    assert sum(out) == 10 and size == 2
    assert seen[0] == (0, 2) and seen[-1][1] == 10


def test_one_item_that_does_not_fit_raises_gpu_memory_error() -> None:
    def work(_s: slice) -> None:
        raise torch.cuda.OutOfMemoryError("injected")

    with pytest.raises(GPUMemoryError, match="one item does not fit"):
        in_chunks(work, 3, 4, "face detection")


def test_detector_gives_the_same_faces_after_backing_off(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = torch.from_numpy(np.stack([data.astronaut()] * 4))
    reference = MtcnnDetector("cpu").detect(frames, np.arange(4))
    detector = MtcnnDetector("cpu")
    detector.chunk = 4
    real = detector._detect

    def flaky(chunk: torch.Tensor, indices: np.ndarray, scale: float):
        if len(chunk) > 1:
            raise torch.cuda.OutOfMemoryError("injected")
        return real(chunk, indices, scale)

    monkeypatch.setattr(detector, "_detect", flaky)
    found = detector.detect(frames, np.arange(4))
    assert detector.chunk == 1
    assert np.array_equal(found.frame, reference.frame)
    assert np.allclose(found.boxes, reference.boxes, atol=1e-3)
