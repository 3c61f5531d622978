"""Long videos: the composed people/ video played ten times in a row (10 min, 600 shots, real SFace), through the CLI.

A person who comes back in every copy stays one identity; an extraction killed at a random moment (SIGKILL, twice)
resumes from its last checkpoint and ends with the same files as a run never interrupted; a batch killed midway resumes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facetools.devdata.evaluate import evaluate, label_faces
from facetools.devdata.long_video import repeat_video
from facetools.devdata.people_video import photo_detector, read_labels, render_people_video
from facetools.extract.embed import load_embedder
from facetools.outputs.analysis import Analysis

pytestmark = pytest.mark.slow

COPIES = 10
CLI = [sys.executable, "-m", "facetools.cli"]


@pytest.fixture(scope="module")
def videos(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """The people/ video of the identity benchmark, and ten copies of it in one file."""
    folder = tmp_path_factory.mktemp("long")
    labels = read_labels(shared_data / "people")
    once = [p for p, files in labels.items() if len(files) == min(len(f) for f in labels.values())]
    one = folder / "people.mp4"
    truth = render_people_video(shared_data / "people", one, sorted(labels), photo_detector(), load_embedder("sface", precision="float32"),
                                pairs=3, once=once)  # fmt: skip
    many = folder / f"people_x{COPIES}.mp4"
    return {"one": (one, truth), "many": (many, repeat_video(one, truth, COPIES, many))}


def _analyze(video: Path, out: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    cmd = [*CLI, "analyze", str(video), "--out", str(out), "--device", "cpu", "--embedder", "sface", "--quiet"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)


@pytest.fixture(scope="module")
def runs(videos: dict[str, tuple[Path, dict]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, float]]:
    """Each video analysed by ``facetools analyze`` without interruption: its run directory and wall time."""
    out = {}
    for key, (video, _truth) in videos.items():
        folder = tmp_path_factory.mktemp(f"run_{key}")
        started = time.perf_counter()
        _analyze(video, folder)
        out[key] = (folder, time.perf_counter() - started)
    return out


def test_a_person_who_comes_back_ten_times_is_one_identity(videos: dict, runs: dict) -> None:
    analyses = {k: Analysis.load(runs[k][0]) for k in ("one", "many")}
    results = {k: evaluate(analyses[k], videos[k][1]) for k in analyses}
    assert results["many"].bcubed_precision == results["one"].bcubed_precision == 1.0, results
    assert len(analyses["many"].identities) == len(analyses["one"].identities), [p.name for p in analyses["many"].identities]
    for key, analysis in analyses.items():
        faces = analysis.faces.assign(person=label_faces(analysis.faces, videos[key][1]))
        found = faces[faces["person"].notna() & (faces["identity"] >= 0)]
        assert (found.groupby("person")["identity"].nunique() == 1).all(), key
        assert not analysis.faces[analysis.faces["identity"] >= 0].duplicated(["frame", "identity"]).any(), key
    assert results["many"].bcubed_recall >= results["one"].bcubed_recall


@pytest.mark.parametrize("seed", [1, 2])
def test_a_killed_extraction_resumes_and_ends_as_an_uninterrupted_one(videos: dict, runs: dict, tmp_path: Path, seed: int) -> None:
    video, _truth = videos["many"]
    reference, wall = runs["many"]
    out = tmp_path / "run"
    out.mkdir()
    cmd = [*CLI, "analyze", str(video), "--out", str(out), "--device", "cpu", "--embedder", "sface", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(random.Random(seed).uniform(0.3, 0.85) * wall)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert not (out / "identities.json").exists(), "a killed run never looks complete"
    had_checkpoint = (out / ".extract-checkpoint.npz").is_file()
    _analyze(video, out)
    warnings = json.loads((out / "run.json").read_text())["warnings"]
    assert any("resumed from a checkpoint" in w for w in warnings) == had_checkpoint, warnings
    for name in ("faces.csv", "tracks.csv", "identities.json"):
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    assert not (out / ".extract-checkpoint.npz").exists()


def test_a_killed_batch_resumes_where_it_stopped(sample: Path, videos: dict, tmp_path: Path) -> None:
    """``facetools report`` over two videos, killed while it extracts the long one: run again, the sample is not extracted
    again (its report is rendered: the notebooks run once every video is extracted) and the long video resumes from its
    checkpoint."""
    long_video = videos["many"][0]
    out = tmp_path / "reports"
    cmd = [*CLI, "report", str(sample), str(long_video), "--out", str(out), "--device", "cpu", "--embedder", "sface", "--no-people",
           "-p", "checkpoint_every_s", "60"]  # fmt: skip
    checkpoint = out / f".{long_video.stem}.extract-checkpoint.npz"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while not checkpoint.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert checkpoint.is_file(), "the long video's extraction saved a checkpoint"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert not (out / long_video.stem / "identities.json").exists()
    extracted = json.loads((out / sample.stem / "run.json").read_text())["stage_seconds"]  # the extraction's own timings
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=True)
    assert f"ok       {sample}" in done.stdout and f"ok       {long_video}" in done.stdout, done.stdout
    assert json.loads((out / sample.stem / "run.json").read_text())["stage_seconds"] == extracted, "the sample was not extracted again"
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
    assert f"skipped  {sample}" in again.stdout and f"skipped  {long_video}" in again.stdout, again.stdout
    warnings = json.loads((out / long_video.stem / "run.json").read_text())["warnings"]
    assert any("resumed from a checkpoint" in w for w in warnings), warnings
    assert not checkpoint.exists()
