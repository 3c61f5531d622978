"""Linking detections across sampled frames into tracks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from facetools.extract.faces import FacePatch
from facetools.geometry import iou_matrix

Face = tuple[int, int, np.ndarray, FacePatch]
"""A face of a track: its row in the face table, frame, box and patch."""


@dataclass(eq=False)
class Track:
    """One face followed through consecutive sampled frames of one shot.

    Attributes:
        id: track number, unique within a run.
        shot: the shot it lies in.
        rows: indices of its faces in the run's face table.
        frames: frame number of each face.
        boxes: box of each face (original pixels), ``(n, 4)`` once finished.
        patches: its best checked faces (by quality), kept for embedding.
        anchor: its face at the last full detection pass that continued it, or its first face (the appearance check compares
            with it).
        pending: the faces re-detected since, as ``(row, frame, box, patch)``: not yet checked by appearance, not in ``patches``.
    """

    id: int
    shot: int
    rows: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    patches: list[FacePatch] = field(default_factory=list)
    anchor: FacePatch | None = field(default=None, repr=False)
    pending: list[Face] = field(default_factory=list, repr=False)

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

    def add(self, row: int, frame: int, box: np.ndarray, patch: FacePatch, keep: int, *, full_pass: bool = True) -> None:
        """Append a face: one found by a full pass becomes the anchor (the pending faces are confirmed), a re-detected one is pending."""
        self.rows.append(row)
        self.frames.append(frame)
        self.boxes.append(np.asarray(box, dtype=np.float32))
        if full_pass:
            self.confirm(keep)
            self.anchor = patch
            self._keep(patch, keep)
        else:
            self.pending.append((row, frame, box, patch))

    def confirm(self, keep: int) -> None:
        """The pending faces passed the appearance check: their patches compete for embedding."""
        for face in self.pending:
            self._keep(face[3], keep)
        self.pending = []

    def prepend(self, row: int, frame: int, box: np.ndarray, patch: FacePatch, keep: int) -> None:
        """Put a checked face before the first (one an earlier track carried after a missed cut, see :class:`Tracker`)."""
        self.rows.insert(0, row)
        self.frames.insert(0, frame)
        self.boxes.insert(0, np.asarray(box, dtype=np.float32))
        self._keep(patch, keep)

    def _keep(self, patch: FacePatch, keep: int) -> None:
        self.patches.append(patch)
        if len(self.patches) > keep:
            self.patches.remove(min(self.patches, key=lambda p: p.quality))

    def drop_pending(self) -> list[Face]:
        """Remove and return the faces re-detected since the anchor (they may show someone else: a cut the shot detector missed)."""
        dropped, n = self.pending, len(self.pending)
        if n:
            del self.rows[-n:], self.frames[-n:], self.boxes[-n:]
        self.pending = []
        return dropped

    @property
    def best_patch(self) -> FacePatch:
        return max(self.patches, key=lambda p: p.quality)


class Tracker:
    """Online IoU tracker with constant-velocity prediction, short gap bridging and re-detected faces.

    Faces of a full detection pass are matched to live tracks by the Hungarian method on IoU
    with each track's predicted box (:meth:`update`); faces re-detected around the predicted
    boxes between full passes continue their tracks directly (:meth:`follow`), and faces near no
    track there start new ones (:meth:`start`; only detectors that look at the whole frame find
    such faces between full passes). A track not seen
    for more than ``max_gap`` frames, or from another shot, is finished and handed back.

    Every full-pass link also needs ``same_person(anchor, new face)`` to agree, when given: a cut
    the shot detector misses between two similar framings of different people would otherwise
    carry one track from one person to the next (measured on composed videos of real people).
    When it disagrees, the track ends and the face starts a new one: the old track keeps its faces
    re-detected since its anchor up to the first unlike the anchor, and each of the rest goes to
    the new track if it looks like the new face, else nowhere. A track that ends on re-detected
    faces is cut the same way; the faces cut off go to a track starting right after them at the
    same place if they look like it, else nowhere. Re-detected faces join the faces kept for
    embedding only once checked.

    Args:
        iou_threshold: least IoU between a prediction and a detection to link them.
        max_gap: frames a track may go unseen and still be continued.
        keep: how many of its best faces a track keeps for embedding.
        same_person: appearance check of every full-pass link.
    """

    def __init__(
        self,
        iou_threshold: float = 0.3,
        max_gap: int = 12,
        keep: int = 3,
        same_person: Callable[[FacePatch, FacePatch], bool] | None = None,
    ) -> None:
        self.iou_threshold = iou_threshold
        self.max_gap = max_gap
        self.keep = keep
        self.same_person = same_person
        self.live: list[Track] = []
        self.next_id = 0

    def due(self, frame: int, shot: int) -> list[Track]:
        """Finish and return the tracks that ended before ``frame`` (unseen too long, or of an earlier shot)."""
        done = [t for t in self.live if t.shot != shot or frame - t.last_frame > self.max_gap]
        self.live = [t for t in self.live if t not in done]
        return self._checked_ends(done)

    def _checked_ends(self, done: list[Track]) -> list[Track]:
        """``done``, where a track ends on re-detected faces, cut before the first that fails the check against its anchor."""
        for track in done:
            for face in reversed(self._split(track)):
                self._adopt(face, track.shot, self.live + done)
            track.confirm(self.keep)
        return done

    def _split(self, track: Track) -> list[Face]:
        """Remove and return ``track``'s re-detected faces from the first unlike its anchor on (the rest stay pending)."""
        unlike = [k for k, face in enumerate(track.pending) if not self._looks_alike(track.anchor, face[3])]
        if not unlike:
            return []
        faces = track.drop_pending()
        for row, frame, box, patch in faces[: unlike[0]]:
            track.add(row, frame, box, patch, self.keep, full_pass=False)
        return faces[unlike[0] :]

    def _adopt(self, face: Face, shot: int, tracks: list[Track]) -> None:
        """Give ``face`` to the track of ``shot`` that starts just after it where it overlaps, if it looks alike."""
        row, frame, box, patch = face
        for track in tracks:
            if (
                track.shot == shot
                and 0 < track.first_frame - frame <= self.max_gap
                and iou_matrix(np.asarray(box)[None], track.boxes[0][None])[0, 0] >= self.iou_threshold
                and self._looks_alike(track.anchor, patch)
            ):
                track.prepend(row, frame, box, patch, self.keep)
                return

    def update(self, frame: int, shot: int, rows: list[int], boxes: np.ndarray, patches: list[FacePatch]) -> list[Track]:
        """Add the faces a full detection pass found in one frame; return the tracks that ended (before it, or at a failed check)."""
        done = self.due(frame, shot)
        matched: set[int] = set()
        handed: dict[int, list[Face]] = {}
        if self.live and len(boxes):
            predicted = np.stack([t.predict(frame) for t in self.live])
            iou = iou_matrix(predicted, np.asarray(boxes))
            for ti, di in zip(*linear_sum_assignment(-iou)):
                track = self.live[ti]
                if iou[ti, di] < self.iou_threshold:
                    continue
                if not self._looks_alike(track.anchor, patches[di]):  # someone else where it was going: it ends
                    handed[di] = [f for f in self._split(track) if self._looks_alike(patches[di], f[3])]
                    track.confirm(self.keep)
                    done.append(track)
                    continue
                track.add(rows[di], frame, boxes[di], patches[di], self.keep)
                matched.add(di)
        self.live = [t for t in self.live if t not in done]
        new = [di for di in range(len(boxes)) if di not in matched]
        self.start(
            frame, shot, [rows[d] for d in new], [boxes[d] for d in new], [patches[d] for d in new], [handed.get(d, []) for d in new]
        )
        return done

    def start(
        self,
        frame: int,
        shot: int,
        rows: list[int],
        boxes: list[np.ndarray],
        patches: list[FacePatch],
        earlier: list[list[Face]] | None = None,
    ) -> None:
        """Begin a track at each face (its anchor), after the ``earlier`` faces handed to it, if any."""
        for k, (row, box, patch) in enumerate(zip(rows, boxes, patches, strict=True)):
            track = Track(self.next_id, shot)
            self.next_id += 1
            for r, at, b, p in earlier[k] if earlier else []:
                track.add(r, at, b, p, self.keep, full_pass=False)
            track.add(row, frame, box, patch, self.keep)
            self.live.append(track)

    def follow(self, frame: int, tracks: list[Track], rows: list[int], boxes: np.ndarray, patches: list[FacePatch]) -> None:
        """Continue each of ``tracks`` with the face re-detected around its predicted box in ``frame``."""
        for track, row, box, patch in zip(tracks, rows, boxes, patches, strict=True):
            track.add(row, frame, box, patch, self.keep, full_pass=False)

    def _looks_alike(self, a: FacePatch | None, b: FacePatch) -> bool:
        return self.same_person is None or a is None or self.same_person(a, b)

    def flush(self) -> list[Track]:
        """Finish and return every live track."""
        done, self.live = self.live, []
        return self._checked_ends(done)


def distinct(boxes: np.ndarray, priority: np.ndarray, overlap: float = 0.5) -> np.ndarray:
    """Indices of ``boxes`` kept when, of any two overlapping by more than ``overlap`` IoU, the one of lower ``priority`` goes."""
    order = np.argsort(-np.asarray(priority), kind="stable")
    iou = iou_matrix(boxes, boxes) if len(boxes) else np.zeros((0, 0))
    kept: list[int] = []
    for i in order:
        if all(iou[i, j] <= overlap for j in kept):
            kept.append(int(i))
    return np.array(sorted(kept), dtype=np.int64)
