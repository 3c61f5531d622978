"""``people.html``: a row per person, their best faces and a small timeline per video, linked to each video's report.

Faces are the people folder's thumbnail files, by relative path. A person's videos beyond the first
``VIDEOS_SHOWN`` fold into a ``<details>``; past ``PEOPLE_PER_PAGE`` people, the rows go on
``people-2.html``, ``people-3.html``, … linked from every page.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from facetools.outputs.pages import PEOPLE_PAGE, href, image
from facetools.people.index import Appearance, PeopleIndex, Person

PEOPLE_HTML = Path(PEOPLE_PAGE).name
TIMELINE_WIDTH = 320
FACES_PER_PERSON = 4
VIDEOS_SHOWN = 5
PEOPLE_PER_PAGE = 100


def timeline_svg(segments: list[tuple[float, float]], duration_s: float, width: int = TIMELINE_WIDTH, height: int = 12) -> str:
    """An inline SVG bar: the video's length, its on-screen segments filled."""
    scale = width / max(duration_s, 1e-6)
    bars = "".join(
        f'<rect x="{s * scale:.1f}" y="0" width="{max(1.0, (e - s) * scale):.1f}" height="{height}" fill="#2a7ae2"/>' for s, e in segments
    )
    return (f'<svg class="tl" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
            f'<rect width="{width}" height="{height}" fill="#e8e8e8"/>{bars}</svg>')  # fmt: skip


def _faces(folder: Path, person: Person, count: int) -> str:
    """A person's best ``count`` faces, two at most from each appearance."""
    return "".join(image(folder, t, person.name) for t in [t for a in person.appearances for t in a.thumbnails[:2]][:count])


def _video_link(run: str, video: str, folder: Path) -> str:
    label = html.escape(os.path.basename(video) or run)
    report = Path(run) / "report.html"
    if not report.is_file():
        return label
    return f'<a href="{href(os.path.relpath(report, folder.resolve()))}">{label}</a>'


def _appearance(a: Appearance, folder: Path) -> str:
    return (f"<tr><td>{_video_link(a.run, a.video, folder)}</td><td>{html.escape(a.name)}</td>"
            f"<td>{a.screen_time_s:.1f} s</td><td>{timeline_svg(a.segments, a.duration_s)}</td></tr>")  # fmt: skip


def _person(p: Person, folder: Path) -> str:
    """A person's row: name, faces, the first ``VIDEOS_SHOWN`` videos and the rest folded."""
    rows = [_appearance(a, folder) for a in p.appearances]
    rest = rows[VIDEOS_SHOWN:]
    folded = f"<details><summary>{len(rest)} more videos</summary><table class=videos>{''.join(rest)}</table></details>" if rest else ""
    return (f'<tr id="person-{p.id}"><td class=who><b>{html.escape(p.name)}</b><br><small>person {p.id} · {p.screen_time_s:.1f} s in '
            f"{len({a.video for a in p.appearances})} video(s)</small></td><td class=faces>{_faces(folder, p, FACES_PER_PERSON)}</td>"
            f"<td><table class=videos>{''.join(rows[:VIDEOS_SHOWN])}</table>{folded}</td></tr>")  # fmt: skip


def page_name(number: int) -> str:
    """The file of the ``number``-th page of people (from 1): ``people.html``, ``people-2.html``, …"""
    return PEOPLE_HTML if number == 1 else f"people-{number}.html"


def _pages_nav(pages: list[list[Person]], current: int) -> str:
    """Links to every page of people, by the people numbers on it (the current one in bold)."""
    if len(pages) < 2:
        return ""
    spans, first = [], 1
    for n, chunk in enumerate(pages, 1):
        span = f"{first}–{first + len(chunk) - 1}"
        spans.append(f"<b>{span}</b>" if n == current else f'<a href="{page_name(n)}">{span}</a>')
        first += len(chunk)
    return f"<p class=pages>People {' · '.join(spans)}</p>"


