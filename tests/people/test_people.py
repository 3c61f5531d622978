"""People across videos: three cast videos of real people (overlapping casts, a look-alike pair) plus the sample.

``people`` must give one person per true person (BCubed over faces), ``find`` with an unseen photo
of each person must return exactly their videos and their time there, nothing for a stranger,
one-line errors for bad photos; names stay text on every page; mixed embedding spaces are refused;
``--forget`` leaves nothing ``find`` can match.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facetools import analyze
from facetools.cli import main
from facetools.devdata.cast_videos import cast_video
from facetools.devdata.evaluate import bcubed, label_faces
from facetools.devdata.synth import truth_segments
from facetools.extract.mtcnn_detector import MtcnnDetector
from facetools.intervals import merge_intervals, overlap_seconds
from facetools.outputs.analysis import Analysis
from facetools.people import PhotoError, SpaceMismatchError, find, forget, people
from facetools.trackset.records import EmbeddingSpace
from facetools.trackset.store import Edits, load_tracks, save_tracks

pytestmark = pytest.mark.slow

# person_01 and person_03 are in all three videos (a different photo in each), person_07 and person_08
# (the closest pair of different people in shared/data/people, SFace distance 0.58) in one each, and
# person_10 and person_05 in one each. Two-photo shots put people in one frame.
CASTS = {
    "alpha": [("person_01/img1.jpg",), ("person_03/img8.jpg",), ("person_07/img33.jpg",), ("person_10/img18.jpg",),
              ("person_01/img1.jpg", "person_03/img8.jpg")],
    "beta": [("person_03/img9.jpg",), ("person_08/img35.jpg",), ("person_01/img2.jpg",), ("person_08/img35.jpg", "person_01/img2.jpg")],
    "gamma": [("person_05/img13.jpg",), ("person_01/img4.jpg",), ("person_03/img47.jpg",), ("person_05/img13.jpg", "person_03/img47.jpg")],
}  # fmt: skip
FIND_PHOTOS = {"person_01": "person_01/img5.jpg", "person_03": "person_03/img48.jpg", "person_07": "person_07/img29.jpg",
               "person_08": "person_08/img34.jpg", "person_10": "person_10/img19.jpg", "person_05": "person_05/img14.jpg"}  # fmt: skip
ABSENT = "person_13/img24.jpg"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="session")
def cast(shared_data: Path, tmp_path_factory: pytest.TempPathFactory, sample_analysis: Analysis, sample_truth: dict) -> dict[str, dict]:
    """The four runs, analysed once: ``{name: {"run": dir, "truth": ground truth}}`` under one folder of runs."""
    root = tmp_path_factory.mktemp("cast")
    detector = MtcnnDetector("cpu", long_side=480)
    out: dict[str, dict] = {}
    for name, shots in CASTS.items():
        video = root / "videos" / f"{name}.mp4"
        truth = cast_video(shared_data / "people", shots, video, detector)
        analyze(video, device="cpu", embedder="sface", stride=10).save(root / "runs" / name)
        out[name] = {"run": root / "runs" / name, "truth": truth}
    sample_analysis.save(root / "runs" / "sample")
    out["sample"] = {"run": root / "runs" / "sample", "truth": sample_truth}
    return out


@pytest.fixture(scope="session")
def index_dir(cast: dict[str, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("people")
    people([c["run"] for c in cast.values()], out)
    return out


def _copy_runs(cast: dict[str, dict], dest: Path, names: list[str] | None = None) -> list[Path]:
    runs = []
    for name in names or list(cast):
        shutil.copytree(cast[name]["run"], dest / name)
        runs.append(dest / name)
    return runs


def test_one_person_per_true_person_across_videos(cast: dict[str, dict], index_dir: Path) -> None:
    meta = json.loads((index_dir / "people.json").read_text())
    person_of = {(a["run"], a["identity"]): p["person"] for p in meta["people"] for a in p["appearances"]}
    predicted, true = [], []
    for c in cast.values():
        analysis = Analysis.load(c["run"])
        faces = analysis.faces.assign(label=label_faces(analysis.faces, c["truth"]))
        for _, row in faces[(faces["identity"] >= 0) & faces["label"].notna()].iterrows():
            predicted.append(person_of[(str(Path(c["run"]).resolve()), int(row["identity"]))])
            true.append(row["label"])
    precision, recall, _ = bcubed(predicted, true)
    assert precision == 1.0 and recall >= 0.9, (precision, recall)
    assert len(set(true)) == 8 and len(meta["people"]) >= 8
    html = (index_dir / "people.html").read_text()
    assert html.count('<tr id="person-') == len(meta["people"]) and "<svg" in html
    assert 'src="thumbnails/' in html and "data:image" not in html, "faces are linked, not embedded"


def test_people_needs_no_torch(cast: dict[str, dict], tmp_path: Path) -> None:
    runs = [str(c["run"]) for c in cast.values()]
    code = (f"import sys; import facetools.people as fp; index = fp({runs!r}, {str(tmp_path)!r}); "
            "assert 'torch' not in sys.modules, 'torch imported'; print(len(index.people))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) >= 8


def test_find_returns_every_video_of_the_person_and_their_time_there(shared_data: Path, cast: dict[str, dict], index_dir: Path) -> None:
    for label, photo in FIND_PHOTOS.items():
        in_dir = index_dir if label != "person_10" else cast["alpha"]["run"].parent  # a folder of runs works too
        matches = find(shared_data / "people" / photo, in_dir)
        expected = {name for name, c in cast.items() if label in c["truth"]["people"]}
        assert {Path(m.run).name for m in matches} == expected, (label, [m.to_dict() for m in matches])
        assert [m.distance for m in matches][0] == min(m.distance for m in matches)
        for name in expected:
            truth = truth_segments(cast[name]["truth"])[label]
            got = merge_intervals([s for m in matches if Path(m.run).name == name for s in m.segments], 0.0)
            inside = overlap_seconds(got, truth)
            assert inside >= 0.9 * sum(e - s for s, e in truth), (label, name, got, truth)
            assert inside >= 0.95 * sum(e - s for s, e in got), (label, name, got, truth)


def test_find_of_somebody_absent_returns_nothing(shared_data: Path, index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["find", str(shared_data / "people" / ABSENT), "--in", str(index_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_bad_photos_give_one_line_errors(shared_data: Path, index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture\n")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((shared_data / "people" / FIND_PHOTOS["person_05"]).read_bytes()[:2500])
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((240, 320, 3), 128, np.uint8)).save(blank)
    left = np.asarray(Image.open(shared_data / "people" / FIND_PHOTOS["person_05"]).convert("RGB").resize((300, 400)))
    right = np.asarray(Image.open(shared_data / "people" / ABSENT).convert("RGB").resize((300, 400)))
    pair = tmp_path / "pair.jpg"
    Image.fromarray(np.concatenate([left, right], axis=1)).save(pair)
    for path, words in [(text, "not an image"), (broken, "cannot be decoded"), (blank, "no face"), (pair, "--face"),
                        (tmp_path / "missing.jpg", "no such photo")]:  # fmt: skip
        with pytest.raises(PhotoError, match=words) as info:
            find(path, index_dir)
        assert "\n" not in str(info.value)
        assert main(["find", str(path), "--in", str(index_dir)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err
    assert {Path(m.run).name for m in find(pair, index_dir, face=1)} == {"gamma"}  # the left face: person_05
    assert find(pair, index_dir, face=2) == []


def test_names_are_text_on_the_index_report_and_people_page(shared_data: Path, cast: dict[str, dict], tmp_path: Path) -> None:
    from facetools.run.report import report, rerender

    root = tmp_path / "reports"
    runs = _copy_runs(cast, root, ["alpha", "beta", "sample"])
    sample = runs[2]
    astronaut = Analysis.load(sample).identities[0]
    Edits(names={SCRIPT: astronaut.tracks}).save(sample)
    Analysis.load(sample).save(sample, tracks=False)
    for run in runs:
        video = load_tracks(run).video.path
        (run / "status.json").write_text(json.dumps({"video": video, "status": "ok", "error": "", "seconds": 1.0}))
        (run / "report.html").write_text("<html>stand-in</html>")
    rerender(sample)
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    shutil.copy(shared_data / "people" / "person_10" / "img67.jpg", gallery / "<script>alert(2).jpg")
    videos = [load_tracks(r).video.path for r in runs]
    assert all(r.status == "skipped" for r in report(videos, root))  # complete reports are skipped; the people page is built
    index = (root / "index.html").read_text()
    assert 'href="people/people.html"' in index
    page = (root / "people" / "people.html").read_text()
    for text in (index, page, (sample / "report.html").read_text()):
        assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    people(runs, root / "people", gallery=gallery)
    page = (root / "people" / "people.html").read_text()
    assert "&lt;script&gt;alert(2)" in page and "<script>alert" not in page
    assert main(["report", *videos, "--out", str(root), "--no-people"]) == 0


def test_runs_in_different_embedding_spaces_are_refused(cast: dict[str, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = _copy_runs(cast, tmp_path, ["alpha", "beta", "gamma"])
    tracks = load_tracks(runs[1])
    save_tracks(replace(tracks, space=EmbeddingSpace("dlib", "0" * 64, "v1-00000000")), runs[1])
    with pytest.raises(SpaceMismatchError) as info:
        people(runs, tmp_path / "people")
    assert "\n" not in str(info.value) and str(runs[1].resolve()) in str(info.value) and str(runs[0].resolve()) not in str(info.value)
    assert main(["people", *map(str, runs), "--out", str(tmp_path / "people")]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_forget_deletes_a_person_from_every_run_and_the_index(
    shared_data: Path, cast: dict[str, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = _copy_runs(cast, tmp_path / "runs", ["alpha", "beta", "gamma"])
    out = tmp_path / "people"
    people(runs, out)
    photo = shared_data / "people" / FIND_PHOTOS["person_01"]
    before = find(photo, out)
    assert {Path(m.run).name for m in before} == {"alpha", "beta", "gamma"}
    gone = {m.run: m.identity for m in before}
    tracks_before = {run: set(Analysis.load(run).identity(gone[run]).tracks) for run in gone}
    assert main(["people", *map(str, runs), "--out", str(out), "--forget", before[0].person]) == 0
    assert "forgot" in capsys.readouterr().out
    assert find(photo, out) == []
    assert find(photo, tmp_path / "runs") == []
    for run, ids in tracks_before.items():
        kept = load_tracks(run)
        assert not ids & {r.id for r in kept.tracks} and not ids & set(kept.faces["track"])
        assert any("forgotten" in w for w in kept.run.warnings)
    assert {Path(m.run).name for m in find(shared_data / "people" / FIND_PHOTOS["person_03"], out)} == {"alpha", "beta", "gamma"}
    with pytest.raises(Exception, match="no person"):
        forget("nobody", runs, out)
