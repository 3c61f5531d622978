"""From tracks to identities: constrained, quality-aware clustering of face sets.

An identity is a set of tracks, and a track a set of faces. Two sets join when their mean
embeddings lie closer than the calibrated threshold for sets of their size and quality
(:class:`facetools.calibration.SetThresholds`): the more independent views (shots) stand behind
each side, the steadier their means. A wrong merge is worse than a split: tracks that share a
frame never join (cannot-link, on every path), weak evidence (small, turned away, blurred faces)
is judged by the stricter low-quality thresholds, and a set without a good, long track becomes
an identity only when it is long enough to be one person by construction (flagged low confidence).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facetools.identify.rules import Rules


@dataclass(frozen=True)
class TrackEvidence:
    """What clustering knows of a track (or of any set of one person's faces, such as a run's identity).

    ``views`` are keys of the independent views behind it (default: its shot); ``seconds`` its time on screen.
    """

    id: int
    shot: int
    frames: frozenset[int]
    embedding: np.ndarray = field(repr=False)
    faces: int
    low_quality: bool = False
    seconds: float = 0.0
    views: frozenset[int] | None = None

    @property
    def view_keys(self) -> frozenset[int]:
        return self.views if self.views is not None else frozenset({self.shot})


@dataclass
class Clusters:
    """An identity label per track id (−1: unidentified) and the labels of low-confidence identities."""

    labels: dict[int, int]
    low_confidence: set[int] = field(default_factory=set)


@dataclass
class Side:
    """A cluster as the calibration sees a set: its quality, its number of views, its mean embedding."""

    low: bool
    views: int
    centroid: np.ndarray


def side_of(tracks: list[TrackEvidence], members: list[int]) -> Side:
    """Good members speak for a cluster that has them; weak ones only where it has none."""
    good = [k for k in members if not tracks[k].low_quality]
    use = good or members
    views = frozenset().union(*(tracks[k].view_keys for k in use))
    mean = sum(len(tracks[k].view_keys) * tracks[k].embedding for k in use)
    return Side(not good, len(views), mean / max(float(np.linalg.norm(mean)), 1e-12))


def _groups(tracks: list[TrackEvidence], must_link: list[list[int]]) -> list[list[int]]:
    """Positions of ``tracks`` grouped by must-link facts (a fact that would put one frame twice in a group is ignored)."""
    pos = {t.id: k for k, t in enumerate(tracks)}
    groups = {k: [k] for k in range(len(tracks))}
    root = list(range(len(tracks)))
    for fact in must_link:
        ids = [pos[t] for t in fact if t in pos]
        for a, b in zip(ids, ids[1:]):
            ra, rb = root[a], root[b]
            if ra == rb or frames_of(tracks, groups[ra]) & frames_of(tracks, groups[rb]):
                continue
            groups[ra] += groups.pop(rb)
            for k in groups[ra]:
                root[k] = ra
    return list(groups.values())


def frames_of(tracks: list[TrackEvidence], members: list[int]) -> set[int]:
    return set().union(*(tracks[k].frames for k in members))


def _apart(tracks: list[TrackEvidence], groups: list[list[int]], cannot_link: list[tuple[int, int]]) -> np.ndarray:
    """Pairs of groups that may never join: they share a frame, or a user said two of their tracks are two people."""
    group_of = {tracks[k].id: g for g, members in enumerate(groups) for k in members}
    apart = np.zeros((len(groups), len(groups)), dtype=bool)
    by_frame: dict[int, set[int]] = {}
    for g, members in enumerate(groups):
        for f in frames_of(tracks, members):
            by_frame.setdefault(f, set()).add(g)
    pairs = [(a, b) for gs in by_frame.values() if len(gs) > 1 for a in gs for b in gs if a != b]
    pairs += [(group_of[a], group_of[b]) for a, b in cannot_link if a in group_of and b in group_of]
    if pairs:
        rows, cols = np.array(pairs).T
        apart[rows, cols] = apart[cols, rows] = True
    np.fill_diagonal(apart, False)
    return apart


def cluster_tracks(
    tracks: list[TrackEvidence],
    rules: Rules,
    *,
    shot_samples: dict[int, int] | None = None,
    must_link: list[list[int]] | None = None,
    cannot_link: list[tuple[int, int]] | None = None,
) -> Clusters:
    """Identities of ``tracks``: average (centroid) linkage of face sets under their calibrated thresholds.

    1. Must-link facts (a user's merges and assignments) group tracks first.
    2. Groups merge, most confident first (the smallest distance relative to its threshold), while the
       distance between their means is under the set threshold for their views and quality
       (:func:`_side`); groups sharing a frame or a cannot-link fact never join, through any merge.
       Weak sets (no good track) first only join strong ones; then, with what is left, each other.
    3. A cluster is an identity when it holds a core track (good faces, at least ``rules.min_faces`` or
       as many as its shot has sampled frames) or a user's group; else, with low confidence, when it
       holds a track of that many faces over ``rules.long_track_s`` or two tracks of that many faces.
       Other clusters (short or weak tracks alone) stay unidentified.
    """
    samples = shot_samples or {}
    groups = _groups(tracks, must_link or [])
    n = len(groups)
    if n == 0:
        return Clusters({})
    apart = _apart(tracks, groups, cannot_link or [])
    members = [list(g) for g in groups]
    sides = [side_of(tracks, m) for m in members]
    centroids = np.stack([s.centroid for s in sides])
    lows = np.array([s.low for s in sides])
    views = np.array([s.views for s in sides])
    alive = np.ones(n, dtype=bool)
    ratio = np.full((n, n), np.inf)

    def refresh(i: int, weak_together: bool) -> None:
        limits = rules.sets.against(lows[i], int(views[i]), lows, views)
        dist = 1.0 - centroids @ centroids[i]
        row = np.divide(dist, limits, out=np.full(n, np.inf), where=limits > 0)
        row[apart[i] | ~alive] = np.inf
        if lows[i] and not weak_together:
            row[lows] = np.inf
        row[i] = np.inf
        ratio[i], ratio[:, i] = row, row

    for weak_together in (False, True):  # first weak sets join strong ones; only then each other
        for i in np.flatnonzero(alive):
            refresh(i, weak_together)
        while True:
            i, j = np.unravel_index(int(np.argmin(ratio)), ratio.shape)
            if not ratio[i, j] < 1.0:
                break
            members[i] += members[j]
            alive[j] = False
            ratio[j], ratio[:, j] = np.inf, np.inf
            apart[i] |= apart[j]
            apart[:, i] = apart[i]
            side = side_of(tracks, members[i])
            centroids[i], lows[i], views[i] = side.centroid, side.low, side.views
            refresh(i, weak_together)

    def enough(k: int) -> bool:
        return tracks[k].faces >= min(rules.min_faces, samples.get(tracks[k].shot, rules.min_faces))

    out = Clusters({t.id: -1 for t in tracks})
    user = {k for g in groups if len(g) > 1 for k in g}
    label = 0
    for cluster in (members[i] for i in np.flatnonzero(alive)):
        core = any(k in user or (enough(k) and not tracks[k].low_quality) for k in cluster)
        long = any(enough(k) and tracks[k].seconds >= rules.long_track_s for k in cluster)
        if not (core or long or sum(enough(k) for k in cluster) >= 2):
            continue
        if not core:
            out.low_confidence.add(label)
        for k in cluster:
            out.labels[tracks[k].id] = label
        label += 1
    return out
