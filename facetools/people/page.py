"""``people.html``: a row per person, their best faces and a small timeline per video, linked to each video's report."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

from facetools.outputs.pages import PEOPLE_PAGE
from facetools.people.index import PeopleIndex

PEOPLE_HTML = Path(PEOPLE_PAGE).name
TIMELINE_WIDTH = 320
FACES_PER_PERSON = 4


def timeline_svg(segments: list[tuple[float, float]], duration_s: float, width: int = TIMELINE_WIDTH, height: int = 12) -> str:
    """An inline SVG bar: the video's length, its on-screen segments filled."""
    scale = width / max(duration_s, 1e-6)
    bars = "".join(
        f'<rect x="{s * scale:.1f}" y="0" width="{max(1.0, (e - s) * scale):.1f}" height="{height}" fill="#2a7ae2"/>' for s, e in segments
    )
    return (f'<svg class="tl" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
            f'<rect width="{width}" height="{height}" fill="#e8e8e8"/>{bars}</svg>')  # fmt: skip


def _image(folder: Path, rel: str, alt: str) -> str:
    path = folder / rel
    if not path.is_file():
        return ""
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img src="data:image/jpeg;base64,{data}" alt="{html.escape(alt)}" title="{html.escape(alt)}">'


def _video_link(run: str, video: str, folder: Path) -> str:
    label = html.escape(os.path.basename(video) or run)
    report = Path(run) / "report.html"
    if not report.is_file():
        return label
    href = os.path.relpath(report, folder.resolve())
    return f'<a href="{html.escape(Path(href).as_posix())}">{label}</a>'


def write_page(index: PeopleIndex, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``people.html`` into ``out_dir`` (thumbnails embedded, every name escaped as text)."""
    folder = Path(out_dir)
    rows = []
    for p in index.people:
        faces = [t for a in p.appearances for t in a.thumbnails[:2]][:FACES_PER_PERSON]
        images = "".join(_image(folder, t, p.name) for t in faces)
        videos = "".join(
            f"<tr><td>{_video_link(a.run, a.video, folder)}</td><td>{html.escape(a.name)}</td>"
            f"<td>{a.screen_time_s:.1f} s</td><td>{timeline_svg(a.segments, a.duration_s)}</td></tr>"
            for a in p.appearances
        )
        rows.append(
            f'<tr id="person-{p.id}"><td class=who><b>{html.escape(p.name)}</b><br><small>person {p.id} · {p.screen_time_s:.1f} s in '
            f"{len({a.video for a in p.appearances})} video(s)</small></td><td class=faces>{images}</td>"
            f"<td><table class=videos>{videos}</table></td></tr>"
        )
    page = f"""<!doctype html>
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
svg.tl {{ display: block; }}
table.suggestions td {{ padding: 4px 10px; border-bottom: 1px solid #eee; vertical-align: middle; }}
</style></head><body>
<h1>People across {len(index.runs)} videos</h1>
<p>{len(index.people)} people; embedding space {html.escape(index.space.key)}; identities join when their mean faces are closer than
the calibrated threshold for face sets of their size and quality ({index.rules.threshold:.3f} cosine distance for two single good
faces, {index.rules.strict_threshold:.3f} where one is of low quality).</p>
{_suggestions(index, folder)}
<table class=people><thead><tr><th>person</th><th>faces</th><th>videos (identity in that run, screen time, timeline)</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""
    path = folder / PEOPLE_HTML
    path.write_text(page, encoding="utf-8")
    return path


def _suggestions(index: PeopleIndex, folder: Path) -> str:
    """The "same person?" section: each pair's faces side by side, and the command that answers it."""
    if not index.suggestions:
        return ""
    rows = []
    for s in index.suggestions:
        a, b = index.people[s.a], index.people[s.b]
        faces = {p.id: "".join(_image(folder, t, p.name) for t in [t for x in p.appearances for t in x.thumbnails[:2]][:3]) for p in (a, b)}
        rows.append(
            f'<tr><td><a href="#person-{a.id}">{html.escape(a.name)}</a></td><td class=faces>{faces[a.id]}</td>'
            f'<td><a href="#person-{b.id}">{html.escape(b.name)}</a></td><td class=faces>{faces[b.id]}</td>'
            f"<td>{s.distance:.3f} (joins under {s.threshold:.3f})</td>"
            f"<td><code>--same {a.id} {b.id}</code> or <code>--different {a.id} {b.id}</code></td></tr>"
        )
    return (f"<h2>Same person?</h2><p>Pairs of people that may be one, best first: answer with "
            f"<code>facetools people RUNS --out {html.escape(str(folder))} --same A B</code> (or <code>--different A B</code>).</p>"
            f"<table class=suggestions>{''.join(rows)}</table>")  # fmt: skip
