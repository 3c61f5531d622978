"""A crashed extraction resumes from its last checkpoint and gives the same tracks as an uninterrupted one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facetools import Config
from facetools.extract.extractor import extract

pytestmark = pytest.mark.slow


class Crash(Exception):
    pass


def test_a_crash_near_the_end_resumes_at_the_last_shot_cut(sample: Path, sample_analysis, tmp_path: Path) -> None:
    cfg = Config(device="cpu", embedder="sface", checkpoint_every_s=3.0)
    checkpoint = tmp_path / "checkpoint.npz"

    def crash_late(stage: str, done: int, total: int) -> None:
        if stage == "analyze" and done >= 450:
            raise Crash

    with pytest.raises(Crash):
        extract(sample, cfg, progress=crash_late, checkpoint=checkpoint)
    assert checkpoint.is_file()
    resumed = extract(sample, cfg, checkpoint=checkpoint)
    first = int(resumed.run.warnings[-1].rsplit(" ", 1)[-1])
    assert first in sample_analysis.trackset.cuts and first > 300, "resumed at a late shot cut"
    assert resumed.run.frames_decoded == 500 - first, "only the rest was decoded again"
    whole = sample_analysis.trackset
    assert [len(t) for t in resumed.tracks] == [len(t) for t in whole.tracks]
    assert resumed.cuts == whole.cuts and resumed.shot_samples == whole.shot_samples
    assert np.array_equal(resumed.faces["track"], whole.faces["track"])
    assert np.allclose(resumed.faces[["x1", "y1", "x2", "y2"]], whole.faces[["x1", "y1", "x2", "y2"]], atol=0.5)
    assert np.allclose(resumed.frame_times, whole.frame_times)


def test_a_checkpoint_is_resumed_only_with_the_same_models_that_auto_chose(sample: Path, tmp_path: Path) -> None:
    """The key holds the detector ``auto`` chose: naming it resumes, another detector starts afresh."""
    checkpoint = tmp_path / "checkpoint.npz"

    def crash(stage: str, done: int, total: int) -> None:
        if stage == "analyze" and done >= 300:
            raise Crash

    with pytest.raises(Crash):
        extract(sample, Config(device="cpu", embedder="sface", checkpoint_every_s=3.0), progress=crash, checkpoint=checkpoint)
    named = extract(sample, Config(device="cpu", embedder="sface", detector="yunet", checkpoint_every_s=3.0), checkpoint=checkpoint)
    assert any("resumed" in w for w in named.run.warnings), "auto chose YuNet on the CPU: naming it is the same run"
    other = extract(sample, Config(device="cpu", embedder="sface", detector="mtcnn", checkpoint_every_s=3.0), checkpoint=checkpoint)
    assert other.run.frames_decoded == 500 and not any("resumed" in w for w in other.run.warnings)
