"""Identity quality: facetools vs the old online matcher, on labelled videos composed from real photos.

Composes a multi-shot 640×360 video from ``../shared/data/faces`` (each photo twice, under a
different condition each time: clean, small, blur, dark, mirror, occluded, fast motion; plus
shots of two people together), runs ``facetools.analyze`` on it, then re-runs the old tool's
identity method on the very same detections, and prints both methods' metrics side by side.

The old method (re-implemented here): every face embedded on its own, matched online against a
store of templates — first template closer than the threshold wins and is replaced by the new
face; otherwise a new ID is added; the store keeps the 10 most recent templates.

Usage: python benchmarks/identity.py [--faces DIR] [--out DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import facetools
from facetools.devdata.evaluate import Evaluation, evaluate
from facetools.devdata.synth import Scene, Shot, photo_scene, render
from facetools.intervals import merge_intervals
from facetools.io.loader import FrameLoader
from facetools.stages.detect import FaceDetector
from facetools.stages.embed import load_embedder
from facetools.stages.faces import cut_patch
from facetools.stages.identity import Identity

SHARED_FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"
CONDITIONS = ["clean", "small", "blur", "dark", "mirror", "occluded", "motion"]


def occlude(scene: Scene) -> Scene:
    """The scene with a dark band over the lower 40 % of its face (a hand, a microphone)."""
    image = Image.fromarray(scene.image.copy())
    _label, (x1, y1, x2, y2) = scene.faces[0]
    ImageDraw.Draw(image).rectangle([x1 - 5, y1 + 0.6 * (y2 - y1), x2 + 5, y2 + 5], fill=(40, 40, 40))
    return Scene(np.asarray(image), scene.faces)


def shot_for(scene: Scene, condition: str, seconds: float = 1.6) -> Shot:
    _label, (x1, y1, x2, y2) = scene.faces[0]
    cx, cy, fh = (x1 + x2) / 2, (y1 + y2) / 2, y2 - y1
    if condition == "small":  # face ~ 30 px tall
        return Shot(scene, seconds, start=(cx, cy, 12 * fh), end=(cx + fh, cy, 11 * fh))
    if condition == "motion":  # fast pan across the face
        return Shot(scene, seconds, start=(cx - 0.8 * fh, cy, 2.4 * fh), end=(cx + 0.8 * fh, cy - 0.3 * fh, 2.4 * fh))
    shot = Shot(scene if condition != "occluded" else occlude(scene), seconds, start=(cx, cy, 2.6 * fh), end=(cx, cy, 2.2 * fh))
    if condition == "blur":
        shot.blur = 2.0
    elif condition == "dark":
        shot.light = (0.35, 0.3)
    elif condition == "mirror":
        shot.mirror = True
    return shot


def compose(faces_dir: Path, detector: FaceDetector) -> list[Shot]:
    scenes = [photo_scene(p, d.name, detector) for d in sorted(faces_dir.iterdir()) if d.is_dir() for p in sorted(d.iterdir())]
    shots = []
    for i, scene in enumerate(scenes):
        shots.append(shot_for(scene, CONDITIONS[i % len(CONDITIONS)]))
        shots.append(shot_for(scene, CONDITIONS[(i + 3) % len(CONDITIONS)]))
    for a, b in zip(scenes[0::3], scenes[1::3]):
        if a.faces[0][0] != b.faces[0][0]:
            pair = Scene.side_by_side(a, b, gap=40)
            h, w = pair.image.shape[:2]
            shots.append(Shot(pair, 1.6, start=(w / 2, h / 2, max(h, w * 9 / 16) * 1.02)))
    # interleave so that people come back after others, as in real footage
    return shots[0::2] + shots[1::2]


def online_baseline(analysis: facetools.Analysis, threshold: float, capacity: int = 10) -> facetools.Analysis:
    """The old tool's identities for the same detections: online first-match over a capped store."""
    embedder = load_embedder(analysis.embedder)
    faces = analysis.faces
    wanted = set(faces["frame"])
    vectors = np.zeros((len(faces), embedder.dim), dtype=np.float32)
    for batch in FrameLoader(analysis.video, batch_size=32):
        images = batch.frames.numpy()
        rows, patches = [], []
        for k, frame in enumerate(batch.indices):
            if frame not in wanted:
                continue
            for r in np.flatnonzero(faces["frame"].to_numpy() == frame):
                box = faces.iloc[r][["x1", "y1", "x2", "y2"]].to_numpy(np.float32) / batch.scale
                w, h = box[2] - box[0], box[3] - box[1]
                landmarks = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]], np.float32) * [w, h] + box[:2]
                rows.append(r)
                patches.append(cut_patch(images[k], box, landmarks, float(faces.iloc[r]["score"])))
        if patches:
            vectors[rows] = embedder.embed(patches)
    store: list[tuple[int, np.ndarray]] = []
    ids = np.empty(len(faces), dtype=np.int64)
    next_id = 0
    for r in range(len(faces)):
        match = next((i for i, (_pid, t) in enumerate(store) if 1.0 - float(t @ vectors[r]) < threshold), None)
        if match is None:
            store.append((next_id, vectors[r]))
            ids[r] = next_id
            next_id += 1
            store = store[-capacity:]
        else:
            pid = store[match][0]
            store[match] = (pid, vectors[r])
            ids[r] = pid
    step = analysis.run["stride"] / analysis.video.fps
    people = []
    for pid in np.unique(ids):
        times = faces["time_s"].to_numpy()[ids == pid]
        segments = merge_intervals([(t, t + step) for t in times], analysis.run["config"]["merge_gap_s"])
        people.append(Identity(int(pid), f"id {pid}", [], int((ids == pid).sum()), segments, np.zeros(0)))
    return dataclasses.replace(analysis, faces=faces.assign(identity=ids), identities=people)


