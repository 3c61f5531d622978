"""``tracks.npz``: a TrackSet saved and loaded is the same TrackSet; edits survive a round trip; bad files give one-line errors."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from facetools.errors import InputValidationError
from facetools.trackset import Edits, load_tracks, save_tracks


def test_a_trackset_comes_back_as_it_was_saved(sample_analysis, tmp_path: Path) -> None:
    saved = sample_analysis.trackset
    back = load_tracks(save_tracks(saved, tmp_path).parent)
    assert back.video == saved.video and back.space == saved.space
    assert json.loads(json.dumps(asdict(back.run))) == json.loads(json.dumps(asdict(saved.run)))  # JSON: tuples come back as lists
    assert back.cuts == saved.cuts and back.shot_samples == saved.shot_samples
    assert back.faces.equals(saved.faces) and np.array_equal(back.frame_times, saved.frame_times, equal_nan=True)
    assert [r.id for r in back.tracks] == [r.id for r in saved.tracks]
    for a, b in zip(back.tracks, saved.tracks):
        assert a.shot == b.shot and a.span == b.span and np.array_equal(a.frames, b.frames)
        assert np.allclose(a.embedding, b.embedding) and np.allclose(a.face_embeddings, b.face_embeddings)
        assert np.allclose(a.face_quality, b.face_quality) and np.array_equal(a.thumbnail, b.thumbnail)


def test_edits_round_trip_and_a_broken_file_is_one_line(tmp_path: Path) -> None:
    edits = Edits({"Ada": [1, 2]}, [[1, 2, 3]], [[4, 5]])
    edits.save(tmp_path)
    assert Edits.load(tmp_path) == edits
    assert Edits.load(tmp_path / "nowhere") == Edits()
    (tmp_path / "edits.json").write_text("[1, 2")
    with pytest.raises(InputValidationError, match="not a valid edits file"):
        Edits.load(tmp_path)


def test_missing_or_unreadable_tracks_say_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(InputValidationError, match="run `facetools analyze"):
        load_tracks(tmp_path)
    (tmp_path / "tracks.npz").write_bytes(b"not a zip file")
    with pytest.raises(InputValidationError, match="unreadable stored tracks"):
        load_tracks(tmp_path)
