"""A corpus of valid and broken inputs generated with ffmpeg from the bundled sample.

Each kind maps to a builder ``(source clip, folder) -> path`` and the expected outcome:
``None`` for a successful analysis that finds faces, else ``(error class, message part)``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from facetools import InputValidationError, VideoDecodeError

Builder = Callable[[Path, Path], Path]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=300)


def source_clip(sample: Path, folder: Path) -> Path:
    """2 s of the sample's two-person shot, H.264 + AAC."""
    out = folder / "clip.mp4"
    ffmpeg("-ss", "10.4", "-i", str(sample), "-t", "2", "-c:v", "libx264", "-crf", "18", "-c:a", "aac", str(out))
    return out


def _transcode(name: str, *args: str) -> Builder:
    def build(clip: Path, folder: Path) -> Path:
        out = folder / name
        ffmpeg("-i", str(clip), *args, str(out))
        return out

    return build


def _bytes(name: str, content: Callable[[Path], bytes]) -> Builder:
    def build(clip: Path, folder: Path) -> Path:
        out = folder / name
        out.write_bytes(content(clip))
        return out

    return build


def _rotated(clip: Path, folder: Path) -> Path:
    out = folder / "rotated.mp4"
    # a phone video: pixels stored turned 90° clockwise, metadata turning them back for display
    sideways = folder / "sideways.mp4"
    ffmpeg("-i", str(clip), "-vf", "transpose=1", "-c:v", "libx264", "-c:a", "copy", str(sideways))
    ffmpeg("-i", str(sideways), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(out))
    return out


def _vfr(clip: Path, folder: Path) -> Path:
    out = folder / "vfr.mkv"
    # frame times jump by 1/25 s then 3/25 s alternately: a variable frame rate
    ffmpeg("-i", str(clip), "-vf", "setpts='N/25/TB+floor(N/2)*2/25/TB'", "-fps_mode", "vfr", "-c:v", "libx264", "-an", str(out))
    return out


def _one_frame(clip: Path, folder: Path) -> Path:
    out = folder / "one_frame.mp4"
    ffmpeg("-i", str(clip), "-frames:v", "1", "-an", "-c:v", "libx264", str(out))
    return out


def _huge(clip: Path, folder: Path) -> Path:
    out = folder / "huge_8k.mp4"
    ffmpeg("-i", str(clip), "-t", "0.4", "-vf", "scale=7680:4320", "-an", "-c:v", "libx264", "-preset", "ultrafast", str(out))
    return out


def _odd_path(clip: Path, folder: Path) -> Path:
    out = folder / "with space – ünïcødé 視頻.mp4"
    out.write_bytes(clip.read_bytes())
    return out


def _truncated(clip: Path, folder: Path) -> Path:
    out = folder / "truncated.mp4"
    data = clip.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    return out


