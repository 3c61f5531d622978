"""MTCNN's three-stage cascade on a batch of images, with the candidate crops of a stage resampled in one operation on CUDA.

facenet-pytorch's ``detect_face`` cuts and resizes each candidate box in a Python loop, one ``interpolate`` call per box
(thousands per batch). On an H100 that loop held batched detection of 1080p frames at 16 frames/s with the GPU 19 % busy
(``benchmarks/gpu.py``). On CUDA all crops of a stage come from one summed-area table instead: the same area averages as
``interpolate(mode="area")``, summed in float64. The stages, thresholds and helpers (facenet-pytorch's box regression and
NMS) are those of ``detect_face``: on the CPU, which keeps the per-box loop (the table cost more there: 1.31 against
1.08 s for 4 frames of 1280×720, 2.88 against 2.39 s for 8), its results are the same; on CUDA they agree within float
rounding. On the H100 batched detection went from 16 to 136-143 frames/s (same 2697 faces on the 20 s crowd video).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CROP_CHUNK = 4096
"""Candidate boxes resampled at once (bounds the memory of the table look-ups)."""


def summed_area(images: torch.Tensor) -> torch.Tensor:
    """``N×C×(H+1)×(W+1)`` float64 table: entry ``[y, x]`` sums ``images[..., :y, :x]``."""
    table = images.double().cumsum(2).cumsum(3)
    return F.pad(table, (1, 0, 1, 0))


def area_crops(table: torch.Tensor, image: torch.Tensor, y0: torch.Tensor, y1: torch.Tensor, x0: torch.Tensor, x1: torch.Tensor,
               size: int) -> torch.Tensor:  # fmt: skip
    """``K×C×size×size``: rows ``y0:y1`` and columns ``x0:x1`` of image ``image`` (per box) averaged over the bins of
    ``interpolate(crop, (size, size), mode="area")``, i.e. ``adaptive_avg_pool2d``: output ``i`` of an input of length ``n``
    averages inputs ``floor(i n / size)`` to ``ceil((i + 1) n / size)``."""
    steps = torch.arange(size, device=table.device)

    def bins(start: torch.Tensor, stop: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = (stop - start)[:, None]
        return start[:, None] + steps * n // size, start[:, None] - (-(steps + 1) * n // size)

    (ya, yb), (xa, xb) = bins(y0, y1), bins(x0, x1)
    chunks = [slice(s, s + CROP_CHUNK) for s in range(0, len(image), CROP_CHUNK)]
    parts = [_bin_means(table, image[k], ya[k], yb[k], xa[k], xb[k]) for k in chunks]
    return torch.cat(parts) if parts else table.new_zeros((0, table.shape[1], size, size), dtype=torch.float32)


def _bin_means(table: torch.Tensor, image: torch.Tensor, ya: torch.Tensor, yb: torch.Tensor, xa: torch.Tensor, xb: torch.Tensor
               ) -> torch.Tensor:  # fmt: skip
    """``K×C×S×S`` means over rows ``ya:yb`` and columns ``xa:xb`` (``K×S`` bin bounds each) of ``image``'s table."""
    b = image[:, None, None]

    def at(ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        return table[b, :, ys[:, :, None], xs[:, None, :]]  # K×S×S×C

    total = at(yb, xb) - at(ya, xb) - at(yb, xa) + at(ya, xa)
    area = ((yb - ya)[:, :, None] * (xb - xa)[:, None, :])[..., None]
    return (total / area).float().permute(0, 3, 1, 2)


def _clip(boxes: torch.Tensor, width: int, height: int) -> tuple[torch.Tensor, ...]:
    """``detect_face``'s ``pad``: boxes truncated to whole pixels and clipped to the image, as crop bounds ``y0, y1, x0, x1``
    (exclusive ends), and which crops are not empty."""
    b = boxes[:, :4].trunc().int()
    x, y = b[:, 0].clamp(min=1), b[:, 1].clamp(min=1)
    ex, ey = b[:, 2].clamp(max=width), b[:, 3].clamp(max=height)
    return y - 1, ey, x - 1, ex, (ey > y - 1) & (ex > x - 1)


def cascade(
    images: torch.Tensor, min_size: float, nets: tuple[nn.Module, nn.Module, nn.Module], thresholds: list[float], factor: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """MTCNN on ``images`` (``N×3×H×W`` float, 0-255): per image, boxes with scores ``(n, 5)`` and landmarks ``(n, 5, 2)``.

    The stages of facenet-pytorch's ``detect_face``: P-Net over a scale pyramid (NMS 0.5 per scale, 0.7 per image),
    R-Net on 24 px crops (NMS 0.7), O-Net on 48 px crops (NMS 0.7 by the smaller area).
    """
    from facenet_pytorch.models.utils.detect_face import batched_nms_numpy, bbreg, fixed_batch_process, generateBoundingBox, rerec
    from torchvision.ops import batched_nms

    pnet, rnet, onet = nets
    n, (h, w) = len(images), images.shape[2:]
    scale, side, scales = 12.0 / min_size, min(h, w) * 12.0 / min_size, []
    while side >= 12:
        scales.append(scale)
        scale, side = scale * factor, side * factor
    found, owners = [], []
    for scale in scales:
        reg, probs = pnet((F.interpolate(images, size=(int(h * scale + 1), int(w * scale + 1)), mode="area") - 127.5) * 0.0078125)
        boxes, image = generateBoundingBox(reg, probs[:, 1], scale, thresholds[0])
        keep = batched_nms(boxes[:, :4], boxes[:, 4], image, 0.5)
        found.append(boxes[keep])
        owners.append(image[keep])
    boxes, image = torch.cat(found), torch.cat(owners)
    keep = batched_nms(boxes[:, :4], boxes[:, 4], image, 0.7)
    boxes, image = boxes[keep], image[keep]
    size = torch.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]] * 2, 1)
    boxes = rerec(torch.cat([boxes[:, :4] + boxes[:, 5:9] * size, boxes[:, 4:5]], 1))
    points = images.new_zeros((0, 5, 2))
    table = summed_area(images) if len(boxes) and images.is_cuda else None
    if len(boxes):
        boxes, image, crops = _crops(images, table, boxes, image, 24)
    if len(boxes):  # every crop may have been empty
        reg, prob = fixed_batch_process((crops - 127.5) * 0.0078125, rnet)
        passed = prob[:, 1] > thresholds[1]
        boxes, image, reg = torch.cat([boxes[passed, :4], prob[passed, 1:2]], 1), image[passed], reg[passed]
        keep = batched_nms(boxes[:, :4], boxes[:, 4], image, 0.7)
        boxes = rerec(bbreg(boxes[keep], reg[keep]))
        image = image[keep]
    if len(boxes):
        boxes, image, crops = _crops(images, table, boxes, image, 48)
    if len(boxes):
        reg, marks, prob = fixed_batch_process((crops - 127.5) * 0.0078125, onet)
        passed = prob[:, 1] > thresholds[2]
        boxes, image, reg, marks = torch.cat([boxes[passed, :4], prob[passed, 1:2]], 1), image[passed], reg[passed], marks[passed]
        size = (boxes[:, 2:4] - boxes[:, 0:2] + 1)[:, None, :]
        points = torch.stack([marks[:, :5], marks[:, 5:]], 2) * size + boxes[:, None, 0:2] - 1
        boxes = bbreg(boxes, reg)
        keep = batched_nms_numpy(boxes[:, :4], boxes[:, 4], image, 0.7, "Min")
        boxes, image, points = boxes[keep], image[keep], points[keep]
    boxes, points, image = boxes.cpu().numpy(), points.cpu().numpy(), image.cpu().numpy()
    return [(boxes[image == i], points[image == i]) for i in range(n)]


def _crops(images: torch.Tensor, table: torch.Tensor | None, boxes: torch.Tensor, image: torch.Tensor, size: int
           ) -> tuple[torch.Tensor, ...]:  # fmt: skip
    """The boxes whose crop is not empty, their images, and their crops resampled to ``size``: from ``table`` (the images'
    summed-area table) where given, else one ``interpolate`` per crop."""
    y0, y1, x0, x1, nonempty = _clip(boxes, images.shape[3], images.shape[2])
    boxes, image, y0, y1, x0, x1 = (t[nonempty] for t in (boxes, image, y0, y1, x0, x1))
    if table is not None:
        return boxes, image, area_crops(table, image, y0, y1, x0, x1, size)
    spans = torch.stack([image, y0, y1, x0, x1], 1).tolist()
    crops = [F.interpolate(images[i : i + 1, :, ya:yb, xa:xb], size=(size, size), mode="area") for i, ya, yb, xa, xb in spans]
    return boxes, image, torch.cat(crops) if crops else images.new_zeros((0, images.shape[1], size, size))
