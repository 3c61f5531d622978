"""One time base and frame-exact random access, on files whose frames carry their own number."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from facetools import probe
from facetools.devdata.coded import read_code, write_coded_video
from facetools.io.decoders import read_frames
from facetools.io.frame_table import frame_times
from facetools.io.loader import FrameLoader


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=120)


@pytest.fixture(scope="module")
def coded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The coded clip as ffmpeg makes odd files of it: late video start, edit list, MPEG-TS, variable frame rate."""
    d = tmp_path_factory.mktemp("coded")
    plain = write_coded_video(d / "plain.mp4")
    _ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=8", "-itsoffset", "0.85", "-i", str(plain), "-map", "1:v", "-map", "0:a",
            "-c:v", "copy", "-c:a", "aac", str(d / "late_start.mp4"))  # fmt: skip
    _ffmpeg("-ss", "1.3", "-i", str(plain), "-c", "copy", str(d / "edit_list.mp4"))
    _ffmpeg("-i", str(plain), "-c", "copy", str(d / "bframes.ts"))
    _ffmpeg("-i", str(plain), "-vf", "setpts='if(lt(N,60),N/25,60/25+(N-60)/10)/TB'", "-fps_mode", "vfr", "-c:v", "libx264",
            "-bf", "2", str(d / "vfr.mkv"))  # fmt: skip
    return {p.stem: p for p in (plain, d / "late_start.mp4", d / "edit_list.mp4", d / "bframes.ts", d / "vfr.mkv")}


def _sequential(path: Path) -> tuple[np.ndarray, np.ndarray]:
    batches = list(FrameLoader(probe(path), batch_size=32))
    codes = np.array([read_code(f) for b in batches for f in b.frames.numpy()])
    return codes, np.concatenate([b.times for b in batches])


@pytest.mark.parametrize("kind", ["plain", "late_start", "edit_list", "bframes", "vfr"])
def test_random_access_returns_the_frame_a_sequential_pass_numbers_n(coded: dict[str, Path], kind: str) -> None:
    info = probe(coded[kind])
    codes, times = _sequential(coded[kind])
    assert np.all(np.diff(codes) == 1), "a sequential pass gives every frame once, in order"
    assert np.allclose(frame_times(info), times, atol=1e-3), "the demuxer's table agrees with the decoder's times"
    n = len(codes)
    for first in (1, 17, 45, n // 2, n - 3):
        got = list(FrameLoader(info, first=first, count=3, times=times))
        assert [read_code(f) for b in got for f in b.frames.numpy()] == codes[first : first + 3].tolist(), (kind, first)
        assert np.concatenate([b.indices for b in got]).tolist() == [first, first + 1, first + 2]
    picked = [5, 31, n - 1, 2]
    batch = read_frames(info, picked)  # without a stored table: the demuxer's
    assert [read_code(f) for f in batch.frames.numpy()] == codes[picked].tolist()


def test_times_are_presentation_times_minus_the_container_start(coded: dict[str, Path]) -> None:
    late = probe(coded["late_start"])
    assert late.video_start_s == pytest.approx(0.85, abs=0.01)
    _codes, times = _sequential(coded["late_start"])
    assert times[0] == pytest.approx(0.85, abs=0.01) and times[25] == pytest.approx(1.85, abs=0.01)
    ts = probe(coded["bframes"])
    assert ts.start_s > 1.0, "MPEG-TS starts its clock late"
    _codes, times = _sequential(coded["bframes"])
    assert times[0] == pytest.approx(0.0, abs=0.01) and times[30] == pytest.approx(1.2, abs=0.01)
    _codes, times = _sequential(coded["vfr"])
    assert np.diff(times)[:55].mean() == pytest.approx(0.04, abs=0.002) and np.diff(times)[70:].mean() == pytest.approx(0.1, abs=0.005)


@pytest.mark.parametrize("kind", ["plain", "late_start", "edit_list", "bframes", "vfr"])
def test_a_sampling_loader_sends_every_nth_frame_and_a_thumbnail_of_each(coded: dict[str, Path], kind: str) -> None:
    from facetools.extract.shots import ShotDetector

    info = probe(coded[kind])
    codes, times = _sequential(coded[kind])
    loader = FrameLoader(info, batch_size=4, sample_every=5)
    batches = list(loader)
    assert [read_code(f) for b in batches for f in b.frames.numpy()] == codes[::5].tolist(), "RGB only for frames 0, 5, 10, …"
    assert np.concatenate([b.indices for b in batches]).tolist() == list(range(0, len(codes), 5))
    assert np.array_equal(np.concatenate([b.times for b in batches]), times[::5])
    thumbs = [b.thumbs for b in batches if b.thumbs is not None]
    assert len(thumbs) == len(batches) and all(len(b.thumbs.indices) <= 20 for b in batches), "a stretch of 4 × 5 frames"
    assert np.array_equal(np.concatenate([t.indices for t in thumbs]), np.arange(len(codes)))
    assert np.array_equal(np.concatenate([t.times for t in thumbs]), times), "every frame's time, as a sequential pass gives it"
    assert loader.frames_decoded == len(codes)
    made = torch.cat([t.luma for t in thumbs])[::5].flatten(1).float() / 255
    from_rgb = ShotDetector.thumbnails(torch.cat([b.frames for b in batches]))
    assert (made - from_rgb).abs().mean() < 0.02, "ffmpeg's thumbnails look like those of the RGB frames"
    later = list(FrameLoader(info, first=7, count=9, times=times, sample_every=5))
    assert np.concatenate([b.indices for b in later]).tolist() == list(range(7, 16)), "after a seek: every frame as RGB"
    assert np.concatenate([b.thumbs.indices for b in later]).tolist() == list(range(7, 16))
