"""``Models``: the device, detectors and embedder of a run, loaded once and passed in; faces in photos with them.

Extraction loads them from a :class:`~facetools.config.Config` (:func:`load_models`); everything that embeds a photo
(galleries, ``export --target photo.jpg``, ``find``, ``recluster --gallery``, people) goes through :func:`photo_faces`
with the models of the run's embedding space (:func:`load_photo_models`), so a photo's face is chosen and cut one way
everywhere. Thresholds come from the packaged calibration only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import torch

from facetools.calibration import load_calibration
from facetools.config import Config
from facetools.errors import InputValidationError
from facetools.extract.detect import load_detector
from facetools.extract.detections import Detections, Detector
from facetools.extract.embed import Embedder, load_embedder, weights_sha256
from facetools.extract.faces import FacePatch, cut_patch
from facetools.extract.mtcnn_detector import MtcnnDetector
from facetools.trackset.records import EmbeddingSpace


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; checks that a named CUDA device exists."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise InputValidationError(f"unknown device {name!r}: use auto, cpu or cuda[:N]") from exc
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise InputValidationError(f"device {name} requested but no such CUDA device is available")
    if device.type not in ("cpu", "cuda"):
        raise InputValidationError(f"unsupported device {name!r}: use auto, cpu or cuda[:N]")
    return device


@functools.lru_cache(maxsize=4)
def cached_embedder(name: str, device: str, weights: str | None, precision: str = "auto") -> Embedder:
    """Embedders are loaded once per process and reused by later runs."""
    return load_embedder(name, device, weights, precision)


def embedding_space(embedder: Embedder) -> EmbeddingSpace:
    """The embedder's name, the hash of its weights and the version of its calibration."""
    cal = load_calibration(embedder.name)
    return EmbeddingSpace(
        embedder.name, weights_sha256(embedder), f"v{cal.script_version}-{cal.data_sha256[:8]}" if cal.measured else "uncalibrated"
    )


@dataclass
class Models:
    """What a run computes with.

    Attributes:
        device: where detection and embedding run.
        detector: finds faces in video frames (``None`` for models that only read photos).
        embedder: turns faces into vectors.
        space: the embedding space of those vectors (embedder, weights, calibration).
        link_threshold: under this cosine distance two single good faces are one person (the tracker's check of a link).
    """

    device: torch.device
    detector: Detector | None
    embedder: Embedder
    space: EmbeddingSpace
    link_threshold: float
    _photos: MtcnnDetector | None = field(default=None, repr=False)

    @property
    def precision(self) -> str:
        return self.embedder.precision

    @property
    def photo_detector(self) -> MtcnnDetector:
        """MTCNN at full size for photos (loaded on first use)."""
        if self._photos is None:
            self._photos = MtcnnDetector(self.device)
        return self._photos


def _models(device: torch.device, detector: Detector | None, embedder: Embedder) -> Models:
    return Models(device, detector, embedder, embedding_space(embedder), load_calibration(embedder.name).threshold)


def load_models(config: Config) -> Models:
    """The device, video detector and embedder ``config`` asks for (``auto`` resolved); the embedder is cached per process."""
    device = resolve_device(config.device)
    detector = load_detector(config.detector, device, long_side=config.detect_long_side, min_score=config.min_score,
                             min_face_size=config.min_face_size, thresholds=config.mtcnn_thresholds,
                             factor=config.pyramid_factor)  # fmt: skip
    return _models(device, detector, cached_embedder(config.embedder, str(device), config.facenet_weights, config.embed_precision))


def load_photo_models(embedder: str, precision: str = "auto") -> Models:
    """Models that read photos on the CPU with ``embedder`` in ``precision`` (a run's, to compare with its tracks)."""
    return _models(torch.device("cpu"), None, cached_embedder(embedder, "cpu", None, precision))


@dataclass
class PhotoFace:
    """One face of a photo: its box (photo pixels), the cut patch (quality, yaw, sharpness) and its embedding."""

    box: np.ndarray
    patch: FacePatch
    vector: np.ndarray = field(repr=False)


SECONDARY_FACE = 0.4
"""Faces shorter than this fraction of a photo's largest face are background, not a face to choose."""


def photo_faces(models: Models, image: np.ndarray, *, largest: bool = False) -> list[PhotoFace]:
    """The faces of an RGB uint8 photo, left to right, each cut and embedded (background faces left out);
    with ``largest``, only the largest face by area (what a photo of one person means)."""
    found = models.photo_detector.detect(torch.tensor(image, dtype=torch.uint8)[None], np.array([0]))
    if len(found) and largest:
        area = (found.boxes[:, 2] - found.boxes[:, 0]) * (found.boxes[:, 3] - found.boxes[:, 1])
        found = found[np.array([int(np.argmax(area))])]
    elif len(found):
        heights = found.boxes[:, 3] - found.boxes[:, 1]
        found = found[np.flatnonzero(heights >= SECONDARY_FACE * heights.max())]
        found = found[np.argsort((found.boxes[:, 0] + found.boxes[:, 2]) / 2)]
    return _embedded(models, image, found)


def _embedded(models: Models, image: np.ndarray, found: Detections) -> list[PhotoFace]:
    patches = [cut_patch(image, b, lm, float(s)) for b, lm, s in zip(found.boxes, found.landmarks, found.scores)]
    vectors = models.embedder.embed(patches) if patches else np.zeros((0, models.embedder.dim), np.float32)
    return [PhotoFace(b, p, v) for b, p, v in zip(found.boxes, patches, vectors)]
