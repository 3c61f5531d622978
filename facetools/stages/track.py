"""Linking detections across sampled frames into tracks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from facetools.geometry import iou_matrix
from facetools.stages.faces import FacePatch


@dataclass(eq=False)
class Track:
    """One face followed through consecutive sampled frames of one shot.

    Attributes:
        id: track number, unique within a run.
        shot: the shot it lies in.
        rows: indices of its faces in the run's face table.
        frames: frame number of each face.
        boxes: box of each face (original pixels), ``(n, 4)`` once finished.
        patches: its best faces (by quality) kept for embedding.
        embedding: L2-normalised mean of the patches' embeddings, once embedded.
        identity: identity id, −1 while unassigned.
    """

    id: int
    shot: int
    rows: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    patches: list[FacePatch] = field(default_factory=list)
    embedding: np.ndarray | None = None
    identity: int = -1
    last_patch: FacePatch | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def first_frame(self) -> int:
        return self.frames[0]

    @property
    def last_frame(self) -> int:
        return self.frames[-1]

    def predict(self, frame: int) -> np.ndarray:
        """Box expected at ``frame`` under constant velocity from the last two faces."""
        last = self.boxes[-1]
        if len(self.boxes) < 2 or self.frames[-1] == self.frames[-2]:
            return last
        velocity = (self.boxes[-1] - self.boxes[-2]) / (self.frames[-1] - self.frames[-2])
        return last + velocity * (frame - self.frames[-1])

    def add(self, row: int, frame: int, box: np.ndarray, patch: FacePatch, keep: int) -> None:
        self.rows.append(row)
        self.frames.append(frame)
        self.boxes.append(np.asarray(box, dtype=np.float32))
        self.patches.append(patch)
        self.last_patch = patch
        if len(self.patches) > keep:
            self.patches.remove(min(self.patches, key=lambda p: p.quality))

    @property
    def best_patch(self) -> FacePatch:
        return max(self.patches, key=lambda p: p.quality)


class Tracker:
    """Online IoU tracker with constant-velocity prediction and short gap bridging.

    Detections of a sampled frame are matched to live tracks by the Hungarian method on IoU
    with each track's predicted box; a track not seen for more than ``max_gap`` frames, or
    from another shot, is finished and handed back. Every link also needs
    ``same_person(last face, new face)`` to agree, when given: a cut the shot detector misses
    between two similar framings of different people would otherwise carry one track from one
    person to the next (measured on composed videos of real people).

    Args:
        iou_threshold: least IoU between a prediction and a detection to link them.
        max_gap: frames a track may go unseen and still be continued.
        keep: how many of its best faces a track keeps for embedding.
        step: frames between sampled frames (the detection stride).
        same_person: appearance check of every link.
    """

    def __init__(
        self,
        iou_threshold: float = 0.3,
        max_gap: int = 12,
        keep: int = 3,
        step: int = 1,
        same_person: Callable[[FacePatch, FacePatch], bool] | None = None,
    ) -> None:
        self.iou_threshold = iou_threshold
        self.max_gap = max_gap
        self.keep = keep
        self.step = step
        self.same_person = same_person
        self._live: list[Track] = []
        self.next_id = 0

    def update(self, frame: int, shot: int, rows: list[int], boxes: np.ndarray, patches: list[FacePatch]) -> list[Track]:
        """Add the faces of one sampled frame; return the tracks that ended before it."""
        done = [t for t in self._live if t.shot != shot or frame - t.last_frame > self.max_gap]
        self._live = [t for t in self._live if t not in done]
        matched: set[int] = set()
        if self._live and len(boxes):
            predicted = np.stack([t.predict(frame) for t in self._live])
            iou = iou_matrix(predicted, np.asarray(boxes))
            for ti, di in zip(*linear_sum_assignment(-iou)):
                track = self._live[ti]
                if iou[ti, di] < self.iou_threshold or not self._looks_alike(track, patches[di]):
                    continue
                track.add(rows[di], frame, boxes[di], patches[di], self.keep)
                matched.add(di)
        for di in range(len(boxes)):
            if di not in matched:
                track = Track(self.next_id, shot)
                self.next_id += 1
                track.add(rows[di], frame, boxes[di], patches[di], self.keep)
                self._live.append(track)
        return done

    def _looks_alike(self, track: Track, patch: FacePatch) -> bool:
        if self.same_person is None or track.last_patch is None:
            return True
        return self.same_person(track.last_patch, patch)

    def flush(self) -> list[Track]:
        """Finish and return every live track."""
        done, self._live = self._live, []
        return done
