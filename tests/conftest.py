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
from facetools.extract.mtcnn_detector import MtcnnDetector

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
def detector() -> MtcnnDetector:
    return MtcnnDetector("cpu")


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


SPLIT_THRESHOLD = 0.35
"""Stricter than the calibration (0.5086 for two single good faces): person_02's two photos (SFace 0.45 apart) stay two identities."""


@pytest.fixture(scope="session")
def split_person(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A saved run where one person is deliberately split: person_02 in two photos taken years apart, two shots each,
    between person_05 and person_09, identified with a threshold the two photos do not meet. Copy it before editing."""
    from facetools.devdata.people_video import condition_shot, photo_detector
    from facetools.devdata.synth import photo_scene, render

    people, detector = shared_data / "people", photo_detector()
    first, second = (photo_scene(people / "person_02" / f, "person_02", detector) for f in ("img26.jpg", "img46.jpg"))
    b, c = (photo_scene(sorted((people / p).iterdir())[0], p, detector) for p in ("person_05", "person_09"))
    folder = tmp_path_factory.mktemp("split")
    truth = render([condition_shot(s, "clean", 1.0, k) for k, s in enumerate([first, b, first, c, second, b, second, c])],
                   folder / "split.mp4", audio=False)  # fmt: skip
    analyze(folder / "split.mp4", device="cpu", embedder="sface", cluster_threshold=SPLIT_THRESHOLD).save(folder / "run")
    return folder / "run", truth
