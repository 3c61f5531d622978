"""Reports opened in a real headless Chromium: every image loads and the page is not blank."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facetools.outputs.pages import PEOPLE_PAGE, write_index
from facetools.run.report import report, reports_people_page

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Appended to a copy of the page: after load, the browser writes how many images failed to load.
PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images];
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  document.body.insertAdjacentHTML('beforeend', `<p id="probe">images=${imgs.length} broken=${broken}</p>`);
});</script>"""


def _chromium(page: Path, tmp: Path, *args: str) -> str:
    profile = tmp / "profile"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args, page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


@pytest.fixture(scope="module")
def reports(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of reports opened as files: the sample's, and a copy of it under a name that must be quoted in a URL, so that
    the index and the people page link the thumbnails of two runs."""
    if CHROMIUM is None:
        pytest.skip("Chromium not installed (scripts/system-deps.sh --browser installs it)")
    out = tmp_path_factory.mktemp("reports")
    report([str(sample)], out, parameters={"embedder": "sface", "device": "cpu"})
    copy = shutil.copytree(out / "sample", out / "sample #2")
    assert reports_people_page(out, [out / "sample", copy]) is not None
    write_index(out)
    return out


PAGES = ["index.html", "sample/report.html", PEOPLE_PAGE]


@pytest.mark.parametrize("page", PAGES)
def test_every_image_loads(reports: Path, tmp_path: Path, page: str) -> None:
    original = reports / page
    probed = original.with_name(f"probed_{original.name}")
    probed.write_text(original.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium(probed, tmp_path, "--dump-dom")
    found = re.search(r'id="probe">images=(\d+) broken=(\d+)', dom)
    assert found, "the page did not finish loading"
    images, broken = map(int, found.groups())
    assert images >= {"index.html": 4, PEOPLE_PAGE: 2}.get(page, 5)
    assert broken == 0


@pytest.mark.parametrize("page", PAGES)
def test_page_is_not_blank(reports: Path, tmp_path: Path, page: str) -> None:
    shot = tmp_path / "shot.png"
    _chromium(reports / page, tmp_path, f"--screenshot={shot}", "--window-size=1200,1600")
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.std() > 10, "screenshot is (nearly) uniform"
    assert (pixels < 200).mean() > 0.003, "hardly anything drawn: no text or images rendered"
