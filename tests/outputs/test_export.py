"""Face-tracked clips: planned durations, audio, the target centred and followed smoothly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from facetools.calibration import load_calibration
from facetools.extract.embed import load_embedder
from facetools.extract.faces import cut_patch
from facetools.geometry import cosine_distances
from facetools.identify.identities import Identity
from facetools.outputs.analysis import Analysis
from facetools.outputs.export import ExportOptions, export_clips, plan_segments, select_target

pytestmark = pytest.mark.slow


def _streams(path: Path) -> dict[str, float]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,duration", "-of", "json", str(path)], capture_output=True, text=True
    )
    return {s["codec_type"]: float(s["duration"]) for s in json.loads(out.stdout)["streams"]}


def _frames(path: Path, every: int = 5) -> np.ndarray:
    import decord

    reader = decord.VideoReader(str(path))
    return reader.get_batch(list(range(0, len(reader), every))).asnumpy()


@pytest.fixture(scope="module")
def saved(sample_analysis, tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    return Analysis.load(sample_analysis.save(tmp_path_factory.mktemp("analysis") / "sample"))


def test_plan_segments_merges_drops_pads_and_splits() -> None:
    person = Identity(0, "p", [], 10, [(0.0, 0.4), (1.0, 3.0), (3.5, 6.0), (9.0, 9.5)], np.zeros(0))
    assert plan_segments(person, 10.0, ExportOptions(gap=1.0, min_length=1.0)) == [(0.0, 6.0)]
    assert plan_segments(person, 10.0, ExportOptions(gap=0.1, min_length=1.0, padding=0.5)) == [(0.5, 6.5)]
    pieces = plan_segments(person, 10.0, ExportOptions(gap=1.0, min_length=1.0, segment=2.0))
    assert pieces == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    pieces = plan_segments(person, 10.0, ExportOptions(gap=0.1, min_length=1.0, segment=2.0))
    assert pieces == [(1.0, 3.0), (3.5, 5.5), (5.5, 6.0)]


def test_target_selection(saved: Analysis, shared_data: Path) -> None:
    assert select_target(saved, "auto").id == 0
    assert select_target(saved, "1").id == 1
    assert select_target(saved, saved.identities[1].name).id == 1
    with pytest.raises(Exception, match="neither auto"):
        select_target(saved, "nobody")


def test_target_by_photo(saved: Analysis, tmp_path: Path) -> None:
    from PIL import Image
    from skimage import data

    Image.fromarray(np.repeat(data.camera()[..., None], 3, axis=2)).save(tmp_path / "cameraman.png")
    camera = select_target(saved, str(tmp_path / "cameraman.png"))
    assert camera.screen_time_s == pytest.approx(9.0, abs=0.5)


@pytest.mark.parametrize("target", ["auto", "1"])
def test_clips_follow_the_target(saved: Analysis, sample: Path, tmp_path: Path, detector, target: str) -> None:
    identity = select_target(saved, target)
    options = ExportOptions(aspect="9:16", segment=4.0)
    clips = export_clips(saved, target, tmp_path, options)
    planned = plan_segments(identity, saved.video.duration_s, options)
    assert len(clips) == len(planned) >= 2
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [c["file"] for c in manifest["clips"]] == [c.file for c in clips]
    embedder = load_embedder(saved.embedder)
    threshold = load_calibration(saved.embedder).threshold
    found = centred = 0
    steps, sampled = [], 0
    for clip, (s, e) in zip(clips, planned):
        streams = _streams(tmp_path / clip.file)
        assert set(streams) == {"video", "audio"}
        assert abs(streams["video"] - (e - s)) <= 1 / saved.video.fps + 1e-6
        assert abs(streams["audio"] - (e - s)) <= 0.05
        assert clip.width / clip.height == pytest.approx(9 / 16, abs=0.02)
        frames = _frames(tmp_path / clip.file)
        result = detector.detect(torch.from_numpy(frames), np.arange(len(frames)))
        sampled += len(frames)
        for k in range(len(frames)):
            mine = result[result.frame == k]
            if len(mine) == 0:
                continue
            patches = [cut_patch(frames[k], b, lm, float(sc)) for b, lm, sc in zip(mine.boxes, mine.landmarks, mine.scores)]
            dist = cosine_distances(embedder.embed(patches), identity.embedding[None])[:, 0]
            if dist.min() < threshold:
                found += 1
                box = mine.boxes[int(np.argmin(dist))]
                centre = (box[0] + box[2]) / 2 / clip.width
                centred += 0.3 <= centre <= 0.7
        windows = np.array(clip_windows(saved, identity, clip))
        centres = (windows[:, 0] + windows[:, 2]) / 2
        steps += list(np.abs(np.diff(centres[::5])) / saved.video.width)
    assert found >= 0.9 * sampled, (found, sampled)
    assert centred >= 0.9 * found
    assert np.median(steps) < 0.04


def clip_windows(analysis: Analysis, identity: Identity, clip) -> np.ndarray:
    from facetools.outputs.export import crop_path

    return crop_path(analysis, identity, np.arange(clip.first_frame, clip.first_frame + clip.frames), ExportOptions())


def test_silent_source_gives_silent_clips_via_cli(saved: Analysis, sample: Path, tmp_path: Path) -> None:
    silent = tmp_path / "silent.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(sample), "-c:v", "copy", "-an", str(silent)], check=True)
    analysis_dir = tmp_path / "analysis"
    saved.save(analysis_dir)
    out = tmp_path / "clips"
    cmd = [sys.executable, "-m", "facetools.cli", "export", str(silent), "--analysis", str(analysis_dir), "--out", str(out)]
    proc = subprocess.run(cmd + ["--aspect", "1:1", "--target", "auto"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    clips = sorted(out.glob("*.mp4"))
    assert clips and all(set(_streams(c)) == {"video"} for c in clips)
    wrong = subprocess.run(cmd[:4] + [str(tmp_path / "missing.mp4")] + cmd[5:], capture_output=True, text=True)
    assert wrong.returncode == 1 and wrong.stderr.startswith("facetools: error:")


def test_a_clip_shows_the_flash_and_plays_the_beep_together_on_a_late_starting_file(sample: Path, tmp_path: Path) -> None:
    """Video stream 0.85 s late; a white flash at 2.0 s of the video and a beep at the same instant of the timeline."""
    from facetools import analyze

    flashed = tmp_path / "flashed.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-t", "5", "-i", str(sample), "-vf", "drawbox=t=fill:c=white:enable='between(n,50,51)'",
                    "-an", "-c:v", "libx264", "-g", "30", str(flashed)], check=True, timeout=120)  # fmt: skip
    beep = "aevalsrc='if(between(t,2.85,2.95),0.8*sin(2*PI*1000*t),0)':s=48000:d=6.5"
    late = tmp_path / "late.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-itsoffset", "0.85", "-i", str(flashed), "-f", "lavfi", "-i", beep, "-map", "0:v",
                    "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest", str(late)], check=True, timeout=120)  # fmt: skip
    analysis = analyze(late, device="cpu", embedder="sface")
    flash_time = float(analysis.frame_times[50])
    assert flash_time == pytest.approx(2.85, abs=0.02)
    options = ExportOptions(min_length=0.5, gap=5.0)
    clips = export_clips(analysis, "auto", tmp_path / "clips", options)
    clip = next(c for c in clips if c.start_s <= flash_time <= c.end_s)
    path = tmp_path / "clips" / clip.file
    frames = _frames(path, every=1)
    fps = analysis.video.fps
    flash_at = int(np.argmax(frames.reshape(len(frames), -1).mean(axis=1))) / fps
    pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", "16000", "-"], capture_output=True,
                         check=True, timeout=60).stdout  # fmt: skip
    audio = np.abs(np.frombuffer(pcm, np.int16).astype(np.float32))
    beep_at = int(np.argmax(audio > 0.3 * audio.max())) / 16000
    assert flash_at == pytest.approx(flash_time - clip.start_s, abs=1.0 / fps), "the flash is where the source has it"
    assert abs(beep_at - flash_at) <= 1.0 / fps, f"picture and sound apart by {beep_at - flash_at:+.3f} s"
