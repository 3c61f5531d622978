"""probe() and the decord batch loader."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from facetools import InputValidationError, probe
from facetools.io.decoders import read_frames
from facetools.io.loader import FrameLoader
from facetools.io.probe import decode_size

from ..conftest import ffmpeg_video


def test_probe_describes_the_sample(sample: Path) -> None:
    info = probe(sample)
    assert (info.width, info.height, info.codec) == (640, 360, "h264")
    assert info.fps == pytest.approx(25.0)
    assert info.frame_count == 500 and info.duration_s == pytest.approx(20.0, abs=0.05)
    assert info.has_audio and not info.variable_frame_rate and info.rotation == 0


def test_loader_streams_every_frame_in_order(sample: Path) -> None:
    loader = FrameLoader(probe(sample), batch_size=64)
    indices, times = [], []
    for batch in loader:
        assert batch.frames.shape[1:] == (360, 640, 3) and batch.frames.dtype.is_floating_point is False
        assert len(batch) <= 64
        indices.append(batch.indices)
        times.append(batch.times)
    assert np.array_equal(np.concatenate(indices), np.arange(500))
    t = np.concatenate(times)
    assert np.allclose(np.diff(t), 0.04, atol=1e-3) and t[0] == 0.0
    assert loader.frames_decoded == 500


def test_loader_stops_early_without_hanging(sample: Path) -> None:
    loader = FrameLoader(probe(sample), batch_size=8, queue_bytes=1)
    for batch in loader:
        assert len(batch) == 8
        break
    assert loader.frames_decoded == 8


def test_a_range_of_frames_matches_random_access(sample: Path) -> None:
    batches = list(FrameLoader(probe(sample), batch_size=16, first=100, count=30))
    indices = np.concatenate([b.indices for b in batches])
    assert np.array_equal(indices, np.arange(100, 130))
    assert np.allclose(np.concatenate([b.times for b in batches]), indices / 25.0, atol=1e-3)
    frames = torch.cat([b.frames for b in batches]).numpy().astype(int)
    import decord  # an independent decoder as the reference

    expected = decord.VideoReader(str(sample)).get_batch(list(range(100, 130))).asnumpy().astype(int)
    assert np.abs(frames - expected).mean() < 2.0  # the same pictures


def test_random_frames_come_back_in_the_order_asked(sample: Path) -> None:
    info = probe(sample)
    batch = read_frames(info, [300, 12, 13, 300, 499])
    assert batch.indices.tolist() == [300, 12, 13, 300, 499]
    assert np.allclose(batch.times, [12.0, 0.48, 0.52, 12.0, 19.96], atol=1e-3)
    assert torch.equal(batch.frames[0], batch.frames[3]) and not torch.equal(batch.frames[1], batch.frames[2])
    alone = read_frames(info, [13]).frames[0]
    assert torch.equal(alone, batch.frames[2])  # a seek lands on the same picture as reading through


def test_a_slow_consumer_holds_the_decoder_back(sample: Path) -> None:
    loader = FrameLoader(probe(sample), batch_size=8, queue_bytes=8 * 640 * 360 * 3 * 2)  # a queue of two batches
    batches = iter(loader)
    next(batches)
    time.sleep(1.5)  # the whole 500-frame sample decodes in well under a second when nothing holds it back
    assert loader.frames_decoded == 8
    assert loader.frames_produced < 60, "decoding must wait for the consumer, not run ahead into memory"
    assert sum(len(b) for b in batches) == 492


def test_huge_frames_are_decoded_downscaled(tmp_path: Path) -> None:
    video = ffmpeg_video(tmp_path / "big.mp4", "-f", "lavfi", "-i", "testsrc2=s=3000x1600:d=0.2:r=10", "-pix_fmt", "yuv420p")
    info = probe(video)
    assert decode_size(info, 1000) == (1000, 534)
    batch = next(iter(FrameLoader(info, batch_size=2, max_side=1000)))
    assert batch.frames.shape[1:3] == (534, 1000)
    assert batch.scale == pytest.approx(3.0)


def test_probe_rejects_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "x.mkv").write_bytes(b"")
    with pytest.raises(InputValidationError, match="file is empty"):
        probe(tmp_path / "x.mkv")


@pytest.mark.parametrize(
    ("version", "new"), [("4.4.2-0ubuntu0.22.04.1", False), ("5.1.9-0+deb12u1", True), ("n7.1", True), ("N-113-gabc", True)]
)
def test_older_ffmpeg_gets_the_option_it_knows(version: str, new: bool, sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from facetools.io import ffmpeg

    monkeypatch.setattr(ffmpeg, "version", lambda: version)
    command = FrameLoader(probe(sample)).command()
    assert ("-fps_mode" in command) is new and ("-vsync" in command) is not new  # -fps_mode arrived in ffmpeg 5.1


def test_frames_narrower_than_a_thumbnail_come_whole_without_thumbnails(tmp_path: Path) -> None:
    tiny = ffmpeg_video(tmp_path / "tiny.mp4", "-f", "lavfi", "-i", "testsrc=size=24x20:rate=25:duration=1", "-pix_fmt", "yuv420p")
    batches = list(FrameLoader(probe(tiny), sample_every=5, timeout_s=20))
    assert np.concatenate([b.indices for b in batches]).tolist() == list(range(25))
    assert all(b.thumbs is None for b in batches), "no room to tile thumbnails below a 24 px frame"


def test_decoder_threads_default_to_the_cores_at_most_4_and_can_be_set(sample: Path) -> None:
    def threads(loader: FrameLoader) -> str:
        command = loader.command()
        return command[command.index("-threads") + 1]

    assert threads(FrameLoader(probe(sample))) == str(min(4, os.cpu_count() or 1))
    one = FrameLoader(probe(sample), threads=1, batch_size=8)
    assert threads(one) == "1"
    assert np.concatenate([b.indices for b in one]).tolist() == list(range(probe(sample).frame_count))
