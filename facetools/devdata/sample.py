"""The bundled sample: a 20 s multi-shot video of two real people, built from scikit-image photos.

scikit-image ships two photographs of people: ``astronaut`` (Eileen Collins) and ``camera``
(the cameraman). Their face boxes below were measured once with MTCNN (p > 0.99).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facetools.devdata.synth import Scene, Shot, render, truth_file
from facetools.paths import sample_dir

ASTRONAUT_FACE = (181.0, 62.0, 268.0, 172.0)
CAMERAMAN_FACE = (199.0, 119.0, 254.0, 192.0)


def scenes() -> dict[str, Scene]:
    """The sample's scenes: each person alone, both together, and two scenes without faces."""
    from skimage import data

    astronaut = Scene(np.ascontiguousarray(data.astronaut()[..., :3]), [("astronaut", ASTRONAUT_FACE)])
    camera = Scene(np.ascontiguousarray(np.repeat(data.camera()[..., None], 3, axis=2)), [("cameraman", CAMERAMAN_FACE)])
    return {
        "astronaut": astronaut,
        "cameraman": camera,
        "both": Scene.side_by_side(astronaut, camera),
        "rocket": Scene(np.ascontiguousarray(data.rocket())),
        "coffee": Scene(np.ascontiguousarray(data.coffee())),
    }


def shots() -> list[Shot]:
    """Six shots, 20 s: zoom, pan, a lighting change, both people, two empty scenes."""
    s = scenes()
    return [
        Shot(s["astronaut"], 4.0, start=(240, 200, 300), end=(228, 140, 190)),
        Shot(s["rocket"], 2.0, start=(260, 220, 300), end=(380, 220, 300)),
        Shot(s["cameraman"], 4.0, start=(250, 200, 260), end=(230, 170, 240), light=(1.0, 0.45)),
        Shot(s["both"], 5.0, start=(465, 210, 360), end=(480, 190, 350)),
        Shot(s["coffee"], 2.0, start=(300, 200, 330), end=(330, 210, 280)),
        Shot(s["astronaut"], 3.0, start=(226, 130, 180), end=(250, 220, 360), light=(0.7, 1.1)),
    ]


def sample_video(build: bool = True) -> Path:
    """Path of the sample video, building it (and its ground truth) if missing."""
    path = sample_dir() / "sample.mp4"
    if build and not (path.is_file() and truth_file(path).is_file()):
        render(shots(), path)
    return path


if __name__ == "__main__":
    print(sample_video())
