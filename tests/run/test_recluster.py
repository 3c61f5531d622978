"""Stored tracks, recluster and edits: identities re-made in seconds, edits kept, one frame never twice in an identity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facetools import InputValidationError
from facetools.outputs.analysis import Analysis
from facetools.outputs.explore import assign_track, merge_identities, rename_identity
from facetools.run.recluster import recluster
from facetools.trackset.store import TRACKS_FILE, Edits, load_tracks


@pytest.fixture()
def run_dir(sample_analysis, tmp_path: Path) -> Path:
    return sample_analysis.save(tmp_path / "run")


def _people(folder: Path) -> list[tuple[str, list[int]]]:
    meta = json.loads((folder / "identities.json").read_text())
    return [(p["name"], p["tracks"]) for p in meta["identities"]]


def test_recluster_in_a_fresh_process_reproduces_analyze_without_torch(run_dir: Path) -> None:
    before = _people(run_dir), (run_dir / "faces.csv").read_text()
    code = "import sys; from facetools.run.recluster import recluster; recluster(sys.argv[1]); print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code, str(run_dir)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "False", "the recluster path imports no torch"
    assert (_people(run_dir), (run_dir / "faces.csv").read_text()) == before


def test_recluster_cli_changes_identities_with_the_threshold(run_dir: Path) -> None:
    cmd = [sys.executable, "-m", "facetools.cli", "recluster", str(run_dir), "--threshold", "0.0001"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    strict = json.loads((run_dir / "identities.json").read_text())
    assert len(strict["identities"]) > 2 or strict["unidentified"]["tracks"], "a tiny threshold splits or leaves faces unknown"
    assert json.loads((run_dir / "run.json").read_text())["config"]["cluster_threshold"] == 0.0001
    recluster(run_dir, cluster_threshold=None)
    assert len(_people(run_dir)) == 2


def test_renames_survive_reclustering_and_names_are_track_facts(run_dir: Path) -> None:
    analysis = rename_identity(run_dir, 0, "<b>Ann</b>")
    tracks = analysis.identity("<b>Ann</b>").tracks
    assert Edits.load(run_dir).names == {"<b>Ann</b>": tracks}
    for threshold in (0.1, 0.3, None):  # SFace's calibrated threshold is 0.51; one person's tracks here lie within 0.06
        again = recluster(run_dir, cluster_threshold=threshold)
        assert set(again.identity("<b>Ann</b>").tracks) >= set(tracks)


def test_a_merge_of_two_people_on_screen_together_is_refused(run_dir: Path) -> None:
    with pytest.raises(InputValidationError, match="both on screen in frame"):
        merge_identities(run_dir, 0, 1)
    assert Edits.load(run_dir).must_link == []


def test_hand_assignment_and_merge_hold_and_never_put_one_frame_twice(run_dir: Path) -> None:
    tracks = load_tracks(run_dir)
    analysis = Analysis.load(run_dir)
    # split the sample's first person by a strict threshold, then put it back together by hand
    split = recluster(run_dir, cluster_threshold=0.0001)
    ids = [p.id for p in split.identities]
    assert len(ids) >= 3
    first = split.identities[0]
    frames = {p.id: set(split.faces[split.faces.track.isin(p.tracks)].frame) for p in split.identities}
    other = next(p for p in split.identities[1:] if p.embedding @ first.embedding > 0.9 and not frames[p.id] & frames[first.id])
    merged = merge_identities(run_dir, first.id, other.id)
    together = next(p for p in merged.identities if set(first.tracks) <= set(p.tracks))
    assert set(other.tracks) <= set(together.tracks)
    if merged.unidentified.tracks:
        assign_track(run_dir, merged.unidentified.tracks[0], together.id)
    final = recluster(run_dir, cluster_threshold=0.0002)
    assert any(set(first.tracks) | set(other.tracks) <= set(p.tracks) for p in final.identities), "the merge survives a recluster"
    faces = final.faces[final.faces.identity >= 0]
    assert not faces.duplicated(["frame", "identity"]).any(), "one identity twice in a frame"
    assert len(tracks.tracks) == len(analysis.tracks)


def test_old_or_missing_stored_tracks_give_one_line_errors(run_dir: Path) -> None:
    with np.load(run_dir / TRACKS_FILE) as z:
        data = {k: z[k] for k in z.files}
    meta = json.loads(str(data["meta"]))
    meta["schema"] = 0
    data["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(run_dir / TRACKS_FILE, **data)
    with pytest.raises(InputValidationError, match="schema 0.*re-run"):
        recluster(run_dir)
    (run_dir / TRACKS_FILE).unlink()
    with pytest.raises(InputValidationError, match="older facetools"):
        recluster(run_dir)
