"""Face embedders: FaceNet (InceptionResnetV1, VGGFace2) and dlib's ResNet, chosen by ``load_embedder``."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from facetools.errors import ModelLoadError
from facetools.extract import opencv_zoo
from facetools.extract.chunks import in_chunks, initial_chunk
from facetools.extract.faces import FacePatch
from facetools.paths import file_sha256

FACENET_WEIGHTS = "20180402-114759-vggface2.pt"


class Embedder(Protocol):
    """Turns face patches into L2-normalised vectors.

    ``precision`` is the arithmetic its network runs in; its thresholds are in the packaged
    calibration (:mod:`facetools.calibration`), under its ``name``.
    """

    name: str
    dim: int
    weights_file: Path
    precision: str

    def embed(self, patches: list[FacePatch]) -> np.ndarray: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def dlib_models_dir() -> Path:
    """The ``models/`` folder of the ``face_recognition_models`` package (without importing it)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError("dlib weights not found: pip install face_recognition_models dlib-bin")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class DlibEmbedder:
    """dlib's ResNet face descriptor (128-d), weights from ``face_recognition_models``.

    Faces are aligned with dlib's 5-point shape predictor into 150 px chips and embedded in
    one batched call on the CPU. dlib's published threshold, Euclidean 0.6 on raw descriptors
    (norm ≈ 1.4), is ≈ 0.09 in this cosine space; the calibrated ones are far tighter.
    """

    name = "dlib"
    dim = 128
    precision = "float32"

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise ModelLoadError("dlib is not installed: pip install dlib-bin") from exc
        models = dlib_models_dir()
        try:
            self._shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
            self.weights_file = models / "dlib_face_recognition_resnet_model_v1.dat"
            self._net = dlib.face_recognition_model_v1(str(self.weights_file))
        except RuntimeError as exc:
            raise ModelLoadError(f"cannot load dlib weights from {models}: {exc}") from exc
        self._dlib = dlib

    def embed(self, patches: list[FacePatch]) -> np.ndarray:
        if not patches:
            return np.zeros((0, self.dim), dtype=np.float32)
        chips = []
        for p in patches:
            x1, y1, x2, y2 = (int(round(v)) for v in p.box)
            shape = self._shape(p.image, self._dlib.rectangle(x1, y1, x2, y2))
            chips.append(self._dlib.get_face_chip(p.image, shape, size=150, padding=0.25))
        return _normalise(np.array(self._net.compute_face_descriptor(chips)))


def facenet_weights_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Where FaceNet's VGGFace2 weights are expected: ``path`` or ``$TORCH_HOME/checkpoints``."""
    if path is not None:
        return Path(path)
    return Path(torch.hub.get_dir()).parent / "checkpoints" / FACENET_WEIGHTS


class FaceNetEmbedder:
    """InceptionResnetV1 trained on VGGFace2 (512-d), batched on the compute device.

    Input as facenet-pytorch's ``extract_face`` (box, 160 px, bilinear) followed by
    ``fixed_image_standardization``; half precision on CUDA. The usual operating point of these
    weights is Euclidean ≈ 1.0–1.1 between unit vectors (cosine ≈ 0.5–0.6); the packaged
    calibration takes 0.4 for it, unmeasured (the weights cannot be fetched here).
    """

    name = "facenet"
    dim = 512
    precision = "float32"

    def __init__(self, device: torch.device | str = "cpu", weights: str | os.PathLike[str] | None = None) -> None:
        from facenet_pytorch import InceptionResnetV1

        path = facenet_weights_path(weights)
        self.weights_file = path
        if not path.is_file():
            raise ModelLoadError(f"FaceNet weights not found at {path}: put {FACENET_WEIGHTS} there or use --embedder dlib")
        self.device = torch.device(device)
        model = InceptionResnetV1(pretrained=None, classify=False)
        try:
            model.load_state_dict(torch.load(path, map_location="cpu"), strict=False)
        except Exception as exc:
            raise ModelLoadError(f"cannot load FaceNet weights from {path}: {exc}") from exc
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self.chunk = 0  # faces per forward pass, chosen on first use
        self._model = model.eval().to(self.device, self.dtype)

    @staticmethod
    def preprocess(patch: FacePatch, image_size: int = 160) -> torch.Tensor:
        """One face as FaceNet input: crop the box, resize to 160², standardise; ``3×160×160``."""
        h, w = patch.image.shape[:2]
        x1, y1 = int(max(patch.box[0], 0)), int(max(patch.box[1], 0))
        x2, y2 = int(min(patch.box[2], w)), int(min(patch.box[3], h))
        face = torch.from_numpy(np.ascontiguousarray(patch.image[y1:y2, x1:x2])).permute(2, 0, 1)[None].float()
        face = F.interpolate(face, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
        return (face[0] - 127.5) / 128.0

    @torch.inference_mode()
    def embed(self, patches: list[FacePatch]) -> np.ndarray:
        if not patches:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = torch.stack([self.preprocess(p) for p in patches]).to(self.device, self.dtype)
        if self.chunk == 0:
            self.chunk = initial_chunk(self.device, 160 * 160 * 3 * 4 * 200, cpu_chunk=64, most=256)
        parts, self.chunk = in_chunks(lambda s: self._model(batch[s]).float().cpu(), len(batch), self.chunk, "FaceNet embedding")
        return _normalise(torch.cat(parts).numpy())


def embed_patches(embedder: Embedder, patches: list[FacePatch]) -> np.ndarray:
    """Embeddings of ``patches`` (n×d), computing in one batch only those not embedded before."""
    todo = [p for p in patches if p.vector is None]
    for p, v in zip(todo, embedder.embed(todo) if todo else []):
        p.vector = v
    return np.stack([p.vector for p in patches]) if patches else np.zeros((0, embedder.dim), np.float32)


def load_embedder(name: str = "auto", device: torch.device | str = "cpu", weights: str | None = None, precision: str = "auto") -> Embedder:
    """Build the embedder ``name``: ``facenet``, ``sface``, ``dlib`` or ``auto``; ``precision`` is SFace's (see ``Config.embed_precision``).

    ``auto`` takes FaceNet where its weights are present, else SFace where installed and readable by the installed OpenCV
    (better than dlib on the calibration people: ROC AUC 0.9991 against 0.9939, and 3-4× faster on the CPU), else dlib.
    """
    from facetools.extract.sface import SFACE_FILE, SFaceEmbedder

    if name == "facenet":
        return FaceNetEmbedder(device, weights)
    if name == "sface":
        return SFaceEmbedder(precision)
    if name == "dlib":
        return DlibEmbedder()
    if name == "auto":
        if facenet_weights_path(weights).is_file():
            return FaceNetEmbedder(device, weights)
        if not opencv_zoo.installed(SFACE_FILE):
            return DlibEmbedder()
        try:
            return SFaceEmbedder(precision)
        except ModelLoadError as refused:  # an OpenCV that cannot read SFace (5.x): dlib where it is installed
            try:
                return DlibEmbedder()
            except ModelLoadError as exc:
                raise ModelLoadError(f"{refused}; {exc}") from exc
    raise ModelLoadError(f"unknown embedder {name!r}: choose auto, facenet, sface or dlib")


def weights_sha256(embedder: Embedder) -> str:
    """SHA-256 of the embedder's weights file: part of its embedding space."""
    return file_sha256(embedder.weights_file)
