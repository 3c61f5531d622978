"""MTCNN's O-Net as a landmark placer, built from facenet-pytorch's bundled weights without importing that package.

Importing ``facenet_pytorch`` imports torchvision, which imports ``torch._dynamo``: 1.3-1.9 s of a
20 s run on two cores, spent before the first frame. YuNet needs only O-Net's landmark head.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

from facetools.errors import ModelLoadError

FACENET_PYTORCH_INSTALL = "pip install 'facenet-pytorch==2.5.3'"


class LandmarkONet(nn.Module):
    """O-Net's trunk and its landmark head: 48×48 RGB crops scaled to [-1, 1] → ``(n, 10)``, the five x then the five y in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(3, 32, 3), nn.PReLU(32), nn.MaxPool2d(3, 2, ceil_mode=True),
            nn.Conv2d(32, 64, 3), nn.PReLU(64), nn.MaxPool2d(3, 2, ceil_mode=True),
            nn.Conv2d(64, 64, 3), nn.PReLU(64), nn.MaxPool2d(2, 2, ceil_mode=True),
            nn.Conv2d(64, 128, 2), nn.PReLU(128),
        )  # fmt: skip
        self.dense = nn.Sequential(nn.Linear(1152, 256), nn.PReLU(256))
        self.landmarks = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.trunk(x).permute(0, 3, 2, 1)  # the weights were trained on width-major features
        return self.landmarks(self.dense(x.flatten(1)))


def weights_path() -> Path:
    """facenet-pytorch's ``data/onet.pt``, found without importing the package."""
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(f"facenet-pytorch is not installed: {FACENET_PYTORCH_INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "onet.pt"
    if not path.is_file():
        raise ModelLoadError(f"O-Net weights missing at {path}: {FACENET_PYTORCH_INSTALL}")
    return path


def load_landmark_onet() -> LandmarkONet:
    """The landmark O-Net with facenet-pytorch's weights, in eval mode and channels-last (about twice as fast on a CPU).

    The file's tensors are taken in order, skipping the face/no-face and box heads, and must match in shape.
    """
    path = weights_path()
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    tensors = [v for k, v in saved.items() if not k.startswith(("dense6_1.", "dense6_2."))]
    net = LandmarkONet()
    names = list(net.state_dict())
    if [tuple(t.shape) for t in tensors] != [tuple(v.shape) for v in net.state_dict().values()]:
        raise ModelLoadError(f"{path} is not the O-Net this version of facetools expects: {FACENET_PYTORCH_INSTALL}")
    net.load_state_dict(dict(zip(names, tensors)))
    return net.eval().to(memory_format=torch.channels_last)
