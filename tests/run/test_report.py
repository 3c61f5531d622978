"""`facetools report`: papermill per video, HTML report, index; a broken video does not stop the batch."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_report_runs_the_notebook_and_records_failures(sample: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(sample.read_bytes()[:3000])
    short = tmp_path / "short.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-ss", "6", "-i", str(sample), "-t", "3", "-c", "copy", str(short)], check=True)
    (tmp_path / "params.yaml").write_text("stride: 10\n")
    out = tmp_path / "reports"
    cmd = [sys.executable, "-m", "facetools.cli", "report", str(sample), str(broken), str(short), "--out", str(out)]
    cmd += ["-p", "embedder", "sface", "--device", "cpu", "--parameters-file", str(tmp_path / "params.yaml")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"analyze: 500/500 frames \(100 %\), \d+ faces", proc.stderr), "each video's frames and faces in the batch's log"
    folder = out / "sample"
    for name in ("analysis.ipynb", "report.html", "faces.csv", "identities.json", "run.json", "timeline.png", "utilization.png"):
        assert (folder / name).is_file(), name
    assert json.loads((folder / "status.json").read_text())["status"] == "ok"
    assert len(json.loads((folder / "identities.json").read_text())["identities"]) == 2
    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64") >= 5, "the report embeds its plots"
    failed = json.loads((out / "broken" / "status.json").read_text())
    assert failed["status"] == "failed" and "broken" in failed["error"] and "\n" not in failed["error"]
    assert not (out / "broken" / "identities.json").exists()
    run = json.loads((folder / "run.json").read_text())
    assert run["stride"] == 10 and run["embedder"] == "sface", "parameters from -p and the YAML file reach the run"
    assert json.loads((out / "short" / "status.json").read_text())["status"] == "ok"
    index = (out / "index.html").read_text()
    assert 'href="sample/report.html"' in index and 'href="short/report.html"' in index
    assert index.count("<tr class=") == 3 and "failed:" in index
    assert not list(out.glob(".*.partial"))

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0 and "skipped" in again.stdout
