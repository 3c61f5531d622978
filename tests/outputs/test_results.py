"""Saving and loading an analysis; an interrupted save never looks complete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facetools import InputValidationError
from facetools.outputs.analysis import Analysis


def test_save_and_load_round_trip(sample_analysis, tmp_path: Path) -> None:
    out = sample_analysis.save(tmp_path / "run")
    meta = json.loads((out / "identities.json").read_text())
    assert meta["embedder"] == "sface" and len(meta["identities"]) == 2
    first = meta["identities"][0]
    assert set(first) == {"id", "name", "faces", "tracks", "screen_time_s", "first_s", "last_s", "segments", "thumbnail", "confidence"}
    assert meta["identities"][0]["screen_time_s"] >= meta["identities"][1]["screen_time_s"]
    assert (out / first["thumbnail"]).is_file()
    loaded = Analysis.load(out)
    assert loaded.summary().equals(sample_analysis.summary())
    assert len(loaded.faces) == len(sample_analysis.faces)
    assert set(loaded.thumbnails) == {0, 1}
    faces = loaded.faces
    assert set(faces["identity"]) <= {-1, 0, 1}
    assert (faces["x2"] > faces["x1"]).all() and (faces["y2"] > faces["y1"]).all()


def test_failed_save_leaves_no_identities_json(sample_analysis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = sample_analysis.save(tmp_path / "run")
    from facetools.outputs import plots

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "timeline", broken)
    with pytest.raises(RuntimeError):
        sample_analysis.save(out)
    assert not (out / "identities.json").exists()
    assert not list(out.glob(".facetools-*"))
    with pytest.raises(InputValidationError, match="identities.json missing"):
        Analysis.load(out)


def test_boxes_between_detections_are_interpolated(sample_analysis) -> None:
    faces = sample_analysis.faces
    track = faces[faces["track"] == faces["track"].iloc[0]]
    f0, f1 = track["frame"].iloc[0], track["frame"].iloc[1]
    mid = sample_analysis.boxes_at((f0 + f1) // 2)
    row = mid[mid["track"] == track["track"].iloc[0]].iloc[0]
    assert not row["detected"]
    lo, hi = sorted([track["x1"].iloc[0], track["x1"].iloc[1]])
    assert lo <= row["x1"] <= hi
    assert sample_analysis.boxes_at(f0)["detected"].any()
    assert sample_analysis.boxes_at(10**6).empty
