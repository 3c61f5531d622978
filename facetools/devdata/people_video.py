"""A labelled multi-shot video composed from photos of real people (``shared/data/people``), built to catch wrong merges.

Every photo of a person gets one shot, under a condition (clean, small, blurred, dark); the
photos themselves vary in pose. The pairs of different people whose photos are closest under an
embedder (measured, :func:`look_alikes`) are shown in consecutive clean shots and side by side in
one shot; some people appear only once. The truth file (:func:`facetools.devdata.synth.render`)
also records each shot's condition and each face's photo and yaw, so that coverage can be
measured on the frontal, good faces alone (:func:`frontal_coverage`).
"""

from __future__ import annotations

import csv
import itertools
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from facetools.devdata.evaluate import label_faces
from facetools.devdata.synth import Scene, Shot, photo_scene, render, truth_file
from facetools.errors import InputValidationError
from facetools.extract.faces import cut_patch

if TYPE_CHECKING:
    from facetools.extract.embed import Embedder
    from facetools.extract.mtcnn_detector import MtcnnDetector
    from facetools.identify.analysis import Identification

CONDITIONS = ("clean", "small", "blur", "dark")
CYCLE = ("small", "blur", "dark", "clean")
"""Conditions of a person's shots after their two clean ones (most frontal photos first)."""


@dataclass(eq=False)
class Photo:
    """One labelled photo as a scene, with the yaw and embedding of its face as the scene shows it."""

    file: str
    person: str
    scene: Scene = field(repr=False)
    yaw: float
    embedding: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class LookAlike:
    """Two different people and their closest photos under the embedder."""

    a: Photo
    b: Photo
    distance: float

    def to_dict(self) -> dict[str, Any]:
        return {"people": [self.a.person, self.b.person], "photos": [self.a.file, self.b.file], "distance": round(self.distance, 4)}


def read_labels(folder: str | os.PathLike[str]) -> dict[str, list[str]]:
    """``labels.csv`` of a people folder: person → photo files (relative to the folder), in file order."""
    out: dict[str, list[str]] = {}
    with (Path(folder) / "labels.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["person"], []).append(row["file"])
    return out


def photo_detector() -> MtcnnDetector:
    """A detector for portrait photos: faces of 60 px and more (a shorter image pyramid, several times faster)."""
    from facetools.extract.mtcnn_detector import MtcnnDetector

    return MtcnnDetector("cpu", min_face_size=60)


def load_photos(folder: str | os.PathLike[str], people: list[str], detector: MtcnnDetector, embedder: Embedder) -> list[Photo]:
    """The photos of ``people`` as portrait scenes, each face's yaw and embedding measured on the scene."""
    labels = read_labels(folder)
    missing = sorted(set(people) - set(labels))
    if missing:
        raise InputValidationError(f"not in {folder}/labels.csv: {missing}")
    photos = []
    for person in people:
        for file in labels[person]:
            scene = photo_scene(Path(folder) / file, person, detector)
            found = detector.largest(scene.image)
            if len(found) == 0:
                raise InputValidationError(f"{file}: no face found in its scene")
            patch = cut_patch(scene.image, found.boxes[0], found.landmarks[0], float(found.scores[0]))
            photos.append(Photo(file, person, scene, patch.yaw, embedder.embed([patch])[0]))
    return photos


def look_alikes(photos: list[Photo], pairs: int) -> list[LookAlike]:
    """The ``pairs`` closest pairs of different people (each person in one pair at most), by their closest photos."""
    best: dict[tuple[str, str], LookAlike] = {}
    for a, b in itertools.combinations(photos, 2):
        if a.person == b.person:
            continue
        if a.person > b.person:
            a, b = b, a
        d = float(1.0 - a.embedding @ b.embedding)
        key = (a.person, b.person)
        if key not in best or d < best[key].distance:
            best[key] = LookAlike(a, b, d)
    chosen: list[LookAlike] = []
    for pair in sorted(best.values(), key=lambda p: p.distance):
        if len(chosen) < pairs and not {pair.a.person, pair.b.person} & {p for c in chosen for p in (c.a.person, c.b.person)}:
            chosen.append(pair)
    return chosen


def condition_shot(scene: Scene, condition: str, seconds: float, turn: int = 0) -> Shot:
    """A shot of a one-face scene: clean (face ~110-140 px), small (~30-45 px), blurred or dark; ``turn`` alternates the pan."""
    _label, (x1, y1, x2, y2) = scene.faces[0]
    cx, cy, fh = (x1 + x2) / 2, (y1 + y2) / 2, y2 - y1
    side = 0.1 * fh * (-1) ** turn
    if condition == "small":  # a 360-px frame: a window 12 → 8 face heights tall shows the face 30 → 45 px
        return Shot(scene, seconds, start=(cx, cy, 12 * fh), end=(cx + 8 * side, cy, 8 * fh))
    shot = Shot(scene, seconds, start=(cx, cy, 3.0 * fh), end=(cx + side, cy, 2.5 * fh))
    if condition == "blur":
        shot.blur = 2.5
    elif condition == "dark":
        shot.light = (0.3, 0.25)
    elif condition != "clean":
        raise ValueError(f"unknown condition {condition!r}")
    return shot


def two_shot(a: Scene, b: Scene, seconds: float) -> Shot:
    """Two scenes side by side, framed whole."""
    pair = Scene.side_by_side(a, b, gap=40)
    h, w = pair.image.shape[:2]
    return Shot(pair, seconds, start=(w / 2, h / 2, max(h, w * 9 / 16) * 1.02))


def compose(photos: list[Photo], pairs: list[LookAlike], once: list[str], seconds: float = 1.0) -> tuple[list[Shot], list[dict[str, Any]]]:
    """The shots and, per shot, its condition and its faces' photos and yaws.

    People in ``once`` get a single clean shot (of their look-alike photo when they have one);
    everyone else a shot per photo. Each look-alike pair's photos are shown in consecutive clean
    shots and, unless one of them appears only once, together in a two-shot. The other shots go
    round the people in turn, so people come back after others.
    """
    alike = {p.file: pair for pair in pairs for p in (pair.a, pair.b)}
    by_person: dict[str, list[Photo]] = {}
    for p in photos:
        by_person.setdefault(p.person, []).append(p)
    queues: list[list[tuple[Photo, str]]] = []
    for person, own in by_person.items():
        own = sorted(own, key=lambda p: (p.file not in alike, abs(p.yaw)))
        if person in once:
            own = own[:1]
        rest = [p for p in own if p.file not in alike]
        conditions = ["clean"] * (2 - (len(own) - len(rest))) + [CYCLE[k % len(CYCLE)] for k in range(len(rest))]
        queues.append(list(zip(rest, conditions)))
    order = [item for round_ in itertools.zip_longest(*queues) for item in round_ if item is not None]
    shots: list[Shot] = []
    info: list[dict[str, Any]] = []

    def add(shot: Shot, condition: str, members: list[Photo]) -> None:
        shots.append(shot)
        info.append({"condition": condition, "faces": {p.person: {"photo": p.file, "yaw": round(p.yaw, 3)} for p in members}})

    inserts = {round((k + 1) * len(order) / (len(pairs) + 1)): pair for k, pair in enumerate(pairs)}
    for k, (photo, condition) in enumerate(order + [(None, "")]):
        if k in inserts:
            pair = inserts[k]
            add(condition_shot(pair.a.scene, "clean", seconds, k), "clean", [pair.a])
            add(condition_shot(pair.b.scene, "clean", seconds, k + 1), "clean", [pair.b])
            if pair.a.person not in once and pair.b.person not in once:
                add(two_shot(pair.a.scene, pair.b.scene, seconds), "clean", [pair.a, pair.b])
        if photo is not None:
            add(condition_shot(photo.scene, condition, seconds, k), condition, [photo])
    return shots, info


def render_people_video(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str],
    people: list[str],
    detector: MtcnnDetector,
    embedder: Embedder,
    *,
    pairs: int = 2,
    once: list[str] | None = None,
    seconds: float = 1.0,
) -> dict[str, Any]:
    """Render the video of ``people`` (photos of ``folder``) to ``out``; return its truth, also written to ``<out>.truth.json``.

    Look-alike pairs are measured with ``embedder``. The truth adds ``shot_info`` (per shot: its
    condition; per face: photo and yaw), ``look_alikes`` and ``once`` to what ``render`` writes.
    """
    photos = load_photos(folder, people, detector, embedder)
    chosen = look_alikes(photos, pairs)
    shots, info = compose(photos, chosen, once or [], seconds)
    truth = render(shots, out, audio=False)
    truth.update(shot_info=info, look_alikes=[p.to_dict() for p in chosen], once=once or [], embedder=embedder.name)
    truth_file(out).write_text(json.dumps(truth, indent=1, sort_keys=True))
    return truth


