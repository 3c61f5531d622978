"""Explore logic and widgets: the slider redraws the frame; rename and merge are saved to identities.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facetools import InputValidationError
from facetools.outputs.analysis import Analysis
from facetools.outputs.explore import appearances, draw_frame, merge_identities, rename_identity


@pytest.fixture()
def folder(sample_analysis, tmp_path: Path) -> Path:
    return sample_analysis.save(tmp_path / "sample")


def test_draw_frame_draws_boxes_in_identity_colours(folder: Path) -> None:
    analysis = Analysis.load(folder)
    frame = 300  # both people on screen
    drawn = draw_frame(analysis, frame)
    import decord

    plain = decord.VideoReader(analysis.video.path)[frame].asnumpy()
    assert drawn.shape == plain.shape
    changed = np.any(drawn != plain, axis=2)
    boxes = analysis.boxes_at(frame)
    assert len(boxes) == 2
    for row in boxes.itertuples():
        assert changed[int(row.y1) : int(row.y2) + 1, int(row.x1)].mean() > 0.5, "the box's left edge is drawn"


def test_appearances_are_segment_starts(folder: Path) -> None:
    analysis = Analysis.load(folder)
    assert appearances(analysis, 0) == [0, 250, 425]


def test_rename_and_merge_are_saved(folder: Path) -> None:
    rename_identity(folder, 1, "cameraman")
    meta = json.loads((folder / "identities.json").read_text())
    assert [p["name"] for p in meta["identities"]] == ["person 0", "cameraman"]
    with pytest.raises(InputValidationError):
        rename_identity(folder, 0, "cameraman")
    merged = merge_identities(folder, 0, 1)
    meta = json.loads((folder / "identities.json").read_text())
    assert len(meta["identities"]) == 1
    person = meta["identities"][0]
    assert person["id"] == 0 and person["screen_time_s"] == pytest.approx(20.0 - 2.0 - 2.0, abs=0.3)
    assert person["faces"] == len(merged.faces[merged.faces["identity"] == 0])
    assert set(Analysis.load(folder).faces["identity"]) <= {-1, 0}


def test_explorer_slider_redraws_and_edits_persist(folder: Path) -> None:
    pytest.importorskip("ipywidgets")
    from facetools.outputs.widgets import Explorer

    explorer = Explorer(folder)
    first = explorer.image.value
    explorer.slider.value = 300
    assert explorer.image.value != first, "moving the slider renders another frame"
    explorer.person.value = 0
    explorer.next_appearance()
    assert explorer.slider.value == 425
    explorer.next_appearance()
    assert explorer.slider.value == 0, "wraps to the first appearance"
    assert len(explorer.gallery.children) == 2
    explorer.do_merge(0, 1)
    assert len(json.loads((folder / "identities.json").read_text())["identities"]) == 1
    assert len(explorer.person.options) == 1 and len(explorer.gallery.children) == 1
