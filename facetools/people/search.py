"""``find()``: where does the person in this photo appear, across a people index or a folder of runs.

The decision: the photo's face (the mean of several photos' faces) against each identity's mean
embedding, with the calibrated ``threshold`` — or ``strict_threshold`` where the photo's face or
the identity is low quality. The calibration measured single faces against single faces; a track
mean is steadier than one face, so that threshold is conservative for a photo against a track
mean, and looser would invite strangers. A person matches when any of their appearances passes;
then every appearance of theirs is listed (the people index already vouched that they are one
person), best first. Nobody passing gives an empty list: never the nearest stranger.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from facetools.calibration import load_calibration
from facetools.geometry import cosine_distances
from facetools.people.core import build_index, models_for
from facetools.people.index import PEOPLE_JSON, PeopleIndex, PhotoError

if TYPE_CHECKING:
    from facetools.extract.models import Models


@dataclass
class Match:
    """One appearance of a matching person: which video, which identity of which run, how close, when."""

    person: str
    person_id: int
    video: str
    run: str
    identity: int
    distance: float
    threshold: float
    segments: list[tuple[float, float]]

    def to_dict(self) -> dict[str, Any]:
        return {"person": self.person, "person_id": self.person_id, "video": self.video, "run": self.run, "identity": self.identity,
                "distance": round(self.distance, 4), "threshold": round(self.threshold, 4),
                "segments": [{"start_s": round(s, 3), "end_s": round(e, 3)} for s, e in self.segments]}  # fmt: skip


@dataclass
class PhotoFace:
    """The face chosen in one query photo: its embedding and whether it is weak evidence."""

    path: str
    embedding: np.ndarray
    low_quality: bool
    faces_in_photo: int


def read_photo(path: str | os.PathLike[str]) -> np.ndarray:
    """An RGB uint8 image; a one-line :class:`PhotoError` when missing, not an image, or undecodable."""
    p = Path(path)
    if not p.is_file():
        raise PhotoError(f"{p}: no such photo")
    try:
        with Image.open(p) as im:
            return np.asarray(im.convert("RGB"))
    except UnidentifiedImageError:
        raise PhotoError(f"{p}: not an image (expected JPEG, PNG, WebP …)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise PhotoError(f"{p}: the image cannot be decoded ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def photo_face(path: str | os.PathLike[str], models: Models, face: int | None = None) -> PhotoFace:
    """Detect the face in the photo at ``path`` (``face``: the N-th, left to right, when it holds several) and embed it."""
    from facetools.extract.models import photo_faces

    found = photo_faces(models, read_photo(path))
    if not found:
        raise PhotoError(f"{path}: no face found")
    if face is None and len(found) > 1:
        raise PhotoError(f"{path}: {len(found)} faces found; choose one with --face N (1 to {len(found)}, left to right)")
    k = 1 if face is None else face
    if not 1 <= k <= len(found):
        raise PhotoError(f"{path}: --face {k} but the photo has {len(found)} face(s)")
    patch = found[k - 1].patch
    low = load_calibration(models.space.embedder).is_low_quality(patch.height, patch.yaw, patch.sharpness)
    return PhotoFace(str(path), found[k - 1].vector, low, len(found))


def find(
    photos: str | os.PathLike[str] | list[str | os.PathLike[str]], in_dir: str | os.PathLike[str], *, face: int | None = None
) -> list[Match]:
    """Every appearance of the person in ``photos`` among the runs of ``in_dir``, best match first.

    ``in_dir`` is a people index (``facetools people --out``) or a folder of run directories (clustered
    here, in memory). Several photos of one person are averaged. Raises :class:`PhotoError` (one line)
    for a missing, non-image or undecodable photo, one without a face, or one with several and no ``face``.

    Example:
        >>> [m.to_dict() for m in find("photo.jpg", "reports/")]
    """
    paths = [photos] if isinstance(photos, (str, os.PathLike)) else list(photos)
    if not paths:
        raise PhotoError("no photo given")
    for p in paths:
        read_photo(p)  # bad files fail before any model loads
    folder = Path(in_dir)
    index = PeopleIndex.load(folder) if (folder / PEOPLE_JSON).is_file() else build_index([folder])[0]
    apps = [(p, a) for p in index.people for a in p.appearances]
    if not apps:
        return []
    models = models_for(index.space, index.runs)
    faces = [photo_face(p, models, face) for p in paths]
    query = np.mean([f.embedding for f in faces], axis=0)
    query /= np.linalg.norm(query)
    photo_low = all(f.low_quality for f in faces)
    dist = cosine_distances(query[None], np.stack([a.embedding for _, a in apps]))[0]
    limits = np.array([index.rules.sets(photo_low, len(faces), a.low_quality, a.views) for _, a in apps])
    best: dict[int, float] = {}
    for (p, _), d, limit in zip(apps, dist, limits):
        if d < limit:
            best[p.id] = min(best.get(p.id, np.inf), float(d))
    out = [
        Match(p.name, p.id, a.video, a.run, a.identity, float(d), float(limit), list(a.segments))
        for (p, a), d, limit in zip(apps, dist, limits)
        if p.id in best
    ]
    out.sort(key=lambda m: (best[m.person_id], m.distance))
    return out