def frontal_faces(truth: dict[str, Any], max_yaw: float, min_face_px: float) -> set[tuple[int, str]]:
    """``(frame, person)`` of every good frontal face: a clean shot of a photo turned at most ``max_yaw``, at least ``min_face_px`` tall."""
    shot_of = np.zeros(truth["frames"], dtype=np.int64)
    for k, (a, b) in enumerate(truth["shots"]):
        shot_of[a:b] = k
    out = set()
    for person, rows in truth["people"].items():
        for frame, _x1, y1, _x2, y2 in rows:
            shot = truth["shot_info"][shot_of[int(frame)]]
            face = shot["faces"].get(person)
            if shot["condition"] == "clean" and face and abs(face["yaw"]) <= max_yaw and y2 - y1 >= min_face_px:
                out.add((int(frame), person))
    return out


def frontal_coverage(analysis: Identification, truth: dict[str, Any], max_yaw: float = 0.25, min_face_px: float = 48.0) -> dict[str, float]:
    """Per person: the share of their good frontal faces on detected frames that were found inside their main identity.

    A person's main identity is the one holding most of their faces (as in :func:`facetools.devdata.evaluate.evaluate`).
    """
    faces = analysis.faces
    person = label_faces(faces, truth)
    stride = int(analysis.run.stride)
    frontal = {fp for fp in frontal_faces(truth, max_yaw, min_face_px) if fp[0] % stride == 0}
    out = {}
    for name in truth["people"]:
        mine = faces[person == name]
        main = Counter(int(i) for i in mine["identity"] if i >= 0).most_common(1)
        wanted = {f for f, p in frontal if p == name}
        hits = {int(f) for f, i in zip(mine["frame"], mine["identity"]) if main and i == main[0][0]} & wanted
        out[name] = len(hits) / len(wanted) if wanted else float("nan")
    return out