def _corrupt_middle(clip: Path, folder: Path) -> Path:
    out = folder / "corrupt_middle.mkv"
    ffmpeg("-i", str(clip), "-c", "copy", str(clip.with_suffix(".mkv")))
    data = bytearray(clip.with_suffix(".mkv").read_bytes())
    for k in range(len(data) // 3, 2 * len(data) // 3, 997):
        data[k] ^= 0xFF
    out.write_bytes(bytes(data))
    return out


def _audio_only(clip: Path, folder: Path) -> Path:
    out = folder / "audio_only.m4a"
    ffmpeg("-i", str(clip), "-vn", "-c:a", "aac", str(out))
    return out


VALID: dict[str, Builder] = {
    "h264 mp4": _transcode("h264.mp4", "-c", "copy"),
    "hevc mp4": _transcode("hevc.mp4", "-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1"),
    "vp9 webm": _transcode("vp9.webm", "-c:v", "libvpx-vp9", "-b:v", "1M", "-c:a", "libopus"),
    "av1 mkv": _transcode("av1.mkv", "-c:v", "libsvtav1", "-preset", "12"),
    "mpeg4 part 2 avi": _transcode("mpeg4.avi", "-c:v", "mpeg4", "-q:v", "3", "-c:a", "mp3"),
    "h264 mov": _transcode("h264.mov", "-c", "copy"),
    "vp8 webm": _transcode("vp8.webm", "-c:v", "libvpx", "-b:v", "1M", "-an"),
    "mjpeg avi": _transcode("mjpeg.avi", "-c:v", "mjpeg", "-q:v", "3", "-an"),
    "yuv444 h264": _transcode("yuv444.mp4", "-c:v", "libx264", "-pix_fmt", "yuv444p", "-an"),
    "10-bit hevc": _transcode("hevc10.mkv", "-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error", "-an"),
    "10-bit h264": _transcode("h264_10.mkv", "-c:v", "libx264", "-pix_fmt", "yuv420p10le", "-an"),
    "no audio": _transcode("silent.mp4", "-c:v", "copy", "-an"),
    "odd size 643x363": _transcode("odd.mp4", "-vf", "scale=643:363", "-c:v", "libx264", "-pix_fmt", "yuv444p", "-an"),
    "rotation 90": _rotated,
    "variable frame rate": _vfr,
    "huge 8k": _huge,
    "spaces and non-ascii path": _odd_path,
    "one frame": _one_frame,
}

# Valid but too small for any face to be found: a result with no identities.
TOO_SMALL: dict[str, Builder] = {"tiny 32x18": _transcode("tiny.mp4", "-vf", "scale=32:18", "-c:v", "libx264", "-an")}

EXPECTED_FAILURES: dict[str, tuple[Builder, type, str]] = {
    "empty file": (_bytes("empty.mp4", lambda c: b""), InputValidationError, "file is empty"),
    "text file": (_bytes("notes.mp4", lambda c: b"just some text\n" * 50), InputValidationError, "not a recognised video container"),
    "zip archive": (_bytes("archive.mp4", lambda c: b"PK\x03\x04" + bytes(500)), InputValidationError, "looks like a ZIP archive"),
    "png image": (_bytes("still.mp4", lambda c: b"\x89PNG\r\n\x1a\n" + bytes(500)), InputValidationError, "looks like a PNG image"),
    "audio only": (_audio_only, InputValidationError, "no video stream (audio only)"),
    "random bytes": (_bytes("noise.mp4", lambda c: bytes(range(256)) * 40), InputValidationError, "not a recognised video container"),
    "header cut off": (_bytes("headless.mp4", lambda c: c.read_bytes()[4096:]), InputValidationError, "not a recognised video container"),
}

# Broken midway: a partial result with a warning, or VideoDecodeError; both are acceptable.
PARTIAL: dict[str, Builder] = {"truncated half": _truncated, "corrupt middle": _corrupt_middle}
__all__ = ["EXPECTED_FAILURES", "PARTIAL", "TOO_SMALL", "VALID", "VideoDecodeError", "source_clip"]


def main() -> None:
    """Print the outcome of every corpus kind as a Markdown table (``python -m tests.io.corpus``)."""
    import tempfile

    from facetools import FacetoolsError, analyze
    from facetools.devdata.sample import sample_video

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = source_clip(sample_video(), folder)
        kinds = {**VALID, **TOO_SMALL, **PARTIAL, **{k: v[0] for k, v in EXPECTED_FAILURES.items()}}
        print("| input kind | outcome |\n| --- | --- |")
        for kind, build in kinds.items():
            try:
                result = analyze(build(clip, folder), device="cpu", embedder="sface")
                r = result.run
                warn = f"; warnings: {'; '.join(r.warnings)}" if r.warnings else ""
                found = f"{len(result.identities)} identities, {len(result.unidentified.tracks)} unidentified tracks"
                outcome = f"ok: {found}, {r.faces} faces in {r.frames_decoded} frames{warn}"
            except FacetoolsError as exc:
                outcome = f"{type(exc).__name__}: {str(exc).replace(str(folder) + '/', '')}"
            print(f"| {kind} | {outcome} |")


if __name__ == "__main__":
    main()
