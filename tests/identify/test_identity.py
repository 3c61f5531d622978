"""Constrained, quality-aware clustering and gallery naming on constructed cases (real-embedder tests live elsewhere)."""

from __future__ import annotations

import numpy as np

from facetools.calibration import SetThresholds
from facetools.identify.clusters import TrackEvidence, cluster_tracks
from facetools.identify.identities import Identity, name_identities
from facetools.identify.rules import Rules
from facetools.intervals import merge_intervals

RULES = Rules.uniform(threshold=0.1, strict_threshold=0.05, min_faces=3)


def _unit(*v: float) -> np.ndarray:
    x = np.array(v, dtype=np.float64)
    return x / np.linalg.norm(x)


def _track(tid: int, frames: list[int], emb: np.ndarray, low: bool = False, shot: int = 0) -> TrackEvidence:
    return TrackEvidence(tid, shot, frozenset(frames), emb, len(frames), low)


def _labels(tracks: list[TrackEvidence], rules: Rules = RULES, **kw) -> dict[int, int]:
    return cluster_tracks(tracks, rules, **kw).labels


def test_tracks_join_under_the_threshold_and_not_over_it() -> None:
    a, near, far = _unit(1, 0, 0), _unit(1, 0.3, 0), _unit(0, 1, 0)
    labels = _labels([_track(0, [0, 1, 2], a), _track(1, [10, 11, 12], near), _track(2, [20, 21, 22], far)])
    assert labels[0] == labels[1] != labels[2]
    loose = Rules.uniform(threshold=1.5, strict_threshold=1.0)
    assert len(set(_labels([_track(0, [0, 1, 2], a), _track(1, [10, 11, 12], near), _track(2, [20, 21, 22], far)], loose).values())) == 1


def test_cannot_link_blocks_merges_even_through_a_third_track() -> None:
    e = _unit(1, 0, 0)
    tracks = [_track(0, [0, 1, 2], e), _track(1, [10, 11, 12], e), _track(2, [20, 21, 22], e)]
    labels = _labels(tracks, cannot_link=[(0, 2)])
    assert labels[0] != labels[2]
    assert labels[1] in (labels[0], labels[2])


def test_linkage_compares_means_so_a_chain_through_a_look_alike_stops() -> None:
    """a ~ b and b ~ c under the threshold, but c lies far from the mean of a and b: no chain (single linkage would)."""
    a, b, c = _unit(1, 0, 0), _unit(1, 0.42, 0), _unit(1, 0.95, 0)  # a-b and b-c ≈ 0.08; a-c ≈ 0.27
    labels = _labels([_track(0, [0, 1, 2], a), _track(1, [10, 11, 12], b), _track(2, [20, 21, 22], c)])
    assert labels[0] != labels[2] and (labels[1] == labels[0] or labels[1] == labels[2])


def test_more_views_behind_a_set_earn_its_looser_threshold() -> None:
    """Sets backed by several shots are judged by their own (here looser) calibrated threshold; single tracks are not."""
    table = np.array([[0.05, 0.05], [0.05, 0.2]])
    rules = Rules(
        SetThresholds((1, 2), {"good": table, "mixed": table, "low": table}, dict.fromkeys(("good", "mixed", "low"), 0.3)), 0.05, 0.05
    )
    x, y = _unit(1, 0, 0), _unit(1, 0.02, 0)
    far = _unit(1, 0.6, 0.1)  # ≈ 0.15 from the mean of x and y: over the single-track threshold, under the two-shot one
    pair = [_track(0, [0, 1, 2], x, shot=0), _track(1, [10, 11, 12], y, shot=1)]
    other = [_track(2, [20, 21, 22], far, shot=2), _track(3, [30, 31, 32], far, shot=3)]
    labels = _labels(pair + other, rules)
    assert labels[0] == labels[1] and labels[2] == labels[3] and labels[0] == labels[2]
    labels = _labels(pair + other[:1], rules)
    assert labels[0] == labels[1] != labels[2], "one track is one view: the strict single threshold"


def test_two_tracks_in_one_frame_never_share_an_identity() -> None:
    e = _unit(1, 0, 0)
    tracks = [_track(0, [0, 5, 10], e), _track(1, [5, 10, 15], e), _track(2, [40, 45, 50], e)]
    labels = _labels(tracks)
    assert labels[0] != labels[1]
    assert labels[2] in (labels[0], labels[1])


def test_short_tracks_attach_or_stay_unassigned_and_never_twice_in_a_frame() -> None:
    a, b = _unit(1, 0, 0), _unit(0, 1, 0)
    tracks = [
        _track(0, [0, 5, 10, 15], a),
        _track(1, [100, 105, 110], b),
        _track(2, [200], _unit(1, 0.05, 0)),  # close to a: joins it
        _track(3, [300], _unit(0, 0, 1)),  # close to nobody: unassigned
        _track(4, [5], a),  # like a but in a frame of a's own track: cannot join it
        _track(5, [200], _unit(1, 0.04, 0)),  # in the frame of track 2, which joins a first: cannot join a too
    ]
    labels = _labels(tracks)
    assert labels[2] == labels[0] or labels[5] == labels[0]
    assert not (labels[2] == labels[5] == labels[0])
    assert labels[3] == -1 and labels[4] == -1


