"""Face-tracked clips of one person: target, segments, a smooth crop path, one ffmpeg encode per clip."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d
from torchvision.ops import roi_align

from facetools.errors import InputValidationError
from facetools.geometry import cosine_distances, interpolate_boxes
from facetools.identify.identities import Identity
from facetools.intervals import merge_intervals
from facetools.io import ffmpeg
from facetools.io.loader import FrameLoader
from facetools.outputs.analysis import Analysis

ASPECTS = {"9:16": 9 / 16, "1:1": 1.0, "16:9": 16 / 9}


@dataclass
class ExportOptions:
    """How clips are cut and framed.

    Attributes:
        aspect: output aspect, ``9:16``, ``1:1`` or ``16:9``.
        height: output height in pixels; 0 picks the largest crop height (at most 1280).
        gap: gaps between appearances shorter than this (s) are bridged.
        min_length: appearances shorter than this (s) are dropped.
        padding: seconds added before and after each segment.
        segment: split clips longer than this (s) into pieces; 0 keeps them whole.
        face_fraction: the face's height as a fraction of the crop height.
        smooth_s: standard deviation (s) of the zero-phase Gaussian smoothing the crop path.
        crf: libx264 quality (lower is better).
        device: where crops are computed.
    """

    aspect: str = "9:16"
    height: int = 0
    gap: float = 1.0
    min_length: float = 1.0
    padding: float = 0.0
    segment: float = 0.0
    face_fraction: float = 0.3
    smooth_s: float = 0.25
    crf: int = 20
    device: str = "cpu"


@dataclass
class Clip:
    """One exported clip, as listed in ``clips/manifest.json``."""

    file: str
    start_s: float
    end_s: float
    first_frame: int
    frames: int
    target_id: int
    target_name: str
    width: int
    height: int
    has_audio: bool


def select_target(analysis: Analysis, target: str, photo_embedder: object | None = None) -> Identity:
    """``auto`` (most screen time), an identity id, an identity name, or a photo of the person."""
    if not analysis.identities:
        raise InputValidationError("the analysis holds no identities to export")
    if target == "auto":
        return analysis.identities[0]
    if target.lstrip("-").isdigit():
        try:
            return analysis.identity(int(target))
        except KeyError:
            raise InputValidationError(f"no identity with id {target}") from None
    names = {p.name: p for p in analysis.identities}
    if target in names:
        return names[target]
    if Path(target).is_file():
        return _match_photo(analysis, Path(target))
    raise InputValidationError(f"target {target!r} is neither auto, an identity id, a name ({', '.join(names)}) nor a photo")


def _match_photo(analysis: Analysis, photo: Path) -> Identity:
    from PIL import Image

    from facetools.extract.models import load_photo_models, photo_faces

    people = [p for p in analysis.identities if p.embedding.size]
    if not people:
        raise InputValidationError("this analysis has no stored embeddings: re-run analyze to match photos")
    models = load_photo_models(analysis.embedder, analysis.run.embedder_precision)
    faces = photo_faces(models, np.asarray(Image.open(photo).convert("RGB")), largest=True)
    if not faces:
        raise InputValidationError(f"{photo}: no face found in the photo")
    dist = cosine_distances(faces[0].vector[None], np.stack([p.embedding for p in people]))[0]
    best = int(np.argmin(dist))
    if dist[best] >= models.link_threshold:  # one face against an identity: the calibrated single-face threshold
        raise InputValidationError(f"{photo}: nobody in the analysis looks like this photo (closest distance {dist[best]:.3f})")
    return people[best]


def plan_segments(identity: Identity, duration: float, options: ExportOptions) -> list[tuple[float, float]]:
    """The target's time ranges to cut: gaps bridged, short ones dropped, padded, split."""
    merged = merge_intervals(identity.segments, options.gap)
    kept = [(max(0.0, s - options.padding), min(duration, e + options.padding)) for s, e in merged if e - s >= options.min_length]
    kept = merge_intervals(kept, 0.0)
    if options.segment <= 0:
        return kept
    pieces = []
    for s, e in kept:
        n = int(np.ceil((e - s) / options.segment - 1e-9))
        pieces += [(s + k * options.segment, min(e, s + (k + 1) * options.segment)) for k in range(n)]
    return pieces


