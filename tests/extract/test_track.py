"""The IoU tracker: continuity, gap bridging, shot cuts, crossing faces."""

from __future__ import annotations

import numpy as np

from facetools.extract.faces import FacePatch
from facetools.extract.tracker import Tracker, distinct
from facetools.geometry import iou_matrix


def _patch(q: float = 1.0) -> FacePatch:
    return FacePatch(np.zeros((4, 4, 3), np.uint8), np.zeros(4, np.float32), np.zeros((5, 2), np.float32), q)


def _run(tracker: Tracker, frames: list[tuple[int, int, list[list[float]]]]) -> list:
    done, row = [], 0
    for frame, shot, boxes in frames:
        ids = list(range(row, row + len(boxes)))
        row += len(boxes)
        done += tracker.update(frame, shot, ids, np.array(boxes, dtype=np.float32).reshape(-1, 4), [_patch() for _ in boxes])
    return done + tracker.flush()


def test_iou_matrix() -> None:
    a = np.array([[0, 0, 10, 10]], dtype=float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], dtype=float)
    assert np.allclose(iou_matrix(a, b), [[1.0, 50 / 150, 0.0]])
    assert iou_matrix(a, np.zeros((0, 4))).shape == (1, 0)


def test_moving_face_is_one_track() -> None:
    frames = [(f, 0, [[100 + 3 * f, 50, 160 + 3 * f, 120]]) for f in range(0, 100, 5)]
    tracks = _run(Tracker(max_gap=10), frames)
    assert len(tracks) == 1 and len(tracks[0]) == 20


def test_fast_motion_is_followed_by_prediction() -> None:
    # a 60 px face moving 15 px then 30 px per sampled frame: IoU with the last box alone is 0.33
    # after the first step, under the 0.5 threshold; the constant-velocity prediction keeps it.
    xs = [0, 15] + [15 + 30 * k for k in range(1, 10)]
    frames = [(5 * i, 0, [[100 + x, 50, 160 + x, 110]]) for i, x in enumerate(xs)]
    assert len(_run(Tracker(iou_threshold=0.5, max_gap=10), frames)) == 1
    assert len(_run(Tracker(iou_threshold=0.5, max_gap=10), frames[:1] + frames[2:])) > 1


def test_short_gap_is_bridged_long_gap_is_not() -> None:
    box = [[100, 100, 150, 150]]
    short = [(0, 0, box), (5, 0, box), (10, 0, []), (15, 0, box)]
    assert len(_run(Tracker(max_gap=10), short)) == 1
    long = [(0, 0, box), (5, 0, box), (10, 0, []), (15, 0, []), (20, 0, box)]
    assert len(_run(Tracker(max_gap=10), long)) == 2


def test_shot_cut_ends_tracks_even_at_the_same_place() -> None:
    box = [[100, 100, 150, 150]]
    tracks = _run(Tracker(max_gap=10), [(0, 0, box), (5, 0, box), (10, 1, box), (15, 1, box)])
    assert sorted(t.shot for t in tracks) == [0, 1]


def test_two_faces_crossing_keep_their_tracks() -> None:
    frames = []
    for f in range(0, 50, 5):
        a = [10 + 4 * f, 100, 70 + 4 * f, 160]
        b = [210 - 4 * f, 105, 270 - 4 * f, 165]
        frames.append((f, 0, [a, b]))
    tracks = sorted(_run(Tracker(max_gap=10), frames), key=lambda t: t.id)
    assert len(tracks) == 2
    assert [len(t) for t in tracks] == [10, 10]
    assert all(np.all(np.diff(np.array(t.boxes)[:, 0]) > 0) for t in tracks[:1])


def test_keeps_only_the_best_patches() -> None:
    tracker = Tracker(keep=2)
    for f, q in enumerate([0.1, 0.9, 0.5, 0.7]):
        tracker.update(f, 0, [f], np.array([[0, 0, 10, 10]], np.float32), [_patch(q)])
    (track,) = tracker.flush()
    assert sorted(p.quality for p in track.patches) == [0.7, 0.9]
    assert track.best_patch.quality == 0.9


