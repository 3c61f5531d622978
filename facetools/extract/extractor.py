"""``extract()``: the heavy stage, one streaming pass from a video file to a :class:`TrackSet`."""

from __future__ import annotations

import functools
import os
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from facetools.calibration import load_calibration
from facetools.config import Config
from facetools.errors import InputValidationError
from facetools.extract.ahead import run_ahead, shared_cores
from facetools.extract.checkpoint import Checkpoint, ExtractState, key_of, load_checkpoint
from facetools.extract.detect import Detections, Detector, FaceDetector, load_detector
from facetools.extract.embed import Embedder, embed_patches, load_embedder, weights_sha256
from facetools.extract.faces import FacePatch, cut_patch, square_crop
from facetools.extract.gallery import embed_gallery
from facetools.extract.memory import MemoryReleaser
from facetools.extract.monitor import ResourceMonitor
from facetools.extract.shots import ShotDetector
from facetools.extract.tracker import Track, Tracker, distinct
from facetools.io import ffmpeg
from facetools.io.decoders import open_loader
from facetools.io.loader import FrameBatch
from facetools.io.probe import VideoInfo, probe
from facetools.trackset.records import FACE_COLUMNS, EmbeddingSpace, RunInfo, TrackRecord, TrackSet

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
def cached_embedder(name: str, device: str, weights: str | None, precision: str = "auto") -> Embedder:
    """Embedders are loaded once per process and reused by later runs."""
    return load_embedder(name, device, weights, precision)


def embedding_space(embedder: Embedder) -> EmbeddingSpace:
    """The embedder's name, the hash of its weights and the version of its calibration."""
    try:
        cal = load_calibration(embedder.name)
        version = f"v{cal.script_version}-{cal.data_sha256[:8]}"
    except (KeyError, OSError):  # no calibration for this embedder
        version = "uncalibrated"
    return EmbeddingSpace(embedder.name, weights_sha256(embedder), version)


def _same_person(embedder: Embedder, a: FacePatch, b: FacePatch, threshold: float) -> bool:
    """The tracker's check of a link: two single faces closer than the embedder's calibrated threshold.

    Faces of one person a few frames apart lie far below it; different people at a missed cut above it.
    """
    ea, eb = embed_patches(embedder, [a, b])
    return float(1.0 - ea @ eb) < threshold


def link_threshold(embedder: Embedder) -> float:
    """The calibrated threshold of the embedder's single faces (its built-in one where it has no calibration)."""
    try:
        return load_calibration(embedder.name).threshold
    except (KeyError, OSError):  # no calibration for this embedder
        return embedder.threshold


def _records(tracks: list[Track], embedder: Embedder) -> list[TrackRecord]:
    """Embed finished tracks' kept faces in one batch and keep what identification needs (spans are set at the end)."""
    vectors = embed_patches(embedder, [p for t in tracks for p in t.patches])
    out, start = [], 0
    for t in tracks:
        faces = vectors[start : start + len(t.patches)]
        start += len(t.patches)
        mean = faces.mean(0)
        quality = np.array([[p.quality, p.height, p.yaw, p.sharpness] for p in t.patches], dtype=np.float32)
        best = t.best_patch
        out.append(
            TrackRecord(
                t.id,
                t.shot,
                np.asarray(t.frames),
                (0.0, 0.0),
                mean / np.linalg.norm(mean),
                faces,
                quality,
                square_crop(best.image, best.box),
            )  # fmt: skip
        )
    return out


