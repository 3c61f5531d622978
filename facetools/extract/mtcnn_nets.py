"""MTCNN's three networks built from facenet-pytorch's bundled weights, and torchvision's NMS, without importing either package.

Importing ``facenet_pytorch`` imports torchvision, and torchvision imports ``torch._dynamo``: 1.1-1.9 s
before the first frame (loading MTCNN took 1.55 s here, YuNet 0.27 s). The networks are rebuilt from
facenet-pytorch's ``data/*.pt`` (their tensors named as in those files), and NMS is torchvision's
compiled operator, loaded from its library; where that library is not found, torchvision is imported.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from facetools.errors import ModelLoadError

FACENET_PYTORCH_INSTALL = "pip install 'facenet-pytorch==2.5.3'"


class PNet(nn.Module):
    """Proposal network, fully convolutional: images scaled to [-1, 1] → box offsets ``N×4×h×w`` and face probabilities
    ``N×2×h×w``, a cell every 2 pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1, self.pool1 = nn.Conv2d(3, 10, 3), nn.PReLU(10), nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1, self.conv4_2 = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(self.pool1(self.prelu1(self.conv1(x)))))))
        return self.conv4_2(x), torch.softmax(self.conv4_1(x), 1)


class RNet(nn.Module):
    """Refinement network: 24×24 crops scaled to [-1, 1] → box offsets ``(n, 4)`` and face probabilities ``(n, 2)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1, self.pool1 = nn.Conv2d(3, 28, 3), nn.PReLU(28), nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2, self.pool2 = nn.Conv2d(28, 48, 3), nn.PReLU(48), nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1, self.dense5_2 = nn.Linear(128, 2), nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool2(self.prelu2(self.conv2(self.pool1(self.prelu1(self.conv1(x))))))
        x = self.prelu3(self.conv3(x)).permute(0, 3, 2, 1)  # the dense layers were trained on width-major features
        x = self.prelu4(self.dense4(x.flatten(1)))
        return self.dense5_2(x), torch.softmax(self.dense5_1(x), 1)


class ONet(nn.Module):
    """Output network: 48×48 crops scaled to [-1, 1] → box offsets ``(n, 4)``, the five landmarks ``(n, 10)`` (x of the
    five, then y, in [0, 1] of the crop) and face probabilities ``(n, 2)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1, self.pool1 = nn.Conv2d(3, 32, 3), nn.PReLU(32), nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2, self.pool2 = nn.Conv2d(32, 64, 3), nn.PReLU(64), nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3, self.pool3 = nn.Conv2d(64, 64, 3), nn.PReLU(64), nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1, self.dense6_2, self.dense6_3 = nn.Linear(256, 2), nn.Linear(256, 4), nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool2(self.prelu2(self.conv2(self.pool1(self.prelu1(self.conv1(x))))))
        x = self.prelu4(self.conv4(self.pool3(self.prelu3(self.conv3(x))))).permute(0, 3, 2, 1)
        x = self.prelu5(self.dense5(x.flatten(1)))
        return self.dense6_2(x), self.dense6_3(x), torch.softmax(self.dense6_1(x), 1)


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    return Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None


def _load(net: nn.Module, file: str) -> nn.Module:
    """``net`` with facenet-pytorch's ``data/<file>``, in eval mode."""
    package = _package_dir("facenet_pytorch")
    if package is None:
        raise ModelLoadError(f"facenet-pytorch is not installed: {FACENET_PYTORCH_INSTALL}")
    path = package / "data" / file
    try:
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except (OSError, RuntimeError) as exc:  # missing, unreadable, or not the tensors this network has
        raise ModelLoadError(f"cannot load MTCNN's weights from {path}: {exc} ({FACENET_PYTORCH_INSTALL})") from exc
    return net.eval()


def load_nets(device: torch.device | str = "cpu") -> tuple[PNet, RNet, ONet]:
    """P-Net, R-Net and O-Net on ``device``; R-Net and O-Net channels-last (about twice as fast on a CPU; P-Net is not)."""
    return (_load(PNet(), "pnet.pt").to(device), _load(RNet(), "rnet.pt").to(device, memory_format=torch.channels_last),
            _load(ONet(), "onet.pt").to(device, memory_format=torch.channels_last))  # fmt: skip


def load_onet() -> ONet:
    """O-Net alone, on the CPU and channels-last: YuNet's landmark placer."""
    return _load(ONet(), "onet.pt").to(memory_format=torch.channels_last)


@functools.cache
def nms_operator() -> Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]:
    """``torch.ops.torchvision.nms``: registered by torchvision's compiled library, loaded without the package where found."""
    try:
        return torch.ops.torchvision.nms
    except (AttributeError, RuntimeError):  # not registered yet
        pass
    package = _package_dir("torchvision")
    for library in sorted(package.glob("_C*.so")) if package else []:
        try:
            torch.ops.load_library(str(library))
            return torch.ops.torchvision.nms
        except (OSError, AttributeError, RuntimeError):
            continue
    try:
        import torchvision  # noqa: F401  (registers its operators)

        return torch.ops.torchvision.nms
    except (ImportError, AttributeError, RuntimeError) as exc:  # missing, or built for another torch
        raise ModelLoadError(f"torchvision's NMS is not available ({exc}): pip install the torchvision built for torch "
                             f"{torch.__version__}") from exc  # fmt: skip
