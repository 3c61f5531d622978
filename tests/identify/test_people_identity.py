"""No identity mixes people: a video of the four people the calibration held out, real SFace embeddings.

The video (``facetools.devdata.people_video``): every photo of the held-out people in a shot of its
own (clean, small, blurred or dark; the photos vary in pose), the two closest pairs of different
people in consecutive clean shots, one of them together in a two-shot, and ``person_12`` seen once,
next to its look-alike. Four people give one close pair (03/12, SFace 0.60 against a threshold of
0.51) and one far one (06/09, 0.85).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from facetools import analyze
from facetools.devdata.evaluate import evaluate, label_faces
from facetools.devdata.people_video import frontal_coverage, photo_detector, render_people_video
from facetools.extract.embed import load_embedder
from facetools.identify.clusters import TrackEvidence, cluster_tracks
from facetools.identify.rules import Rules

HELD_OUT = json.loads((Path(__file__).parents[2] / "facetools" / "data" / "calibration.json").read_text())["sface"]["held_out_people"]


@pytest.fixture(scope="session")
def held_out_video(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("held_out") / "held_out.mp4"
    truth = render_people_video(
        shared_data / "people", out, HELD_OUT, photo_detector(), load_embedder("sface", precision="float32"), pairs=2, once=["person_12"]
    )
    return out, truth


@pytest.fixture(scope="session")
def held_out_analysis(held_out_video: tuple[Path, dict]):
    return analyze(held_out_video[0], device="cpu", embedder="sface")


def test_the_video_has_what_it_should(held_out_video) -> None:
    _video, truth = held_out_video
    conditions = Counter(s["condition"] for s in truth["shot_info"])
    assert set(truth["people"]) == set(HELD_OUT) and set(HELD_OUT) == {"person_03", "person_06", "person_09", "person_12"}
    assert {"clean", "small", "blur", "dark"} <= set(conditions)
    assert any(len(s["faces"]) == 2 for s in truth["shot_info"]), "two people together"
    assert sum("person_12" in s["faces"] for s in truth["shot_info"]) == 1, "person_12 is seen once"
    assert [p["people"] for p in truth["look_alikes"]] == [["person_03", "person_12"], ["person_06", "person_09"]]


def test_no_identity_mixes_people(held_out_analysis, held_out_video) -> None:
    result = evaluate(held_out_analysis, held_out_video[1])
    assert result.bcubed_precision == 1.0, result


def test_no_identity_joins_tracks_of_different_people(held_out_analysis, held_out_video) -> None:
    """Clustering alone: each track stands for its majority person, and no identity holds two of them."""
    faces = held_out_analysis.faces.assign(person=label_faces(held_out_analysis.faces, held_out_video[1]))
    faces = faces[faces["person"].notna()]
    majority = faces.groupby("track")["person"].agg(lambda p: p.mode().iloc[0])
    identity = faces.groupby("track")["identity"].first()
    people = majority[identity >= 0].groupby(identity[identity >= 0]).unique()
    assert all(len(p) == 1 for p in people), people.to_dict()
    result = evaluate(held_out_analysis, held_out_video[1])
    assert result.identity_of["person_03"] != result.identity_of["person_12"], "the look-alike seen once joined person_03"


def test_no_identity_twice_in_a_frame(held_out_analysis) -> None:
    faces = held_out_analysis.faces
    identified = faces[faces["identity"] >= 0]
    assert not identified.duplicated(["frame", "identity"]).any()


def test_frontal_faces_are_covered(held_out_analysis, held_out_video) -> None:
    coverage = frontal_coverage(held_out_analysis, held_out_video[1])
    assert min(coverage.values()) >= 0.9, coverage


RULES = Rules.uniform(threshold=0.5, strict_threshold=0.45, min_faces=3)


def _unit(angle: float) -> np.ndarray:
    """A unit vector at ``angle`` radians from the first axis: cosine distance 1 - cos(angle) to ``_unit(0)``."""
    return np.array([np.cos(angle), np.sin(angle), 0.0])


def _track(tid: int, frames: range, angle: float, low: bool = False) -> TrackEvidence:
    return TrackEvidence(tid, tid, frozenset(frames), _unit(angle), len(frames), low)


def test_a_low_quality_track_of_another_person_joins_nobody_by_any_path() -> None:
    """A profile of somebody else, nearer to A than the threshold but not the strict one, stays unidentified.

    The old rules took it: as a lone appearance (within 1.4x the threshold of A's centroid) or as a short track.
    """
    between = np.arccos(1 - 0.48)  # distance 0.48 to A: under the threshold, over the strict one
    a = [_track(0, range(0, 30, 5), 0.0), _track(1, range(100, 130, 5), 0.02)]  # person A, two good tracks
    b = [TrackEvidence(2, 2, frozenset(range(200, 230, 5)), np.array([0.0, 0.0, 1.0]), 6)]  # somebody else, far from everyone
    cases = {
        "long profile track": [_track(3, range(300, 330, 5), between, low=True)],
        "short profile track": [_track(3, range(300, 305, 5), between, low=True)],
        "two profile tracks of one person": [
            _track(3, range(300, 330, 5), between, low=True),
            _track(4, range(400, 430, 5), between, low=True),
        ],
        "profile within the strict threshold but in A's frames": [_track(3, range(0, 30, 5), 0.1, low=True)],
    }
    for case, extra in cases.items():
        labels = cluster_tracks(a + b + extra, RULES).labels
        assert labels[0] == labels[1] >= 0 and labels[2] not in (labels[0], -1), case
        for t in extra:
            assert labels[t.id] != labels[0], case
    # the two profiles of one person may become their own identity, never A's
    labels = cluster_tracks(a + b + cases["two profile tracks of one person"], RULES).labels
    assert labels[3] == labels[4] and labels[3] != labels[0]
    # a good track at the same distance does join A: the rule is about evidence, not distance alone
    labels = cluster_tracks(a + b + [_track(3, range(300, 330, 5), between)], RULES).labels
    assert labels[3] == labels[0]