def test_every_link_needs_the_appearance_check() -> None:
    box = [[100, 100, 150, 150]]
    frames = [(0, 0, box), (5, 0, box), (10, 0, []), (15, 0, box), (20, 0, box)]
    calls = []

    def different(a, b) -> bool:
        calls.append((a, b))
        return False

    assert len(_run(Tracker(max_gap=10, same_person=different), frames)) == 4, "a missed cut cannot carry a track on"
    assert len(calls) == 3, "consecutive sampled frames are checked too, and the bridged gap"
    assert len(_run(Tracker(max_gap=10, same_person=lambda a, b: True), frames)) == 1


def test_interpolate_boxes() -> None:
    from facetools.geometry import interpolate_boxes

    boxes = np.array([[0, 0, 10, 10], [10, 0, 20, 10]], dtype=np.float32)
    assert np.allclose(interpolate_boxes(np.array([0, 10]), boxes, np.array([5])), [[5, 0, 15, 10]])


def test_a_failed_check_hands_the_redetected_faces_to_the_new_track() -> None:
    """A missed cut: re-detection carried the track onto someone else; the next full pass notices and splits it there."""
    box = np.array([[100, 100, 150, 150]], np.float32)
    tracker = Tracker(max_gap=10, same_person=lambda a, b: (a.quality > 0.5) == (b.quality > 0.5))  # two "people"
    tracker.update(0, 0, [0], box, [_patch(0.9)])
    (track,) = tracker.live
    for frame, row in ((5, 1), (10, 2)):
        tracker.follow(frame, [track], [row], box, [_patch(0.2)])
    assert track.frames == [0, 5, 10] and len(track.pending) == 2 and track.anchor.quality == 0.9
    done = tracker.update(15, 0, [3], box, [_patch(0.1)])
    assert done == [track] and track.rows == [0] and [p.quality for p in track.patches] == [0.9]
    (newcomer,) = tracker.live
    assert newcomer.rows == [1, 2, 3] and newcomer.frames == [5, 10, 15] and newcomer.pending == []


def test_redetected_faces_unlike_the_new_face_go_nowhere() -> None:
    box = np.array([[100, 100, 150, 150]], np.float32)
    tracker = Tracker(max_gap=10, same_person=lambda a, b: b.quality > 0.5)
    tracker.update(0, 0, [0], box, [_patch(0.9)])
    (track,) = tracker.live
    tracker.follow(5, [track], [1], box, [_patch(0.2)])
    tracker.update(10, 0, [2], box, [_patch(0.1)])
    assert track.rows == [0] and [t.rows for t in tracker.live] == [[2]]


def test_a_passed_check_makes_the_full_pass_face_the_anchor() -> None:
    box = np.array([[100, 100, 150, 150]], np.float32)
    tracker = Tracker(max_gap=10, same_person=lambda anchor, new: True)
    tracker.update(0, 0, [0], box, [_patch()])
    (track,) = tracker.live
    tracker.follow(5, [track], [1], box + 2, [_patch()])
    assert tracker.update(10, 0, [2], box + 4, [_patch()]) == []
    assert track.rows == [0, 1, 2] and track.pending == [] and len(track.patches) == 3


def test_distinct_keeps_the_higher_priority_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    assert distinct(boxes, np.array([1, 5, 1])).tolist() == [1, 2]
    assert distinct(np.zeros((0, 4), np.float32), np.zeros(0)).tolist() == []


def test_a_track_ending_on_redetected_faces_keeps_those_up_to_the_first_unlike_its_anchor() -> None:
    """No later full pass links it, so its re-detected faces are compared with its anchor when it ends."""
    box = np.array([[100, 100, 150, 150]], np.float32)
    for qualities, kept in (([0.9, 0.9], [0, 1, 2]), ([0.9, 0.1], [0, 1]), ([0.1, 0.9], [0])):
        tracker = Tracker(max_gap=10, same_person=lambda anchor, new: new.quality > 0.5)
        tracker.update(0, 0, [0], box, [_patch(0.9)])
        (track,) = tracker.live
        for k, q in enumerate(qualities, start=1):
            tracker.follow(5 * k, [track], [k], box, [_patch(q)])
        assert tracker.update(40, 0, [], np.zeros((0, 4), np.float32), []) == [track]
        assert track.rows == kept, qualities