def crop_path(analysis: Analysis, identity: Identity, frames: np.ndarray, options: ExportOptions) -> np.ndarray:
    """Crop window ``x1, y1, x2, y2`` (source pixels) for each frame number in ``frames``.

    The target's box is interpolated along its tracks between detections and held where it
    is lost; the path is smoothed with a zero-phase Gaussian within each shot (no lag, no
    smoothing across cuts); the face keeps ``face_fraction`` of the crop height; the window
    stays inside the frame (so no black bars).
    """
    info = analysis.video
    faces = analysis.faces[analysis.faces["identity"] == identity.id]
    boxes = np.full((len(frames), 4), np.nan)
    for _track, g in faces.groupby("track"):
        f = g["frame"].to_numpy()
        inside = (frames >= f[0]) & (frames <= f[-1]) & np.isnan(boxes[:, 0])
        if inside.any():
            boxes[inside] = interpolate_boxes(f, g[["x1", "y1", "x2", "y2"]].to_numpy(np.float32), frames[inside])
    cuts = np.asarray(analysis.trackset.cuts, dtype=np.int64)
    shot = np.searchsorted(cuts, frames, side="right")
    aspect = ASPECTS[options.aspect]
    out = np.zeros((len(frames), 4))
    for s in np.unique(shot):
        part = np.flatnonzero(shot == s)
        b = _hold(boxes[part])
        if np.isnan(b[:, 0]).all():  # the target is not in this shot: a centred, full-height window
            b[:] = [info.width * 0.4, info.height * 0.3, info.width * 0.6, info.height * 0.5]
        cx, cy, fh = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 3] - b[:, 1]
        sigma = max(options.smooth_s * info.fps, 1e-3)
        cx, cy, fh = (gaussian_filter1d(v, sigma, mode="nearest") for v in (cx, cy, fh))
        h = np.clip(fh / options.face_fraction, 16, info.height)
        h = np.minimum(h, info.width / aspect)
        w = h * aspect
        x1 = np.clip(cx - w / 2, 0, info.width - w)
        y1 = np.clip(cy - 0.45 * h, 0, info.height - h)
        out[part] = np.stack([x1, y1, x1 + w, y1 + h], axis=1)
    return out


def _hold(boxes: np.ndarray) -> np.ndarray:
    """Fill frames without a box with the nearest known box (held before and after)."""
    known = np.flatnonzero(~np.isnan(boxes[:, 0]))
    if len(known) == 0:
        return boxes.copy()
    idx = np.arange(len(boxes))
    nearest = known[np.clip(np.searchsorted(known, idx), 0, len(known) - 1)]
    before = known[np.clip(np.searchsorted(known, idx) - 1, 0, len(known) - 1)]
    pick = np.where(np.abs(before - idx) < np.abs(nearest - idx), before, nearest)
    return boxes[pick]


def _file_name(name: str) -> str:
    """A user's name as a safe part of a file name."""
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "person"


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def render_clip(analysis: Analysis, identity: Identity, first: int, count: int, out: Path, options: ExportOptions) -> Clip:
    """Decode frames ``first … first+count−1`` once, crop them along the path, encode with the source's audio."""
    info = analysis.video
    device = torch.device(options.device)
    frames = np.arange(first, first + count)
    windows = crop_path(analysis, identity, frames, options)
    aspect = ASPECTS[options.aspect]
    height = _even(options.height or min(1280, float((windows[:, 3] - windows[:, 1]).max())))
    width = _even(height * aspect)
    times = analysis.frame_times
    start = float(times[first])  # the clip's audio is cut on the same times as its frames
    duration = float(times[first + count - 1]) - start + 1.0 / info.fps
    args = ["ffmpeg", "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{info.fps}", "-i", "-"]
    if info.has_audio:
        args += [
            "-ss",
            f"{start:.6f}",
            "-t",
            f"{duration:.6f}",
            "-i",
            info.path,
            "-map",
            "0:v",
            "-map",
            "1:a:0",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
        ]
    args += ["-c:v", "libx264", "-crf", str(options.crf), "-preset", "medium", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
    args += ["-t", f"{duration:.6f}"]
    tmp = out.with_name(f".{out.name}.partial.mp4")

    def chunks() -> Iterator[bytes]:
        done = 0
        for decoded in FrameLoader(info, batch_size=32, device=device, first=first, count=count, times=analysis.frame_times):
            batch, n = decoded.frames, len(decoded)
            boxes = torch.as_tensor(windows[done : done + n] / decoded.scale, dtype=torch.float32, device=device)
            rois = torch.cat([torch.arange(n, device=device, dtype=torch.float32)[:, None], boxes], dim=1)
            crops = roi_align(batch.permute(0, 3, 1, 2).float(), rois, output_size=(height, width), aligned=True)
            yield crops.round().clamp(0, 255).byte().permute(0, 2, 3, 1).contiguous().cpu().numpy().tobytes()
            done += n

    try:
        ffmpeg.encode(args + [str(tmp)], chunks(), what="encoding the clip failed")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return Clip(
        out.name, round(start, 4), round(start + duration, 4), first, count, identity.id, identity.name, width, height, info.has_audio
    )


def export_clips(
    analysis: Analysis, target: str = "auto", out_dir: str | os.PathLike[str] = "clips", options: ExportOptions | None = None
) -> list[Clip]:
    """Cut face-tracked clips of ``target`` into ``out_dir`` and write ``out_dir/manifest.json``."""
    options = options or ExportOptions()
    if options.aspect not in ASPECTS:
        raise InputValidationError(f"unknown aspect {options.aspect!r}: use {', '.join(ASPECTS)}")
    identity = select_target(analysis, target)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = analysis.video
    total = len(analysis.frame_times)
    clips = []
    for k, (s, e) in enumerate(plan_segments(identity, info.duration_s, options)):
        first, last = analysis.frame_at(s), min(analysis.frame_at(e - 1e-3), total - 1)
        if last >= first:
            name = f"{Path(info.path).stem}_{_file_name(identity.name)}_{k:03d}.mp4"
            clips.append(render_clip(analysis, identity, first, last - first + 1, out / name, options))
    manifest = {"video": info.path, "target": {"id": identity.id, "name": identity.name}, "options": asdict(options)}
    manifest["clips"] = [asdict(c) for c in clips]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return clips
