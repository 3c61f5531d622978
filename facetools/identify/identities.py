"""``Identity``: one person as found in a video; naming identities from a gallery of reference photos."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

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