def test_a_face_unlike_its_anchor_goes_to_the_track_starting_right_after_it() -> None:
    """The re-detected face after a missed cut, when the next full pass did not link the old track, joins the new person's track."""
    tracker = Tracker(max_gap=10, same_person=lambda a, b: (a.quality > 0.5) == (b.quality > 0.5))
    old, moved = np.array([[100, 100, 150, 150]], np.float32), np.array([[300, 100, 350, 150]], np.float32)
    tracker.update(0, 0, [0], old, [_patch(0.9)])
    (track,) = tracker.live
    tracker.follow(5, [track], [1], moved, [_patch(0.2)])  # re-detection jumped to the newcomer's face
    tracker.update(10, 0, [2], moved + 200, [_patch(0.1)])  # too far from the old track's prediction to be linked
    tracker.update(15, 0, [3], moved + 200, [_patch(0.1)])
    done = sorted(tracker.update(30, 0, [], np.zeros((0, 4), np.float32), []) + tracker.flush(), key=lambda t: t.id)
    assert [t.rows for t in done] == [[0], [2, 3]], "too far apart: the face goes nowhere"

    tracker = Tracker(max_gap=10, same_person=lambda a, b: (a.quality > 0.5) == (b.quality > 0.5))
    tracker.update(0, 0, [0], old, [_patch(0.9)])
    (track,) = tracker.live
    tracker.follow(5, [track], [1], moved, [_patch(0.2)])
    tracker.update(10, 0, [2], moved, [_patch(0.1)])  # the old track's prediction overshoots: no link
    done = sorted(tracker.update(30, 0, [], np.zeros((0, 4), np.float32), []) + tracker.flush(), key=lambda t: t.id)
    assert [t.rows for t in done] == [[0], [1, 2]] and done[1].frames == [5, 10]


def test_a_failed_check_keeps_the_redetected_faces_still_like_the_anchor() -> None:
    box = np.array([[100, 100, 150, 150]], np.float32)
    tracker = Tracker(max_gap=10, same_person=lambda a, b: (a.quality > 0.5) == (b.quality > 0.5))
    tracker.update(0, 0, [0], box, [_patch(0.9)])
    (track,) = tracker.live
    tracker.follow(5, [track], [1], box, [_patch(0.8)])
    tracker.follow(10, [track], [2], box, [_patch(0.2)])  # the cut the shot detector missed lies between 5 and 10
    tracker.update(15, 0, [3], box, [_patch(0.1)])
    assert track.rows == [0, 1] and [t.rows for t in tracker.live] == [[2, 3]]


def test_redetected_patches_compete_for_embedding_only_once_checked() -> None:
    box = np.array([[100, 100, 150, 150]], np.float32)
    tracker = Tracker(keep=2, max_gap=10, same_person=lambda a, b: True)
    tracker.update(0, 0, [0], box, [_patch(0.5)])
    (track,) = tracker.live
    tracker.follow(5, [track], [1], box, [_patch(0.96)])
    assert [p.quality for p in track.patches] == [0.5], "pending: it cannot push out a checked face yet"
    tracker.update(10, 0, [2], box, [_patch(0.2)])  # the next full-pass face passes: the face between is confirmed
    assert track.rows == [0, 1, 2] and sorted(p.quality for p in track.patches) == [0.5, 0.96]


def test_a_track_failing_the_check_ends_even_without_redetected_faces() -> None:
    """Else it would stay live at the newcomer's place and take the newcomer's re-detected faces."""
    box = np.array([[100, 100, 150, 150]], np.float32)
    tracker = Tracker(max_gap=10, same_person=lambda a, b: (a.quality > 0.5) == (b.quality > 0.5))
    tracker.update(0, 0, [0], box, [_patch(0.9)])
    (track,) = tracker.live
    assert tracker.update(10, 0, [1], box, [_patch(0.1)]) == [track]
    assert [t.rows for t in tracker.live] == [[1]]
