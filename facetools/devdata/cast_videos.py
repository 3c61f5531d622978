"""Small test videos with chosen casts, composed from photos of real people (``shared/data/people``).

Each shot shows one photo, or two side by side, for ``shot_s`` seconds; with 2 s shots at 25 fps
every shot starts on a multiple of 10 frames, so a detection stride of 5 or 10 samples each
shot from its first frame. Ground truth comes from :func:`facetools.devdata.synth.render`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facetools.devdata.synth import Scene, Shot, photo_scene, render

if TYPE_CHECKING:
    from facetools.extract.mtcnn_detector import MtcnnDetector

CastShot = tuple[str, ...]
"""Photos (paths under the people folder, ``person_01/img1.jpg``) seen together in one shot."""


def label_of(photo: str) -> str:
    """The person of a people-folder photo: its folder name."""
    return Path(photo).parts[0]


def cast_shots(people_dir: str | os.PathLike[str], shots: list[CastShot], detector: MtcnnDetector, *, shot_s: float = 2.0) -> list[Shot]:
    """Shots of ``shots``: a single photo zooms in slowly with a small pan; two photos stand side by side, framed whole."""
    scenes: dict[str, Scene] = {}
    out = []
    for k, photos in enumerate(shots):
        for p in photos:
            if p not in scenes:
                scenes[p] = photo_scene(Path(people_dir) / p, label_of(p), detector)
        if len(photos) == 1:
            scene = scenes[photos[0]]
            ((_, (x1, y1, x2, y2)),) = scene.faces
            cx, cy, fh = (x1 + x2) / 2, (y1 + y2) / 2, y2 - y1
            out.append(Shot(scene, shot_s, start=(cx, cy, 2.6 * fh), end=(cx + 0.1 * fh * (-1) ** k, cy, 2.1 * fh)))
        else:
            scene = Scene.side_by_side(*(scenes[p] for p in photos), gap=40)
            h, w = scene.image.shape[:2]
            out.append(Shot(scene, shot_s, start=(w / 2, h / 2, max(h, w * 9 / 16) * 1.02)))
    return out


def cast_video(
    people_dir: str | os.PathLike[str], shots: list[CastShot], out: str | os.PathLike[str], detector: MtcnnDetector, *, shot_s: float = 2.0
) -> dict[str, Any]:
    """Render ``shots`` into the video ``out`` (640×360, 25 fps, no audio); returns the ground truth."""
    return render(cast_shots(people_dir, shots, detector, shot_s=shot_s), out, audio=False)
