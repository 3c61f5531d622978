"""Both detectors (MTCNN on batches, YuNet): boxes and landmarks on real faces, mapped back to original pixels when downscaled."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data

from facetools.devdata.sample import ASTRONAUT_FACE
from facetools.errors import ModelLoadError
from facetools.extract.detect import detector_name, load_detector
from facetools.extract.detections import Detections, Detector
from facetools.extract.mtcnn_detector import MtcnnDetector
from facetools.geometry import iou_matrix


@pytest.fixture(scope="module", params=["mtcnn", "yunet"])
def any_detector(request: pytest.FixtureRequest) -> Detector:
    return load_detector(request.param, torch.device("cpu"))


def test_auto_takes_yunet_on_the_cpu_and_mtcnn_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    from facetools.extract import opencv_zoo

    assert load_detector("auto", torch.device("cpu")).name == "yunet"
    assert detector_name("auto", torch.device("cuda")) == "mtcnn"
    monkeypatch.setattr(opencv_zoo, "installed", lambda file: False)
    assert load_detector("auto", torch.device("cpu")).name == "mtcnn"
    with pytest.raises(ModelLoadError, match="unknown detector"):
        load_detector("retinaface", torch.device("cpu"))


def test_finds_the_astronaut(any_detector: Detector) -> None:
    found = any_detector.detect(torch.from_numpy(data.astronaut()[None]), np.array([7]))
    assert len(found) == 1 and found.frame.tolist() == [7]
    assert found.scores[0] > 0.9
    assert iou_matrix(found.boxes, np.array([ASTRONAUT_FACE]))[0, 0] > 0.75
    left_eye, right_eye = found.landmarks[0, 0], found.landmarks[0, 1]
    assert left_eye[0] < right_eye[0]


@pytest.mark.parametrize("name", ["mtcnn", "yunet"])
def test_downscaled_detection_maps_back_to_full_resolution(name: str) -> None:
    big = torch.nn.functional.interpolate(torch.from_numpy(data.astronaut()).permute(2, 0, 1)[None].float(), scale_factor=3)
    frames = big.round().clamp(0, 255).byte().permute(0, 2, 3, 1)
    small = load_detector(name, torch.device("cpu"), long_side=512).detect(frames, np.array([0]))
    assert len(small) == 1
    expected = np.array([ASTRONAUT_FACE]) * 3
    assert iou_matrix(small.boxes, expected)[0, 0] > 0.85


def test_batch_of_frames_keeps_frame_numbers(any_detector: Detector) -> None:
    empty = np.zeros((512, 512, 3), dtype=np.uint8)
    frames = torch.from_numpy(np.stack([data.astronaut(), empty, data.astronaut()]))
    found = any_detector.detect(frames, np.array([10, 11, 12]))
    assert found.frame.tolist() == [10, 12]


def test_detections_validate_shapes() -> None:
    import pytest

    with pytest.raises(ValueError):
        Detections(np.zeros(2, dtype=np.int64), np.zeros((1, 4)), np.zeros(2), np.zeros((2, 5, 2)))
    assert len(Detections.concat([])) == 0


def test_around_finds_a_face_that_moved_and_nothing_on_background(any_detector: Detector) -> None:
    """Re-detection near a predicted box: the astronaut's face, predicted 30 % of its size off and 20 % too small."""
    frame = torch.from_numpy(data.astronaut())
    face = np.array(ASTRONAUT_FACE, np.float32)
    size = face[2:] - face[:2]
    off = face + np.array([0.3 * size[0], -0.3 * size[1], 0.3 * size[0] - 0.2 * size[0], -0.3 * size[1] - 0.2 * size[1]])
    background = np.array([400, 400, 460, 460], np.float32)  # the suit and the flag, no face
    found, others = any_detector.around(frame, np.stack([off, background]), frame_no=9)
    assert found.frame.tolist() == [9, 9]
    assert iou_matrix(found.boxes[:1], face[None])[0, 0] > 0.75 and found.scores[0] > 0.9
    assert np.isnan(found.boxes[1]).all() and found.scores[1] == 0
    assert len(others) == 0


def test_around_reports_newcomers_only_where_it_sees_the_whole_frame(any_detector: Detector) -> None:
    """No track near the astronaut: MTCNN, looking only around the boxes, sees nothing; YuNet reports her as a newcomer."""
    found, others = any_detector.around(torch.from_numpy(data.astronaut()), np.array([[400, 400, 460, 460]], np.float32), frame_no=4)
    assert found.scores.tolist() == [0]
    if isinstance(any_detector, MtcnnDetector):
        assert len(others) == 0
    else:
        assert others.frame.tolist() == [4] and iou_matrix(others.boxes, np.array([ASTRONAUT_FACE]))[0, 0] > 0.75


