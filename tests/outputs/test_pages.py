"""``index.html`` links the runs' thumbnail files (relative, URL-quoted paths) instead of embedding them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from facetools.outputs.analysis import Analysis
from facetools.outputs.pages import write_index
from tests.outputs.scale import linked_images


def test_the_index_links_each_runs_thumbnails(sample_analysis: Analysis, tmp_path: Path) -> None:
    root = tmp_path / "reports"
    run = sample_analysis.save(root / "sample")
    shutil.copytree(run, root / "clip #2 50%")  # a folder name that must be quoted in a URL
    for folder in (run, root / "clip #2 50%"):
        (folder / "status.json").write_text(json.dumps({"video": "v", "status": "ok", "error": "", "seconds": 1.0}))
        (folder / "report.html").write_text("<html>stand-in</html>")
    page = write_index(root)
    text = page.read_text(encoding="utf-8")
    assert "data:image" not in text
    images = linked_images(page)
    assert len(images) == 2 * len(sample_analysis.identities) and all(p.is_file() for p in images)
    assert 'src="clip%20%232%2050%25/thumbnails/identity_0.jpg"' in text and 'href="clip%20%232%2050%25/report.html"' in text
    assert {p.parent.parent.name for p in images} == {"sample", "clip #2 50%"}
