"""Shared fixtures: the bundled sample, its analysis, the shared photo data, small generated videos."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from facetools import analyze
from facetools.devdata.sample import sample_video
from facetools.devdata.synth import truth_file
from facetools.stages.detect import FaceDetector

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def sample() -> Path:
    return sample_video()


@pytest.fixture(scope="session")
def sample_truth(sample: Path) -> dict:
    return json.loads(truth_file(sample).read_text())


@pytest.fixture(scope="session")
def sample_analysis(sample: Path):
    return analyze(sample, device="cpu", embedder="sface")


@pytest.fixture(scope="session")
def detector() -> FaceDetector:
    return FaceDetector("cpu")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED / "faces").is_dir():
        reason = f"shared test data not found at {SHARED} (see shared/data/MANIFEST.md)"
        if os.environ.get("FACETOOLS_REQUIRE_ALL"):  # CI always has it: a skip there would hide a broken path
            pytest.fail(reason)
        pytest.skip(reason)
    return SHARED


def ffmpeg_video(path: Path, *args: str) -> Path:
    """Make a small video with ffmpeg from lavfi sources (``args`` go before the output)."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(path)], check=True)
    return path
