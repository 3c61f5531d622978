"""Calibrate identity thresholds per embedder on real people, split by face quality, for single faces and face sets.

Reads ``../shared/data/people`` (61 photos of 13 people, ``labels.csv``). For every photo it detects
the largest face and also makes degraded copies (whole photo shrunk so the face is 64/40/24 px
tall, Gaussian blur, gamma darkening; and video-like ones: a motion streak, a heavily compressed
H.264 frame with a 100 px face, a 360p-like frame with a 56 px face), re-detects, cuts and embeds
every face, and measures its quality (height, yaw from landmarks, Laplacian sharpness), which puts
it in the good or the low-quality band (``facetools.calibration.Calibration.is_low_quality``).

Face sets (``calibrate_sets.py``): thresholds between the mean embeddings of two sets of 1-8 faces
per band, each pair of different people merging at most 1e-3 of the time (95 % bound) — what
identification links on. Single faces (the copies of script version 1): per band, the smallest
different-person distance among the calibration people, less a safety margin — the tracker's check
of a link. Four people are held out of every choice and reported apart; leave-one-person-out over
the calibration people chooses the margins.

Usage: python benchmarks/calibrate.py [--embedders dlib,sface] [--no-write] [--cache FILE]
Writes ``facetools/data/calibration.json`` (entries of other embedders are kept),
``benchmarks/results/calibration_<embedder>.png`` and ``calibration_sets_<embedder>.png``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import pickle
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from calibrate_sets import FaceSet, calibrate_sets, upper95
from PIL import Image, ImageFilter

from facetools.calibration import CALIBRATION_FILE, Calibration, SetThresholds
from facetools.extract.embed import load_embedder
from facetools.extract.faces import FacePatch, cut_patch
from facetools.extract.mtcnn_detector import MtcnnDetector
from facetools.extract.quality import estimate_yaw, face_sharpness
from facetools.io import ffmpeg

SCRIPT_VERSION = 2
ROOT = Path(__file__).resolve().parents[1]
PEOPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "people"
JSON_PATH = ROOT / "facetools" / "data" / CALIBRATION_FILE
RESULTS = ROOT / "benchmarks" / "results"

HELD_OUT = ("person_03", "person_06", "person_09", "person_12")  # never choose a threshold; for identity tests too
VARIANTS = ("orig", "h64", "h40", "h24", "blur", "dark", "motion", "x264", "p360")
PAIR_VARIANTS = VARIANTS[:6]  # single-face thresholds (the tracker's link check): the copies of script version 1
BLUR_SIGMA = 0.03  # Gaussian sigma as a fraction of the face height
GAMMA = 2.5  # dark: out = 255 (in / 255) ** GAMMA
MOTION = 0.08  # motion: a streak this long as a fraction of the face height, its direction fixed per photo (zlib.crc32 of its name)
# video-like copies: (face height px, x264 CRF) — x264: a heavily compressed HD frame; p360: a 360p web video
ENCODED = {"x264": (100, 34), "p360": (56, 30)}
# threshold = (1 - margin) × the smallest different-person distance of the calibration people; per band, the smallest
# margin here under which leave-one-person-out over the calibration people merges no two people.
MARGINS = (0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50)
# The low-quality band. The photos turn at most |yaw| 0.20, so faces turned further are outside what was measured: low.
# Sharpness (Laplacian variance of the ≤ 160 px face) is 65-1750 on the photos and ≤ 1.6 once blurred.
QUALITY = {"min_face_px": 48.0, "max_yaw": 0.25, "min_sharpness": 20.0}
OLD_DLIB_THRESHOLD = 0.065
UNMEASURED = {
    "facenet": {
        "threshold": 0.4,
        "strict_threshold": 0.3,
        "quality": QUALITY,
        "note": "not measured: InceptionResnetV1's VGGFace2 weights cannot be fetched offline; the cosine distance this project "
        "used for FaceNet before calibration, strict at three quarters of it",
    }
}
"""Embedders this script cannot measure here: their thresholds as given, so that every threshold comes from calibration.json."""


@dataclass
class Face:
    """One face of one (possibly degraded) photo, with its quality features."""

    photo: str
    person: str
    variant: str
    height: float
    yaw: float
    sharpness: float
    redetected: bool
    patch: FacePatch


def read_labels(people: Path) -> list[tuple[str, str]]:
    with (people / "labels.csv").open(newline="") as f:
        return [(r["file"], r["person"]) for r in csv.DictReader(f)]


def data_sha256(people: Path, rows: list[tuple[str, str]]) -> str:
    """Hash of labels.csv and every labelled photo's bytes, in label order."""
    h = hashlib.sha256((people / "labels.csv").read_bytes())
    for file, _ in rows:
        h.update((people / file).read_bytes())
    return h.hexdigest()


