"""``analyze()``: one streaming pass from a video file to an :class:`Analysis`."""

from __future__ import annotations

import functools
import os
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
import torch

from facetools.config import Config
from facetools.errors import InputValidationError
from facetools.io import ffmpeg
from facetools.io.loader import FrameLoader
from facetools.io.probe import probe
from facetools.outputs.analysis import FACE_COLUMNS, TRACK_COLUMNS, Analysis
from facetools.run.memory import MemoryReleaser
from facetools.run.monitor import ResourceMonitor
from facetools.stages.detect import FaceDetector
from facetools.stages.embed import Embedder, embed_patches, load_embedder
from facetools.stages.faces import FacePatch, cut_patch
from facetools.stages.gallery import embed_gallery
from facetools.stages.identity import build_identities, cluster_tracks, name_identities
from facetools.stages.shots import ShotDetector
from facetools.stages.track import Track, Tracker

ProgressHook = Callable[[str, int, int], None]
"""``hook(stage, completed, total)``, called as work advances; ``total`` may be an estimate."""


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; checks that a named CUDA device exists."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise InputValidationError(f"unknown device {name!r}: use auto, cpu or cuda[:N]") from exc
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise InputValidationError(f"device {name} requested but no such CUDA device is available")
    if device.type not in ("cpu", "cuda"):
        raise InputValidationError(f"unsupported device {name!r}: use auto, cpu or cuda[:N]")
    return device


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - t0


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("facetools", "torch", "facenet-pytorch", "dlib-bin", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    out["ffmpeg"] = ffmpeg.version()
    return out


@functools.lru_cache(maxsize=4)
def _cached_embedder(name: str, device: str, weights: str | None) -> Embedder:
    """Embedders are loaded once per process and reused by later runs."""
    return load_embedder(name, device, weights)


def _same_person(embedder: Embedder, a: FacePatch, b: FacePatch, threshold: float) -> bool:
    """Appearance check before bridging a gap: single faces, so twice the identity threshold."""
    ea, eb = embed_patches(embedder, [a, b])
    return float(1.0 - ea @ eb) < 2 * threshold


def _embed_tracks(tracks: list[Track], embedder: Embedder) -> None:
    """Embed each track's kept faces in one batch; keep only its best face afterwards."""
    patches = [p for t in tracks for p in t.patches]
    if not patches:
        return
    vectors = embed_patches(embedder, patches)
    start = 0
    for t in tracks:
        mean = vectors[start : start + len(t.patches)].mean(0)
        start += len(t.patches)
        t.embedding = mean / np.linalg.norm(mean)
        t.patches = [t.best_patch]
        t.last_patch = None


def analyze(
    path: str | os.PathLike[str], config: Config | None = None, *, progress: ProgressHook | None = None, **options: Any
) -> Analysis:
    """Find, track and identify every face in the video at ``path``.

    Args:
        path: the video file.
        config: settings; ``options`` override single fields (``stride=3``).
        progress: called as ``progress(stage, completed, total)``.

    Example:
        >>> result = analyze("data/sample/sample.mp4", device="cpu")
        >>> result.summary()
    """
    cfg = (config or Config()).with_options(**options)
    info = probe(path)
    device = resolve_device(cfg.device)
    stride = cfg.stride or max(1, int(info.fps // 5))
    hook = progress or (lambda stage, done, total: None)
    timer = _Timer()
    started = time.perf_counter()
    with ResourceMonitor(cfg.monitor_hz) as monitor:
        monitor.mark("load models")
        hook("load models", 0, 1)
        with timer("load_models"):
            detector = FaceDetector(
                device,
                long_side=cfg.detect_long_side,
                min_face_size=cfg.min_face_size,
                thresholds=cfg.mtcnn_thresholds,
                factor=cfg.pyramid_factor,
                min_score=cfg.min_score,
            )
            embedder = _cached_embedder(cfg.embedder, str(device), cfg.facenet_weights)
            gallery = embed_gallery(cfg.gallery, detector, embedder) if cfg.gallery else {}
        hook("load models", 1, 1)
        threshold = cfg.cluster_threshold if cfg.cluster_threshold is not None else embedder.threshold
        loader = FrameLoader(info, batch_size=cfg.batch_size, device=device, max_side=cfg.max_decode_side)
        shots = ShotDetector(cfg.shot_threshold)
        tracker = Tracker(
            cfg.track_iou,
            max_gap=max(stride, round(cfg.track_max_gap_s * info.fps)),
            keep=cfg.faces_per_track,
            step=stride,
            same_person=lambda a, b: _same_person(embedder, a, b, threshold),
        )
        rows: list[list[float]] = []
        row_track: list[int] = []
        tracks: list[Track] = []
        times: dict[int, float] = {}
        shot_samples: dict[int, int] = defaultdict(int)
        detected_frames = 0

        def finish(done: list[Track]) -> None:
            with timer("embed"):
                _embed_tracks(done, embedder)
            tracks.extend(done)

        monitor.mark("detect, track, embed")
        batches = iter(loader)
        releaser = MemoryReleaser()
        while True:
            with timer("decode_wait"):
                batch = next(batches, None)
            if batch is None:
                break
            times.update(zip(batch.indices.tolist(), batch.times.tolist()))
            with timer("shots"):
                shot_ids = shots.update(batch.frames, batch.indices)
            sel = np.flatnonzero(batch.indices % stride == 0)
            with timer("detect"):
                found = detector.detect(batch.frames[sel], batch.indices[sel], batch.scale)
                found.boxes[:, 0::2] = found.boxes[:, 0::2].clip(0, info.width)
                found.boxes[:, 1::2] = found.boxes[:, 1::2].clip(0, info.height)
                images = batch.frames[sel].cpu().numpy()
            detected_frames += len(sel)
            for k, i in enumerate(sel):
                frame = int(batch.indices[i])
                shot_samples[int(shot_ids[i])] += 1
                here = found[found.frame == frame]
                with timer("crop"):
                    patches = [
                        cut_patch(images[k], b / batch.scale, lm / batch.scale, float(s))
                        for b, lm, s in zip(here.boxes, here.landmarks, here.scores)
                    ]
                ids = list(range(len(rows), len(rows) + len(here)))
                rows.extend([frame, float(batch.times[i]), *b, float(s)] for b, s in zip(here.boxes.tolist(), here.scores))
                row_track.extend([-1] * len(here))
                with timer("track"):
                    done = tracker.update(frame, int(shot_ids[i]), ids, here.boxes, patches)
                finish(done)
            releaser.maybe()
            hook("analyze", loader.frames_decoded, max(info.frame_count, loader.frames_decoded))
        finish(tracker.flush())
        hook("analyze", loader.frames_decoded, loader.frames_decoded)

        monitor.mark("cluster")
        hook("cluster", 0, 1)
        with timer("cluster"):
            frame_times = np.full(max(times, default=-1) + 1, np.nan)
            frame_times[list(times)] = list(times.values())
            cluster_tracks(tracks, threshold, cfg.min_track_faces, shot_samples=shot_samples)
            spans = _track_spans(tracks, frame_times, shots.cuts, stride)
            identities = build_identities(tracks, spans, cfg.merge_gap_s)
            name_identities(identities, gallery, threshold)
        hook("cluster", 1, 1)
        thumbnails = {}
        for person in identities:
            best = max((t for t in tracks if t.identity == person.id), key=lambda t: t.best_patch.quality)
            thumbnails[person.id] = _thumbnail(best)
    wall = time.perf_counter() - started

    for t in tracks:
        for r in t.rows:
            row_track[r] = t.id
    identity_of = {t.id: t.identity for t in tracks}
    faces = pd.DataFrame(rows, columns=FACE_COLUMNS[:7])
    faces["track"] = row_track
    faces["identity"] = [identity_of.get(t, -1) for t in row_track]
    faces = faces.astype({"frame": "int64", "track": "int64", "identity": "int64"})
    track_table = pd.DataFrame(
        [[t.id, t.identity, t.shot, len(t), t.first_frame, t.last_frame, *spans[t.id]] for t in tracks], columns=TRACK_COLUMNS
    ).sort_values("track", ignore_index=True)
    run = {
        "versions": _versions(),
        "device": str(device),
        "cuda_device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "decoder": loader.backend,
        "embedder": embedder.name,
        "cluster_threshold": threshold,
        "config": asdict(cfg),
        "stride": stride,
        "video": info.to_dict(),
        "frames_decoded": loader.frames_decoded,
        "variable_frame_rate_observed": _frame_rate_varies(frame_times),
        "warnings": loader.warnings,
        "frames_detected": detected_frames,
        "faces": len(faces),
        "tracks": len(tracks),
        "identities": len(identities),
        "shots": shots.shot + 1,
        "cuts": shots.cuts,
        "stage_seconds": {k: round(v, 3) for k, v in timer.seconds.items()},
        "wall_seconds": round(wall, 3),
        "frames_per_second": round(loader.frames_decoded / wall, 2) if wall > 0 else None,
        "realtime_factor": round(info.duration_s / wall, 3) if wall > 0 else None,
        "peak_rss_mb": round(monitor.peak_rss_mb, 1),
        "peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None,
        "gpu_monitored": monitor.has_gpu,
    }
    return Analysis(info, faces, track_table, identities, embedder.name, run, monitor.frame(), thumbnails)


def _track_spans(tracks: list[Track], frame_times: np.ndarray, cuts: list[int], stride: int) -> dict[int, tuple[float, float]]:
    """On-screen interval of each track: its first face to one detection step after its last, within its shot.

    ``frame_times`` holds each frame's time (NaN for frames that could not be decoded).
    """
    decoded = np.flatnonzero(~np.isnan(frame_times))
    step = float(np.nanmedian(np.diff(frame_times))) if len(decoded) > 1 else 0.04
    end_of_video = float(frame_times[decoded[-1]]) + step if len(decoded) else 0.0
    cut_array = np.asarray(cuts, dtype=np.int64)
    spans = {}
    for t in tracks:
        start = float(frame_times[t.first_frame])
        end = float(frame_times[t.last_frame]) + step * stride
        later = cut_array[cut_array > t.last_frame]
        limit = float(frame_times[later[0]]) if len(later) else end_of_video
        spans[t.id] = (start, min(end, limit))
    return spans


def _frame_rate_varies(frame_times: np.ndarray) -> bool:
    """Frame intervals differ by more than 10 % from their median somewhere (a variable frame rate)."""
    steps = np.diff(frame_times[~np.isnan(frame_times)])
    if len(steps) < 2:
        return False
    median = float(np.median(steps))
    return bool(median > 0 and np.any(np.abs(steps - median) > 0.1 * median))


def _thumbnail(track: Track, size: int = 160) -> np.ndarray:
    """A square crop around the track's best face, ``size`` pixels."""
    patch = track.best_patch
    x1, y1, x2, y2 = patch.box
    cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) * 0.7
    h, w = patch.image.shape[:2]
    crop = patch.image[int(max(0, cy - half)) : int(min(h, cy + half)), int(max(0, cx - half)) : int(min(w, cx + half))]
    t = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None].float()
    out = torch.nn.functional.interpolate(t, size=(size, size), mode="bilinear", antialias=True)
    return out.round().clamp(0, 255).byte()[0].permute(1, 2, 0).numpy()