def test_a_low_quality_track_joins_only_under_the_strict_threshold() -> None:
    a = _unit(1, 0, 0)
    near = _unit(1, 0.3, 0)  # cosine distance ≈ 0.042: under the strict threshold
    farther = _unit(1, 0.42, 0)  # ≈ 0.078: under the threshold, over the strict one
    person = [_track(0, [0, 1, 2], a), _track(1, [10, 11, 12], a)]
    labels = _labels(person + [_track(2, [20, 21, 22], near, low=True), _track(3, [30, 31, 32], farther, low=True)])
    assert labels[2] == labels[0], "weak evidence close enough still joins"
    assert labels[3] == -1, "weak evidence between the thresholds stays unidentified (no lone-appearance rule)"
    assert _labels(person + [_track(4, [40, 41, 42], farther)])[4] == labels[0], "a good track at the same distance joins"


def test_a_lone_profile_track_does_not_become_or_join_anyone() -> None:
    a, b = _unit(1, 0, 0), _unit(0, 1, 0)
    tracks = [_track(0, [0, 1, 2], a), _track(1, [10, 11, 12], b), _track(2, [20, 21, 22, 23], _unit(1, 1, 0), low=True)]
    labels = _labels(tracks)
    assert labels[2] == -1 and labels[0] != labels[1]


def test_must_link_and_cannot_link_edits_are_obeyed() -> None:
    a, b = _unit(1, 0, 0), _unit(0, 1, 0)
    tracks = [_track(0, [0, 1, 2], a), _track(1, [10, 11, 12], b), _track(2, [20, 21, 22], a)]
    labels = _labels(tracks, must_link=[[0, 1]], cannot_link=[(0, 2)])
    assert labels[0] == labels[1] and labels[2] != labels[0]


def test_a_must_link_that_would_put_one_frame_twice_is_ignored() -> None:
    a = _unit(1, 0, 0)
    tracks = [_track(0, [0, 1, 2], a), _track(1, [2, 3, 4], a)]
    labels = _labels(tracks, must_link=[[0, 1]])
    assert labels[0] != labels[1]


def test_tracks_as_long_as_their_short_shot_count() -> None:
    a, b = _unit(1, 0, 0), _unit(0, 1, 0)
    tracks = [_track(0, [0, 5], a), _track(1, [0, 5], b)]
    assert list(_labels(tracks).values()) == [-1, -1], "two faces in a long shot are too few to trust"
    assert sorted(_labels(tracks, shot_samples={0: 2}).values()) == [0, 1], "but they are the whole of a short shot"


def test_merge_intervals() -> None:
    assert merge_intervals([(5, 6), (0, 1), (1.2, 2), (2.5, 3)], gap=0.5) == [(0, 2), (2.5, 3), (5, 6)]


def test_gallery_names_one_identity_per_photo() -> None:
    a, b = _unit(1, 0, 0), _unit(0, 1, 0)
    people = [Identity(0, "person 0", [0], 3, [(0.0, 2.0)], a), Identity(1, "person 1", [1], 3, [(3.0, 4.0)], b)]
    name_identities(people, {"ann": _unit(1, 0.02, 0), "zed": _unit(0, 0, 1)}, threshold=0.1)
    assert [p.name for p in people] == ["ann", "person 1"]
    c = _unit(1, 0.03, 0)  # one photo cannot name two identities even when both are close to it
    people = [Identity(0, "person 0", [0], 3, [(0.0, 2.0)], a), Identity(1, "person 1", [1], 3, [(0.0, 2.0)], c)]
    name_identities(people, {"ann": a}, threshold=0.1)
    assert sorted(p.name for p in people).count("ann") == 1
    people = [Identity(0, "Bob", [0], 3, [(0.0, 2.0)], a)]  # a user's name is not overwritten by the gallery
    name_identities(people, {"ann": a}, threshold=0.1)
    assert people[0].name == "Bob"


def test_a_long_track_of_weak_faces_is_an_identity_of_low_confidence() -> None:
    """One person by construction: listed, flagged, and still joining nobody over the strict threshold."""
    a, farther = _unit(1, 0, 0), _unit(1, 0.42, 0)  # ≈ 0.078 apart: under the threshold, over the strict one
    person = [_track(0, [0, 1, 2], a), _track(1, [10, 11, 12], a)]
    long_weak = TrackEvidence(2, 2, frozenset(range(20, 45, 5)), farther, 5, low_quality=True, seconds=1.2)
    short_weak = TrackEvidence(3, 3, frozenset(range(60, 80, 5)), _unit(0, 1, 0), 4, low_quality=True, seconds=0.6)
    clusters = cluster_tracks(person + [long_weak, short_weak], RULES)
    assert clusters.labels[2] not in (-1, clusters.labels[0])
    assert clusters.low_confidence == {clusters.labels[2]}
    assert clusters.labels[3] == -1, "under long_track_s: unidentified, as before"
