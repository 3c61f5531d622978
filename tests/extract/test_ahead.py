"""Detection on a worker thread a batch ahead of tracking: the same results as in line, errors surface, nothing left running."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch

from facetools.extract.ahead import run_ahead


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "facetools-detect-ahead"]


def test_results_come_in_order_with_their_items() -> None:
    assert list(run_ahead(iter(range(6)), lambda x: x * x)) == [(x, x * x) for x in range(6)]
    assert not _workers()


def test_an_error_on_the_worker_is_raised_to_the_caller_after_the_items_before_it() -> None:
    def work(x: int) -> int:
        if x == 3:
            raise ValueError("bad frame 3")
        return x

    got = []
    with pytest.raises(ValueError, match="bad frame 3"):
        for item, _ in run_ahead(iter(range(6)), work):
            got.append(item)
    assert got == [0, 1, 2] and not _workers()


def test_stopping_early_stops_the_worker_and_closes_the_source() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.set()

    results = run_ahead(source(), lambda x: x)
    assert [next(results) for _ in range(2)] == [(0, 0), (1, 1)]
    results.close()
    assert closed.is_set() and not _workers()


def test_yunet_ahead_of_tracking_finds_what_it_finds_in_line(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On 3 s of the crowd video: the same faces and tracks with YuNet detecting a batch ahead as with detection in line,
    and torch's threads as they were after the run."""
    from facetools.config import Config
    from facetools.extract.extractor import extract
    from facetools.extract.yunet import YuNetDetector

    clip = tmp_path / "crowd_3s.mp4"
    crowd = shared_data / "videos" / "crowd_1080p.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-t", "3", "-i", str(crowd), "-an", "-vf", "scale=960:-2", str(clip)], check=True)
    threads = torch.get_num_threads()
    cfg = Config(device="cpu", detector="yunet", embedder="sface")
    ahead = extract(clip, cfg)
    assert torch.get_num_threads() == threads and not _workers()
    monkeypatch.setattr(YuNetDetector, "whole_frame", False)
    in_line = extract(clip, cfg)
    assert len(ahead.faces) > 20 and len(ahead.tracks) > 3
    pd.testing.assert_frame_equal(ahead.faces, in_line.faces)
    assert [r.frames.tolist() for r in ahead.tracks] == [r.frames.tolist() for r in in_line.tracks]


def test_overlapping_runs_share_the_cores_and_restore_them_once_both_end() -> None:
    import cv2

    from facetools.extract.ahead import shared_cores

    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    first, second = shared_cores(), shared_cores()
    first.__enter__()
    second.__enter__()
    assert torch.get_num_threads() == max(1, threads // 2) and cv2.getNumThreads() <= cv_threads
    first.__exit__(None, None, None)
    assert torch.get_num_threads() == max(1, threads // 2), "still shared while the second run goes on"
    second.__exit__(None, None, None)
    assert (torch.get_num_threads(), cv2.getNumThreads()) == (threads, cv_threads)
    with pytest.raises(ValueError, match="depth"):
        next(run_ahead(iter(range(3)), lambda x: x, depth=0))
