"""Constrained clustering, short-track attachment, timelines and gallery naming on constructed cases."""

from __future__ import annotations

import numpy as np

from facetools.intervals import merge_intervals
from facetools.stages.identity import agglomerate, build_identities, cluster_tracks, name_identities, overlapping
from facetools.stages.track import Track


def _unit(*v: float) -> np.ndarray:
    x = np.array(v, dtype=np.float64)
    return x / np.linalg.norm(x)


def _track(tid: int, frames: list[int], emb: np.ndarray) -> Track:
    t = Track(tid, 0, rows=list(frames), frames=list(frames))
    t.embedding = emb
    return t


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


def test_two_tracks_in_one_frame_never_share_an_identity() -> None:
    e = _unit(1, 0, 0)
    tracks = [_track(0, [0, 5, 10], e), _track(1, [5, 10, 15], e), _track(2, [40, 45, 50], e)]
    assert overlapping(tracks)[0, 1]
    cluster_tracks(tracks, threshold=0.1, min_faces=3)
    assert tracks[0].identity != tracks[1].identity
    assert tracks[2].identity in (tracks[0].identity, tracks[1].identity)


def test_short_tracks_attach_or_stay_unassigned() -> None:
    a, b = _unit(1, 0, 0), _unit(0, 1, 0)
    tracks = [
        _track(0, [0, 5, 10, 15], a),
        _track(1, [100, 105, 110], b),
        _track(2, [200], _unit(1, 0.05, 0)),  # close to a: joins it
        _track(3, [300], _unit(0, 0, 1)),  # close to nobody: unassigned
        _track(4, [5], a),  # like a but in a frame of a's own track: cannot join it
    ]
    cluster_tracks(tracks, threshold=0.1, min_faces=3)
    assert tracks[2].identity == tracks[0].identity
    assert tracks[3].identity == -1
    assert tracks[4].identity == -1


def test_merge_intervals() -> None:
    assert merge_intervals([(5, 6), (0, 1), (1.2, 2), (2.5, 3)], gap=0.5) == [(0, 2), (2.5, 3), (5, 6)]


def test_build_identities_sorts_by_screen_time_and_renumbers() -> None:
    a, b = _unit(1, 0), _unit(0, 1)
    tracks = [_track(0, [0, 1, 2], a), _track(1, [10, 11, 12], b), _track(2, [20, 21, 22], b)]
    tracks[0].identity, tracks[1].identity, tracks[2].identity = 5, 7, 7
    spans = {0: (0.0, 1.0), 1: (2.0, 4.0), 2: (4.2, 6.0)}
    people = build_identities(tracks, spans, gap=0.5)
    assert [p.id for p in people] == [0, 1]
    assert people[0].tracks == [1, 2] and people[0].segments == [(2.0, 6.0)]
    assert people[0].screen_time_s == 4.0 and people[0].first_s == 2.0 and people[0].last_s == 6.0
    assert tracks[0].identity == 1 and tracks[1].identity == 0


def test_gallery_names_one_identity_per_photo() -> None:
    a, b = _unit(1, 0, 0), _unit(0, 1, 0)
    tracks = [_track(0, [0, 1, 2], a), _track(1, [5, 6, 7], b)]
    tracks[0].identity, tracks[1].identity = 0, 1
    people = build_identities(tracks, {0: (0.0, 2.0), 1: (3.0, 4.0)}, gap=0.5)
    name_identities(people, {"ann": _unit(1, 0.02, 0), "zed": _unit(0, 0, 1)}, threshold=0.1)
    assert [p.name for p in people] == ["ann", "person 1"]
    # one photo cannot name two identities even when both are close to it
    c = _unit(1, 0.03, 0)
    tracks = [_track(0, [0, 1, 2], a), _track(1, [0, 1, 2], c)]
    tracks[0].identity, tracks[1].identity = 0, 1
    people = build_identities(tracks, {0: (0.0, 2.0), 1: (0.0, 2.0)}, gap=0.5)
    name_identities(people, {"ann": a}, threshold=0.1)
    assert sorted(p.name for p in people).count("ann") == 1


def test_a_lone_hard_appearance_joins_its_person_but_not_a_stranger() -> None:
    a, b = _unit(1, 0, 0), _unit(0, 1, 0)
    near_a = _unit(1, 0.42, 0)  # cosine distance ≈ 0.08: over the threshold, within 1.4×
    far = _unit(1, 1.2, 0)  # ≈ 0.36 from a: a new person
    tracks = [
        _track(0, [0, 1, 2], a),
        _track(1, [10, 11, 12], a),
        _track(2, [20, 21, 22], b),
        _track(3, [30, 31, 32], b),
        _track(4, [40, 41, 42], near_a),
        _track(5, [50, 51, 52], far),
    ]
    cluster_tracks(tracks, threshold=0.065, min_faces=3)
    assert tracks[4].identity == tracks[0].identity
    assert tracks[5].identity not in (tracks[0].identity, tracks[2].identity)
    assert len({t.identity for t in tracks}) == 3


def test_tracks_as_long_as_their_short_shot_count() -> None:
    a, b = _unit(1, 0, 0), _unit(0, 1, 0)
    tracks = [_track(0, [0, 5], a), _track(1, [0, 5], b)]
    cluster_tracks(tracks, threshold=0.065, min_faces=3)
    assert [t.identity for t in tracks] == [-1, -1], "two faces in a long shot are too few to trust"
    cluster_tracks(tracks, threshold=0.065, min_faces=3, shot_samples={0: 2})
    assert sorted(t.identity for t in tracks) == [0, 1], "but they are the whole of a two-sample shot"