def test_yunet_pairs_predicted_boxes_and_faces_one_to_one() -> None:
    """Two tracks predicted near the astronaut's face: one takes it, the other finds nothing, and she is no newcomer."""
    face = np.array(ASTRONAUT_FACE, np.float32)
    size = face[2:] - face[:2]
    near, nearer = face + np.tile(0.3 * size, 2), face + np.tile(0.1 * size, 2)
    found, others = load_detector("yunet", torch.device("cpu")).around(torch.from_numpy(data.astronaut()), np.stack([near, nearer]))
    assert found.scores[0] == 0 and found.scores[1] > 0.9 and len(others) == 0


def test_around_maps_back_from_a_downscaled_frame(any_detector: Detector) -> None:
    """Boxes in original pixels on a frame decoded at half size (``scale`` 2) come back in original pixels."""
    half = torch.nn.functional.interpolate(torch.from_numpy(data.astronaut()).permute(2, 0, 1)[None].float(), scale_factor=0.5)
    frame = half.round().byte()[0].permute(1, 2, 0)
    face = np.array([ASTRONAUT_FACE], np.float32)
    found, _ = any_detector.around(frame, face + 8, scale=2.0)
    assert iou_matrix(found.boxes, face)[0, 0] > 0.75


def test_a_face_entering_between_full_passes_is_tracked_from_its_first_sampled_frame_with_yunet(tmp_path) -> None:
    """The astronaut's face appears 1.3 s into a shot whose next full pass is at 2 s: YuNet, which looks at the whole frame
    between full passes, starts her track at once (frame 35, the first sampled after 33); MTCNN, which looks only around
    tracks there, at the full pass (frame 50)."""
    import subprocess

    from PIL import Image

    from facetools.config import Config
    from facetools.extract.extractor import extract

    rng = np.random.default_rng(0)
    background = (rng.normal(120, 8, (360, 640, 3)).clip(0, 255)).astype(np.uint8)
    x1, y1, x2, y2 = (int(v) for v in ASTRONAUT_FACE)
    face = data.astronaut()[max(0, y1 - 20) : y2 + 20, max(0, x1 - 20) : x2 + 20]
    with_face = background.copy()
    with_face[100 : 100 + face.shape[0], 300 : 300 + face.shape[1]] = face
    Image.fromarray(background).save(tmp_path / "empty.png")
    Image.fromarray(with_face).save(tmp_path / "face.png")
    video = tmp_path / "enters.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-loop", "1", "-t", "1.32", "-i", str(tmp_path / "empty.png"), "-loop", "1",
                    "-t", "1.68", "-i", str(tmp_path / "face.png"), "-filter_complex", "[0][1]concat=n=2:v=1,fps=25,format=yuv420p",
                    str(video)], check=True)  # fmt: skip
    first = {}
    for name in ("yunet", "mtcnn"):
        tracks = extract(video, Config(device="cpu", detector=name, embedder="sface", full_pass_s=2.0))
        assert tracks.run.shots == 1 and tracks.run.detector == name
        first[name] = int(tracks.faces.frame.min())
    assert first == {"yunet": 35, "mtcnn": 50}


def test_config_help_states_each_detectors_own_defaults() -> None:
    """``detect_long_side`` and ``min_score`` default to the detector's own values; their help says which."""
    from dataclasses import fields

    from facetools.config import Config
    from facetools.extract.yunet import YuNetDetector

    helps = {f.name: f.metadata["help"] for f in fields(Config)}
    assert f"MTCNN {MtcnnDetector.long_side}, YuNet {YuNetDetector.long_side}" in helps["detect_long_side"]
    assert f"MTCNN {MtcnnDetector.min_score}, YuNet {YuNetDetector.min_score}" in helps["min_score"]


