"""Reference photos of named people, embedded to name identities."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from facetools.errors import InputValidationError
from facetools.extract.models import Models, photo_faces

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def gallery_photos(folder: str | os.PathLike[str]) -> dict[str, list[Path]]:
    """Map each person's name to their photos.

    A sub-folder per person (``obama/1.jpg``) or photos named after people (``obama.jpg``,
    ``obama_2.jpg``: trailing digits and separators are not part of the name).
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputValidationError(f"{root}: gallery folder not found")
    people: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        rel = path.relative_to(root)
        name = rel.parts[0] if len(rel.parts) > 1 else re.sub(r"[\s_\-.]*\d*$", "", path.stem) or path.stem
        people.setdefault(name, []).append(path)
    if not people:
        raise InputValidationError(f"{root}: gallery holds no photos ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return people


def embed_gallery(folder: str | os.PathLike[str], models: Models) -> dict[str, np.ndarray]:
    """Mean L2-normalised embedding per person of the gallery: each photo's largest face (photos without one are skipped)."""
    out: dict[str, np.ndarray] = {}
    for name, paths in gallery_photos(folder).items():
        vectors = []
        for path in paths:
            try:
                image = np.asarray(Image.open(path).convert("RGB"))
            except (UnidentifiedImageError, OSError):
                continue
            vectors += [face.vector for face in photo_faces(models, image, largest=True)]
        if vectors:
            mean = np.mean(vectors, axis=0)
            out[name] = mean / np.linalg.norm(mean)
    return out
