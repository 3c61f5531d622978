"""``extract()``: the heavy stage, one streaming pass from a video file to a :class:`TrackSet`."""

from __future__ import annotations

import inspect
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from facetools.config import Config
from facetools.extract.ahead import run_ahead, shared_cores
from facetools.extract.checkpoint import Checkpoint, ExtractState, key_of, load_checkpoint
from facetools.extract.detections import Detections, Detector
from facetools.extract.embed import embed_patches
from facetools.extract.faces import FacePatch, cut_patch
from facetools.extract.gallery import embed_gallery
from facetools.extract.memory import MemoryReleaser
from facetools.extract.models import Models, load_models
from facetools.extract.monitor import ResourceMonitor
from facetools.extract.records import frame_rate_varies, set_spans, track_records
from facetools.extract.runinfo import Timer, versions
from facetools.extract.shots import ShotDetector
from facetools.extract.tracker import Track, Tracker, distinct
from facetools.io.batches import FrameBatch
from facetools.io.decoders import open_loader
from facetools.io.probe import VideoInfo, probe
from facetools.trackset.records import FACE_COLUMNS, RunInfo, TrackSet

ProgressHook = Callable[[str, int, int], None] | Callable[[str, int, int, int], None]
"""``hook(stage, completed, total)``, or ``hook(stage, completed, total, faces)`` to hear the faces found so far too;
called as work advances; ``total`` may be an estimate."""


def extract(
    path: str | os.PathLike[str],
    config: Config | None = None,
    *,
    models: Models | None = None,
    progress: ProgressHook | None = None,
    checkpoint: Path | None = None,
) -> TrackSet:
    """Decode, detect, cut into shots, track and embed every face of the video at ``path``.

    ``models`` default to those ``config`` names (:func:`facetools.extract.models.load_models`). A detector that looks at
    whole frames (YuNet) runs on a worker thread a batch ahead of tracking, with torch and OpenCV on half of torch's
    threads each in the meantime (the process's settings, restored at the end). With ``checkpoint`` (a file path), the
    state is saved there at a shot's start every ``config.checkpoint_every_s`` seconds of video, and a later call with
    the same video and options resumes from it.

    Example:
        >>> tracks = extract("data/sample/sample.mp4", Config(device="cpu"))
        >>> len(tracks.tracks)
    """
    cfg = config or Config()
    info = probe(path)
    hook = _with_faces(progress)
    timer = Timer()
    started = time.perf_counter()
    with ResourceMonitor(cfg.monitor_hz) as monitor, ExitStack() as stack:
        monitor.mark("load models")
        hook("load models", 0, 1, 0)
        with timer("load_models"):
            models = models or load_models(cfg)
            gallery = embed_gallery(cfg.gallery, models) if cfg.gallery else {}
        hook("load models", 1, 1, 0)
        run = _Pass.start(path, cfg, info, models, timer, checkpoint)
        loader, reason = open_loader(info, cfg.decoder, batch_size=cfg.batch_size, device=models.device, max_side=cfg.max_decode_side,
                                     first=run.first, sample_every=run.stride)  # fmt: skip
        monitor.mark("detect, track")
        for batch, seen in _batches(loader, models.detector, run.stride, timer, stack):
            run.step(batch, seen)
            hook("analyze", run.frames_done, max(info.frame_count, run.frames_done), len(run.state.rows))
        stack.close()  # the worker has stopped: the cores are torch's and OpenCV's again
        frame_times = run.close()
        hook("analyze", run.frames_done, run.frames_done, len(run.state.rows))
    wall = time.perf_counter() - started
    return run.trackset(frame_times, _run_info(run, loader, reason, frame_times, monitor, wall), monitor.frame(), gallery)


