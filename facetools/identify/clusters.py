"""From tracks to identities: constrained, quality-aware clustering of face sets, and gallery names.

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
from scipy.optimize import linear_sum_assignment

from facetools.calibration import SetThresholds
from facetools.geometry import cosine_distances


@dataclass(eq=False)
class Identity:
    """One person as found in a video.

    ``segments`` are ``[start_s, end_s]`` intervals on screen; ``screen_time_s`` is their sum.
    ``embedding`` is the L2-normalised mean of its good tracks' embeddings (of all, where none is good).
    ``confidence`` is ``low`` for an identity without a good, long track (one long track of weak faces, or several).
    """

    id: int
    name: str
    tracks: list[int]
    faces: int
    segments: list[tuple[float, float]]
    embedding: np.ndarray = field(repr=False)
    thumbnail: str = ""
    confidence: str = "high"

    @property
    def screen_time_s(self) -> float:
        return float(sum(e - s for s, e in self.segments))

    @property
    def first_s(self) -> float:
        return self.segments[0][0] if self.segments else 0.0

    @property
    def last_s(self) -> float:
        return self.segments[-1][1] if self.segments else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "faces": self.faces,
            "tracks": self.tracks,
            "screen_time_s": round(self.screen_time_s, 3),
            "first_s": round(self.first_s, 3),
            "last_s": round(self.last_s, 3),
            "segments": [[round(s, 3), round(e, 3)] for s, e in self.segments],
            "thumbnail": self.thumbnail,
            "confidence": self.confidence,
        }


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


@dataclass(frozen=True)
class Rules:
    """The identity decisions of one embedding space.

    Attributes:
        sets: thresholds between face sets by views and quality.
        threshold: two good single faces (gallery names, search by photo).
        strict_threshold: two single faces of which one is low quality.
        min_faces: tracks with fewer faces (and fewer than their shot's samples) only join others.
        long_track_s: a track of ``min_faces`` or more faces this long is one person by construction.
    """

    sets: SetThresholds
    threshold: float
    strict_threshold: float
    min_faces: int = 3
    long_track_s: float = 1.0

    @classmethod
    def uniform(cls, threshold: float, strict_threshold: float, min_faces: int = 3) -> Rules:
        """The same thresholds for sets of every size (an uncalibrated embedder)."""
        return cls(SetThresholds.constant(threshold, strict_threshold), threshold, strict_threshold, min_faces)

    def scaled(self, factor: float) -> Rules:
        """Every threshold times ``factor``."""
        return Rules(self.sets.scaled(factor), self.threshold * factor, self.strict_threshold * factor, self.min_faces, self.long_track_s)


@dataclass
class Clusters:
    """An identity label per track id (−1: unidentified) and the labels of low-confidence identities."""

    labels: dict[int, int]
    low_confidence: set[int] = field(default_factory=set)


@dataclass
class _Side:
    """A cluster as the calibration sees a set: its quality, its number of views, its mean embedding."""

    low: bool
    views: int
    centroid: np.ndarray


def _side(tracks: list[TrackEvidence], members: list[int]) -> _Side:
    """Good members speak for a cluster that has them; weak ones only where it has none."""
    good = [k for k in members if not tracks[k].low_quality]
    use = good or members
    views = frozenset().union(*(tracks[k].view_keys for k in use))
    mean = sum(len(tracks[k].view_keys) * tracks[k].embedding for k in use)
    return _Side(not good, len(views), mean / max(float(np.linalg.norm(mean)), 1e-12))


def _groups(tracks: list[TrackEvidence], must_link: list[list[int]]) -> list[list[int]]:
    """Positions of ``tracks`` grouped by must-link facts (a fact that would put one frame twice in a group is ignored)."""
    pos = {t.id: k for k, t in enumerate(tracks)}
    groups = {k: [k] for k in range(len(tracks))}
    root = list(range(len(tracks)))
    for fact in must_link:
        ids = [pos[t] for t in fact if t in pos]
        for a, b in zip(ids, ids[1:]):
            ra, rb = root[a], root[b]
            if ra == rb or _frames(tracks, groups[ra]) & _frames(tracks, groups[rb]):
                continue
            groups[ra] += groups.pop(rb)
            for k in groups[ra]:
                root[k] = ra
    return list(groups.values())


def _frames(tracks: list[TrackEvidence], members: list[int]) -> set[int]:
    return set().union(*(tracks[k].frames for k in members))


def _apart(tracks: list[TrackEvidence], groups: list[list[int]], cannot_link: list[tuple[int, int]]) -> np.ndarray:
    """Pairs of groups that may never join: they share a frame, or a user said two of their tracks are two people."""
    group_of = {tracks[k].id: g for g, members in enumerate(groups) for k in members}
    apart = np.zeros((len(groups), len(groups)), dtype=bool)
    by_frame: dict[int, set[int]] = {}
    for g, members in enumerate(groups):
        for f in _frames(tracks, members):
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
    sides = [_side(tracks, m) for m in members]
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
            side = _side(tracks, members[i])
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


@dataclass(frozen=True)
class Suggestion:
    """Two identities that may be one person: their mean faces lie under what is worth asking, over what joins."""

    a: int
    b: int
    distance: float
    threshold: float
    evidence: str

    def to_dict(self) -> dict[str, object]:
        return {
            "a": self.a,
            "b": self.b,
            "distance": round(self.distance, 4),
            "threshold": round(self.threshold, 4),
            "evidence": self.evidence,
        }


def suggest_merges(
    tracks: list[TrackEvidence],
    clusters: Clusters,
    rules: Rules,
    *,
    cannot_link: list[tuple[int, int]] | None = None,
    per_identity: int = 2,
) -> list[Suggestion]:
    """Pairs of identities (cluster labels) worth a "same person?" question, best first.

    A pair qualifies when its mean faces lie under the calibrated distance worth asking; never when the two
    share a frame or a cannot-link fact stands between them (a user's "no", or a split). Best first: the
    smallest distance relative to the threshold the pair missed; at most ``per_identity`` pairs per identity.
    """
    pos = {t.id: k for k, t in enumerate(tracks)}
    members: dict[int, list[int]] = {}
    for tid, label in clusters.labels.items():
        if label >= 0:
            members.setdefault(label, []).append(pos[tid])
    labels = sorted(members)
    frames = {k: _frames(tracks, members[k]) for k in labels}
    of = clusters.labels
    answered = {frozenset((of[a], of[b])) for a, b in cannot_link or [] if of.get(a, -1) >= 0 and of.get(b, -1) >= 0}
    sides = {k: _side(tracks, members[k]) for k in labels}
    found = []
    for x, a in enumerate(labels):
        for b in labels[x + 1 :]:
            sa, sb = sides[a], sides[b]
            distance = 1.0 - float(sa.centroid @ sb.centroid)
            if distance >= rules.sets.asking(sa.low, sb.low) or frozenset((a, b)) in answered or frames[a] & frames[b]:
                continue
            threshold = rules.sets(sa.low, sa.views, sb.low, sb.views)
            quality = {(False, False): "both good", (True, True): "both low quality"}.get((sa.low, sb.low), "one low quality")
            evidence = f"mean faces {distance:.3f} apart, {sa.views} and {sb.views} shots, {quality}: they would join under {threshold:.3f}"
            found.append(Suggestion(a, b, distance, threshold, evidence))
    found.sort(key=lambda s: s.distance / max(s.threshold, 1e-9))
    chosen: list[Suggestion] = []
    count: dict[int, int] = {}
    for s in found:
        if count.get(s.a, 0) < per_identity and count.get(s.b, 0) < per_identity:
            chosen.append(s)
            count[s.a], count[s.b] = count.get(s.a, 0) + 1, count.get(s.b, 0) + 1
    return chosen


def name_identities(identities: list[Identity], gallery: dict[str, np.ndarray], threshold: float, taken: set[str] | None = None) -> None:
    """Give identities the names of gallery people they match (one name per identity, one identity per name).

    ``gallery`` maps a name to that person's L2-normalised mean embedding; names in ``taken``
    (given by a user) and identities already named by a user are left alone.
    """
    free = [p for p in identities if p.name == f"person {p.id}"]
    names = sorted(set(gallery) - (taken or set()))
    if not free or not names:
        return
    dist = cosine_distances(np.stack([p.embedding for p in free]), np.stack([gallery[n] for n in names]))
    for i, j in zip(*linear_sum_assignment(dist)):
        if dist[i, j] < threshold:
            free[i].name = names[j]
