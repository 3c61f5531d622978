"""Constrained, quality-aware clustering and gallery naming on constructed cases (real-embedder tests live elsewhere)."""

from __future__ import annotations

import numpy as np

from facetools.intervals import merge_intervals
from facetools.stages.identity import Identity, Rules, TrackEvidence, agglomerate, cluster_tracks, name_identities

RULES = Rules(threshold=0.1, strict_threshold=0.05, min_faces=3)


def _unit(*v: float) -> np.ndarray:
    x = np.array(v, dtype=np.float64)
    return x / np.linalg.norm(x)


def _track(tid: int, frames: list[int], emb: np.ndarray, low: bool = False, shot: int = 0) -> TrackEvidence:
    return TrackEvidence(tid, shot, frozenset(frames), emb, len(frames), low)


def test_agglomerate_merges_close_and_respects_threshold() -> None:
    d = np.array([[0, 0.01, 0.5], [0.01, 0, 0.5], [0.5, 0.5, 0]])
    labels = agglomerate(d, np.zeros((3, 3), bool), threshold=0.1)
    assert labels[0] == labels[1] != labels[2]
    assert len(set(agglomerate(d, np.zeros((3, 3), bool), threshold=0.6))) == 1


def test_cannot_link_blocks_merges_even_through_a_third_item() -> None:
    d = np.full((3, 3), 0.01)
    np.fill_diagonal(d, 0)
    blocked = np.zeros((3, 3), bool)
    blocked[0, 2] = blocked[2, 0] = True
    labels = agglomerate(d, blocked, threshold=0.1)
    assert labels[0] != labels[2]
    assert labels[1] in (labels[0], labels[2])


def test_complete_linkage_does_not_chain_through_a_look_alike() -> None:
    # a ~ b and b ~ c within the threshold, but a and c are far apart: average or single linkage chains them
    d = np.array([[0, 0.08, 0.16], [0.08, 0, 0.08], [0.16, 0.08, 0]])
    labels = agglomerate(d, np.zeros((3, 3), bool), threshold=0.1)
    assert labels[0] != labels[2]


def test_two_tracks_in_one_frame_never_share_an_identity() -> None:
    e = _unit(1, 0, 0)
    tracks = [_track(0, [0, 5, 10], e), _track(1, [5, 10, 15], e), _track(2, [40, 45, 50], e)]
    labels = cluster_tracks(tracks, RULES)
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
    labels = cluster_tracks(tracks, RULES)
    assert labels[2] == labels[0] or labels[5] == labels[0]
    assert not (labels[2] == labels[5] == labels[0])
    assert labels[3] == -1 and labels[4] == -1


def test_a_low_quality_track_joins_only_under_the_strict_threshold() -> None:
    a = _unit(1, 0, 0)
    near = _unit(1, 0.3, 0)  # cosine distance ≈ 0.042: under the strict threshold
    farther = _unit(1, 0.42, 0)  # ≈ 0.078: under the threshold, over the strict one
    tracks = [_track(0, [0, 1, 2], a), _track(1, [10, 11, 12], a), _track(2, [20, 21, 22], near, low=True),
              _track(3, [30, 31, 32], farther, low=True), _track(4, [40, 41, 42], farther)]  # fmt: skip
    labels = cluster_tracks(tracks, RULES)
    assert labels[2] == labels[0], "weak evidence close enough still joins"
    assert labels[3] == -1, "weak evidence between the thresholds stays unidentified (no lone-appearance rule)"
    assert labels[4] == labels[0], "a good track at the same distance joins"


def test_a_lone_profile_track_does_not_become_or_join_anyone() -> None:
    a, b = _unit(1, 0, 0), _unit(0, 1, 0)
    tracks = [_track(0, [0, 1, 2], a), _track(1, [10, 11, 12], b), _track(2, [20, 21, 22, 23], _unit(1, 1, 0), low=True)]
    labels = cluster_tracks(tracks, RULES)
    assert labels[2] == -1 and labels[0] != labels[1]


def test_must_link_and_cannot_link_edits_are_obeyed() -> None:
    a, b = _unit(1, 0, 0), _unit(0, 1, 0)
    tracks = [_track(0, [0, 1, 2], a), _track(1, [10, 11, 12], b), _track(2, [20, 21, 22], a)]
    labels = cluster_tracks(tracks, RULES, must_link=[[0, 1]], cannot_link=[(0, 2)])
    assert labels[0] == labels[1] and labels[2] != labels[0]


def test_a_must_link_that_would_put_one_frame_twice_is_ignored() -> None:
    a = _unit(1, 0, 0)
    tracks = [_track(0, [0, 1, 2], a), _track(1, [2, 3, 4], a)]
    labels = cluster_tracks(tracks, RULES, must_link=[[0, 1]])
    assert labels[0] != labels[1]


def test_tracks_as_long_as_their_short_shot_count() -> None:
    a, b = _unit(1, 0, 0), _unit(0, 1, 0)
    tracks = [_track(0, [0, 5], a), _track(1, [0, 5], b)]
    assert list(cluster_tracks(tracks, RULES).values()) == [-1, -1], "two faces in a long shot are too few to trust"
    assert sorted(cluster_tracks(tracks, RULES, shot_samples={0: 2}).values()) == [0, 1], "but they are the whole of a short shot"


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