def test_mtcnns_networks_equal_facenet_pytorchs_and_both_detectors_load_without_torchvision() -> None:
    """P-Net, R-Net and O-Net rebuilt from facenet-pytorch's files give its networks' outputs exactly; loading MTCNN or YuNet
    (whose landmarks O-Net places) imports neither facenet-pytorch nor torchvision, which pulls in torch._dynamo (1-2 s)."""
    import subprocess
    import sys

    from facenet_pytorch import MTCNN

    from facetools.extract.mtcnn_nets import load_nets

    model = MTCNN(device="cpu")
    theirs = (model.pnet, model.rnet.to(memory_format=torch.channels_last), model.onet.to(memory_format=torch.channels_last))
    crops = torch.from_numpy(data.astronaut()[None]).permute(0, 3, 1, 2).float()
    crops = (torch.nn.functional.interpolate(crops, size=(48, 48), mode="area") - 127.5) / 128
    crops = torch.cat([crops, torch.rand(3, 3, 48, 48) * 2 - 1])
    with torch.inference_mode():
        for ours, net, x in zip(load_nets(), theirs, (crops, crops[..., :24, :24], crops)):
            for got, want in zip(ours(x), net.eval()(x)):
                torch.testing.assert_close(got, want, rtol=0, atol=0)
    for name in ("yunet", "mtcnn"):
        load = f"from facetools.extract.detect import load_detector; load_detector('{name}', torch.device('cpu'))"
        code = f"import sys, torch; {load}; print(any(m in sys.modules for m in ('torchvision', 'facenet_pytorch')))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.split()[-1] == "False", name


def test_area_crops_from_a_summed_area_table_equal_one_interpolate_per_crop() -> None:
    """The CUDA path's crops: every box, odd sizes and image edges included, as ``interpolate(mode="area")`` of its crop."""
    from facetools.extract.mtcnn import area_crops, summed_area

    images = torch.rand(2, 3, 61, 83, generator=torch.Generator().manual_seed(0)) * 255
    spans = torch.tensor([[0, 0, 61, 0, 83], [1, 5, 17, 40, 41], [1, 30, 61, 70, 83], [0, 3, 50, 9, 60], [1, 0, 1, 0, 1]])
    image, y0, y1, x0, x1 = spans.T
    for size in (24, 48):
        got = area_crops(summed_area(images), image, y0, y1, x0, x1, size)
        want = torch.cat([torch.nn.functional.interpolate(images[i : i + 1, :, a:b, c:d], size=(size, size), mode="area")
                          for i, a, b, c, d in spans.tolist()])  # fmt: skip
        torch.testing.assert_close(got, want, rtol=0, atol=1e-3)


def test_candidates_whose_crop_lies_outside_the_image_are_dropped_with_their_box() -> None:
    """facetools drops them; ``detect_face`` skipped their crop but kept the box, misaligning boxes and crops."""
    from facetools.extract.mtcnn import _crops, summed_area

    images = torch.rand(1, 3, 50, 60) * 255
    boxes = torch.tensor([[70.0, 10, 90, 30, 0.9], [5, 5, 25, 25, 0.8], [10, 60, 30, 80, 0.7]])
    for table in (None, summed_area(images)):
        kept, image, crops = _crops(images, table, boxes, torch.zeros(3, dtype=torch.int64), 24)
        assert kept[:, 4].tolist() == [pytest.approx(0.8)] and crops.shape == (1, 3, 24, 24)


def test_mtcnn_cascade_equals_facenet_pytorchs_detect_face(shared_data) -> None:  # noqa: ANN001
    """Same boxes, scores and landmarks as facenet-pytorch's ``detect_face`` on a batch: a group photo's 6 faces, small ones."""
    from facenet_pytorch.models.utils.detect_face import detect_face
    from PIL import Image

    from facetools.extract.mtcnn import cascade

    photo = np.asarray(Image.open(shared_data / "images" / "group_multiface.jpg").convert("RGB"))
    images = torch.from_numpy(np.stack([photo, photo[::-1, ::-1]]).copy()).permute(0, 3, 1, 2).float()
    nets = MtcnnDetector("cpu")._nets
    with torch.inference_mode():
        ours = cascade(images, 12.0, nets, [0.6, 0.7, 0.7], 0.709)
        boxes, points = detect_face(images.permute(0, 2, 3, 1), 12.0, *nets, [0.6, 0.7, 0.7], 0.709, "cpu")
    assert [len(b) for b, _ in ours] == [len(b) for b in boxes] and len(ours[0][0]) >= 6
    for (b, p), want_b, want_p in zip(ours, boxes, points):
        np.testing.assert_array_equal(b, np.asarray(want_b, np.float32).reshape(-1, 5))
        np.testing.assert_array_equal(p, np.asarray(want_p, np.float32).reshape(-1, 5, 2))


def test_without_torchvisions_nms_mtcnn_says_what_to_install() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torchvision'] = None\n"  # an import that fails
        "from facetools.extract import mtcnn_nets as m\n"
        "m._package_dir = lambda name: None\n"  # and no library of it to load
        "try:\n    m.nms_operator()\nexcept m.ModelLoadError as exc:\n    print(exc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "torchvision's NMS is not available" in out.stdout and "pip install" in out.stdout