def degrade(image: Image.Image, face_h: float, variant: str, seed: int = 0) -> tuple[Image.Image, float]:
    """The degraded copy and the scale applied to the photo (1 when not resized); ``seed`` turns the motion streak."""
    if variant == "orig":
        return image, 1.0
    if variant.startswith("h"):
        s = min(1.0, int(variant[1:]) / face_h)
        size = (max(1, round(image.width * s)), max(1, round(image.height * s)))
        return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0), s
    if variant == "blur":
        return image.filter(ImageFilter.GaussianBlur(BLUR_SIGMA * face_h)), 1.0
    if variant == "dark":
        lut = [round(255 * (v / 255) ** GAMMA) for v in range(256)] * 3
        return image.point(lut), 1.0
    if variant == "motion":
        return Image.fromarray(motion_blur(np.asarray(image), MOTION * face_h, seed % 180)), 1.0
    if variant in ENCODED:
        height, crf = ENCODED[variant]
        small, s = degrade(image, face_h, f"h{height}")
        return Image.fromarray(x264(np.asarray(small), crf)), s
    raise ValueError(variant)


def motion_blur(pixels: np.ndarray, length: float, degrees: float) -> np.ndarray:
    """``pixels`` smeared along a line ``length`` pixels long at ``degrees`` from the horizontal."""
    import cv2

    n = max(3, int(round(length)) | 1)
    kernel = np.zeros((n, n), np.float32)
    kernel[n // 2] = 1.0
    turn = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), degrees, 1.0)
    kernel = cv2.warpAffine(kernel, turn, (n, n))
    return cv2.filter2D(pixels, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def x264(pixels: np.ndarray, crf: int) -> np.ndarray:
    """``pixels`` after one H.264 intra frame at ``crf`` in 4:2:0 (cropped to even sides), decoded again."""
    h, w = (pixels.shape[0] // 2) * 2, (pixels.shape[1] // 2) * 2
    raw = np.ascontiguousarray(pixels[:h, :w]).tobytes()
    frame = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}"]
    stream = ffmpeg.run(["ffmpeg", "-v", "error", *frame, "-i", "-", "-c:v", "libx264", "-crf", str(crf), "-pix_fmt", "yuv420p",
                         "-f", "h264", "-"], stdin=raw)  # fmt: skip
    out = ffmpeg.run(["ffmpeg", "-v", "error", "-f", "h264", "-i", "-", *frame[:4], "-"], stdin=stream)
    return np.frombuffer(out, np.uint8).reshape(h, w, 3)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def collect_faces(people: Path, rows: list[tuple[str, str]]) -> tuple[list[Face], list[str]]:
    """Every photo's faces, original and degraded; and notes on photos or copies without a face."""
    detector = MtcnnDetector("cpu", min_face_size=12)
    faces: list[Face] = []
    notes: list[str] = []
    for file, person in rows:
        image = Image.open(people / file).convert("RGB")
        found = detector.largest(np.asarray(image))
        if len(found) == 0:
            notes.append(f"{file}: no face found, photo left out")
            continue
        box0, lm0, score0 = found.boxes[0], found.landmarks[0], float(found.scores[0])
        face_h = float(box0[3] - box0[1])
        for variant in VARIANTS:
            copy, s = degrade(image, face_h, variant, zlib.crc32(file.encode()))
            if variant.startswith("h") and s >= 1.0:
                continue  # the face is already this small
            pixels = np.ascontiguousarray(np.asarray(copy))
            det = detector.largest(pixels) if variant != "orig" else found
            expect = box0 * s
            if len(det) and iou(det.boxes[0], expect) > 0.4:
                box, lm, score, redetected = det.boxes[0], det.landmarks[0], float(det.scores[0]), True
            else:  # the detector misses it: keep the face where the original detection puts it
                box, lm, score, redetected = expect, lm0 * s, score0, False
                notes.append(f"{file} {variant}: not re-detected, original detection scaled")
            patch = cut_patch(pixels, box.astype(np.float32), lm.astype(np.float32), score)
            height = float(box[3] - box[1])
            faces.append(Face(file, person, variant, height, estimate_yaw(lm), face_sharpness(patch.image, patch.box), redetected, patch))
    return faces, notes


def quality_rule() -> Calibration:
    """The quality band alone (no thresholds): what decides whether a face is low quality."""
    return Calibration("", 0.0, 0.0, QUALITY["min_face_px"], QUALITY["max_yaw"], QUALITY["min_sharpness"], SCRIPT_VERSION, "",
                       SetThresholds.constant(0.0, 0.0))  # fmt: skip


def make_embedder(name: str):
    return load_embedder(name, "cpu", precision="float32")  # the packaged thresholds: the same on every CPU


@dataclass
class Pairs:
    """All pairs of faces from different photos."""

    i: np.ndarray
    j: np.ndarray
    dist: np.ndarray
    same: np.ndarray
    low: np.ndarray  # either face low quality
    pa: np.ndarray  # person index of face i
    pb: np.ndarray
    photo_pair: np.ndarray  # an id of the unordered pair of source photos


def make_pairs(faces: list[Face], vecs: np.ndarray, rule: Calibration) -> Pairs:
    n = len(faces)
    i, j = np.triu_indices(n, k=1)
    photos = sorted({f.photo for f in faces})
    photo_ix = np.array([photos.index(f.photo) for f in faces])
    persons = sorted({f.person for f in faces})
    person_ix = np.array([persons.index(f.person) for f in faces])
    keep = photo_ix[i] != photo_ix[j]
    i, j = i[keep], j[keep]
    low_face = np.array([rule.is_low_quality(f.height, f.yaw, f.sharpness) for f in faces])
    dist = 1.0 - np.einsum("ij,ij->i", vecs[i], vecs[j]).astype(np.float64)
    a, b = np.minimum(photo_ix[i], photo_ix[j]), np.maximum(photo_ix[i], photo_ix[j])
    return Pairs(i, j, dist, person_ix[i] == person_ix[j], low_face[i] | low_face[j], person_ix[i], person_ix[j], a * len(photos) + b)


def roc_auc(same: np.ndarray, diff: np.ndarray) -> float:
    """P(a same-person distance < a different-person distance), ties counted half."""
    d = np.sort(diff)
    below = np.searchsorted(d, same, side="left")
    ties = np.searchsorted(d, same, side="right") - below
    return float(((len(d) - below - ties) + 0.5 * ties).sum() / (len(same) * len(d)))


def equal_error(same: np.ndarray, diff: np.ndarray) -> tuple[float, float]:
    """(equal-error rate, its threshold): where false merges (diff < t) meet false splits (same ≥ t)."""
    ts = np.unique(np.concatenate([same, diff]))
    far = np.searchsorted(np.sort(diff), ts, side="left") / len(diff)
    frr = 1.0 - np.searchsorted(np.sort(same), ts, side="left") / len(same)
    k = int(np.argmin(np.abs(far - frr)))
    return float((far[k] + frr[k]) / 2), float(ts[k])


def thresholds(p: Pairs, mask: np.ndarray, margins: tuple[float, float]) -> tuple[float, float]:
    """(good-band threshold, strict low-band threshold): below every different-person distance in ``mask``, by the margins."""
    diff = mask & ~p.same
    good = float((1.0 - margins[0]) * p.dist[diff & ~p.low].min())
    strict = min(good, float((1.0 - margins[1]) * p.dist[diff & p.low].min()))
    return good, strict


def leave_one_out(p: Pairs, calib: np.ndarray, people: list[int], margins: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Per pair, the threshold chosen without one of its people (the looser of its two folds), and which pairs were judged."""
    thr = np.full(len(p.dist), np.nan)
    test = np.zeros(len(p.dist), bool)
    for k in people:
        involved = (p.pa == k) | (p.pb == k)
        g, s = thresholds(p, calib & ~involved, margins)
        fold = calib & involved
        t_pair = np.where(p.low, s, g)
        thr[fold] = np.where(np.isnan(thr[fold]), t_pair[fold], np.maximum(thr[fold], t_pair[fold]))
        test |= fold
    return thr, test


def choose_margins(p: Pairs, calib: np.ndarray, people: list[int]) -> tuple[float, float]:
    """Per band, the smallest margin whose leave-one-person-out thresholds merge no different-person pair."""
    chosen = []
    for band in (~p.low, p.low):
        for m in MARGINS:
            thr, test = leave_one_out(p, calib, people, (m, m))
            if not (test & band & ~p.same & (p.dist < thr)).any():
                chosen.append(m)
                break
        else:
            chosen.append(1.0)  # no margin is safe: this band never links (threshold 0)
    return chosen[0], chosen[1]


def by_variant(faces: list[Face], p: Pairs) -> None:
    """Distances of each kind of copy against original photos (of other photos), all 13 people."""
    variant = np.array([VARIANTS.index(f.variant) for f in faces])
    print("\n### Each copy against the originals of the other photos (all 13 people)\n")
    print("| copy | same pairs | same median / max | different min / p1 | ROC AUC | acceptance at 0 false merges |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k, v in enumerate(VARIANTS):
        m = ((variant[p.i] == k) & (variant[p.j] == 0)) | ((variant[p.j] == k) & (variant[p.i] == 0))
        same, diff = p.dist[m & p.same], p.dist[m & ~p.same]
        print(
            f"| {v} | {len(same)} | {np.median(same):.3f} / {same.max():.3f} | {diff.min():.3f} / {np.percentile(diff, 1):.3f} "
            f"| {roc_auc(same, diff):.4f} | {(same < diff.min()).mean():.3f} |"
        )


@dataclass
class Point:
    band: str
    threshold: float
    false_merges: int
    diff_pairs: int
    fm_photo_pairs: int
    diff_photo_pairs: int
    accepted: int
    same_pairs: int

    def row(self) -> str:
        acc = self.accepted / self.same_pairs if self.same_pairs else float("nan")
        ub_face, ub_photo = upper95(self.false_merges, self.diff_pairs), upper95(self.fm_photo_pairs, self.diff_photo_pairs)
        return (
            f"| {self.band} | {self.threshold:.4f} | {self.false_merges}/{self.diff_pairs} | {ub_face:.2e} "
            f"| {self.fm_photo_pairs}/{self.diff_photo_pairs} | {ub_photo:.2e} "
            f"| {self.accepted}/{self.same_pairs} = {acc:.3f} |"
        )

    def as_dict(self) -> dict[str, float | int]:
        return {
            "threshold": round(self.threshold, 5),
            "false_merges": self.false_merges,
            "different_pairs": self.diff_pairs,
            "false_merge_upper95": round(upper95(self.false_merges, self.diff_pairs), 6),
            "different_photo_pairs": self.diff_photo_pairs,
            "false_merge_upper95_photo_pairs": round(upper95(self.fm_photo_pairs, self.diff_photo_pairs), 6),
            "same_pairs": self.same_pairs,
            "same_accepted": self.accepted,
            "same_acceptance": round(self.accepted / self.same_pairs, 4) if self.same_pairs else None,
        }


def evaluate(p: Pairs, test: np.ndarray, thr_of_pair: np.ndarray, band: str, band_mask: np.ndarray) -> Point:
    """Counts over the ``test`` pairs of a band, each pair judged against its own threshold."""
    m = test & band_mask
    diff, same = m & ~p.same, m & p.same
    merged = diff & (p.dist < thr_of_pair)
    return Point(
        band,
        float(np.median(thr_of_pair[m])) if m.any() else float("nan"),
        int(merged.sum()),
        int(diff.sum()),
        len(np.unique(p.photo_pair[merged])),
        len(np.unique(p.photo_pair[diff])),
        int((same & (p.dist < thr_of_pair)).sum()),
        int(same.sum()),
    )


def describe(p: Pairs, mask: np.ndarray, band: str) -> tuple[str, dict[str, float]]:
    same, diff = p.dist[mask & p.same], p.dist[mask & ~p.same]
    auc = roc_auc(same, diff)
    eer, eer_t = equal_error(same, diff)
    zero_fm = float((same < diff.min()).mean())
    row = (
        f"| {band} | {len(same)} | {np.median(same):.3f} / {np.percentile(same, 95):.3f} / {same.max():.3f} "
        f"| {len(diff)} | {diff.min():.3f} / {np.percentile(diff, 5):.3f} / {np.median(diff):.3f} "
        f"| {auc:.4f} | {eer:.3f} @ {eer_t:.3f} | {zero_fm:.3f} |"
    )
    stats = {"auc": round(auc, 5), "eer": round(eer, 4), "zero_false_merge_acceptance": round(zero_fm, 4)}
    return row, {**stats, "min_different": round(float(diff.min()), 5)}


def plot(name: str, p: Pairs, good: float, strict: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    bins = np.linspace(0, 1.05 * float(p.dist.max()), 80)
    for ax, (band, mask) in zip(axes, [("both faces good", ~p.low), ("at least one low quality", p.low)]):
        ax.hist(p.dist[mask & ~p.same], bins=bins, density=True, alpha=0.55, color="tab:red", label="different people")
        ax.hist(p.dist[mask & p.same], bins=bins, density=True, alpha=0.55, color="tab:blue", label="same person")
        ax.axvline(good, color="k", ls="-", lw=1, label=f"threshold {good:.3f}")
        ax.axvline(strict, color="k", ls="--", lw=1, label=f"strict {strict:.3f}")
        if name == "dlib":
            ax.axvline(OLD_DLIB_THRESHOLD, color="tab:orange", ls=":", lw=1.5, label=f"old {OLD_DLIB_THRESHOLD}")
        ax.set_title(f"{name}: {band} ({int((mask & p.same).sum())} same / {int((mask & ~p.same).sum())} different pairs)", fontsize=9)
        ax.legend(fontsize=7)
    axes[-1].set_xlabel("cosine distance")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def calibrate(name: str, faces: list[Face], sha: str) -> dict:
    """Prints the tables for one embedder and returns its JSON entry."""
    rule = quality_rule()
    t0 = time.perf_counter()
    embedder = make_embedder(name)
    all_vecs = embedder.embed([f.patch for f in faces])
    print(f"\n## {name}\n\nembedded {len(faces)} faces in {time.perf_counter() - t0:.1f} s\n")
    by_variant(faces, make_pairs(faces, all_vecs, rule))
    persons = sorted({f.person for f in faces})
    sets = calibrate_sets(name, FaceSet(all_vecs.astype(np.float64), np.array([persons.index(f.person) for f in faces]),
                                        np.array([sorted({g.photo for g in faces}).index(f.photo) for f in faces]),
                                        np.array([rule.is_low_quality(f.height, f.yaw, f.sharpness) for f in faces])),
                          persons, HELD_OUT, RESULTS / f"calibration_sets_{name}.png")  # fmt: skip
    single = [k for k, f in enumerate(faces) if f.variant in PAIR_VARIANTS]
    faces = [faces[k] for k in single]
    vecs = embedder.embed([f.patch for f in faces])  # in the batches of script version 1: its thresholds to the last digit
    print(f"\n### Single faces ({', '.join(PAIR_VARIANTS)}: the tracker's check of a link)\n")
    p = make_pairs(faces, vecs, rule)
    held = np.array([persons.index(h) for h in HELD_OUT if h in persons])
    held_a, held_b = np.isin(p.pa, held), np.isin(p.pb, held)
    calib = ~held_a & ~held_b

    print("### Distances (all 13 people, descriptive; median / p95 / max of same, min / p5 / median of different)\n")
    print("| band | same pairs | same distance | different pairs | different distance | ROC AUC | EER @ t | acceptance at 0 false merges |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    figures: dict[str, dict] = {"distances": {}}
    for band, mask in [("all", np.ones_like(p.low)), ("good", ~p.low), ("low", p.low)]:
        row, stats = describe(p, mask, band)
        print(row)
        figures["distances"][band] = stats

    calib_people = sorted(set(range(len(persons))) - set(held.tolist()))
    # Leave one calibration person out: thresholds without the person's pairs, judged on them; a different-person pair
    # is judged in both of its people's folds under the looser of the two thresholds, so a merge in either counts.
    print("\n### Leave-one-person-out false merges (photo pairs) per margin, calibration people\n")
    print("| margin | good band | low band |\n| --- | --- | --- |")
    for m in MARGINS:
        thr, test = leave_one_out(p, calib, calib_people, (m, m))
        fm = [len(np.unique(p.photo_pair[test & band & ~p.same & (p.dist < thr)])) for band in (~p.low, p.low)]
        print(f"| {m:.2f} | {fm[0]} | {fm[1]} |")
    margins = choose_margins(p, calib, calib_people)
    good, strict = thresholds(p, calib, margins)
    print(
        f"\nPackaged (chosen on the {len(calib_people)} calibration people): threshold {good:.4f} (margin {margins[0]:.2f}), "
        f"strict {strict:.4f} (margin {margins[1]:.2f})"
    )
    thr, test = leave_one_out(p, calib, calib_people, margins)
    loo = [evaluate(p, test, thr, band, m) for band, m in [("good", ~p.low), ("low (strict)", p.low)]]
    held_test = held_a | held_b
    thr_packaged = np.where(p.low, strict, good)
    out = [evaluate(p, held_test, thr_packaged, band, m) for band, m in [("good", ~p.low), ("low (strict)", p.low)]]
    header = (
        "| band | threshold | false merges (face pairs) | 95 % bound | false merges (photo pairs) | 95 % bound | same-person accepted |\n"
        "| --- | --- | --- | --- | --- | --- | --- |"
    )
    print(
        f"\n### Operating points, leave-one-person-out over the {len(calib_people)} calibration people at the chosen margins "
        "(median fold threshold; the margins were chosen on these folds, so the held-out table below is the clean test)\n"
    )
    print(header)
    for pt in loo:
        print(pt.row())
    print(f"\n### Operating points, packaged thresholds on the held-out people {', '.join(HELD_OUT)} (pairs with at least one of them)\n")
    print(header)
    for pt in out:
        print(pt.row())
    if name == "dlib":
        old = np.full(len(p.dist), OLD_DLIB_THRESHOLD)
        print(f"\n### The old dlib threshold {OLD_DLIB_THRESHOLD} on all 13 people, for comparison\n")
        print(header)
        for band, m in [("good", ~p.low), ("low", p.low)]:
            print(evaluate(p, np.ones_like(p.low), old, band, m).row())
    print(
        "\nFace pairs share photos, so they are not independent: the photo-pair bound is the honest one. Single faces: a track's mean of "
        "several faces is steadier, so these thresholds are conservative for tracks."
    )
    png = RESULTS / f"calibration_{name}.png"
    plot(name, p, good, strict, png)
    print(f"\nplot: {png.relative_to(ROOT)}")
    figures["leave_one_person_out"] = {pt.band.split()[0]: pt.as_dict() for pt in loo}
    figures["held_out"] = {pt.band.split()[0]: pt.as_dict() for pt in out}
    return {
        "threshold": round(good, 5),
        "strict_threshold": round(strict, 5),
        "quality": dict(QUALITY),
        "margins": {"good": margins[0], "low": margins[1]},
        "calibration_people": [q for q in persons if q not in HELD_OUT],
        "held_out_people": [q for q in HELD_OUT if q in persons],
        "faces": len(faces),
        "figures": figures,
        "sets": sets,
        "data_sha256": sha,
        "script_version": SCRIPT_VERSION,
        "created": datetime.date.today().isoformat(),
    }


def print_faces(faces: list[Face], notes: list[str]) -> None:
    print("### Faces per variant (height px / |yaw| / sharpness: median [min, max]; low = share in the low-quality band)\n")
    print("| variant | faces | re-detected | height | abs yaw | sharpness | low |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rule = quality_rule()
    for v in VARIANTS:
        fs = [f for f in faces if f.variant == v]
        if not fs:
            continue
        cols = []
        for vals in ([f.height for f in fs], [abs(f.yaw) for f in fs], [f.sharpness for f in fs]):
            cols.append(f"{np.median(vals):.2f} [{min(vals):.2f}, {max(vals):.2f}]")
        low = np.mean([rule.is_low_quality(f.height, f.yaw, f.sharpness) for f in fs])
        print(f"| {v} | {len(fs)} | {sum(f.redetected for f in fs)} | {' | '.join(cols)} | {low:.2f} |")
    q = QUALITY
    print(f"\nquality band (low when any holds): height < {q['min_face_px']} px, |yaw| > {q['max_yaw']}, sharpness < {q['min_sharpness']}")
    for n in notes:
        print(f"- {n}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=Path, default=PEOPLE)
    ap.add_argument("--embedders", default="dlib", help="comma-separated: dlib, facenet, sface")
    ap.add_argument("--no-write", action="store_true", help="print only; leave the JSON as it is")
    ap.add_argument("--cache", type=Path, help="keep the detected faces in this file between runs (development)")
    args = ap.parse_args(argv)
    if not (args.people / "labels.csv").is_file():
        print(f"no labelled people at {args.people} (see shared/data/MANIFEST.md)", file=sys.stderr)
        return 2
    np.random.seed(0)
    rows = read_labels(args.people)
    sha = data_sha256(args.people, rows)
    t0 = time.perf_counter()
    cached = pickle.loads(args.cache.read_bytes()) if args.cache and args.cache.is_file() else None
    if cached and cached["sha"] == sha and cached["version"] == SCRIPT_VERSION:
        faces = [Face(**{**f, "patch": FacePatch(**f["patch"])}) for f in cached["faces"]]
        notes = cached["notes"]
    else:
        faces, notes = collect_faces(args.people, rows)
    if args.cache:
        plain = [{**f.__dict__, "patch": {k: getattr(f.patch, k) for k in ("image", "box", "landmarks", "quality")}} for f in faces]
        args.cache.write_bytes(pickle.dumps({"sha": sha, "version": SCRIPT_VERSION, "faces": plain, "notes": notes}))
    print(f"# Calibration on {args.people} ({len(rows)} photos, data sha256 {sha[:12]}…; faces in {time.perf_counter() - t0:.1f} s)\n")
    print_faces(faces, notes)
    entries = {name: calibrate(name, faces, sha) for name in args.embedders.split(",")}
    if not args.no_write:
        current = json.loads(JSON_PATH.read_text()) if JSON_PATH.is_file() else {}
        current.update({**UNMEASURED, **entries})
        JSON_PATH.parent.mkdir(parents=True, exist_ok=True)
        JSON_PATH.write_text(json.dumps(dict(sorted(current.items())), indent=1) + "\n")
        print(f"\nwrote {JSON_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
