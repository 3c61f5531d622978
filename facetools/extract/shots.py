"""Hard-cut (shot change) detection from tiny luma thumbnails of consecutive frames."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from facetools.io.batches import THUMB_SIZE, FrameBatch

_LUMA = torch.tensor([0.299, 0.587, 0.114])


class ShotDetector:
    """Numbers the shots of a video as its frames stream by.

    Each frame is reduced to a 32×18 luma thumbnail and its 16-bin histogram (ffmpeg makes the
    thumbnails as it decodes, an area average of the frame's luma: on the crowd video their
    changes from frame to frame differ from those of thumbnails of RGB frames by ≤ 0.0006).
    A cut is declared where the thumbnail changes by more than ``threshold`` of full scale on average
    (and more than four times the recent median change, so fast motion does not count) while
    the histogram changes too, or where the histogram alone changes by more than 0.4 (half-L1).
    Measured on the bundled sample and the shared-photo video: changes within shots ≤ 0.018
    (thumbnail) and ≤ 0.12 (histogram, a lighting change); at cuts ≥ 0.097 and ≥ 0.17.
    """

    def __init__(self, threshold: float = 0.06) -> None:
        self.threshold = threshold
        self._prev: tuple[torch.Tensor, torch.Tensor] | None = None
        self._recent: list[float] = []
        self.shot = 0
        self.cuts: list[int] = []

    @staticmethod
    def thumbnails(frames: torch.Tensor) -> torch.Tensor:
        """Flattened 18×32 luma thumbnails in [0, 1] of RGB ``frames`` (N×H×W×3)."""
        luma = (frames[:, ::4, ::4].float() @ _LUMA.to(frames.device))[:, None]
        return F.adaptive_avg_pool2d(luma, THUMB_SIZE[::-1]).flatten(1) / 255.0

    def _is_cut(self, d_thumb: float, d_hist: float) -> bool:
        baseline = 4 * float(np.median(self._recent)) if self._recent else 0.0
        cut = (d_thumb > max(self.threshold, baseline) and d_hist > 0.1) or d_hist > 0.4
        self._recent = [] if cut else (self._recent + [d_thumb])[-25:]
        return cut

    def update(self, frames: torch.Tensor, indices: np.ndarray) -> np.ndarray:
        """Return the shot number of each frame of the batch (batches in video order)."""
        return self._update(self.thumbnails(frames), indices)

    def update_batch(self, batch: FrameBatch) -> np.ndarray:
        """The shot number of each of the batch's frames, cutting on every frame it covers (its thumbnails where it has them)."""
        if batch.thumbs is None:
            return self.update(batch.frames, batch.indices)
        shots = self._update(batch.thumbs.luma.flatten(1).float() / 255.0, batch.thumbs.indices)
        return shots[np.searchsorted(batch.thumbs.indices, batch.indices)]

    def _update(self, thumb: torch.Tensor, indices: np.ndarray) -> np.ndarray:
        bins = (thumb * 16).clamp(max=15.999).long()
        hist = torch.zeros(len(thumb), 16, device=thumb.device).scatter_add_(1, bins, torch.ones_like(thumb)) / thumb.shape[1]
        if self._prev is not None:
            thumb, hist = torch.cat([self._prev[0], thumb]), torch.cat([self._prev[1], hist])
        d_thumb = (thumb[1:] - thumb[:-1]).abs().mean(1).tolist()
        d_hist = (0.5 * (hist[1:] - hist[:-1]).abs().sum(1)).tolist()
        offset = 0 if self._prev is not None else 1
        shots = np.empty(len(indices), dtype=np.int64)
        for i, frame in enumerate(indices):
            k = i - offset
            if k >= 0 and self._is_cut(d_thumb[k], d_hist[k]):
                self.shot += 1
                self.cuts.append(int(frame))
            shots[i] = self.shot
        self._prev = (thumb[-1:], hist[-1:])
        return shots