def extract(
    path: str | os.PathLike[str], config: Config | None = None, *, progress: ProgressHook | None = None, checkpoint: Path | None = None
) -> TrackSet:
    """Decode, detect, cut into shots, track and embed every face of the video at ``path``.

    A detector that looks at whole frames (YuNet) runs on a worker thread a batch ahead of tracking, with torch and
    OpenCV on half of torch's threads each in the meantime (the process's settings, restored at the end).

    With ``checkpoint`` (a file path), the state is saved there at a shot's start every
    ``config.checkpoint_every_s`` seconds of video, and a later call with the same video and
    options resumes from it.

    Example:
        >>> tracks = extract("data/sample/sample.mp4", Config(device="cpu"))
        >>> len(tracks.tracks)
    """
    cfg = config or Config()
    info = probe(path)
    device = resolve_device(cfg.device)
    stride = cfg.stride or max(1, int(info.fps // 5))
    hook = progress or (lambda stage, done, total: None)
    timer = _Timer()
    started = time.perf_counter()
    with ResourceMonitor(cfg.monitor_hz) as monitor, ExitStack() as stack:
        monitor.mark("load models")
        hook("load models", 0, 1)
        with timer("load_models"):
            detector = load_detector(cfg.detector, device, long_side=cfg.detect_long_side, min_score=cfg.min_score,
                                     min_face_size=cfg.min_face_size, thresholds=cfg.mtcnn_thresholds,
                                     factor=cfg.pyramid_factor)  # fmt: skip
            embedder = cached_embedder(cfg.embedder, str(device), cfg.facenet_weights, cfg.embed_precision)
            # photos go through MTCNN, as in recluster, export and people search: one face choice per photo everywhere
            gallery = embed_gallery(cfg.gallery, FaceDetector(device), embedder) if cfg.gallery else {}
        hook("load models", 1, 1)
        # the models ``auto`` chose, not "auto": a resume where it chooses others starts afresh instead of mixing them
        options = {k: v for k, v in asdict(cfg).items() if k not in cfg.identify_options()}
        key = key_of(str(path), options | {"detector": detector.name, "embedder": embedder.name, "embed_precision": embedder.precision})
        resumed = load_checkpoint(checkpoint, key) if checkpoint else None
        state = resumed.state if resumed else ExtractState()
        first = resumed.resume_frame if resumed else 0
        loader, decoder_reason = open_loader(info, cfg.decoder, batch_size=cfg.batch_size, device=device, max_side=cfg.max_decode_side,
                                             first=first, sample_every=stride)  # fmt: skip
        shots = ShotDetector(cfg.shot_threshold)
        link = link_threshold(embedder)
        tracker = Tracker(cfg.track_iou, max_gap=max(stride, round(cfg.track_max_gap_s * info.fps)), keep=cfg.faces_per_track,
                          same_person=lambda a, b: _same_person(embedder, a, b, link))  # fmt: skip
        full_every = -(-round(cfg.full_pass_s * info.fps) // stride) * stride if cfg.full_pass_s > 0 else stride
        last_full: tuple[int, int] | None = None  # frame and shot of the last full pass
        if resumed:
            shots.shot, shots.cuts, tracker.next_id = resumed.shot, list(resumed.cuts), resumed.next_track
        rows, row_track, records, times = state.rows, state.row_track, state.records, state.times
        shot_samples: dict[int, int] = defaultdict(int, state.shot_samples)

        def finish(done: list[Track]) -> None:
            with timer("embed"):
                records.extend(_records(done, embedder))
            for t in done:
                for r in t.rows:
                    row_track[r] = t.id

        saved_at = float(times[max(times)]) if times else 0.0
        detected_frames = full_passes = 0
        monitor.mark("detect, track")
        ahead = detector.whole_frame  # its detection needs no track: on a worker thread, a batch ahead of tracking
        if ahead:
            stack.enter_context(shared_cores())

            def sampled(batch: FrameBatch) -> dict[int, Detections]:
                with timer("detect"):
                    return _sampled_faces(detector, batch, stride)

            batches = stack.enter_context(closing(run_ahead(iter(loader), sampled)))
        else:
            batches = ((batch, {}) for batch in loader)
        releaser = MemoryReleaser()
        while True:
            with timer("decode_wait"):
                item = next(batches, None)
            if item is None:
                break
            batch, seen = item
            stretch = batch if batch.thumbs is None else batch.thumbs  # every frame decoded, sampled or not
            times.update(zip(stretch.indices.tolist(), stretch.times.tolist()))
            with timer("shots"):
                shot_ids = shots.update_batch(batch)
            sel = _sampled(batch, stride)
            full = []
            for i in sel:  # a full pass at a shot's first sampled frame and every full_every frames
                if last_full is None or shot_ids[i] != last_full[1] or batch.indices[i] - last_full[0] >= full_every:
                    full.append(i)
                    last_full = (int(batch.indices[i]), int(shot_ids[i]))
            if ahead:
                found = Detections.concat([seen[int(batch.indices[i])] for i in full])
            else:
                with timer("detect"):
                    found = detector.detect(batch.frames[full], batch.indices[full], batch.scale)
            detected_frames += len(sel)
            full_passes += len(full)
            for i in sel:
                frame = int(batch.indices[i])
                shot = int(shot_ids[i])
                if checkpoint and shot not in shot_samples and shots.cuts and float(batch.times[i]) - saved_at >= cfg.checkpoint_every_s:
                    finish(tracker.flush())  # the shot before has ended: its tracks are done either way
                    cut = max(c for c in shots.cuts if c <= frame)
                    done_part = ExtractState(rows, row_track, records, {f: t for f, t in times.items() if f < cut}, dict(shot_samples))
                    Checkpoint(key, cut, shot, [c for c in shots.cuts if c <= cut], tracker.next_id, done_part).save(checkpoint)
                    saved_at = float(batch.times[i])
                shot_samples[shot] += 1
                followed: list[Track] | None = None
                if i in full:
                    here = found[found.frame == frame]
                else:
                    finish(tracker.due(frame, shot))
                    with timer("redetect"):
                        here, followed = _redetect(detector, batch.frames[i], frame, batch.scale, tracker.live, seen.get(frame))
                _clip(here.boxes, info)
                with timer("crop"):
                    image = batch.frames[i].cpu().numpy()  # a view, not a copy, on the CPU
                    patches = [cut_patch(image, b / batch.scale, lm / batch.scale, float(s))
                               for b, lm, s in zip(here.boxes, here.landmarks, here.scores)]  # fmt: skip
                ids = list(range(len(rows), len(rows) + len(here)))
                rows.extend([frame, float(batch.times[i]), *b, float(s)] for b, s in zip(here.boxes.tolist(), here.scores))
                row_track.extend([-1] * len(here))
                with timer("track"):
                    if followed is None:
                        # in one batch: nearly every face of a full pass is embedded anyway, for the tracker's check or to be kept
                        embed_patches(embedder, patches)
                        finish(tracker.update(frame, shot, ids, here.boxes, patches))
                    else:  # the faces that continue ``followed``, then newcomers
                        m = len(followed)
                        tracker.follow(frame, followed, ids[:m], here.boxes[:m], patches[:m])
                        tracker.start(frame, shot, ids[m:], list(here.boxes[m:]), patches[m:])
            releaser.maybe()
            hook("analyze", loader.frames_decoded, max(info.frame_count, loader.frames_decoded))
        stack.close()  # the worker has stopped: the cores are torch's and OpenCV's again
        finish(tracker.flush())
        hook("analyze", loader.frames_decoded, loader.frames_decoded)
        frame_times = np.full(max(times, default=-1) + 1, np.nan)
        frame_times[list(times)] = list(times.values())
        set_spans(records, frame_times, shots.cuts, stride)
    wall = time.perf_counter() - started
    faces = pd.DataFrame(rows, columns=FACE_COLUMNS[:7])
    faces["track"] = row_track
    faces = faces.astype({"frame": "int64", "track": "int64"})
    space = embedding_space(embedder)
    resumed_note = [f"resumed from a checkpoint at frame {first}"] if first else []
    run = RunInfo(
        versions=_versions(), device=str(device), cuda_device_name=torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        decoder=loader.backend, decoder_reason=decoder_reason, detector=detector.name, embedder=embedder.name,
        embedder_precision=embedder.precision, space=space.key,
        config=asdict(cfg),
        stride=stride, video=info.to_dict(),
        frames_decoded=loader.frames_decoded, frames_detected=detected_frames, full_passes=full_passes,
        variable_frame_rate_observed=frame_rate_varies(frame_times), warnings=loader.warnings + resumed_note, faces=len(faces),
        tracks=len(records),
        shots=shots.shot + 1, cuts=list(shots.cuts), stage_seconds={k: round(v, 3) for k, v in timer.seconds.items()},
        wall_seconds=round(wall, 3), frames_per_second=round(loader.frames_decoded / wall, 2) if wall > 0 else None,
        realtime_factor=round(info.duration_s / wall, 3) if wall > 0 else None, peak_rss_mb=round(monitor.peak_rss_mb, 1),
        peak_gpu_memory_mb=round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None,
        gpu_monitored=monitor.has_gpu, cluster_threshold=embedder.threshold,
    )  # fmt: skip
    return TrackSet(info, frame_times, list(shots.cuts), dict(shot_samples), faces, sorted(records, key=lambda r: r.id), space, run,
                    monitor.frame(), gallery)  # fmt: skip


def _sampled(batch: FrameBatch, stride: int) -> np.ndarray:
    """Positions in ``batch`` of the frames faces are located on: every ``stride``-th frame of the video."""
    return np.flatnonzero(batch.indices % stride == 0)


def _sampled_faces(detector: Detector, batch: FrameBatch, stride: int) -> dict[int, Detections]:
    """The faces in each sampled frame of ``batch``, by frame number."""
    return {int(batch.indices[i]): detector.detect(batch.frames[i : i + 1], batch.indices[i : i + 1], batch.scale)
            for i in _sampled(batch, stride)}  # fmt: skip


def _redetect(
    detector: Detector, frame: torch.Tensor, frame_no: int, scale: float, live: list[Track], seen: Detections | None = None
) -> tuple[Detections, list[Track]]:
    """The faces found again around the predicted boxes of the ``live`` tracks, the track each continues, then the newcomers
    (faces near no track, where the detector looked at the whole frame; ``seen``: the faces it found there already).

    Where two tracks find the same face (one person's track split, or two people's boxes crossing), the longer track keeps it.
    """
    predicted = np.stack([t.predict(frame_no) for t in live]) if live else np.zeros((0, 4), np.float32)
    found, newcomers = detector.around(frame, predicted, frame_no, scale) if seen is None else detector.pair(seen, predicted, frame_no)
    hit = np.flatnonzero(found.scores > 0)
    hit = hit[distinct(found.boxes[hit], np.array([len(live[j]) for j in hit]))]
    return Detections.concat([found[hit], newcomers]), [live[j] for j in hit]


def _clip(boxes: np.ndarray, info: VideoInfo) -> None:
    """Clip ``boxes`` (original pixels) to the frame, in place."""
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, info.width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, info.height)


def set_spans(records: list[TrackRecord], frame_times: np.ndarray, cuts: list[int], stride: int) -> None:
    """Each track's on-screen interval: its first face to one detection step after its last, within its shot.

    ``frame_times`` holds each frame's time (NaN for frames that could not be decoded).
    """
    decoded = np.flatnonzero(~np.isnan(frame_times))
    step = float(np.nanmedian(np.diff(frame_times))) if len(decoded) > 1 else 0.04
    end_of_video = float(frame_times[decoded[-1]]) + step if len(decoded) else 0.0
    cut_array = np.asarray(cuts, dtype=np.int64)
    for t in records:
        start = float(frame_times[t.frames[0]])
        end = float(frame_times[t.frames[-1]]) + step * stride
        later = cut_array[cut_array > t.frames[-1]]
        limit = float(frame_times[later[0]]) if len(later) else end_of_video
        t.span = (start, min(end, limit))


def frame_rate_varies(frame_times: np.ndarray) -> bool:
    """Frame intervals differ by more than 10 % from their median somewhere (a variable frame rate)."""
    steps = np.diff(frame_times[~np.isnan(frame_times)])
    if len(steps) < 2:
        return False
    median = float(np.median(steps))
    return bool(median > 0 and np.any(np.abs(steps - median) > 0.1 * median))
