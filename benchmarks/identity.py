"""Identity quality: facetools vs the old online matcher, on labelled videos composed from real photos.

Composes a multi-shot 640×360 video from ``../shared/data/faces`` (each photo twice, under a
different condition each time: clean, small, blur, dark, mirror, occluded, fast motion; plus
shots of two people together), runs ``facetools.analyze`` on it, then re-runs the old tool's
identity method on the very same detections, and prints both methods' metrics side by side.

The old method (re-implemented here): every face embedded on its own, matched online against a
store of templates — first template closer than the threshold wins and is replaced by the new
face; otherwise a new ID is added; the store keeps the 10 most recent templates.

Then composes videos from ``../shared/data/people``: the 13 people, 61 photos
(:mod:`facetools.devdata.people_video`: pose-varied, small, blurred and dark shots, people seen
once, two-shots, the closest pairs of different people under SFace in consecutive shots) and two
shot/reverse-shot dialogues (:mod:`facetools.devdata.dialogue`: set-ups cut A-B-A-B, a wide two-shot,
every photo of each person as they come back, a lighting change, H.264 at CRF 32), of three held-out
people and of three calibration people with a look-alike pair. On the same stored
tracks it compares the identity rules before set-level calibration (723ff5c, re-implemented here:
complete linkage at the single-face threshold) with the rules now (``facetools.identify``), for
SFace and dlib: BCubed, purity, identities, worst-person coverage of good frontal faces,
per-person coverage, and the tracks of any identity that holds two people.

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
from facetools.devdata.dialogue import render_dialogue
from facetools.devdata.evaluate import Evaluation, evaluate, label_faces
from facetools.devdata.people_video import frontal_coverage, photo_detector, read_labels, render_people_video
from facetools.devdata.synth import Scene, Shot, photo_scene, render
from facetools.extract.embed import load_embedder
from facetools.extract.faces import cut_patch
from facetools.extract.mtcnn_detector import MtcnnDetector
from facetools.geometry import cosine_distances
from facetools.identify import Identification
from facetools.identify.identities import Identity
from facetools.intervals import merge_intervals
from facetools.io.loader import FrameLoader
from facetools.trackset.records import TrackSet

SHARED_FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"
SHARED_PEOPLE = SHARED_FACES.parent / "people"
DIALOGUES = (("person_03", "person_06", "person_09"), ("person_01", "person_02", "person_10"))  # held out; a look-alike pair
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


def compose(faces_dir: Path, detector: MtcnnDetector) -> list[Shot]:
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


def before_rules(tracks: TrackSet) -> dict[int, int]:
    """The identity rules before set-level calibration (723ff5c), an identity label per track id (-1: none).

    1. Core tracks (three good faces or their whole shot) join by complete linkage under the single-face threshold
       (every pair of their tracks closer than it), never across a shared frame.
    2. Other tracks join the identity whose farthest track lies under the threshold (the strict one where the track is
       low quality) and which has no face in their frames: the nearest by mean distance.
    3. Low-quality tracks left over make identities only where two or more long ones lie pairwise under the strict threshold.
    """
    from facetools.calibration import load_calibration

    cal = load_calibration(tracks.space.embedder)
    records = tracks.tracks
    emb = np.stack([r.embedding for r in records])
    dist = cosine_distances(emb, emb)
    frames = [set(r.frames.tolist()) for r in records]
    low = [cal.is_low_quality(*map(float, r.best_face[1:])) for r in records]
    enough = [len(r) >= min(3, tracks.shot_samples.get(r.shot, 3)) for r in records]

    def complete(items: list[int], threshold: float) -> list[list[int]]:
        d = dist[np.ix_(items, items)].astype(np.float64)
        shared = [[i != j and bool(frames[a] & frames[b]) for j, b in enumerate(items)] for i, a in enumerate(items)]
        d[np.array(shared, dtype=bool).reshape(d.shape)] = np.inf
        np.fill_diagonal(d, np.inf)
        groups = [[k] for k in items]
        alive = np.ones(len(items), dtype=bool)
        while alive.sum() > 1:
            i, j = np.unravel_index(np.argmin(d), d.shape)
            if not d[i, j] < threshold:
                break
            d[i] = np.maximum(d[i], d[j])
            d[:, i], d[i, i], d[j], d[:, j] = d[i], np.inf, np.inf, np.inf
            alive[j] = False
            groups[i] += groups[j]
        return [groups[i] for i in np.flatnonzero(alive)]

    identities = complete([k for k in range(len(records)) if enough[k] and not low[k]], cal.threshold)
    left = []
    for k in sorted((k for k in range(len(records)) if low[k] or not enough[k]), key=lambda k: -len(records[k])):
        limit = cal.strict_threshold if low[k] else cal.threshold
        fits = [(dist[k, m].mean(), g) for g, m in enumerate(identities)
                if dist[k, m].max() < limit and not frames[k] & set().union(*(frames[i] for i in m))]  # fmt: skip
        if fits:
            identities[min(fits)[1]].append(k)
        else:
            left.append(k)
    identities += [g for g in complete([k for k in left if enough[k]], cal.strict_threshold) if len(g) >= 2]
    labels = {r.id: -1 for r in records}
    for label, members in enumerate(identities):
        for k in members:
            labels[records[k].id] = label
    return labels


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


def review_by_truth(analysis: Identification, truth: dict, folder: Path, limit: int = 50) -> dict[str, float]:
    """Answer the run's "same person?" suggestions as a user who knows the truth would, until none is left.

    Each suggestion is answered yes where both identities' faces are mostly of one person (``answer_suggestion``: a
    merge), else no (a wrong suggestion). Returns how many were asked, how many were wrong, and the identities and
    BCubed figures at the end.
    """
    from facetools.outputs.explore import answer_suggestion

    analysis = facetools.Analysis.of(analysis)
    analysis.save(folder)
    asked = wrong = 0
    while analysis.suggestions and asked < limit:
        s = analysis.suggestions[0]
        people = label_faces(analysis.faces, truth)
        owner = [people[analysis.faces["identity"] == k].mode() for k in (s.a, s.b)]
        same = all(len(o) for o in owner) and owner[0].iloc[0] == owner[1].iloc[0]
        analysis = answer_suggestion(folder, s.a, s.b, bool(same))
        asked, wrong = asked + 1, wrong + (not same)
    e = evaluate(analysis, truth)
    return {"asked": asked, "wrong": wrong, "identities": e.identities, "bcubed_precision": e.bcubed_precision,
            "bcubed_recall": e.bcubed_recall}  # fmt: skip


def compare_rules(video: Path, truth: dict, title: str) -> dict[str, dict]:
    """Before (723ff5c) vs after (``facetools.identify``) on the same stored tracks, SFace and dlib; prints the tables."""
    results: dict[str, Evaluation] = {}
    coverage: dict[str, dict[str, float]] = {}
    bystanders: dict[str, int] = {}
    low_confidence: dict[str, int] = {}
    mixed: list[str] = []
    reviews: dict[str, dict[str, float]] = {}
    for name in ("sface", "dlib"):
        started = time.perf_counter()
        tracks = facetools.extract(video, facetools.Config(device="cpu", embedder=name))
        after = facetools.identify(tracks)
        seconds = time.perf_counter() - started
        before = relabelled(after, before_rules(tracks))
        print(f"{title}, {name}: {seconds:.0f} s, {after.run.faces} faces, {after.run.tracks} tracks")
        for rules, analysis in (("before", before), ("after", after)):
            key = f"{name} {rules}"
            results[key] = evaluate(analysis, truth)
            frontal_known = all("faces" in shot for shot in truth["shot_info"])  # the people/ video records each face's photo
            coverage[key] = frontal_coverage(analysis, truth) if frontal_known else results[key].coverage
            unlabelled = label_faces(analysis.faces, truth).isna()
            bystanders[key] = sum(1 for p in analysis.identities if unlabelled[analysis.faces["identity"] == p.id].all())
            low_confidence[key] = sum(p.confidence == "low" for p in analysis.identities)
            mixed += [f"{key} rules: {line}" if line.startswith("identity") else line for line in mixed_identities(analysis, truth)]
        reviews[name] = review_by_truth(after, truth, video.parent / f"{video.stem}_{name}_review")
    print(f"\n{title}\n\n| embedder | rules | BCubed P | BCubed R | BCubed F1 | purity | identities / people (bystanders; low confidence) "
          "| worst frontal coverage | worst coverage, all faces |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |")  # fmt: skip
    for key, e in results.items():
        cov = coverage[key]
        worst = min(cov, key=lambda p: cov[p])
        print(f"| {' | '.join(key.split())} | {e.bcubed_precision:.3f} | {e.bcubed_recall:.3f} | {e.bcubed_f1:.3f} | {e.purity:.3f} "
              f"| {e.identities} / {e.true_identities} ({bystanders[key]}; {low_confidence[key]}) | {cov[worst]:.3f} ({worst}) "
              f"| {min(e.coverage.values()):.3f} |")  # fmt: skip
    print("\ncoverage per person (good frontal faces, where the truth tells them, inside the person's main identity)\n")
    print("| person | " + " | ".join(coverage) + " |\n| --- |" + " --- |" * len(coverage))
    for person in sorted(truth["people"]):
        print(f"| {person} | " + " | ".join(f"{c[person]:.3f}" for c in coverage.values()) + " |")
    if mixed:
        print("\nidentities holding two people, track by track:\n" + "\n".join(mixed))
    print('\nreview: the after rules\' "same person?" suggestions answered by the truth, until none is left\n')
    print("| embedder | suggestions asked | wrong (answered no) | identities / people after | BCubed P / R after |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in reviews.items():
        print(f"| {name} | {r['asked']} | {r['wrong']} | {r['identities']} / {len(truth['people'])} "
              f"| {r['bcubed_precision']:.3f} / {r['bcubed_recall']:.3f} |")  # fmt: skip
    out = {k: {"evaluation": dataclasses.asdict(e), "frontal_coverage": coverage[k], "low_confidence": low_confidence[k]}
           for k, e in results.items()}  # fmt: skip
    return {**out, **{f"{name} review": r for name, r in reviews.items()}}


def people_benchmark(folder: Path, out: Path) -> dict[str, dict]:
    """Before vs after on the composed ``people/`` video (13 people) and on a shot/reverse-shot dialogue of three held-out people."""
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
    metrics = {"people": compare_rules(video, truth, "people/ video")}
    for cast in DIALOGUES:
        dialogue = out / f"dialogue_{'_'.join(p[-2:] for p in cast)}.mp4"
        truth = render_dialogue(folder, dialogue, list(cast), photo_detector())
        print(f"\ndialogue: {len(truth['shots'])} shots, {truth['frames']} frames, people {', '.join(cast)}, H.264 CRF 32")
        metrics[dialogue.stem] = compare_rules(dialogue, truth, f"shot/reverse-shot dialogue of {', '.join(cast)}")
    return metrics


def faces_benchmark(faces_dir: Path, out: Path, embedder: str) -> dict[str, dict]:
    """facetools vs the old online matcher on the composed ``faces/`` video; prints the table."""
    detector = MtcnnDetector("cpu")
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
