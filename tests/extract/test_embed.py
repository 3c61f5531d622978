"""Embedders: real dlib weights separate two people and keep one person together; auto choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage import data

from facetools import ModelLoadError
from facetools.calibration import load_calibration
from facetools.extract.embed import DlibEmbedder, FaceNetEmbedder, load_embedder
from facetools.extract.faces import cut_patch, face_quality
from facetools.extract.quality import estimate_yaw, laplacian_variance
from facetools.geometry import cosine_distances

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dlib_embedder() -> DlibEmbedder:
    return DlibEmbedder()


def _patch(image: np.ndarray, detector, scale: float = 1.0, gain: float = 1.0):
    import torch

    if scale != 1.0:
        t = torch.nn.functional.interpolate(
            torch.from_numpy(image).permute(2, 0, 1)[None].float(), scale_factor=scale, mode="bilinear", antialias=True
        )
        image = t.round().clamp(0, 255).byte()[0].permute(1, 2, 0).numpy()
    image = np.clip(image.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    face = detector.largest(image)
    return cut_patch(image, face.boxes[0], face.landmarks[0], float(face.scores[0]))


def test_dlib_separates_two_people_and_keeps_one_together(dlib_embedder: DlibEmbedder, detector) -> None:
    astronaut = data.astronaut()
    camera = np.repeat(data.camera()[..., None], 3, axis=2)
    patches = [_patch(astronaut, detector), _patch(astronaut, detector, scale=0.6, gain=0.6), _patch(camera, detector)]
    emb = dlib_embedder.embed(patches)
    assert emb.shape == (3, 128)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    d = cosine_distances(emb, emb)
    threshold = load_calibration("dlib").threshold
    assert d[0, 1] < threshold / 2, "same photo, smaller and darker"
    assert d[0, 2] > 2 * threshold, "astronaut vs cameraman"


def test_dlib_threshold_separates_the_shared_photos(dlib_embedder: DlibEmbedder, detector, shared_data: Path) -> None:
    from facetools.extract.gallery import gallery_photos

    labels, patches = [], []
    for name, paths in gallery_photos(shared_data / "faces").items():
        for path in paths:
            from PIL import Image

            patches.append(_patch(np.asarray(Image.open(path).convert("RGB")), detector))
            labels.append(name)
    d = cosine_distances(*(2 * [dlib_embedder.embed(patches)]))
    same = np.equal.outer(labels, labels) & ~np.eye(len(labels), dtype=bool)
    different = ~np.equal.outer(labels, labels)
    assert d[same].max() < load_calibration("dlib").threshold < d[different].min()


def test_cut_patch_keeps_box_and_limits_size() -> None:
    frame = np.zeros((1000, 1000, 3), dtype=np.uint8)
    box = np.array([400, 400, 700, 700], dtype=np.float32)
    landmarks = np.array([[480, 500], [620, 500], [550, 560], [490, 620], [610, 620]], dtype=np.float32)
    patch = cut_patch(frame, box, landmarks, 0.99, max_face=150)
    assert patch.box[3] - patch.box[1] == pytest.approx(150, abs=1)
    assert patch.image.shape[0] == pytest.approx(150 * 1.8, abs=2)


def test_face_quality_prefers_sharp_frontal_faces() -> None:
    rng = np.random.default_rng(0)
    sharp = laplacian_variance(rng.integers(0, 255, (80, 80)).astype(np.float32))
    flat = laplacian_variance(np.full((80, 80), 128.0))
    frontal = estimate_yaw(np.array([[20, 30], [60, 30], [40, 50], [25, 65], [55, 65]], dtype=np.float32))
    profile = estimate_yaw(np.array([[20, 30], [60, 30], [62, 50], [25, 65], [55, 65]], dtype=np.float32))
    assert face_quality(0.99, 80, frontal, sharp) > face_quality(0.99, 80, frontal, flat)
    assert face_quality(0.99, 80, frontal, sharp) > face_quality(0.99, 80, profile, sharp)
    assert face_quality(0.99, 80, frontal, sharp) > face_quality(0.99, 30, frontal, sharp)


def test_auto_takes_sface_then_dlib_without_facenet_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from facetools.extract import embed

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert load_embedder("auto").name == "sface"
    monkeypatch.setattr(embed.opencv_zoo, "installed", lambda file: False)
    assert load_embedder("auto").name == "dlib"
    with pytest.raises(ModelLoadError, match="FaceNet weights not found"):
        load_embedder("facenet")
    with pytest.raises(ModelLoadError, match="unknown embedder"):
        load_embedder("arcface")


def test_an_opencv_that_cannot_read_sface_is_named_and_auto_takes_dlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenCV 5.0 reads SFace's file but cannot rebuild it (no ``getLayersShapes``): seen on a GPU machine's image."""
    import cv2

    from facetools.extract.sface import SFaceEmbedder

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(cv2, "__version__", "5.0.0")
    with pytest.raises(ModelLoadError, match=r"OpenCV 5\.0\.0 cannot load .*<5"):
        SFaceEmbedder()
    assert load_embedder("auto").name == "dlib"


