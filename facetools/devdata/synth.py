"""Labelled multi-shot test videos composed from still photos, with exact ground truth.

A :class:`Scene` is a still image with known face boxes; a :class:`Shot` films it with a
virtual camera whose window pans and zooms linearly while the light changes. Rendering
pipes frames to one ffmpeg process; ground truth (who is visible in which frame, with
boxes) is computed from the camera path, not detected.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageFilter

from facetools.errors import InputValidationError
from facetools.io import ffmpeg

if TYPE_CHECKING:
    from facetools.extract.mtcnn_detector import MtcnnDetector


@dataclass
class Scene:
    """A still image (RGB uint8) and its faces as ``(label, (x1, y1, x2, y2))``."""

    image: np.ndarray
    faces: list[tuple[str, tuple[float, float, float, float]]] = field(default_factory=list)

    @staticmethod
    def side_by_side(*scenes: Scene, gap: int = 0) -> Scene:
        """Scenes placed left to right on one canvas (shorter ones centred vertically)."""
        height = max(s.image.shape[0] for s in scenes)
        width = sum(s.image.shape[1] for s in scenes) + gap * (len(scenes) - 1)
        canvas = np.zeros((height, width, 3), dtype=np.uint8)
        faces = []
        x = 0
        for s in scenes:
            h, w = s.image.shape[:2]
            y = (height - h) // 2
            canvas[y : y + h, x : x + w] = s.image
            faces += [(label, (b[0] + x, b[1] + y, b[2] + x, b[3] + y)) for label, b in s.faces]
            x += w + gap
        return Scene(canvas, faces)


@dataclass
class Shot:
    """``seconds`` of ``scene`` seen through a window moving from ``start`` to ``end``.

    A window is ``(centre_x, centre_y, height)`` in scene pixels (its width follows the
    video's aspect); ``light`` scales brightness from its first to its second value;
    ``blur`` is a Gaussian radius in output pixels; ``mirror`` flips the frame.
    """

    scene: Scene
    seconds: float
    start: tuple[float, float, float]
    end: tuple[float, float, float] | None = None
    light: tuple[float, float] = (1.0, 1.0)
    blur: float = 0.0
    mirror: bool = False


def _window(shot: Shot, u: float, aspect: float) -> tuple[float, float, float, float]:
    end = shot.end or shot.start
    cx, cy, h = (a + (b - a) * u for a, b in zip(shot.start, end))
    w = h * aspect
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _visible(box: tuple[float, float, float, float], size: tuple[int, int]) -> bool:
    """At least 60 % of the face lies inside the frame."""
    x1, y1, x2, y2 = box
    inside = max(0.0, min(x2, size[0]) - max(x1, 0)) * max(0.0, min(y2, size[1]) - max(y1, 0))
    return inside >= 0.6 * (x2 - x1) * (y2 - y1)


def render(
    shots: list[Shot], out: str | os.PathLike[str], *, size: tuple[int, int] = (640, 360), fps: int = 25, audio: bool = True, crf: int = 20
) -> dict[str, Any]:
    """Encode ``shots`` into the H.264/AAC video ``out``; return and write ``<out>.truth.json``.

    The truth maps each label to ``[frame, x1, y1, x2, y2]`` rows (boxes in output pixels,
    rounded to 0.1 px) and lists shot boundaries in frames.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    aspect = width / height
    frames_total = sum(round(s.seconds * fps) for s in shots)
    duration = frames_total / fps
    args = ["ffmpeg", "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-"]
    if audio:
        tone = r"0.15*sin(2*PI*(330+110*mod(floor(t/2)\,4))*t)"
        args += ["-f", "lavfi", "-i", f"aevalsrc={tone}:s=44100:d={duration}", "-c:a", "aac", "-b:a", "96k"]
    args += ["-c:v", "libx264", "-preset", "medium", "-crf", str(crf), "-pix_fmt", "yuv420p", "-g", str(2 * fps)]
    args += ["-threads", "1", "-bitexact", "-movflags", "+faststart", "-t", f"{duration}"]
    tmp = out.with_name(f".{out.stem}.partial{out.suffix}")
    truth: dict[str, Any] = {"video": out.name, "fps": fps, "size": [width, height], "frames": frames_total, "shots": [], "people": {}}

    def frames() -> Iterator[bytes]:
        frame_no = 0
        for shot in shots:
            n = round(shot.seconds * fps)
            truth["shots"].append([frame_no, frame_no + n])
            still = Image.fromarray(shot.scene.image)
            for k in range(n):
                u = k / max(n - 1, 1)
                x0, y0, x1, y1 = _window(shot, u, aspect)
                img = still.transform((width, height), Image.Transform.EXTENT, (x0, y0, x1, y1), Image.Resampling.BILINEAR)
                if shot.blur:
                    img = img.filter(ImageFilter.GaussianBlur(shot.blur))
                gain = shot.light[0] + (shot.light[1] - shot.light[0]) * u
                pixels = np.clip(np.asarray(img, dtype=np.float32) * gain, 0, 255).astype(np.uint8)
                if shot.mirror:
                    pixels = pixels[:, ::-1]
                yield np.ascontiguousarray(pixels).tobytes()
                sx, sy = width / (x1 - x0), height / (y1 - y0)
                for label, (bx1, by1, bx2, by2) in shot.scene.faces:
                    box = ((bx1 - x0) * sx, (by1 - y0) * sy, (bx2 - x0) * sx, (by2 - y0) * sy)
                    if shot.mirror:
                        box = (width - box[2], box[1], width - box[0], box[3])
                    if _visible(box, size):
                        truth["people"].setdefault(label, []).append([frame_no + k, *(round(v, 1) for v in box)])
            frame_no += n

    ffmpeg.encode(args + [str(tmp)], frames(), what="encoding the test video failed")
    os.replace(tmp, out)
    truth_path = truth_file(out)
    truth_path.write_text(json.dumps(truth, indent=1, sort_keys=True))
    return truth


def truth_file(video: str | os.PathLike[str]) -> Path:
    """Where :func:`render` writes the ground truth of ``video``."""
    return Path(video).with_suffix(".truth.json")


def truth_segments(truth: dict[str, Any], gap_frames: int = 1) -> dict[str, list[tuple[float, float]]]:
    """Each label's on-screen intervals in seconds, from the per-frame ground truth."""
    fps = truth["fps"]
    out: dict[str, list[tuple[float, float]]] = {}
    for label, rows in truth["people"].items():
        frames = sorted({r[0] for r in rows})
        segs: list[list[int]] = []
        for f in frames:
            if segs and f - segs[-1][1] <= gap_frames:
                segs[-1][1] = f
            else:
                segs.append([f, f])
        out[label] = [(a / fps, (b + 1) / fps) for a, b in segs]
    return out


def photo_scene(path: str | os.PathLike[str], label: str, detector: MtcnnDetector, *, context: float = 1.8, height: int = 480) -> Scene:
    """A portrait scene from a photo: a crop around its largest face, ``height`` pixels tall.

    The crop reaches ``context`` face heights from the face's centre, which keeps other
    people at the photo's edges out of the scene.
    """
    image = np.asarray(Image.open(path).convert("RGB"))
    face = detector.largest(image)
    if len(face) == 0:
        raise InputValidationError(f"{path}: no face found")
    x1, y1, x2, y2 = face.boxes[0]
    cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, context * (y2 - y1)
    left, top = int(max(0, cx - half)), int(max(0, cy - half))
    right, bottom = int(min(image.shape[1], cx + half)), int(min(image.shape[0], cy + half))
    s = height / (bottom - top)
    crop = Image.fromarray(image[top:bottom, left:right]).resize((max(1, round((right - left) * s)), height), Image.Resampling.BILINEAR)
    box = ((x1 - left) * s, (y1 - top) * s, (x2 - left) * s, (y2 - top) * s)
    return Scene(np.asarray(crop), [(label, tuple(float(v) for v in box))])


def people_shots(folder: str | os.PathLike[str], detector: MtcnnDetector, *, seconds: float = 1.6) -> list[Shot]:
    """Shots from a folder with one sub-folder of photos per person (label = folder name).

    Every photo gets a shot of its own, framed on the face with a slow zoom; then every two
    consecutive people appear side by side, so people share frames too.
    """
    scenes = [photo_scene(p, d.name, detector) for d in sorted(Path(folder).iterdir()) if d.is_dir() for p in sorted(d.iterdir())]
    shots = []
    for i, scene in enumerate(scenes):
        ((_, (x1, y1, x2, y2)),) = scene.faces
        cx, cy, fh = (x1 + x2) / 2, (y1 + y2) / 2, y2 - y1
        start = (cx, cy, 2.6 * fh)
        end = (cx + 0.1 * fh * (-1) ** i, cy, 2.1 * fh)
        shots.append(Shot(scene, seconds, start=start, end=end))
    firsts = {}
    for scene in scenes:
        firsts.setdefault(scene.faces[0][0], scene)
    people = list(firsts.values())
    for a, b in zip(people[0::2], people[1::2]):
        pair = Scene.side_by_side(a, b, gap=40)
        h, w = pair.image.shape[:2]
        shots.append(Shot(pair, seconds, start=(w / 2, h / 2, max(h, w * 9 / 16) * 1.02)))
    return shots
