"""Report pages: the run's headline table, several runs side by side, and ``index.html`` linking every report of a batch."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from facetools.identify.analysis import Identification
from facetools.outputs.analysis import Analysis
from facetools.paths import resolve

PEOPLE_PAGE = "people/people.html"
"""Where a batch of reports keeps its people page, relative to the reports folder."""
STATUS_FILE = "status.json"


def run_table(analysis: Identification) -> pd.DataFrame:
    """The run's headline figures as a two-column table."""
    r = analysis.run
    v = analysis.video
    full = "" if r.full_passes is None else f"; {r.full_passes} full passes"  # runs before track-guided detection do not say
    rows = [
        ("video", os.path.basename(v.path)),
        ("size", f"{v.width}×{v.height} @ {v.fps:.2f} fps, {v.duration_s:.1f} s"),
        ("device / decoder / detector", f"{r.device} / {r.decoder} / {r.detector}"),
        ("embedder, precision (thresholds)", f"{r.embedder}, {r.embedder_precision} ({r.cluster_threshold}, strict {r.strict_threshold})"),
        ("frames decoded / faces located on", f"{r.frames_decoded} / {r.frames_detected} (stride {r.stride}{full})"),
        ("faces / tracks / shots", f"{r.faces} / {r.tracks} / {r.shots}"),
        ("identities / unidentified tracks", f"{r.identities} / {r.unidentified_tracks}"),
        ("wall time", f"{r.wall_seconds:.1f} s ({r.frames_per_second} frames/s, {r.realtime_factor}× realtime)"),
        ("peak memory", f"{r.peak_rss_mb:.0f} MiB RSS"),
    ]
    return pd.DataFrame(rows, columns=["", "value"]).set_index("")


def runs_table(folders: list[str]) -> pd.DataFrame:
    """One row per finished analysis folder: settings, identities, screen time and speed side by side."""
    rows = []
    for folder in folders:
        a = Analysis.load(resolve(folder))
        r = a.run
        rows.append(
            {
                "run": str(folder),
                "video": os.path.basename(a.video.path),
                "detector": r.detector,
                "embedder": a.embedder,
                "stride": r.stride,
                "identities": len(a.identities),
                "screen time of top 3 (s)": ", ".join(f"{p.screen_time_s:.1f}" for p in a.identities[:3]),
                "faces": r.faces,
                "wall (s)": r.wall_seconds,
                "frames/s": r.frames_per_second,
                "realtime ×": r.realtime_factor,
                "peak RSS (MiB)": r.peak_rss_mb,
            }
        )
    return pd.DataFrame(rows).set_index("run")


def read_status(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def href(path: str | os.PathLike[str]) -> str:
    """A relative path as a link target in an HTML attribute (``/`` separators, URL-quoted, escaped)."""
    return html.escape(quote(Path(path).as_posix()))


def image(page_dir: Path, path: str | os.PathLike[str], alt: str) -> str:
    """An ``<img>`` of the file ``page_dir/path`` by its relative path (nothing when the file is missing); ``alt`` as text."""
    if not (page_dir / path).is_file():
        return ""
    text = html.escape(alt)
    return f'<img src="{href(path)}" alt="{text}" title="{text}">'


def write_index(root: str | os.PathLike[str]) -> Path:
    """Write ``index.html`` linking every report folder under ``root``; faces are the runs' thumbnail files, by relative path."""
    root = Path(root)
    rows = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        status = read_status(folder)
        if not status:
            continue
        ident_file = folder / "identities.json"
        meta = json.loads(ident_file.read_text()) if ident_file.is_file() else {"identities": []}
        run = json.loads((folder / "run.json").read_text()) if (folder / "run.json").is_file() else {}
        people = meta["identities"]
        faces = "".join(image(root, Path(folder.name) / p.get("thumbnail", ""), p["name"]) for p in people[:6])
        top = "<br>".join(f"{html.escape(p['name'])}: {p['screen_time_s']:.1f} s" for p in people[:3])
        duration = f"{run['video']['duration_s']:.1f} s" if run else "—"
        state = "ok" if status["status"] == "ok" else f"failed: {html.escape(status.get('error', ''))}"
        link = (
            f'<a href="{href(Path(folder.name) / "report.html")}">{html.escape(folder.name)}</a>'
            if (folder / "report.html").is_file()
            else html.escape(folder.name)
        )
        rows.append(
            f'<tr class="{status["status"]}"><td>{link}</td><td class=faces>{faces}</td><td>{duration}</td>'
            f"<td>{len(people) if run else '—'}</td><td>{top}</td><td>{status.get('seconds', 0):.1f} s</td><td>{state}</td></tr>"
        )
    people_link = '<p><a href="people/people.html">People across these videos</a></p>' if (root / PEOPLE_PAGE).is_file() else ""
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>facetools reports</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 6px 10px; text-align: left; vertical-align: middle; }}
th {{ background: #f4f4f4; }}
td.faces img {{ width: 56px; height: 56px; border-radius: 4px; margin-right: 4px; }}
tr.failed td {{ background: #fff0f0; }}
</style></head><body>
<h1>facetools reports</h1>
{people_link}
<table><thead><tr>
<th>video</th><th>faces</th><th>duration</th><th>identities</th><th>top screen time</th><th>processing</th><th>status</th>
</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""
    path = root / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