def write_page(index: PeopleIndex, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``people.html`` (and ``people-2.html``, … past ``PEOPLE_PER_PAGE`` people) into ``out_dir``; returns the first.

    Every name is escaped as text; faces are linked, not embedded.
    """
    folder = Path(out_dir)
    pages = [index.people[k : k + PEOPLE_PER_PAGE] for k in range(0, len(index.people), PEOPLE_PER_PAGE)] or [[]]
    where = {p.id: page_name(n) for n, chunk in enumerate(pages, 1) for p in chunk}
    for stale in folder.glob("people-*.html"):  # pages of an earlier, longer index
        if stale.stem.removeprefix("people-").isdigit():
            stale.unlink()
    for n, chunk in enumerate(pages, 1):
        asked = _suggestions(index, folder, where) if n == 1 else ""
        (folder / page_name(n)).write_text(_page(index, folder, chunk, _pages_nav(pages, n), asked), encoding="utf-8")
    return folder / PEOPLE_HTML


def _page(index: PeopleIndex, folder: Path, people: list[Person], nav: str, suggestions: str) -> str:
    rows = "\n".join(_person(p, folder) for p in people)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>facetools people</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }}
table.people {{ width: 100%; }}
table.people > tbody > tr > td {{ border-bottom: 1px solid #ddd; padding: 8px 10px; vertical-align: top; }}
td.faces {{ width: 150px; min-width: 150px; }}
td.faces img {{ width: 64px; height: 64px; border-radius: 4px; margin-right: 4px; }}
table.videos {{ table-layout: fixed; width: 44em; }}
table.videos td {{ padding: 2px 8px 2px 0; font-size: 0.9em; vertical-align: middle; overflow-wrap: anywhere; }}
table.videos td:nth-child(1), table.videos td:nth-child(2) {{ width: 8em; }}
table.videos td:nth-child(3) {{ width: 4em; white-space: nowrap; }}
table.videos td:nth-child(4) {{ width: 330px; }}
summary {{ cursor: pointer; font-size: 0.9em; color: #2a7ae2; margin: 2px 0; }}
svg.tl {{ display: block; }}
table.suggestions td {{ padding: 4px 10px; border-bottom: 1px solid #eee; vertical-align: middle; }}
</style></head><body>
<h1>People across {len(index.runs)} videos</h1>
<p>{len(index.people)} people; embedding space {html.escape(index.space.key)}; identities join when their mean faces are closer than
the calibrated threshold for face sets of their size and quality ({index.rules.threshold:.3f} cosine distance for two single good
faces, {index.rules.strict_threshold:.3f} where one is of low quality).</p>
{nav}
{suggestions}
<table class=people><thead><tr><th>person</th><th>faces</th><th>videos (identity in that run, screen time, timeline)</th></tr></thead>
<tbody>
{rows}
</tbody></table>
{nav}</body></html>
"""


def _suggestions(index: PeopleIndex, folder: Path, where: dict[int, str]) -> str:
    """The "same person?" section: each pair's faces side by side (linked to their rows, ``where`` their pages), and the command
    that answers it."""
    if not index.suggestions:
        return ""
    rows = []
    for s in index.suggestions:
        a, b = index.people[s.a], index.people[s.b]
        cells = "".join(f'<td><a href="{where[p.id]}#person-{p.id}">{html.escape(p.name)}</a></td>'
                        f"<td class=faces>{_faces(folder, p, 3)}</td>" for p in (a, b))  # fmt: skip
        rows.append(f"<tr>{cells}<td>{s.distance:.3f} (joins under {s.threshold:.3f})</td>"
                    f"<td><code>--same {a.id} {b.id}</code> or <code>--different {a.id} {b.id}</code></td></tr>")  # fmt: skip
    return (f"<h2>Same person?</h2><p>Pairs of people that may be one, best first: answer with "
            f"<code>facetools people RUNS --out {html.escape(str(folder))} --same A B</code> (or <code>--different A B</code>).</p>"
            f"<table class=suggestions>{''.join(rows)}</table>")  # fmt: skip
