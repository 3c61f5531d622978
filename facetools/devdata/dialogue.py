"""A shot/reverse-shot dialogue composed from photos of real people: the TV pattern identity must bridge.

Each person has a camera set-up (framed as a medium close-up on their side of the frame); the edit cuts
back and forth between the set-ups (A-B-A-B, the most frontal photos) with slow camera moves, shows the
two first speakers together in a wide shot (small faces), brings in a third person, and then goes round
every photo of each person as they come back (another day, another look, years apart), the first person
twice after a change of lighting. The whole is encoded with heavy compression. The truth file records
each shot's set-up, photo and condition (:func:`render_dialogue`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facetools.devdata.people_video import read_labels
from facetools.devdata.synth import Scene, Shot, photo_scene, render, truth_file
from facetools.errors import InputValidationError
from facetools.extract.quality import estimate_yaw

if TYPE_CHECKING:
    from facetools.extract.mtcnn_detector import MtcnnDetector

PLAN = [("A", 0, "clean"), ("B", 0, "clean"), ("A", 0, "clean"), ("B", 0, "clean"), ("AB", 0, "wide"), ("A", 1, "clean"),
        ("B", 1, "clean"), ("C", 0, "clean"), ("A", 2, "clean"), ("C", 1, "clean"), ("B", 2, "clean"), ("A", 3, "dark"),
        ("C", 2, "clean"), ("A", 4, "dark"), ("B", 3, "clean"), ("A", 5, "clean"), ("C", 3, "dark")]  # fmt: skip
"""The edit: who is on screen (set-ups A, B, C; AB the wide two-shot), which of their photos (taken round their number of
photos: another day, another look) and the condition."""


def _frontal_first(folder: Path, files: list[str], person: str, detector: MtcnnDetector) -> list[Scene]:
    """The person's photos as portrait scenes, the most frontal first."""
    scenes = []
    for file in files:
        scene = photo_scene(folder / file, person, detector)
        found = detector.largest(scene.image)
        if len(found) == 0:
            raise InputValidationError(f"{file}: no face found in its scene")
        scenes.append((abs(estimate_yaw(found.landmarks[0])), scene))
    return [s for _, s in sorted(scenes, key=lambda t: t[0])]


def setup_shot(scene: Scene, side: int, seconds: float, turn: int, *, aspect: float = 16 / 9) -> Shot:
    """A medium close-up with the face on its speaker's side of the frame (``side`` −1 left, +1 right), pushing in slowly."""
    _label, (x1, y1, x2, y2) = scene.faces[0]
    cx, cy, fh = (x1 + x2) / 2, (y1 + y2) / 2, y2 - y1
    height = 3.2 * fh
    shift = -side * 0.17 * height * aspect  # the window's centre moves away from the face: the face sits off-centre
    drift = 0.08 * fh * (-1) ** turn
    return Shot(scene, seconds, start=(cx + shift, cy + 0.1 * fh, height), end=(cx + shift + drift, cy + 0.1 * fh, 0.88 * height))


def render_dialogue(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str],
    people: list[str],
    detector: MtcnnDetector,
    *,
    seconds: float = 1.6,
    crf: int = 32,
) -> dict[str, Any]:
    """Render the dialogue of three ``people`` (photos of ``folder``) to ``out``; return its truth (also ``<out>.truth.json``).

    The truth adds ``shot_info`` (per shot: its set-up, photo number and condition) to what ``render`` writes.
    """
    folder = Path(folder)
    labels = read_labels(folder)
    if len(people) != 3 or any(p not in labels or len(labels[p]) < 2 for p in people):
        raise InputValidationError(f"a dialogue needs three people of {folder}/labels.csv with two photos or more each: {people}")
    scenes = {key: _frontal_first(folder, labels[p], p, detector) for key, p in zip("ABC", people)}
    side = {"A": -1, "B": 1, "C": 1}
    shots, info = [], []
    for k, (who, photo, condition) in enumerate(PLAN):
        if who == "AB":
            pair = Scene.side_by_side(scenes["A"][photo], scenes["B"][photo], gap=80)
            h, w = pair.image.shape[:2]
            shot = Shot(pair, seconds, start=(w / 2, h / 2, max(h, w * 9 / 16) * 1.1), end=(w / 2 + 20, h / 2, max(h, w * 9 / 16)))
        else:
            photo %= len(scenes[who])
            shot = setup_shot(scenes[who][photo], side[who], seconds, k)
        if condition == "dark":
            shot.light = (0.35, 0.3)
        shots.append(shot)
        info.append({"setup": who, "photo": photo, "condition": condition})
    truth = render(shots, out, crf=crf, audio=False)
    truth.update(shot_info=info, cast={key: p for key, p in zip("ABC", people)})
    truth_file(out).write_text(json.dumps(truth, indent=1, sort_keys=True))
    return truth