def _with_faces(progress: ProgressHook | None) -> Callable[[str, int, int, int], None]:
    """``progress`` as a hook of four arguments: one of three is called without the faces."""
    if progress is None:
        return lambda stage, done, total, faces: None
    try:
        inspect.signature(progress).bind("", 0, 0, 0)
    except (TypeError, ValueError):  # takes three, or has no signature to read: the hook of three arguments
        return lambda stage, done, total, faces: progress(stage, done, total)  # type: ignore[call-arg]
    return progress  # type: ignore[return-value]


def _batches(
    loader: Iterable[FrameBatch], detector: Detector, stride: int, timer: Timer, stack: ExitStack
) -> Iterator[tuple[FrameBatch, dict]]:
    """The loader's batches with, for a detector that needs no track (YuNet), the faces of their sampled frames, found on a
    worker thread a batch ahead; the wait for each batch is timed as ``decode_wait``."""
    if detector.whole_frame:
        stack.enter_context(shared_cores())

        def sampled(batch: FrameBatch) -> dict[int, Detections]:
            with timer("detect"):
                return _sampled_faces(detector, batch, stride)

        items: Iterator[tuple[FrameBatch, dict]] = stack.enter_context(closing(run_ahead(iter(loader), sampled)))
    else:
        items = ((batch, {}) for batch in loader)
    while True:
        with timer("decode_wait"):
            item = next(items, None)
        if item is None:
            return
        yield item


