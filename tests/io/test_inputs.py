"""Every kind of input gets a result or a clear FacetoolsError: a generated corpus, then fuzzing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facetools import FacetoolsError, VideoDecodeError, analyze, probe
from facetools.io.loader import FrameLoader

from . import corpus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus")


@pytest.fixture(scope="module")
def clip(sample: Path, folder: Path) -> Path:
    return corpus.source_clip(sample, folder)


@pytest.fixture(scope="module")
def clip_analysis(clip: Path):
    return analyze(clip, device="cpu", embedder="sface")


@pytest.mark.parametrize("kind", sorted(corpus.VALID))
def test_valid_kinds_give_results_with_faces(kind: str, clip: Path, folder: Path, clip_analysis) -> None:
    video = corpus.VALID[kind](clip, folder)
    result = analyze(video, device="cpu", embedder="sface")
    info = result.video
    # two people, never merged: the cameraman's one turned-away track (a single weak appearance) may stay unidentified
    assert len(result.identities) + len(result.unidentified.tracks) == 2 and len(result.identities) >= 1, (kind, result.summary())
    per_frame = len(result.faces) / result.run.frames_detected
    assert per_frame >= 0.8 * len(clip_analysis.faces) / clip_analysis.run.frames_detected, kind
    faces = result.faces
    assert (faces["x1"] >= 0).all() and (faces["x2"] <= info.width).all() and (faces["y2"] <= info.height).all()
    if kind == "rotation 90":
        # stored sideways: without honouring the rotation MTCNN would find no upright face
        assert (info.width, info.height, info.rotation) == (640, 360, 90)
    if kind == "variable frame rate":
        assert result.run.variable_frame_rate_observed
        assert faces["time_s"].max() > 3.0, "times come from timestamps, not frame index / fps"
    if kind == "huge 8k":
        assert info.width == 7680 and faces["x2"].max() > 2000, "boxes in original pixels"
        assert result.run.peak_rss_mb < 6000


@pytest.mark.parametrize("kind", sorted(corpus.TOO_SMALL))
def test_valid_kinds_too_small_for_faces_give_an_empty_result(kind: str, clip: Path, folder: Path, tmp_path: Path) -> None:
    result = analyze(corpus.TOO_SMALL[kind](clip, folder), device="cpu", embedder="sface")
    assert result.faces.empty and result.identities == [] and result.run.frames_decoded == 50
    out = result.save(tmp_path / "out")
    assert json.loads((out / "identities.json").read_text())["identities"] == []


@pytest.mark.parametrize("kind", sorted(corpus.EXPECTED_FAILURES))
def test_broken_kinds_give_the_right_error(kind: str, clip: Path, folder: Path) -> None:
    build, error, message = corpus.EXPECTED_FAILURES[kind]
    with pytest.raises(error, match=re.escape(message)):
        analyze(build(clip, folder), device="cpu", embedder="sface")


@pytest.mark.parametrize("kind", sorted(corpus.PARTIAL))
def test_videos_broken_midway_give_a_flagged_result_or_a_decode_error(kind: str, clip: Path, folder: Path, tmp_path: Path) -> None:
    video = corpus.PARTIAL[kind](clip, folder)
    try:
        result = analyze(video, device="cpu", embedder="sface")
    except FacetoolsError as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip()
        return
    if result.run.frames_decoded < 50:
        assert result.run.warnings, "lost frames must be reported in run.json"
    out = result.save(tmp_path / "out")
    assert json.loads((out / "run.json").read_text())["warnings"] == result.run.warnings


def test_a_stalled_decoder_raises_instead_of_hanging(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import time

    loader = FrameLoader(probe(sample), timeout_s=0.5)
    never_answers = [sys.executable, "-c", "import time; time.sleep(30)"]
    monkeypatch.setattr(loader, "command", lambda seek_s=0.0: never_answers)
    started = time.perf_counter()
    with pytest.raises(VideoDecodeError, match="decoding stalled"):
        next(iter(loader))
    assert time.perf_counter() - started < 10  # the silent decoder was killed, not waited for


@pytest.fixture(scope="module")
def tiny_video(clip: Path, folder: Path) -> bytes:
    out = folder / "tiny.mp4"
    corpus.ffmpeg("-i", str(clip), "-t", "0.5", "-vf", "scale=160:90", "-c:v", "libx264", "-g", "4", "-an", str(out))
    return out.read_bytes()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_videos_give_frames_or_a_facetools_error(tiny_video: bytes, tmp_path_factory: pytest.TempPathFactory, data) -> None:
    blob = bytearray(tiny_video)
    cut = data.draw(st.integers(min_value=1, max_value=len(blob)), label="length")
    del blob[cut:]
    for _ in range(data.draw(st.integers(0, 20), label="flips")):
        pos = data.draw(st.integers(0, len(blob) - 1))
        blob[pos] = data.draw(st.integers(0, 255))
    path = tmp_path_factory.mktemp("fuzz") / "fuzzed.mp4"
    path.write_bytes(bytes(blob))
    try:
        info = probe(path)
        frames = sum(len(b) for b in FrameLoader(info, batch_size=4, timeout_s=20))
    except FacetoolsError as exc:
        assert str(exc).strip()
        return
    assert frames > 0 and np.isfinite(info.fps)


def test_batch_records_a_failing_video_and_goes_on(clip: Path, folder: Path, tmp_path: Path) -> None:
    from facetools import analyze_batch

    broken = folder / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 10)
    items = analyze_batch([broken, clip], tmp_path / "out", device="cpu", embedder="sface")
    assert [i.ok for i in items] == [False, True]
    assert "not a recognised video container" in items[0].error
    assert (tmp_path / "out" / "clip" / "identities.json").is_file()
    assert not (tmp_path / "out" / "broken").exists()


@pytest.mark.parametrize("kind", sorted({**corpus.VALID, **corpus.TOO_SMALL}))
def test_decord_gives_the_ffmpeg_loaders_frames_or_refuses_with_a_reason(kind: str, clip: Path, folder: Path) -> None:
    from facetools.io.decord_backend import DecordLoader, DecordUnsupported

    info = probe({**corpus.VALID, **corpus.TOO_SMALL}[kind](clip, folder))
    by_ffmpeg = list(FrameLoader(info, max_side=640))
    try:
        by_decord = list(DecordLoader(info, max_side=640))
    except DecordUnsupported as exc:  # refused up front: rotation metadata, variable frame rate
        assert kind in ("rotation 90", "variable frame rate") and str(exc), kind
        return
    except VideoDecodeError as exc:  # decord2 3.4 cannot copy out frames this small (measured): a one-line error, not a crash
        assert kind == "tiny 32x18" and "\n" not in str(exc), kind
        return
    assert np.array_equal(np.concatenate([b.indices for b in by_decord]), np.concatenate([b.indices for b in by_ffmpeg])), kind
    assert np.allclose(np.concatenate([b.times for b in by_decord]), np.concatenate([b.times for b in by_ffmpeg]), atol=1e-3), kind
    assert by_decord[0].frames.shape[1:] == by_ffmpeg[0].frames.shape[1:], kind
