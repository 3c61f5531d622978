"""From tracks to identities: constrained clustering, timelines and gallery names."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from facetools.geometry import cosine_distances
from facetools.intervals import merge_intervals
from facetools.stages.track import Track


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


def overlapping(tracks: list[Track]) -> np.ndarray:
    """Boolean matrix: the two tracks share a sampled frame (so cannot be one person)."""
    frames = [set(t.frames) for t in tracks]
    n = len(tracks)
    out = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in range(i + 1, n):
            if frames[i] & frames[j]:
                out[i, j] = out[j, i] = True
    return out


def agglomerate(dist: np.ndarray, cannot_link: np.ndarray, threshold: float) -> np.ndarray:
    """Average-linkage clustering that never joins clusters holding a cannot-link pair.

    Merges the closest pair of clusters while their mean pairwise distance is below
    ``threshold``. Returns a cluster label per item, numbered from 0.
    """
    n = len(dist)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    d = np.array(dist, dtype=np.float64)
    blocked = np.array(cannot_link, dtype=bool)
    np.fill_diagonal(d, np.inf)
    d[blocked] = np.inf
    size = np.ones(n)
    alive = np.ones(n, dtype=bool)
    members: list[list[int]] = [[i] for i in range(n)]
    while alive.sum() > 1:
        i, j = np.unravel_index(np.argmin(d), d.shape)
        if not d[i, j] < threshold:
            break
        d[i] = (size[i] * d[i] + size[j] * d[j]) / (size[i] + size[j])
        blocked[i] |= blocked[j]
        d[i, blocked[i]] = np.inf
        d[i, ~alive] = np.inf
        d[i, i] = np.inf
        d[:, i] = d[i]
        d[j], d[:, j] = np.inf, np.inf
        blocked[:, i] = blocked[i]
        size[i] += size[j]
        alive[j] = False
        members[i] += members[j]
    labels = np.empty(n, dtype=np.int64)
    for label, root in enumerate(np.flatnonzero(alive)):
        labels[members[root]] = label
    return labels


def cluster_tracks(
    tracks: list[Track],
    threshold: float,
    min_faces: int = 3,
    attach_threshold: float | None = None,
    shot_samples: dict[int, int] | None = None,
) -> None:
    """Set ``track.identity`` for every embedded track.

    1. Tracks with at least ``min_faces`` faces, or as many as their shot has sampled frames
       (``shot_samples``; a very short shot or video cannot give more), are clustered (:func:`agglomerate`, cannot-link
       for tracks sharing a frame) at ``threshold``.
    2. A cluster of a single track (one appearance, often under hard conditions: occlusion,
       blur, darkness) joins the nearest cluster of several tracks closer than
       ``attach_threshold`` (default 1.4 × ``threshold``) when no frame forbids it: one
       appearance is weak evidence of a new person, and fragmenting people is the failure
       this step exists to prevent.
    3. Shorter tracks join the nearest identity closer than ``threshold`` that has no track in
       the same frames, else stay unassigned (−1).
    """
    embedded = [t for t in tracks if t.embedding is not None]
    for t in tracks:
        t.identity = -1
    samples = shot_samples or {}
    core = [t for t in embedded if len(t) >= min(min_faces, samples.get(t.shot, min_faces))]
    short = [t for t in embedded if t not in core]
    if not core:
        return
    emb = np.stack([t.embedding for t in core])
    labels = agglomerate(cosine_distances(emb, emb), overlapping(core), threshold)
    labels = _attach_singletons(core, emb, labels, threshold * 1.4 if attach_threshold is None else attach_threshold)
    for t, label in zip(core, labels):
        t.identity = int(label)
    centroids = _centroids(emb, labels)
    frames_of = [set().union(*(t.frames for t in core if t.identity == k)) for k in range(len(centroids))]
    for t in short:
        k = _nearest_allowed(t, centroids, frames_of, threshold)
        if k is not None:
            t.identity = k


def _nearest_allowed(track: Track, centroids: np.ndarray, frames_of: list[set[int]], threshold: float) -> int | None:
    """The nearest cluster closer than ``threshold`` with no face in ``track``'s frames."""
    dist = cosine_distances(track.embedding[None], centroids)[0]
    for k in np.argsort(dist):
        if dist[k] >= threshold:
            return None
        if not frames_of[k] & set(track.frames):
            return int(k)
    return None


def _attach_singletons(core: list[Track], emb: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """Step 2 of :func:`cluster_tracks`; returns labels renumbered from 0."""
    counts = np.bincount(labels)
    if counts.max() < 2:
        return labels
    centroids = _centroids(emb, labels)
    big = np.flatnonzero(counts >= 2)
    frames_of = [set().union(*(t.frames for t, label in zip(core, labels) if label == k)) for k in range(len(centroids))]
    labels = labels.copy()
    for i in np.flatnonzero(counts[labels] == 1):
        k = _nearest_allowed(core[i], centroids[big], [frames_of[b] for b in big], threshold)
        if k is not None:
            labels[i] = big[k]
    return np.unique(labels, return_inverse=True)[1]


def _centroids(emb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    c = np.stack([emb[labels == k].mean(0) for k in range(labels.max() + 1)])
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def build_identities(tracks: list[Track], spans: dict[int, tuple[float, float]], gap: float) -> list[Identity]:
    """Group assigned tracks into :class:`Identity` objects sorted by screen time, ids 0, 1, …

    ``spans`` gives each track's on-screen interval in seconds. Tracks' ``identity`` fields
    are renumbered to match.
    """
    groups: dict[int, list[Track]] = {}
    for t in tracks:
        if t.identity >= 0:
            groups.setdefault(t.identity, []).append(t)
    people = []
    for members in groups.values():
        emb = np.mean([t.embedding for t in members], axis=0)
        people.append(
            Identity(
                id=-1,
                name="",
                tracks=sorted(t.id for t in members),
                faces=sum(len(t) for t in members),
                segments=merge_intervals([spans[t.id] for t in members], gap),
                embedding=emb / np.linalg.norm(emb),
            )
        )
    people.sort(key=lambda p: (-p.screen_time_s, p.first_s))
    renumber = {}
    for new_id, person in enumerate(people):
        person.id = new_id
        person.name = f"person {new_id}"
        for tid in person.tracks:
            renumber[tid] = new_id
    for t in tracks:
        t.identity = renumber.get(t.id, -1)
    return people


def name_identities(identities: list[Identity], gallery: dict[str, np.ndarray], threshold: float) -> None:
    """Give identities the names of gallery people they match (one name per identity, one identity per name).

    ``gallery`` maps a name to that person's L2-normalised mean embedding.
    """
    if not identities or not gallery:
        return
    names = sorted(gallery)
    dist = cosine_distances(np.stack([p.embedding for p in identities]), np.stack([gallery[n] for n in names]))
    for i, j in zip(*linear_sum_assignment(dist)):
        if dist[i, j] < threshold:
            identities[i].name = names[j]
