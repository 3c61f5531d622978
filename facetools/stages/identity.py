"""From tracks to identities: constrained, quality-aware clustering and gallery names.

A wrong merge is worse than a split: clusters join only when every pair of their tracks is
closer than the threshold (complete linkage, so no chain through look-alikes), tracks that
share a frame never join (cannot-link), and a track whose faces are weak evidence (small,
turned away, blurred) or too short joins an identity only under the strict threshold and
otherwise stays unidentified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from facetools.geometry import cosine_distances


@dataclass(eq=False)
class Identity:
    """One person as found in a video.

    ``segments`` are ``[start_s, end_s]`` intervals on screen; ``screen_time_s`` is their sum.
    ``embedding`` is the L2-normalised mean of its tracks' embeddings.
    """

    id: int
    name: str
    tracks: list[int]
    faces: int
    segments: list[tuple[float, float]]
    embedding: np.ndarray = field(repr=False)
    thumbnail: str = ""

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
        }


@dataclass(frozen=True)
class TrackEvidence:
    """What clustering knows of a track: its frames, its embedding, how many faces and how good."""

    id: int
    shot: int
    frames: frozenset[int]
    embedding: np.ndarray = field(repr=False)
    faces: int
    low_quality: bool = False


@dataclass(frozen=True)
class Rules:
    """Thresholds of the identity decisions (cosine distances between track embeddings)."""

    threshold: float
    strict_threshold: float
    min_faces: int = 3


def agglomerate(dist: np.ndarray, cannot_link: np.ndarray, threshold: float) -> np.ndarray:
    """Complete-linkage clustering that never joins clusters holding a cannot-link pair.

    Merges the pair of clusters whose farthest members are closest, while that distance is
    below ``threshold``. Returns a cluster label per item, numbered from 0.
    """
    n = len(dist)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    d = np.array(dist, dtype=np.float64)
    d[np.asarray(cannot_link, dtype=bool)] = np.inf
    np.fill_diagonal(d, np.inf)
    alive = np.ones(n, dtype=bool)
    members: list[list[int]] = [[i] for i in range(n)]
    while alive.sum() > 1:
        i, j = np.unravel_index(np.argmin(d), d.shape)
        if not d[i, j] < threshold:
            break
        d[i] = np.maximum(d[i], d[j])  # complete linkage; inf (cannot-link) propagates
        d[:, i] = d[i]
        d[i, i] = np.inf
        d[j], d[:, j] = np.inf, np.inf
        alive[j] = False
        members[i] += members[j]
    labels = np.empty(n, dtype=np.int64)
    for label, root in enumerate(np.flatnonzero(alive)):
        labels[members[root]] = label
    return labels


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


def cluster_tracks(
    tracks: list[TrackEvidence],
    rules: Rules,
    *,
    shot_samples: dict[int, int] | None = None,
    must_link: list[list[int]] | None = None,
    cannot_link: list[tuple[int, int]] | None = None,
) -> dict[int, int]:
    """An identity label per track id (−1: unidentified).

    1. Must-link facts (a user's merges and assignments) group tracks first.
    2. Core groups — at least ``rules.min_faces`` good faces, or as many as their shot has
       sampled frames (``shot_samples``), or a user's group — are clustered with complete
       linkage at ``rules.threshold``; groups sharing a frame or a cannot-link fact never join.
    3. Every other group (short, or low quality) joins the identity all of whose tracks lie
       within the threshold (the strict one when it is low quality) and which has no face in
       its frames; the nearest such, else none.
    4. Low-quality tracks left over form identities of their own only where two or more lie
       within the strict threshold of each other (:func:`_weak_identities`); the rest stay unidentified.
    """
    samples = shot_samples or {}
    banned = {frozenset(p) for p in (cannot_link or [])}
    groups = _groups(tracks, must_link or [])
    emb = np.stack([t.embedding for t in tracks]) if tracks else np.zeros((0, 0))
    dist = cosine_distances(emb, emb) if tracks else np.zeros((0, 0))

    def long_enough(k: int) -> bool:
        return tracks[k].faces >= min(rules.min_faces, samples.get(tracks[k].shot, rules.min_faces))

    def core(group: list[int]) -> bool:
        return len(group) > 1 or (not tracks[group[0]].low_quality and long_enough(group[0]))

    def apart(a: list[int], b: list[int]) -> bool:
        ids = [(tracks[i].id, tracks[j].id) for i in a for j in b]
        return bool(_frames(tracks, a) & _frames(tracks, b)) or any(frozenset(p) in banned for p in ids)

    cores = [g for g in groups if core(g)]
    n = len(cores)
    link = np.array([[dist[np.ix_(a, b)].max() for b in cores] for a in cores]).reshape(n, n)
    blocked = np.array([[i != j and apart(cores[i], cores[j]) for j in range(n)] for i in range(n)]).reshape(n, n)
    labels = agglomerate(link, blocked, rules.threshold)
    identities: list[list[int]] = [sum((cores[i] for i in np.flatnonzero(labels == k)), []) for k in range(labels.max(initial=-1) + 1)]
    others = sorted((g for g in groups if not core(g)), key=lambda g: -max(tracks[k].faces for k in g))
    left = []
    for group in others:
        limit = rules.strict_threshold if any(tracks[k].low_quality for k in group) else rules.threshold
        best, best_d = None, np.inf
        for k, members in enumerate(identities):
            far = dist[np.ix_(group, members)]
            if far.max() < limit and not apart(group, members) and far.mean() < best_d:
                best, best_d = k, far.mean()
        if best is None:
            left.append(group)
        else:
            identities[best] = identities[best] + group
    identities += _weak_identities(left, dist, apart, rules, lambda g: long_enough(g[0]))
    out = {t.id: -1 for t in tracks}
    for k, members in enumerate(identities):
        for i in members:
            out[tracks[i].id] = k
    return out


def _weak_identities(
    groups: list[list[int]],
    dist: np.ndarray,
    apart: Callable[[list[int], list[int]], bool],
    rules: Rules,
    long_enough: Callable[[list[int]], bool],
) -> list[list[int]]:
    """Identities made of low-quality tracks alone: at least two long ones, all pairs within the strict threshold.

    One weak appearance never makes an identity on its own (no lone-appearance rule).
    """
    weak = [g for g in groups if long_enough(g)]
    n = len(weak)
    if n < 2:
        return []
    link = np.array([[dist[np.ix_(a, b)].max() for b in weak] for a in weak])
    blocked = np.array([[i != j and apart(weak[i], weak[j]) for j in range(n)] for i in range(n)])
    labels = agglomerate(link, blocked, rules.strict_threshold)
    clusters = [np.flatnonzero(labels == k) for k in range(labels.max() + 1)]
    return [sum((weak[i] for i in c), []) for c in clusters if len(c) >= 2]


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