def row(name: str, e: Evaluation) -> str:
    tiou = np.mean(list(e.temporal_iou.values()))
    return (
        f"| {name} | {e.bcubed_precision:.3f} | {e.bcubed_recall:.3f} | {e.bcubed_f1:.3f} | {e.purity:.3f} "
        f"| {e.identities} / {e.true_identities} | {tiou:.3f} | {min(e.coverage.values()):.3f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=SHARED_FACES)
    parser.add_argument("--out", type=Path, default=Path("reports/benchmarks/identity"))
    parser.add_argument("--embedder", default="auto")
    parser.add_argument("--json", type=Path, help="also write the metrics here")
    args = parser.parse_args()
    if not args.faces.is_dir():
        print(f"benchmark needs the shared photos at {args.faces}", file=sys.stderr)
        return 2
    detector = FaceDetector("cpu")
    video = args.out / "identity_benchmark.mp4"
    truth = render(compose(args.faces, detector), video, audio=False)
    started = time.perf_counter()
    analysis = facetools.analyze(video, device="cpu", embedder=args.embedder)
    seconds = time.perf_counter() - started
    ours = evaluate(analysis, truth)
    theirs = evaluate(online_baseline(analysis, analysis.run["cluster_threshold"]), truth)
    print(
        f"video: {len(truth['shots'])} shots, {truth['frames']} frames, {len(truth['people'])} people; conditions: {', '.join(CONDITIONS)}"
    )
    print(f"facetools: {seconds:.1f} s, {analysis.run['faces']} faces, {analysis.run['tracks']} tracks, embedder {analysis.embedder}\n")
    print("| method | BCubed P | BCubed R | BCubed F1 | purity | identities / truth | temporal IoU (mean) | worst person coverage |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(row("facetools (tracks + constrained clustering)", ours))
    print(row("old online first-match (capped store)", theirs))
    if args.json:
        args.json.write_text(json.dumps({"facetools": dataclasses.asdict(ours), "online": dataclasses.asdict(theirs)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
