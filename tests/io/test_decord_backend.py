"""The decord loader: frame-exact numbering (streamed and random access), the ffmpeg loader's counts and times, bounded memory.

The test videos carry their frame number as a visible code (a row of black/white blocks, one per
bit), so an off-by-one cannot pass on slow motion.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from facetools.errors import VideoDecodeError
from facetools.io import ffmpeg
from facetools.io.decord_backend import DecordLoader, DecordUnsupported, read_frames_decord
from facetools.io.loader import FrameLoader
from facetools.io.probe import probe

pytestmark = pytest.mark.slow

BITS, W, H, FRAMES = 8, 320, 240, 120


def _frame(n: int) -> np.ndarray:
    """A moving texture (so the encoder predicts across frames) under a band with ``n`` in binary, one 40-px block per bit."""
    x, y = np.arange(W)[None, :], np.arange(H)[:, None]
    img = ((x + 5 * n) % 256 ^ (2 * y)).astype(np.uint8)
    rgb = np.stack([img, img[::-1], 255 - img], axis=-1)
    rgb[:48] = 0
    for b in range(BITS):
        if n >> b & 1:
            rgb[8:40, b * 40 + 6 : b * 40 + 34] = 255
    return rgb


def _codes(frames: torch.Tensor) -> list[int]:
    """The frame numbers drawn in ``frames`` (N×h×w×3, any size with the 4:3 layout of ``_frame``)."""
    f = frames.float().mean(dim=-1).numpy()
    s = f.shape[2] / W
    bits = [f[:, int(16 * s) : int(32 * s), int((b * 40 + 12) * s) : int((b * 40 + 28) * s)].mean(axis=(1, 2)) > 128 for b in range(BITS)]
    return [int(sum(int(bit[i]) << b for b, bit in enumerate(bits))) for i in range(len(f))]


def _run(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=120)


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Coded videos: H.264 with B-frames (mp4 with its edit list, mkv without), and the mp4 with its video starting 0.85 s late."""
    folder = tmp_path_factory.mktemp("decord")
    out = {"bframes mp4": folder / "bframes.mp4", "bframes mkv": folder / "bframes.mkv", "late start": folder / "late.mp4"}
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}", "-r", "25", "-i", "-"]
    x264 = ["-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "24", "-pix_fmt", "yuv420p"]
    ffmpeg.encode(["ffmpeg", "-v", "error", "-y", *raw, *x264, str(out["bframes mp4"])], (_frame(n).tobytes() for n in range(FRAMES)))
    _run("-i", str(out["bframes mp4"]), "-c", "copy", str(out["bframes mkv"]))
    _run("-itsoffset", "0.85", "-i", str(out["bframes mp4"]), "-f", "lavfi", "-i", "sine=duration=6", "-map", "0:v", "-map", "1:a",
         "-c:v", "copy", "-c:a", "aac", str(out["late start"]))  # fmt: skip
    return out


def _all(loader: DecordLoader | FrameLoader) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    batches = list(loader)
    return torch.cat([b.frames for b in batches]), np.concatenate([b.indices for b in batches]), np.concatenate([b.times for b in batches])


def _start_times(path: Path) -> tuple[float, float]:
    """(container start, video stream start) in seconds, as ffprobe reports them."""
    entries = ["-show_entries", "stream=start_time:format=start_time"]
    cmd = ["ffprobe", "-v", "error", "-select_streams", "v:0", *entries, "-of", "json", str(path)]
    meta = json.loads(subprocess.run(cmd, capture_output=True, check=True).stdout)
    return float(meta["format"]["start_time"]), float(meta["streams"][0]["start_time"])


@pytest.mark.parametrize("kind", ["bframes mp4", "bframes mkv", "late start"])
def test_streaming_numbers_every_frame_as_a_sequential_decode_does(videos: dict[str, Path], kind: str) -> None:
    info = probe(videos[kind])
    # chunks of 7 frames: most chunks start inside a GOP, behind B-frames, and the reader is parked after each
    frames, indices, _ = _all(DecordLoader(info, batch_size=4, chunk_frames=7))
    assert indices.tolist() == list(range(FRAMES))
    assert _codes(frames) == list(range(FRAMES))
    frames, indices, _ = _all(DecordLoader(info, batch_size=4, chunk_frames=7, first=37, count=20))
    assert indices.tolist() == _codes(frames) == list(range(37, 57))


@pytest.mark.parametrize("kind", ["bframes mp4", "bframes mkv", "late start"])
def test_random_access_returns_frame_n(videos: dict[str, Path], kind: str) -> None:
    info = probe(videos[kind])
    wanted = [61, 0, 5, 23, 24, 25, 119, 61, 3, 96, 47, 48]
    batch = read_frames_decord(info, wanted, chunk_frames=4)
    assert batch.indices.tolist() == wanted
    assert _codes(batch.frames) == wanted
    small = read_frames_decord(info, [24, 100], max_side=160)  # decoded at half size by decord itself
    assert tuple(small.frames.shape) == (2, 120, 160, 3) and small.scale == 2.0
    assert _codes(small.frames) == [24, 100]


@pytest.mark.parametrize("kind", ["bframes mp4", "bframes mkv", "late start"])
def test_same_frames_and_times_as_the_ffmpeg_loader(videos: dict[str, Path], kind: str) -> None:
    info = probe(videos[kind])
    d_frames, d_indices, d_times = _all(DecordLoader(info, chunk_frames=16))
    f_frames, f_indices, f_times = _all(FrameLoader(info))
    assert len(d_indices) == len(f_indices) == FRAMES
    assert _codes(f_frames) == _codes(d_frames) == list(range(FRAMES))
    np.testing.assert_allclose(d_times, f_times, atol=1e-3)
    # the project's time base: presentation time minus the container's start time
    container, video = _start_times(videos[kind])
    assert d_times[0] == pytest.approx(video - container, abs=1e-3)
    if kind == "late start":
        assert d_times[0] > 0.8


def test_inputs_decord_is_not_trusted_with_raise_decord_unsupported(videos: dict[str, Path], tmp_path: Path) -> None:
    info = probe(videos["bframes mp4"])
    for changed in ({"rotation": 90}, {"variable_frame_rate": True}):
        with pytest.raises(DecordUnsupported):
            DecordLoader(dataclasses.replace(info, **changed))
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    with pytest.raises(DecordUnsupported, match="cannot open"):
        DecordLoader(dataclasses.replace(info, path=str(garbage)))
    with pytest.raises(DecordUnsupported):
        read_frames_decord(dataclasses.replace(info, rotation=270), [0])


def test_corrupt_middle_skips_frames_with_a_warning_and_each_frame_keeps_its_own_time(videos: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(videos["bframes mkv"].read_bytes())
    for k in range(len(data) // 2, len(data) // 2 + 3000, 97):
        data[k] ^= 0xFF
    broken = tmp_path / "broken.mkv"
    broken.write_bytes(bytes(data))
    loader = DecordLoader(probe(broken), chunk_frames=8)
    try:
        frames, indices, times = _all(loader)
    except VideoDecodeError:  # losing more than half is an error, as with the ffmpeg loader
        return
    # packets lost in the damaged cluster shift the numbering after it (the ffmpeg loader's too), but not the times
    np.testing.assert_allclose(times, np.asarray(_codes(frames)) / 25, atol=1e-3)
    assert (np.diff(indices) > 0).all()
    assert len(indices) == FRAMES or loader.warnings


MEMORY_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import torch
    from facetools.io.decord_backend import DecordLoader
    from facetools.io.probe import probe

    def rss_mib():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))

    loader = DecordLoader(probe(sys.argv[1]), queue_bytes=64 * 2**20, chunk_frames=8)
    opened, peak, seen = rss_mib(), 0.0, 0
    for batch in loader:
        seen += len(batch)
        peak = max(peak, rss_mib())
        time.sleep(0.05)  # a detector's pace: decord's reader would otherwise decode far ahead
        if seen >= 300:
            break
    print(json.dumps({"frames": seen, "opened": opened, "peak": peak}))
    """
)


def test_memory_stays_within_the_loaders_budget_with_a_slow_consumer(tmp_path: Path) -> None:
    """Peak RSS while reading 300 frames of 1080p minus RSS once the reader is open: < 800 MiB.

    The loader's own budget here is a 64 MiB queue plus one 8-frame chunk (50 MiB); the rest of
    the bound is decord's decoder threads and the allocator (350-470 MiB measured). Without the
    park after each chunk, decord decodes ahead and the same run peaks 1.3-1.5 GiB above.
    """
    clip = tmp_path / "testsrc_1080p.mp4"
    _run("-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25", "-frames:v", "400",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "100", "-pix_fmt", "yuv420p", str(clip))  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(clip)], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["frames"] >= 300
    assert r["peak"] - r["opened"] < 800, r


def test_analyze_with_either_decoder_records_which_ran_and_why(tmp_path: Path) -> None:
    from facetools import analyze
    from facetools.devdata.coded import write_coded_video

    video = write_coded_video(tmp_path / "coded.mp4", frames=60)
    by_ffmpeg = analyze(video, device="cpu", embedder="sface", decoder="auto")
    by_decord = analyze(video, device="cpu", embedder="sface", decoder="decord")
    assert by_ffmpeg.run.decoder == "ffmpeg-cpu" and "auto" in by_ffmpeg.run.decoder_reason
    assert by_decord.run.decoder == "decord-cpu" and by_decord.run.decoder_reason.startswith("decord")
    assert by_decord.run.frames_decoded == by_ffmpeg.run.frames_decoded == 60
    assert np.allclose(by_decord.frame_times, by_ffmpeg.frame_times, atol=1e-3)
