"""Explore logic and widgets: the slider redraws the frame; renames and merges are edits; the threshold slider re-identifies."""

from __future__ import annotations

import json
import subprocess
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


def test_rename_is_saved_as_an_edit_and_a_merge_of_two_people_in_one_frame_is_refused(folder: Path) -> None:
    analysis = rename_identity(folder, 1, "cameraman")
    meta = json.loads((folder / "identities.json").read_text())
    assert [p["name"] for p in meta["identities"]] == ["person 0", "cameraman"]
    assert json.loads((folder / "edits.json").read_text())["names"] == {"cameraman": analysis.identity("cameraman").tracks}
    with pytest.raises(InputValidationError):
        rename_identity(folder, 0, "cameraman")
    with pytest.raises(InputValidationError, match="both on screen"):
        merge_identities(folder, 0, 1)  # the sample's two people share the screen in its fifth shot
    assert len(json.loads((folder / "identities.json").read_text())["identities"]) == 2


def test_explorer_slider_threshold_and_edits(folder: Path) -> None:
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
    explorer.do_rename(0, "astronaut")
    timeline = explorer.timeline.value
    explorer.threshold.value = explorer.threshold.min  # live re-identification from the stored tracks: nothing joins at 0
    assert "identities" in explorer.status.value and explorer.timeline.value != timeline
    assert len(explorer.person.options) > 2
    strict = Analysis.load(folder)
    assert any(p.name == "astronaut" for p in strict.identities), "the rename survives the new threshold"
    assert json.loads((folder / "run.json").read_text())["config"]["cluster_threshold"] == pytest.approx(explorer.threshold.min)


def test_the_explorer_draws_frame_n_with_frame_n_boxes_on_a_late_starting_file(sample: Path, tmp_path: Path) -> None:
    from facetools import analyze
    from facetools.io.loader import FrameLoader

    late = tmp_path / "late.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=6", "-itsoffset", "0.85", "-t", "5", "-i", str(sample),
                    "-map", "1:v", "-map", "0:a", "-c:v", "copy", "-c:a", "aac", str(late)], check=True, timeout=120)  # fmt: skip
    analysis = analyze(late, device="cpu", embedder="sface")
    assert analysis.frame_times[0] == pytest.approx(0.85, abs=0.02)
    frames = {int(i): f for b in FrameLoader(analysis.video) for i, f in zip(b.indices, b.frames.numpy())}
    for n in (40, 90):
        drawn = draw_frame(analysis, n)
        boxes = analysis.boxes_at(n)
        assert len(boxes) == 1
        changed = np.any(drawn.astype(int) != frames[n].astype(int), axis=2)
        x1, y1, x2, y2 = (int(v) for v in boxes.iloc[0][["x1", "y1", "x2", "y2"]])
        assert changed[y1 + 4 : y2 - 4, x1 + 4 : x2 - 4].mean() < 0.05, "inside the box the picture is frame n itself"
        assert changed[y1:y2, x1].mean() > 0.5, "and its own box is drawn on it"


def test_the_explorer_jumps_by_appearance(folder: Path) -> None:
    pytest.importorskip("ipywidgets")
    from facetools.outputs.widgets import Explorer, appearance_choices

    explorer = Explorer(folder)
    choices = appearance_choices(explorer.analysis)
    assert [label for label, _ in choices] == ["0:00.0  person 0", "0:06.0  person 1", "0:10.0  person 0", "0:17.0  person 0"]
    assert [value for _, value in choices] == [(0, 0), (150, 1), (250, 0), (425, 0)]
    assert list(explorer.appearance.options)[1:] == choices and explorer.appearance.value is None
    first = explorer.image.value
    explorer.appearance.value = choices[1][1]
    assert explorer.slider.value == 150 and explorer.person.value == 1 and explorer.image.value != first
    explorer.next_appearance()
    assert explorer.slider.value == 150, "person 1 appears once: the identity's next appearance wraps to it"
    explorer.appearance.value = choices[3][1]
    assert explorer.slider.value == 425 and explorer.person.value == 0
    explorer.refresh()  # after every edit
    assert explorer.slider.value == 425 and explorer.appearance.value is None, "a refresh moves no slider"
