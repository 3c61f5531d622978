"""The CLI: errors are one line without traceback; analyze writes the contract files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import ffmpeg_video

pytestmark = pytest.mark.slow


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "facetools.cli", *args], capture_output=True, text=True, timeout=600)


def _write(name: str, content: bytes):
    def make(folder: Path) -> Path:
        (folder / name).write_bytes(content)
        return folder / name

    return make


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "missing.mp4", "file not found"),
        (_write("empty.mp4", b""), "file is empty"),
        (_write("notes.mp4", b"hello, not a video\n" * 20), "not a recognised video container"),
        (_write("archive.mp4", b"PK\x03\x04" + bytes(200)), "looks like a ZIP archive"),
        (lambda d: d, "not a regular file"),
    ],
)
def test_bad_input_is_one_line_error(tmp_path: Path, make, reason: str) -> None:
    out = tmp_path / "out"
    proc = _cli("analyze", str(make(tmp_path)), "--out", str(out))
    assert proc.returncode == 1
    assert proc.stderr.startswith("facetools: error:")
    assert reason in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "identities.json").exists()


def test_audio_only_file_is_rejected(tmp_path: Path) -> None:
    audio = ffmpeg_video(tmp_path / "tone.m4a", "-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac")
    proc = _cli("analyze", str(audio), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert "no video stream (audio only)" in proc.stderr


def test_debug_shows_traceback(tmp_path: Path) -> None:
    proc = _cli("--debug", "analyze", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 1 and "Traceback" in proc.stderr


def test_analyze_writes_contract_files(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "result"
    proc = _cli("analyze", str(sample), "--out", str(out), "--device", "cpu", "--embedder", "sface", "--stride", "10", "--quiet")
    assert proc.returncode == 0, proc.stderr
    for name in ("faces.csv", "identities.json", "run.json", "timeline.png", "utilization.png", "utilization.csv"):
        assert (out / name).is_file(), name
    run = json.loads((out / "run.json").read_text())
    assert run["embedder"] == "sface" and run["stride"] == 10 and run["config"]["stride"] == 10
    assert run["frames_decoded"] == 500 and run["frames_detected"] == 50
    assert "2 identities" in proc.stdout
    header = (out / "faces.csv").read_text().splitlines()[0]
    assert header == "frame,time_s,x1,y1,x2,y2,score,track,identity"
    assert not list(out.glob(".facetools-*")), "temporary folder left behind"
