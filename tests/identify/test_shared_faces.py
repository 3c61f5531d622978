"""Identity quality on a multi-shot video composed from the shared photos (9 people, 13 photos)."""

from __future__ import annotations

from pathlib import Path

import pytest

from facetools import analyze
from facetools.devdata.evaluate import evaluate
from facetools.devdata.synth import people_shots, render

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def people_video(shared_data: Path, detector, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("people") / "people.mp4"
    truth = render(people_shots(shared_data / "faces", detector), out, audio=False)
    return out, truth


@pytest.fixture(scope="module")
def people_analysis(people_video: tuple[Path, dict], shared_data: Path):
    return analyze(people_video[0], device="cpu", embedder="sface", gallery=str(shared_data / "faces"))


def test_nine_people_nine_identities(people_analysis, people_video) -> None:
    result = evaluate(people_analysis, people_video[1])
    assert result.true_identities == 9
    assert result.identities == 9, people_analysis.summary()
    assert result.bcubed_f1 >= 0.97, result
    assert len(set(result.identity_of.values())) == 9


def test_two_photos_of_one_person_land_in_one_identity(people_analysis, people_video, shared_data: Path) -> None:
    result = evaluate(people_analysis, people_video[1])
    two_photos = [d.name for d in (shared_data / "faces").iterdir() if len(list(d.iterdir())) >= 2]
    assert len(two_photos) >= 4
    for person in two_photos:
        assert result.coverage[person] >= 0.95, (person, result.coverage)


def test_gallery_names_every_identity(people_analysis, people_video) -> None:
    result = evaluate(people_analysis, people_video[1])
    for person, identity in result.identity_of.items():
        assert people_analysis.identity(identity).name == person