@dataclass
class _Pass:
    """One streaming pass: what it has gathered so far and the steps that gather it, frame by frame."""

    cfg: Config
    info: VideoInfo
    models: Models
    timer: Timer
    key: dict
    checkpoint: Path | None
    stride: int
    first: int
    state: ExtractState
    shots: ShotDetector
    tracker: Tracker
    full_every: int
    shot_samples: dict[int, int]
    saved_at: float
    last_full: tuple[int, int] | None = None  # frame and shot of the last full pass
    detected_frames: int = 0
    full_passes: int = 0
    frames_done: int = 0  # frames processed (the decoder may be ahead): what progress reports
    releaser: MemoryReleaser = field(default_factory=MemoryReleaser)

    @classmethod
    def start(
        cls, path: str | os.PathLike[str], cfg: Config, info: VideoInfo, models: Models, timer: Timer, checkpoint: Path | None
    ) -> _Pass:
        """A pass from the video's start, or from ``checkpoint`` where it holds this video's and these options' state."""
        stride = cfg.stride or max(1, int(info.fps // 5))
        # the models ``auto`` chose, not "auto": a resume where it chooses others starts afresh instead of mixing them
        options = {k: v for k, v in asdict(cfg).items() if k not in cfg.identify_options()}
        chosen = {"detector": models.detector.name, "embedder": models.embedder.name, "embed_precision": models.precision}
        key = key_of(str(path), options | chosen)
        resumed = load_checkpoint(checkpoint, key) if checkpoint else None
        state = resumed.state if resumed else ExtractState()
        shots = ShotDetector(cfg.shot_threshold)
        tracker = Tracker(cfg.track_iou, max_gap=max(stride, round(cfg.track_max_gap_s * info.fps)), keep=cfg.faces_per_track,
                          same_person=lambda a, b: _same_person(models, a, b))  # fmt: skip
        if resumed:
            shots.shot, shots.cuts, tracker.next_id = resumed.shot, list(resumed.cuts), resumed.next_track
        full_every = -(-round(cfg.full_pass_s * info.fps) // stride) * stride if cfg.full_pass_s > 0 else stride
        saved_at = float(state.times[max(state.times)]) if state.times else 0.0
        return cls(cfg, info, models, timer, key, checkpoint, stride, resumed.resume_frame if resumed else 0, state, shots, tracker,
                   full_every, defaultdict(int, state.shot_samples), saved_at)  # fmt: skip

    def step(self, batch: FrameBatch, seen: dict[int, Detections]) -> None:
        """One batch: frame times, shots, full detection passes, then each sampled frame's faces into the tracker."""
        stretch = batch if batch.thumbs is None else batch.thumbs  # every frame decoded, sampled or not
        self.state.times.update(zip(stretch.indices.tolist(), stretch.times.tolist()))
        self.frames_done = int(stretch.indices[-1]) + 1 if len(stretch.indices) else self.frames_done
        with self.timer("shots"):
            shot_ids = self.shots.update_batch(batch)
        sel = _sampled(batch, self.stride)
        full = self._full_passes(batch, shot_ids, sel)
        found = self._detect(batch, full, seen)
        self.detected_frames += len(sel)
        self.full_passes += len(full)
        for i in sel:
            frame, shot = int(batch.indices[i]), int(shot_ids[i])
            self._maybe_save(frame, shot, float(batch.times[i]))
            self.shot_samples[shot] += 1
            followed: list[Track] | None = None
            if i in full:
                here = found[found.frame == frame]
            else:
                self._finish(self.tracker.due(frame, shot))
                with self.timer("redetect"):
                    here, followed = _redetect(
                        self.models.detector, batch.frames[i], frame, batch.scale, self.tracker.live, seen.get(frame)
                    )
            self._track(batch, i, shot, here, followed)
        self.releaser.maybe()

    def _full_passes(self, batch: FrameBatch, shot_ids: np.ndarray, sel: np.ndarray) -> list[int]:
        """Positions of the sampled frames that get a full pass: a shot's first, and one every ``full_every`` frames."""
        full = []
        for i in sel:
            last = self.last_full
            if last is None or shot_ids[i] != last[1] or batch.indices[i] - last[0] >= self.full_every:
                full.append(i)
                self.last_full = (int(batch.indices[i]), int(shot_ids[i]))
        return full

    def _detect(self, batch: FrameBatch, full: list[int], seen: dict[int, Detections]) -> Detections:
        if self.models.detector.whole_frame:  # found ahead, on the worker thread
            return Detections.concat([seen[int(batch.indices[i])] for i in full])
        with self.timer("detect"):
            return self.models.detector.detect(batch.frames[full], batch.indices[full], batch.scale)

    def _maybe_save(self, frame: int, shot: int, time_s: float) -> None:
        """At a shot's first sampled frame, every ``checkpoint_every_s`` of video: a checkpoint of everything before the cut."""
        s, cuts = self.state, self.shots.cuts
        if not (self.checkpoint and shot not in self.shot_samples and cuts and time_s - self.saved_at >= self.cfg.checkpoint_every_s):
            return
        self._finish(self.tracker.flush())  # the shot before has ended: its tracks are done either way
        cut = max(c for c in cuts if c <= frame)
        done = ExtractState(s.rows, s.row_track, s.records, {f: t for f, t in s.times.items() if f < cut}, dict(self.shot_samples))
        Checkpoint(self.key, cut, shot, [c for c in cuts if c <= cut], self.tracker.next_id, done).save(self.checkpoint)
        self.saved_at = time_s

    def _track(self, batch: FrameBatch, i: int, shot: int, here: Detections, followed: list[Track] | None) -> None:
        """Cut the faces ``here`` out of frame ``i``, record them, and give them to the tracker."""
        frame, rows = int(batch.indices[i]), self.state.rows
        _clip(here.boxes, self.info)
        with self.timer("crop"):
            image = batch.frames[i].cpu().numpy()  # a view, not a copy, on the CPU
            patches = [
                cut_patch(image, b / batch.scale, lm / batch.scale, float(s)) for b, lm, s in zip(here.boxes, here.landmarks, here.scores)
            ]
        ids = list(range(len(rows), len(rows) + len(here)))
        rows.extend([frame, float(batch.times[i]), *b, float(s)] for b, s in zip(here.boxes.tolist(), here.scores))
        self.state.row_track.extend([-1] * len(here))
        with self.timer("track"):
            if followed is None:
                # in one batch: nearly every face of a full pass is embedded anyway, for the tracker's check or to be kept
                embed_patches(self.models.embedder, patches)
                self._finish(self.tracker.update(frame, shot, ids, here.boxes, patches))
            else:  # the faces that continue ``followed``, then newcomers
                m = len(followed)
                self.tracker.follow(frame, followed, ids[:m], here.boxes[:m], patches[:m])
                self.tracker.start(frame, shot, ids[m:], list(here.boxes[m:]), patches[m:])

    def _finish(self, done: list[Track]) -> None:
        """Embed finished tracks and label their faces."""
        with self.timer("embed"):
            self.state.records.extend(track_records(done, self.models.embedder))
        for t in done:
            for r in t.rows:
                self.state.row_track[r] = t.id

    def close(self) -> np.ndarray:
        """Finish the last tracks; every frame's time by number (NaN where a frame could not be decoded)."""
        self._finish(self.tracker.flush())
        times = self.state.times
        frame_times = np.full(max(times, default=-1) + 1, np.nan)
        frame_times[list(times)] = list(times.values())
        set_spans(self.state.records, frame_times, self.shots.cuts, self.stride)
        return frame_times

    def trackset(self, frame_times: np.ndarray, run: RunInfo, utilization: pd.DataFrame, gallery: dict[str, np.ndarray]) -> TrackSet:
        records = sorted(self.state.records, key=lambda r: r.id)
        return TrackSet(self.info, frame_times, list(self.shots.cuts), dict(self.shot_samples), self.faces(), records, self.models.space,
                        run, utilization, gallery)  # fmt: skip

    def faces(self) -> pd.DataFrame:
        faces = pd.DataFrame(self.state.rows, columns=FACE_COLUMNS[:7])
        faces["track"] = self.state.row_track
        return faces.astype({"frame": "int64", "track": "int64"})


def _same_person(models: Models, a: FacePatch, b: FacePatch) -> bool:
    """The tracker's check of a link: two single faces closer than the embedder's calibrated threshold.

    Faces of one person a few frames apart lie far below it; different people at a missed cut above it.
    """
    ea, eb = embed_patches(models.embedder, [a, b])
    return float(1.0 - ea @ eb) < models.link_threshold


def _run_info(run: _Pass, loader: object, reason: str, frame_times: np.ndarray, monitor: ResourceMonitor, wall: float) -> RunInfo:
    """``run.json``: versions, models, options, counts, stage timings, speed and memory of the pass."""
    m, info = run.models, run.info
    gpu = m.device.type == "cuda"
    return RunInfo(
        versions=versions(), device=str(m.device), cuda_device_name=torch.cuda.get_device_name(m.device) if gpu else None,
        decoder=loader.backend, decoder_reason=reason, detector=m.detector.name, embedder=m.embedder.name, embedder_precision=m.precision,
        space=m.space.key, config=asdict(run.cfg), stride=run.stride, video=info.to_dict(), frames_decoded=loader.frames_decoded,
        frames_detected=run.detected_frames, full_passes=run.full_passes, variable_frame_rate_observed=frame_rate_varies(frame_times),
        warnings=loader.warnings + ([f"resumed from a checkpoint at frame {run.first}"] if run.first else []),
        faces=len(run.state.rows), tracks=len(run.state.records), shots=run.shots.shot + 1, cuts=list(run.shots.cuts),
        stage_seconds={k: round(v, 3) for k, v in run.timer.seconds.items()}, wall_seconds=round(wall, 3),
        frames_per_second=round(loader.frames_decoded / wall, 2) if wall > 0 else None,
        realtime_factor=round(info.duration_s / wall, 3) if wall > 0 else None, peak_rss_mb=round(monitor.peak_rss_mb, 1),
        peak_gpu_memory_mb=round(torch.cuda.max_memory_allocated(m.device) / 2**20, 1) if gpu else None, gpu_monitored=monitor.has_gpu,
        cluster_threshold=m.link_threshold,
    )  # fmt: skip


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
