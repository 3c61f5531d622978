"""Progress you can trust: frames processed, faces so far, rate and time left, on a bar and in the log alike."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from facetools import Config
from facetools.extract.extractor import _with_faces, extract
from facetools.run.executors import run_videos
from facetools.run.progress import Meter, TqdmProgress, VideoBar

from .test_ray import _complete, _quick_work


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_meter_measures_from_its_first_report_and_logs_every_tenth_or_30_s() -> None:
    clock = Clock()
    meter = Meter(1000, 200, clock=clock)  # 200 frames resumed from a checkpoint: not this run's speed
    assert meter.due(200) and meter.rate(200) is None and meter.eta_s(200) is None
    clock.now += 10
    assert meter.rate(300) == 10.0 and meter.eta_s(300) == 70.0
    assert not meter.due(250), "5 % and 10 s since the last line"
    assert meter.due(300), "10 %"
    clock.now += 30
    assert meter.due(310), "30 s"
    assert not meter.due(310), "nothing new"
    assert meter.line("analyze", 400, "frame", "12 faces") == "analyze: 400/1000 frames (40 %), 12 faces, 5.0 frames/s, ETA 02:00"
    clock.now += 3600
    assert meter.line("videos", 401, "video") == "videos: 401/1000 videos (40 %), 3.3 videos/min, ETA 3:00:47"
    assert meter.due(1000) and not meter.due(1000), "the last report once"


def test_a_hook_of_three_arguments_still_works_and_one_of_four_hears_the_faces() -> None:
    calls: list[tuple] = []
    _with_faces(lambda stage, done, total: calls.append((stage, done, total)))("analyze", 5, 10, 3)
    _with_faces(lambda *args: calls.append(args))("analyze", 6, 10, 4)
    _with_faces(None)("analyze", 7, 10, 5)
    assert calls == [("analyze", 5, 10), ("analyze", 6, 10, 4)]


@pytest.mark.slow
def test_extraction_reports_frames_processed_and_faces_found_on_the_bar_and_in_the_log(
    sample: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bar = io.StringIO()
    shown = TqdmProgress(file=bar)
    calls: list[tuple[str, int, int, int]] = []

    def hook(stage: str, done: int, total: int, faces: int) -> None:
        calls.append((stage, done, total, faces))
        shown(stage, done, total, faces)

    caplog.set_level(logging.INFO, logger="facetools")
    tracks = extract(sample, Config(device="cpu", embedder="sface"), progress=hook)
    frames = [c for c in calls if c[0] == "analyze"]
    assert len(frames) > 3 and frames[-1][1:] == (500, 500, len(tracks.faces)) and len(tracks.faces) > 100
    assert all(a[1] <= b[1] and a[3] <= b[3] for a, b in zip(frames, frames[1:])), "frames and faces only grow"
    lines = [r.getMessage() for r in caplog.records if r.name == "facetools"]
    assert lines[0] == "load models: 0/1 steps (0 %)"
    assert lines[-1].startswith(f"analyze: 500/500 frames (100 %), {len(tracks.faces)} faces, ") and lines[-1].endswith(" frames/s")
    assert sum(line.startswith("analyze:") for line in lines) >= 2, "every 10 % of the frames"
    assert f"{len(tracks.faces)} faces" in bar.getvalue()


def test_a_batch_logs_videos_done_failed_running_and_its_rate_without_the_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    videos = [tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "bad.mp4"]
    caplog.set_level(logging.INFO, logger="facetools")
    for _ in range(2):
        with VideoBar(file=io.StringIO()) as bar:
            run_videos(videos, tmp_path / "out", _quick_work, is_complete=_complete, progress=bar)
    lines = [r.getMessage() for r in caplog.records if r.name == "facetools"]
    assert lines[0] == "videos: 0/3 videos (0 %), 0 failed, 0 running"
    assert lines[3].startswith("videos: 3/3 videos (100 %), 1 failed, 0 running, ")
    assert lines[4] == "videos: 2/3 videos (67 %), 0 failed, 0 running", "the second run starts at the two complete ones"
    assert lines[-1].startswith("videos: 3/3 videos (100 %), 1 failed, 0 running, ")


LOG_ONE = "import sys; from facetools.run.progress import LOG, console_bars; print(console_bars('-q' in sys.argv)); LOG.info('logged')"


def test_off_a_terminal_progress_goes_to_the_log_and_quiet_silences_it() -> None:
    loud = subprocess.run([sys.executable, "-c", LOG_ONE], capture_output=True, text=True, check=True)
    assert loud.stdout == "False\n" and loud.stderr.endswith(" logged\n")
    quiet = subprocess.run([sys.executable, "-c", LOG_ONE, "-q"], capture_output=True, text=True, check=True)
    assert quiet.stdout == "False\n" and quiet.stderr == ""
