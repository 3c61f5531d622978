"""Identity quality: facetools vs the old online matcher, on labelled videos composed from real photos.

Composes a multi-shot 640×360 video from ``../shared/data/faces`` (each photo twice, under a
different condition each time: clean, small, blur, dark, mirror, occluded, fast motion; plus
shots of two people together), runs ``facetools.analyze`` on it, then re-runs the old tool's
identity method on the very same detections, and prints both methods' metrics side by side.

The old method (re-implemented here): every face embedded on its own, matched online against a
store of templates — first template closer than the threshold wins and is replaced by the new
face; otherwise a new ID is added; the store keeps the 10 most recent templates.

Then composes a second video from ``../shared/data/people`` (13 people, 61 photos:
:mod:`facetools.devdata.people_video`: pose-varied, small, blurred and dark shots, people seen
once, two-shots, the closest pairs of different people under SFace in consecutive shots) and
compares, on the same stored tracks, main's old identity rules (re-implemented here from
e49780f: average linkage with cannot-link, the lone-appearance rule at 1.4x the threshold,
short tracks to the nearest centroid; dlib at its old threshold 0.065, SFace, which had no old
threshold, at its calibrated one) with the new rules (``facetools.identify``), for SFace and
dlib: BCubed, purity, identities, worst-person coverage of good frontal faces, per-person
coverage, and the tracks of any identity that holds two people.

Usage: python benchmarks/identity.py [--faces DIR] [--people DIR] [--videos faces,people] [--out DIR] [--json FILE]
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
from facetools.devdata.evaluate import Evaluation, evaluate, label_faces
from facetools.devdata.people_video import frontal_coverage, photo_detector, read_labels, render_people_video
from facetools.devdata.synth import Scene, Shot, photo_scene, render
from facetools.geometry import cosine_distances
from facetools.intervals import merge_intervals
from facetools.io.loader import FrameLoader
from facetools.stages.detect import FaceDetector
from facetools.stages.embed import load_embedder
from facetools.stages.faces import cut_patch
from facetools.stages.identity import Identity
from facetools.stages.tracks import TrackSet

SHARED_FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"
SHARED_PEOPLE = SHARED_FACES.parent / "people"
OLD_THRESHOLDS = {"dlib": 0.065}  # main's threshold before calibration; SFace had none, so the old rules use its calibrated one
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
    embedder = load_embedder(analysis.embedder, precision=analysis.run.embedder_precision)
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
    step = analysis.run.stride / analysis.video.fps
    people = []
    for pid in np.unique(ids):
        times = faces["time_s"].to_numpy()[ids == pid]
        segments = merge_intervals([(t, t + step) for t in times], analysis.run.config["merge_gap_s"])
        people.append(Identity(int(pid), f"id {pid}", [], int((ids == pid).sum()), segments, np.zeros(0)))
    return dataclasses.replace(analysis, faces=faces.assign(identity=ids), identities=people)


def row(name: str, e: Evaluation) -> str:
    tiou = np.mean(list(e.temporal_iou.values()))
    return (
        f"| {name} | {e.bcubed_precision:.3f} | {e.bcubed_recall:.3f} | {e.bcubed_f1:.3f} | {e.purity:.3f} "
        f"| {e.identities} / {e.true_identities} | {tiou:.3f} | {min(e.coverage.values()):.3f} |"
    )


def old_rules(tracks: TrackSet, threshold: float, min_faces: int = 3) -> dict[int, int]:
    """Main's identity rules before issue 14 (e49780f), an identity label per track id (-1: none).

    1. Tracks with ``min_faces`` faces (or all their shot's samples) are clustered by average
       linkage, never joining clusters that share a frame, while the mean distance is under ``threshold``.
    2. A cluster of one track joins the nearest cluster of several (by centroid) within 1.4 x ``threshold``
       when no frame forbids it (the lone-appearance rule).
    3. Shorter tracks join the nearest centroid within ``threshold`` that has no face in their frames.
    """
    records = tracks.tracks
    labels = {r.id: -1 for r in records}
    core = [r for r in records if len(r) >= min(min_faces, tracks.shot_samples.get(r.shot, min_faces))]
    if not core:
        return labels
    frames = [set(r.frames.tolist()) for r in core]
    emb = np.stack([r.embedding for r in core])
    blocked = np.array([[i != j and bool(frames[i] & frames[j]) for j in range(len(core))] for i in range(len(core))])
    k = average_linkage(cosine_distances(emb, emb), blocked, threshold)
    counts = np.bincount(k)
    big = np.flatnonzero(counts >= 2)
    if len(big):
        cent = centroids(emb, k)
        owned = [set().union(*(f for f, c in zip(frames, k) if c == b)) for b in range(len(cent))]
        for i in np.flatnonzero(counts[k] == 1):
            near = nearest_allowed(emb[i], frames[i], cent[big], [owned[b] for b in big], 1.4 * threshold)
            if near is not None:
                k[i] = big[near]
    k = np.unique(k, return_inverse=True)[1]
    cent = centroids(emb, k)
    owned = [set().union(*(f for f, c in zip(frames, k) if c == b)) for b in range(len(cent))]
    for r, c in zip(core, k):
        labels[r.id] = int(c)
    for r in records:
        if labels[r.id] < 0 and r not in core:
            near = nearest_allowed(r.embedding, set(r.frames.tolist()), cent, owned, threshold)
            labels[r.id] = -1 if near is None else near
    return labels


def average_linkage(dist: np.ndarray, blocked: np.ndarray, threshold: float) -> np.ndarray:
    """Average-linkage agglomeration under ``threshold`` that never joins clusters holding a ``blocked`` pair."""
    n = len(dist)
    d = np.array(dist, dtype=np.float64)
    blocked = np.array(blocked, dtype=bool)
    np.fill_diagonal(d, np.inf)
    d[blocked] = np.inf
    size, alive = np.ones(n), np.ones(n, dtype=bool)
    members = [[i] for i in range(n)]
    while alive.sum() > 1:
        i, j = np.unravel_index(np.argmin(d), d.shape)
        if not d[i, j] < threshold:
            break
        d[i] = (size[i] * d[i] + size[j] * d[j]) / (size[i] + size[j])
        blocked[i] |= blocked[j]
        blocked[:, i] = blocked[i]
        d[i, blocked[i] | ~alive] = np.inf
        d[i, i] = np.inf
        d[:, i] = d[i]
        d[j], d[:, j] = np.inf, np.inf
        size[i] += size[j]
        alive[j] = False
        members[i] += members[j]
    labels = np.empty(n, dtype=np.int64)
    for label, root in enumerate(np.flatnonzero(alive)):
        labels[members[root]] = label
    return labels


def centroids(emb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    c = np.stack([emb[labels == k].mean(0) for k in range(labels.max() + 1)])
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def nearest_allowed(vector: np.ndarray, frames: set[int], cent: np.ndarray, owned: list[set[int]], threshold: float) -> int | None:
    """The nearest centroid under ``threshold`` whose cluster has no face in ``frames``."""
    dist = cosine_distances(vector[None], cent)[0]
    for k in np.argsort(dist):
        if dist[k] >= threshold:
            return None
        if not owned[k] & frames:
            return int(k)
    return None


def relabelled(analysis: facetools.Analysis, labels: dict[int, int]) -> facetools.Analysis:
    """``analysis`` with other identity labels per track (identities rebuilt from the tracks' spans)."""
    spans = {r.id: r.span for r in analysis.trackset.tracks}
    gap = analysis.run.config["merge_gap_s"]
    people = []
    for k in sorted({v for v in labels.values() if v >= 0}):
        tracks = [t for t, v in labels.items() if v == k]
        faces = int(analysis.faces["track"].isin(tracks).sum())
        people.append(Identity(k, f"old {k}", tracks, faces, merge_intervals([spans[t] for t in tracks], gap), np.zeros(0)))
    faces = analysis.faces.assign(identity=analysis.faces["track"].map(labels).fillna(-1).astype("int64"))
    return dataclasses.replace(analysis, faces=faces, identities=people)


def mixed_identities(analysis: facetools.Analysis, truth: dict) -> list[str]:
    """A line per track of every identity holding faces of two or more people (what each track holds, its shots, its quality)."""
    from facetools.calibration import load_calibration

    cal = load_calibration(analysis.embedder)
    faces = analysis.faces.assign(person=label_faces(analysis.faces, truth))
    shot_of = np.zeros(truth["frames"], dtype=np.int64)
    for k, (a, b) in enumerate(truth["shots"]):
        shot_of[a:b] = k
    records = {r.id: r for r in analysis.trackset.tracks}
    lines = []
    for identity, group in faces[faces["identity"] >= 0].groupby("identity"):
        if group["person"].nunique() < 2:
            continue
        lines.append(f"identity {identity}: {dict(group['person'].value_counts())}")
        for track, g in group.groupby("track"):
            _q, h, yaw, sharp = records[track].best_face
            shots = sorted({int(shot_of[f]) for f in g["frame"]})
            conditions = sorted({truth["shot_info"][k]["condition"] for k in shots})
            lines.append(
                f"  track {track}: {dict(g['person'].value_counts(dropna=False))} in composed shots {shots} ({', '.join(conditions)}), "
                f"{len(records[track])} faces, best face {h:.0f} px yaw {yaw:+.2f} sharpness {sharp:.0f}, "
                f"low quality {cal.is_low_quality(float(h), float(yaw), float(sharp))}"
            )
    return lines


def people_benchmark(folder: Path, out: Path) -> dict[str, dict]:
    """Old vs new rules, SFace and dlib, on the composed ``people/`` video; prints the tables."""
    labels = read_labels(folder)
    once = [p for p, files in labels.items() if len(files) == min(len(f) for f in labels.values())]
    video = out / "people_benchmark.mp4"
    started = time.perf_counter()
    sface = load_embedder("sface", precision="float32")  # the closest pairs, hence the video, the same on every CPU
    truth = render_people_video(folder, video, sorted(labels), photo_detector(), sface, pairs=3, once=once)
    print(f"\npeople/ video: {len(truth['shots'])} shots, {truth['frames']} frames, {len(truth['people'])} people, "
          f"composed in {time.perf_counter() - started:.0f} s; seen once: {', '.join(once)}")  # fmt: skip
    for pair in truth["look_alikes"]:
        print(f"look-alike pair (SFace, closest photos): {' / '.join(pair['photos'])}: {pair['distance']:.3f}")
    results: dict[str, Evaluation] = {}
    coverage: dict[str, dict[str, float]] = {}
    bystanders: dict[str, int] = {}
    mixed: list[str] = []
    for name in ("sface", "dlib"):
        started = time.perf_counter()
        tracks = facetools.extract(video, facetools.Config(device="cpu", embedder=name))
        new = facetools.identify(tracks)
        seconds = time.perf_counter() - started
        old_threshold = OLD_THRESHOLDS.get(name, new.run.cluster_threshold)
        old = relabelled(new, old_rules(tracks, old_threshold))
        print(f"{name}: {seconds:.0f} s, {new.run.faces} faces, {new.run.tracks} tracks; new threshold {new.run.cluster_threshold} "
              f"(strict {new.run.strict_threshold}), old {old_threshold}")  # fmt: skip
        for rules, analysis in (("old", old), ("new", new)):
            key = f"{name} {rules}"
            results[key] = evaluate(analysis, truth)
            coverage[key] = frontal_coverage(analysis, truth)
            unlabelled = label_faces(analysis.faces, truth).isna()
            bystanders[key] = sum(1 for p in analysis.identities if unlabelled[analysis.faces["identity"] == p.id].all())
            mixed += [f"{key} rules: {line}" if line.startswith("identity") else line for line in mixed_identities(analysis, truth)]
    print("\n| embedder | rules | BCubed P | BCubed R | BCubed F1 | purity | identities / truth | worst frontal coverage "
          "| worst coverage, all faces |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |")  # fmt: skip
    for key, e in results.items():
        cov = coverage[key]
        worst = min(cov, key=lambda p: cov[p])
        print(f"| {' | '.join(key.split())} | {e.bcubed_precision:.3f} | {e.bcubed_recall:.3f} | {e.bcubed_f1:.3f} | {e.purity:.3f} "
              f"| {e.identities} / {e.true_identities} ({bystanders[key]} of bystanders) | {cov[worst]:.3f} ({worst}) "
              f"| {min(e.coverage.values()):.3f} |")  # fmt: skip
    print("\nfrontal-face coverage per person (good frontal faces inside the person's main identity)\n")
    print("| person | " + " | ".join(coverage) + " |\n| --- |" + " --- |" * len(coverage))
    for person in sorted(truth["people"]):
        print(f"| {person} | " + " | ".join(f"{c[person]:.3f}" for c in coverage.values()) + " |")
    if mixed:
        print("\nidentities holding two people, track by track:\n" + "\n".join(mixed))
    return {k: {"evaluation": dataclasses.asdict(e), "frontal_coverage": coverage[k]} for k, e in results.items()}


def faces_benchmark(faces_dir: Path, out: Path, embedder: str) -> dict[str, dict]:
    """facetools vs the old online matcher on the composed ``faces/`` video; prints the table."""
    detector = FaceDetector("cpu")
    video = out / "identity_benchmark.mp4"
    truth = render(compose(faces_dir, detector), video, audio=False)
    started = time.perf_counter()
    analysis = facetools.analyze(video, device="cpu", embedder=embedder)
    seconds = time.perf_counter() - started
    ours = evaluate(analysis, truth)
    theirs = evaluate(online_baseline(analysis, analysis.run.cluster_threshold), truth)
    print(
        f"video: {len(truth['shots'])} shots, {truth['frames']} frames, {len(truth['people'])} people; conditions: {', '.join(CONDITIONS)}"
    )
    print(f"facetools: {seconds:.1f} s, {analysis.run.faces} faces, {analysis.run.tracks} tracks, embedder {analysis.embedder}\n")
    print("| method | BCubed P | BCubed R | BCubed F1 | purity | identities / truth | temporal IoU (mean) | worst person coverage |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(row("facetools (tracks + constrained clustering)", ours))
    print(row("old online first-match (capped store)", theirs))
    return {"facetools": dataclasses.asdict(ours), "online": dataclasses.asdict(theirs)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=SHARED_FACES)
    parser.add_argument("--people", type=Path, default=SHARED_PEOPLE)
    parser.add_argument("--videos", default="faces,people", help="which composed videos: faces, people or both")
    parser.add_argument("--out", type=Path, default=Path("reports/benchmarks/identity"))
    parser.add_argument("--embedder", default="auto", help="embedder of the faces/ comparison")
    parser.add_argument("--json", type=Path, help="also write the metrics here")
    args = parser.parse_args()
    videos = args.videos.split(",")
    for folder in [args.faces] * ("faces" in videos) + [args.people] * ("people" in videos):
        if not folder.is_dir():
            print(f"benchmark needs the shared photos at {folder}", file=sys.stderr)
            return 2
    metrics = {}
    if "faces" in videos:
        metrics["faces"] = faces_benchmark(args.faces, args.out, args.embedder)
    if "people" in videos:
        metrics["people"] = people_benchmark(args.people, args.out)
    if args.json:
        args.json.write_text(json.dumps(metrics, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
