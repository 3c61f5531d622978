"""``people.html`` for a big batch: faces linked, not embedded; a person's videos past the first few folded; 100 people a page."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facetools.config import Config
from facetools.identify.rules import calibrated_rules
from facetools.identify.suggestions import Suggestion
from facetools.people.index import Appearance, PeopleIndex, Person
from facetools.people.page import PEOPLE_PER_PAGE, VIDEOS_SHOWN, write_page
from facetools.trackset.records import EmbeddingSpace
from tests.outputs.scale import linked_images

VIDEOS = 100
NAME = "<b>Ada</b> & co"


def _index(folder: Path, people: int) -> PeopleIndex:
    """``people`` people: person 0, named ``NAME``, in ``VIDEOS`` videos, the others in one each, two faces per appearance;
    a suggestion that the first and the last may be one."""
    (folder / "thumbnails").mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(folder / "thumbnails" / "face.jpg")
    rng = np.random.default_rng(0)

    def appearance(video: int) -> Appearance:
        return Appearance(f"/videos/video_{video:03d}.mp4", f"/runs/video_{video:03d}", 0, "person 0", False, 60.0, [(1.0, 5.0)], [0], 12,
                          False, rng.normal(size=8), ["thumbnails/face.jpg", "thumbnails/face.jpg"])  # fmt: skip

    crowd = [Person(0, NAME, [appearance(v) for v in range(VIDEOS)])]
    crowd += [Person(k, f"person {k}", [appearance(k % VIDEOS)]) for k in range(1, people)]
    rules, _cal = calibrated_rules("sface", Config())
    suggestions = [Suggestion(0, people - 1, 0.6, 0.5, "close")] if people > 1 else []
    return PeopleIndex(EmbeddingSpace("sface", "0" * 64, "v1-test"), rules, [a.run for a in crowd[0].appearances], crowd, suggestions)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="person-\d+">.*?</td></tr>\n', html, flags=re.S)


def test_a_person_in_a_hundred_videos_shows_the_first_few_and_folds_the_rest(tmp_path: Path) -> None:
    page = write_page(_index(tmp_path, 3), tmp_path)
    html = page.read_text(encoding="utf-8")
    first = _rows(html)[0]
    shown, folded = first.split("<details>")
    assert shown.count("<svg") == VIDEOS_SHOWN and f"<summary>{VIDEOS - VIDEOS_SHOWN} more videos</summary>" in folded
    assert folded.count("<svg") == VIDEOS - VIDEOS_SHOWN
    assert "<details>" not in _rows(html)[1], "one video: nothing folded"
    assert "&lt;b&gt;Ada&lt;/b&gt; &amp; co" in html and NAME not in html
    assert "data:image" not in html and all(p.is_file() for p in linked_images(page))
    assert len(page.read_bytes()) < 200_000


def test_people_past_a_hundred_go_on_further_pages_linked_from_each(tmp_path: Path) -> None:
    count = 2 * PEOPLE_PER_PAGE + 30
    first = write_page(_index(tmp_path, count), tmp_path)
    pages = [first, tmp_path / "people-2.html", tmp_path / "people-3.html"]
    texts = [p.read_text(encoding="utf-8") for p in pages]
    assert [len(_rows(t)) for t in texts] == [PEOPLE_PER_PAGE, PEOPLE_PER_PAGE, 30]
    assert [re.findall(r'id="person-(\d+)"', t)[0] for t in texts] == ["0", "100", "200"]
    for t in texts:
        assert 'href="people.html">1–100</a>' in t or "<b>1–100</b>" in t
        assert 'href="people-3.html">201–230</a>' in t or "<b>201–230</b>" in t
    assert f'href="people-3.html#person-{count - 1}"' in texts[0], "a suggestion links to the page of its person"
    assert "Same person?" not in texts[1]
    write_page(_index(tmp_path, 5), tmp_path)
    assert not (tmp_path / "people-2.html").exists() and not (tmp_path / "people-3.html").exists(), "pages of a longer index go"
    assert "People 1–" not in first.read_text(encoding="utf-8")


@pytest.mark.parametrize("people", [0, 1])
def test_small_indexes_make_one_page(tmp_path: Path, people: int) -> None:
    index = _index(tmp_path, 1)
    index.people = index.people[:people]
    page = write_page(index, tmp_path)
    assert len(_rows(page.read_text(encoding="utf-8"))) == people and not list(tmp_path.glob("people-*.html"))
