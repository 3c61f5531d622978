""" "Same person?" suggestions and their answers, on a composed video where one person is split in two identities.

The run (``split_person`` in conftest): person_02 in two photos taken years apart, identified under a
threshold the two do not meet. Answers are edits (``edits.json``) and survive re-identification at any threshold.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from facetools.devdata.evaluate import label_faces
from facetools.identify.analysis import stored_config
from facetools.outputs.analysis import Analysis
from facetools.outputs.explore import answer_suggestion, reidentify, split_track
from facetools.run.recluster import recluster

from ..conftest import SPLIT_THRESHOLD


@pytest.fixture
def run(split_person: tuple[Path, dict], tmp_path: Path) -> Path:
    return Path(shutil.copytree(split_person[0], tmp_path / "run"))


@pytest.fixture
def pair(split_person: tuple[Path, dict]) -> tuple[list[int], list[int]]:
    """The tracks of person_02's two identities in the saved run: the faces of the first photo, then of the second."""
    analysis = Analysis.load(split_person[0])
    faces = analysis.faces[label_faces(analysis.faces, split_person[1]) == "person_02"]
    groups = [sorted(set(g["track"])) for _, g in sorted(faces.groupby("identity"), key=lambda kv: kv[1]["frame"].min())]
    assert len(groups) == 2, groups
    return groups[0], groups[1]


def _identities_of(analysis: Analysis, tracks: list[int]) -> set[int]:
    return {int(i) for i in analysis.tracks.set_index("track").loc[tracks, "identity"]}


def test_the_split_person_is_the_first_suggestion(run: Path, pair: tuple[list[int], list[int]]) -> None:
    saved = json.loads((run / "identities.json").read_text())
    analysis = Analysis.load(run)
    assert len(analysis.identities) == 4, "person_02 in two identities, person_05 and person_09 in one each"
    first, second = pair
    top = saved["suggestions"][0]
    assert {top["a"], top["b"]} == _identities_of(analysis, first) | _identities_of(analysis, second)
    assert top["threshold"] < top["distance"] and top["evidence"]


def test_yes_makes_one_identity_and_survives_recluster(run: Path, pair: tuple[list[int], list[int]]) -> None:
    first, second = pair
    a, b = _identities_of(Analysis.load(run), first).pop(), _identities_of(Analysis.load(run), second).pop()
    merged = answer_suggestion(run, a, b, same=True)
    assert len(_identities_of(merged, first + second)) == 1 and len(merged.identities) == 3
    assert sorted(first + second) in [sorted(g) for g in json.loads((run / "edits.json").read_text())["must_link"]]
    for threshold in (0.2, SPLIT_THRESHOLD, 0.6):
        again = recluster(run, cluster_threshold=threshold)
        assert len(_identities_of(again, first + second)) == 1, threshold
        assert not any({s.a, s.b} == _identities_of(again, first + second) for s in again.suggestions)


def test_no_is_never_asked_again_at_any_threshold(run: Path, pair: tuple[list[int], list[int]]) -> None:
    first, second = pair
    a, b = _identities_of(Analysis.load(run), first).pop(), _identities_of(Analysis.load(run), second).pop()
    answered = answer_suggestion(run, a, b, same=False)
    assert json.loads((run / "edits.json").read_text())["cannot_link"], "stored as an edit"
    for analysis in (answered, recluster(run, cluster_threshold=SPLIT_THRESHOLD), recluster(run, cluster_threshold=0.6)):
        pa, pb = _identities_of(analysis, first), _identities_of(analysis, second)
        assert pa.isdisjoint(pb), "two people for good: not even the calibrated threshold joins them"
        assert not [s for s in analysis.suggestions if {s.a, s.b} <= pa | pb]


def test_split_takes_a_track_out_and_keeps_it_out(run: Path, pair: tuple[list[int], list[int]]) -> None:
    first, second = pair
    merged = reidentify(run, stored_config(run).with_options(cluster_threshold=None))  # the calibration joins them
    (identity,) = _identities_of(merged, first + second)
    out = second[0]
    after = split_track(run, out)
    assert _identities_of(after, [out]).isdisjoint(_identities_of(after, first))
    for threshold in (None, 0.6):
        again = recluster(run, cluster_threshold=threshold) if threshold else reidentify(run)
        assert _identities_of(again, [out]).isdisjoint(_identities_of(again, first)), threshold
    with pytest.raises(Exception, match="no track"):
        split_track(run, 10_000)


def test_review_on_the_command_line(run: Path, pair: tuple[list[int], list[int]]) -> None:
    """``facetools review``: the suggestion printed with its thumbnails, answered "y" on stdin."""
    first, second = pair
    cmd = [sys.executable, "-m", "facetools.cli", "review", str(run)]
    done = subprocess.run(cmd, input="y\n", capture_output=True, text=True, timeout=120, check=True)
    assert "Same person?" in done.stdout and "thumbnails/identity_" in done.stdout, done.stdout
    assert "no more suggestions" in done.stdout
    assert len(_identities_of(Analysis.load(run), first + second)) == 1
    bad = subprocess.run([*cmd, "--no", "1"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "expected two identity ids" in bad.stderr


def test_people_answers_are_kept_for_every_rebuild(split_person: tuple[Path, dict], tmp_path: Path) -> None:
    """``facetools people --same A B`` / ``--different A B``: stored in answers.json, applied on every rebuild."""
    from facetools.people import people

    run, out = split_person[0], tmp_path / "people"
    index = people([run], out, threshold=SPLIT_THRESHOLD)
    assert len(index.people) == 4 and index.suggestions, "person_02's two identities are two people here"
    pair = (str(index.suggestions[0].a), str(index.suggestions[0].b))
    assert "Same person?" in (out / "people.html").read_text()
    joined = people([run], out, threshold=SPLIT_THRESHOLD, same=[pair])
    assert len(joined.people) == 3 and not joined.suggestions
    assert len(people([run], out, threshold=SPLIT_THRESHOLD).people) == 3, "answers.json is applied again"
    apart = tmp_path / "apart"
    people([run], apart, threshold=SPLIT_THRESHOLD)
    kept = people([run], apart, different=[pair])  # the calibrated threshold would join them
    assert len(kept.people) == 4 and not kept.suggestions
    with pytest.raises(Exception, match="no people index"):
        people([run], tmp_path / "none", same=[pair])
