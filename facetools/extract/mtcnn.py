"""MTCNN's three-stage cascade on a batch of images, with the candidate crops of a stage resampled in one operation on CUDA.

facenet-pytorch's ``detect_face`` cuts and resizes each candidate box in a Python loop, one ``interpolate`` call per box
(thousands per batch). On an H100 that loop held batched detection of 1080p frames at 16 frames/s with the GPU 19 % busy
(``benchmarks/gpu.py``). On CUDA all crops of a stage come from one summed-area table instead: the same area averages as
``interpolate(mode="area")``, summed in float64. The stages, thresholds, box regression and NMS are those of
``detect_face``, written here so that neither facenet-pytorch nor torchvision is imported (NMS is torchvision's operator,
see :mod:`mtcnn_nets`). On the CPU, which keeps the per-box loop (the table cost more there: 1.31 against 1.08 s for 4
frames of 1280×720, 2.88 against 2.39 s for 8), the results are ``detect_face``'s bit for bit; on CUDA they agree within
float rounding. On the H100 batched detection went from 16 to 136-143 frames/s (same 2697 faces on the 20 s crowd video).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facetools.extract.mtcnn_nets import nms_operator

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


def cascade(images: torch.Tensor, min_size: float, nets: tuple[nn.Module, nn.Module, nn.Module], thresholds: list[float],
            factor: float) -> list[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """MTCNN on ``images`` (``N×3×H×W`` float, 0-255): per image, boxes with scores ``(n, 5)`` and landmarks ``(n, 5, 2)``.

    The stages of facenet-pytorch's ``detect_face``: P-Net over a scale pyramid (NMS 0.5 per scale, 0.7 per image),
    R-Net on 24 px crops (NMS 0.7), O-Net on 48 px crops (NMS 0.7 by the smaller area).
    """
    pnet, rnet, onet = nets
    n, (h, w) = len(images), images.shape[2:]
    scale, side, scales = 12.0 / min_size, min(h, w) * 12.0 / min_size, []
    while side >= 12:
        scales.append(scale)
        scale, side = scale * factor, side * factor
    found, owners = [], []
    for scale in scales:
        reg, probs = pnet((F.interpolate(images, size=(int(h * scale + 1), int(w * scale + 1)), mode="area") - 127.5) * 0.0078125)
        boxes, image = _proposals(reg, probs[:, 1], scale, thresholds[0])
        keep = batched_nms(boxes[:, :4], boxes[:, 4], image, 0.5)
        found.append(boxes[keep])
        owners.append(image[keep])
    boxes, image = torch.cat(found), torch.cat(owners)
    keep = batched_nms(boxes[:, :4], boxes[:, 4], image, 0.7)
    boxes, image = boxes[keep], image[keep]
    size = torch.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]] * 2, 1)
    boxes = _square(torch.cat([boxes[:, :4] + boxes[:, 5:9] * size, boxes[:, 4:5]], 1))
    points = images.new_zeros((0, 5, 2))
    table = summed_area(images) if len(boxes) and images.is_cuda else None
    if len(boxes):
        boxes, image, crops = _crops(images, table, boxes, image, 24)
    if len(boxes):  # every crop may have been empty
        reg, prob = _in_batches(rnet, (crops - 127.5) * 0.0078125)
        passed = prob[:, 1] > thresholds[1]
        boxes, image, reg = torch.cat([boxes[passed, :4], prob[passed, 1:2]], 1), image[passed], reg[passed]
        keep = batched_nms(boxes[:, :4], boxes[:, 4], image, 0.7)
        boxes, image = _square(_regress(boxes[keep], reg[keep])), image[keep]
    if len(boxes):
        boxes, image, crops = _crops(images, table, boxes, image, 48)
    if len(boxes):
        reg, marks, prob = _in_batches(onet, (crops - 127.5) * 0.0078125)
        passed = prob[:, 1] > thresholds[2]
        boxes, image, reg, marks = torch.cat([boxes[passed, :4], prob[passed, 1:2]], 1), image[passed], reg[passed], marks[passed]
        size = (boxes[:, 2:4] - boxes[:, 0:2] + 1)[:, None, :]
        points = torch.stack([marks[:, :5], marks[:, 5:]], 2) * size + boxes[:, None, 0:2] - 1
        boxes = _regress(boxes, reg)
        keep = _nms_by_smaller_area(boxes[:, :4], boxes[:, 4], image, 0.7)
        boxes, image, points = boxes[keep], image[keep], points[keep]
    boxes, points, image = boxes.cpu().numpy(), points.cpu().numpy(), image.cpu().numpy()
    return [(boxes[image == i], points[image == i]) for i in range(n)]


def _proposals(reg: torch.Tensor, probs: torch.Tensor, scale: float, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """P-Net's cells whose face probability is at least ``threshold``: their 12-pixel windows in the unscaled image with the
    score and the 4 box offsets, ``(k, 9)``, and the image of each."""
    hit = probs >= threshold
    image, y, x = hit.nonzero().unbind(1)
    cell = torch.stack([x, y], 1).to(reg.dtype) * 2  # top left in P-Net's input, a cell every 2 pixels
    corners = torch.cat([((cell + 1) / scale).floor(), ((cell + 12) / scale).floor()], 1)
    return torch.cat([corners, probs[hit][:, None], reg.permute(0, 2, 3, 1)[hit]], 1), image


def _regress(boxes: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """``boxes`` moved by a network's ``offsets`` (fractions of the box's size plus one)."""
    size = (boxes[:, 2:4] - boxes[:, 0:2] + 1).repeat(1, 2)
    return torch.cat([boxes[:, :4] + offsets * size, boxes[:, 4:]], 1)


def _square(boxes: torch.Tensor) -> torch.Tensor:
    """``boxes`` grown to squares about their centres, by their longer side."""
    size = boxes[:, 2:4] - boxes[:, 0:2]
    side = size.max(1, keepdim=True).values
    corner = boxes[:, 0:2] + size * 0.5 - side * 0.5
    return torch.cat([corner, corner + side, boxes[:, 4:]], 1)


def _in_batches(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``net`` on ``x`` 512 at a time (as ``detect_face``, which bounds GPU memory so)."""
    parts = [net(x[k : k + 512]) for k in range(0, len(x), 512)]
    return tuple(torch.cat(outputs) for outputs in zip(*parts))


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, groups: torch.Tensor, iou: float) -> torch.Tensor:
    """Indices of the boxes NMS keeps within each group, by decreasing score, as ``torchvision.ops.batched_nms``: one call
    with the groups shifted apart, or above 4000 coordinates on the CPU (100 000 on CUDA) one call per group."""
    nms = nms_operator()
    if boxes.numel() > (4000 if boxes.device.type == "cpu" else 100_000):
        kept = torch.zeros_like(scores, dtype=torch.bool)
        for group in torch.unique(groups):
            members = torch.where(groups == group)[0]
            kept[members[nms(boxes[members], scores[members], iou)]] = True
        index = torch.where(kept)[0]
        return index[scores[index].sort(descending=True)[1]]
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    shift = groups.to(boxes) * (boxes.max() + torch.tensor(1).to(boxes))
    return nms(boxes + shift[:, None], scores, iou)


def _nms_by_smaller_area(boxes: torch.Tensor, scores: torch.Tensor, groups: torch.Tensor, threshold: float) -> torch.Tensor:
    """O-Net's final NMS within each group (on the CPU): a box goes when its overlap with a kept, higher-scoring one exceeds
    ``threshold`` of the smaller box's area (areas counted in whole pixels, ``+ 1``); the kept indices, best first."""
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    shifted = (boxes + (groups.to(boxes) * (boxes.max() + 1))[:, None]).cpu().numpy()
    x1, y1, x2, y2 = (shifted[:, i].copy() for i in range(4))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order, keep = np.argsort(scores.cpu().numpy()), []
    while order.size > 0:
        best, rest = order[-1], order[:-1]
        keep.append(best)
        w = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + 1)
        order = rest[w * h / np.minimum(area[best], area[rest]) <= threshold]
    return torch.as_tensor(np.array(keep, dtype=np.int64), device=boxes.device)


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
