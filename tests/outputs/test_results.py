"""Saving and loading an analysis; a failed save leaves the previous run as it was, an interrupted one never looks complete."""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from facetools import Config, InputValidationError
from facetools.errors import OutputWriteError
from facetools.identify.identifier import identify
from facetools.outputs.analysis import CONTRACT_FILES, Analysis


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


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def first_run(sample_analysis, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_analysis.save(tmp_path_factory.mktemp("first") / "run")


@pytest.fixture(scope="module")
def second(sample_analysis) -> Analysis:
    """Another analysis of the sample to save over the first: other identities, other stored tracks."""
    tracks = replace(sample_analysis.trackset, run=replace(sample_analysis.trackset.run, warnings=["saved second"]))
    return Analysis.of(identify(tracks, Config.from_dict(tracks.run.config).with_options(cluster_threshold=0.0001)))


@pytest.fixture
def run(first_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(first_run, tmp_path / "run"))


def fail_writing(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Every file opened for writing whose name contains ``name`` fails as on a full disk."""
    real = builtins.open

    def open_(file, mode="r", *args, **kwargs):
        if name in Path(str(file)).name and any(m in mode for m in "wax+"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))
        return real(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)


@pytest.mark.parametrize("name", ["tracks.npz", "faces.csv", "run.json", "identity_1.jpg", "timeline.png", "identities.json"])
def test_a_full_disk_while_saving_leaves_the_previous_run_as_it_was(
    run: Path, second: Analysis, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(run)
    with monkeypatch.context() as patched:
        fail_writing(patched, name)
        with pytest.raises(OutputWriteError, match=f"{run}: could not write the results .*No space left on device.*left as it was"):
            second.save(run)
    assert snapshot(run) == before, "every file as it was, nothing added"


def test_a_bug_while_saving_also_leaves_the_previous_run(run: Path, second: Analysis, monkeypatch: pytest.MonkeyPatch) -> None:
    from facetools.outputs import plots

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug in a plot")

    before = snapshot(run)
    monkeypatch.setattr(plots, "timeline", broken)
    with pytest.raises(RuntimeError):
        second.save(run)
    assert snapshot(run) == before


class Killed(BaseException):
    pass


@pytest.mark.slow
def test_an_interrupted_save_never_leaves_a_folder_that_looks_complete(
    run: Path, second: Analysis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped at each move of a file into place: identities.json absent, or the previous run whole."""
    first = snapshot(run)
    real = os.replace
    moves: list[int] = []

    def replace_until(stop: int):
        def move(src, dst) -> None:
            moves.append(0)
            if len(moves) == stop:
                raise Killed
            real(src, dst)

        return move

    stop = 0
    while True:
        stop += 1
        moves.clear()
        folder = Path(shutil.copytree(run, tmp_path / f"stop{stop}"))
        monkeypatch.setattr(os, "replace", replace_until(stop))
        try:
            second.save(folder)
        except Killed:
            pass
        else:
            break
        finally:
            monkeypatch.setattr(os, "replace", real)
        if (folder / "identities.json").exists():
            assert snapshot(folder) == first, f"stopped at move {stop}: looks complete, so must be the previous run"
        else:
            with pytest.raises(InputValidationError, match="identities.json missing"):
                Analysis.load(folder)
        assert not list(folder.glob(".facetools-*")), "the temporary folder is removed"
    assert stop > len(CONTRACT_FILES) + 2, "every move was interrupted once"
    last = snapshot(folder)  # the save that went through wrote other files
    assert {"tracks.npz", "faces.csv", "identities.json"} <= {k for k, v in first.items() if last.get(k) != v}


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