def test_facenet_input_matches_facenet_pytorch(detector) -> None:
    """Our crop equals facenet-pytorch's extract_face + fixed_image_standardization on real faces."""
    from facenet_pytorch.models.mtcnn import fixed_image_standardization
    from facenet_pytorch.models.utils.detect_face import extract_face
    from PIL import Image

    from ..conftest import SHARED

    images = [data.astronaut()]
    images += [np.asarray(Image.open(p).convert("RGB")) for p in sorted((SHARED / "faces").glob("*/*"))[:6]]
    for image in images:
        face = detector.largest(image)
        patch = cut_patch(image, face.boxes[0], face.landmarks[0], float(face.scores[0]))
        ours = FaceNetEmbedder.preprocess(patch)
        theirs = fixed_image_standardization(extract_face(Image.fromarray(patch.image), patch.box, 160, 0))
        assert ours.shape == theirs.shape == (3, 160, 160)
        assert float((ours - theirs).abs().max()) < 1e-2


def test_sface_in_torch_equals_opencv_on_real_faces(detector) -> None:
    """The network rebuilt in torch gives OpenCV's embeddings of the bundled file, in one batch as one at a time."""
    import cv2
    from PIL import Image

    from facetools.extract.opencv_zoo import model_path
    from facetools.extract.sface import SFACE_FILE, SFACE_SHA256, SFaceEmbedder

    from ..conftest import SHARED

    embedder = SFaceEmbedder("float32")
    images = [data.astronaut()] + [np.asarray(Image.open(p).convert("RGB")) for p in sorted((SHARED / "people").glob("*/*"))[:7]]
    patches = [_patch(image, detector) for image in images]
    net = cv2.dnn.readNetFromONNX(str(model_path(SFACE_FILE, SFACE_SHA256)))
    expected = []
    for p in patches:
        net.setInput(embedder.align(p).astype(np.float32).transpose(2, 0, 1)[None])
        expected.append(net.forward().reshape(-1))
    expected = np.stack(expected)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    batched = embedder.embed(patches)
    single = np.concatenate([embedder.embed([p]) for p in patches])
    assert np.abs(batched - expected).max() < 1e-4
    assert np.abs(single - batched).max() < 1e-5


def test_sface_in_bfloat16_decides_as_float32_on_real_people(detector) -> None:
    """bfloat16 (``auto``'s choice on CPUs that multiply it natively) embeds every photo of ``people/`` within a cosine of
    0.999 of float32 and every pair's distance within 0.02 of float32's (measured: at most 0.013, median 0.0009), on the same
    side of the calibrated threshold (the nearest pair lies 0.014 from it)."""
    from PIL import Image

    from facetools.extract.sface import SFaceEmbedder, native_bfloat16

    from ..conftest import SHARED

    exact, low = SFaceEmbedder("float32"), SFaceEmbedder("bfloat16")
    assert (low.precision, exact.precision) == ("bfloat16", "float32")
    assert SFaceEmbedder().precision == ("bfloat16" if native_bfloat16() else "float32")
    patches = [_patch(np.asarray(Image.open(p).convert("RGB")), detector) for p in sorted((SHARED / "people").glob("*/*.jpg"))]
    a, b = exact.embed(patches), low.embed(patches)
    assert len(patches) == 61 and float((a * b).sum(1).min()) > 0.999
    da, db = cosine_distances(a, a), cosine_distances(b, b)
    assert np.abs(da - db).max() < 0.02
    threshold = load_calibration("sface").threshold
    assert ((da < threshold) == (db < threshold)).all()


def test_native_bfloat16_reads_the_cpu_flags(tmp_path: Path) -> None:
    from facetools.extract.sface import native_bfloat16

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    assert not native_bfloat16(cpuinfo)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 avx512_vnni\n")
    assert native_bfloat16(cpuinfo)
    assert not native_bfloat16(tmp_path / "missing")


def test_a_bfloat16_that_fails_the_load_check_leaves_auto_in_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    """``auto`` falls back to float32 (not to another embedder); asked for by name, bfloat16 refuses; a misspelt precision is
    an input error, not a reason for ``auto`` to take dlib."""
    import torch

    from facetools import InputValidationError
    from facetools.extract import sface

    lower = sface._MobileFaceNet.to_bfloat16

    def broken(net) -> None:  # a CPU whose bfloat16 arithmetic is wrong
        lower(net)
        with torch.no_grad():
            net.features[0].weight.neg_()

    monkeypatch.setattr(sface, "native_bfloat16", lambda: True)
    monkeypatch.setattr(sface._MobileFaceNet, "to_bfloat16", broken)
    assert sface.SFaceEmbedder().precision == "float32"
    with pytest.raises(ModelLoadError, match="bfloat16 embeddings differ"):
        sface.SFaceEmbedder("bfloat16")
    with pytest.raises(InputValidationError, match="embed_precision 'bf16'"):
        load_embedder("auto", precision="bf16")
