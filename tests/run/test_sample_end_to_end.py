"""End to end on the bundled sample against its ground truth."""

from __future__ import annotations

import numpy as np

from facetools.devdata.evaluate import evaluate
from facetools.devdata.synth import truth_segments
from facetools.extract.sface import native_bfloat16


def test_two_identities_with_real_screen_time(sample_analysis) -> None:
    long_enough = [p for p in sample_analysis.identities if p.screen_time_s >= 1.0]
    assert len(long_enough) == 2
    assert sample_analysis.embedder == "sface" and sample_analysis.run.embedder == "sface"


def test_each_person_lands_in_one_identity(sample_analysis, sample_truth) -> None:
    result = evaluate(sample_analysis, sample_truth)
    assert set(result.coverage) == {"astronaut", "cameraman"}
    assert all(c >= 0.95 for c in result.coverage.values()), result.coverage
    assert result.identity_of["astronaut"] != result.identity_of["cameraman"]
    assert result.bcubed_f1 >= 0.97 and result.false_faces == 0


def test_empty_shots_have_no_faces(sample_analysis, sample_truth) -> None:
    with_people = {row[0] for rows in sample_truth["people"].values() for row in rows}
    empty_shots = [(a, b) for a, b in sample_truth["shots"] if not any(a <= f < b for f in with_people)]
    assert len(empty_shots) == 2
    frames = sample_analysis.faces["frame"].to_numpy()
    for a, b in empty_shots:
        assert not np.any((frames >= a) & (frames < b)), f"faces found in the empty shot {a}-{b}"


def test_segments_match_the_truth_within_half_a_second(sample_analysis, sample_truth) -> None:
    result = evaluate(sample_analysis, sample_truth)
    for person, truth in truth_segments(sample_truth).items():
        found = sample_analysis.identity(result.identity_of[person]).segments
        assert len(found) == len(truth), (person, found, truth)
        for (s, e), (ts, te) in zip(found, truth):
            assert abs(s - ts) <= 0.5 and abs(e - te) <= 0.5, (person, found, truth)


def test_shot_cuts_are_found(sample_analysis, sample_truth) -> None:
    assert sample_analysis.run.shots == len(sample_truth["shots"])
    assert set(sample_analysis.tracks["shot"]) <= set(range(len(sample_truth["shots"])))


def test_run_json_records_the_run(sample_analysis) -> None:
    run = sample_analysis.run
    assert run.frames_decoded == 500 and run.frames_detected == 100 and run.stride == 5
    # a full pass at each of the shots' first sampled frames and every 0.4 s (10 frames) after; re-detection between
    assert run.shots <= run.full_passes <= 50 + run.shots and "redetect" in run.stage_seconds
    assert sample_analysis.faces["frame"].nunique() > run.full_passes, "faces are found on frames between full passes too"
    assert run.device == "cpu" and run.decoder == "ffmpeg-cpu"
    assert {"detect", "embed", "decode_wait"} <= set(run.stage_seconds) and run.identify_seconds > 0
    assert run.peak_rss_mb > 0 and run.frames_per_second > 0
    assert "torch" in run.versions and run.config["embedder"] == "sface" and run.space.startswith("sface/")
    assert run.embedder_precision == ("bfloat16" if native_bfloat16() else "float32")
    util = sample_analysis.utilization
    assert len(util) >= 2 and util["cpu_percent"].notna().all()
    assert "detect, track" in set(util["stage"])
