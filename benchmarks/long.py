"""An hour of video through ``facetools report``: wall time, peak memory, stored tracks, identities against one copy, report size.

Composes the identity benchmark's people/ video (``../shared/data/people``: 13 people, 60 shots, 1 min) and plays it
``--copies`` times in one file (default 60: an hour, 3600 shots), then runs ``facetools report`` on one copy and on the
whole, each in a fresh process as a user would, and prints what each left behind.

Usage: python benchmarks/long.py [--copies 60] [--out DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from facetools.devdata.evaluate import evaluate
from facetools.devdata.long_video import repeat_video
from facetools.devdata.people_video import photo_detector, read_labels, render_people_video
from facetools.extract.embed import load_embedder
from facetools.outputs.analysis import Analysis

PEOPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "people"


def report(video: Path, out: Path) -> dict[str, float]:
    """``facetools report`` on ``video`` in a fresh process: its figures (peak RSS of that process, as the kernel counts it)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "facetools.cli", "report", str(video), "--out", str(out), "--device", "cpu", "--embedder", "sface",
           "--no-people", "--force"]  # fmt: skip
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    run = out / video.stem
    stats = json.loads((run / "run.json").read_text())
    return {
        "video_s": stats["video"]["duration_s"],
        "wall_s": round(wall, 1),
        "extract_wall_s": stats["wall_seconds"],
        "realtime_x": round(stats["video"]["duration_s"] / wall, 2),
        "peak_rss_mib": round(max(peak, before) / 1024, 1) if peak > before else None,  # None: an earlier child was larger
        "extract_peak_rss_mib": stats["peak_rss_mb"],
        "faces": stats["faces"],
        "tracks": stats["tracks"],
        "tracks_npz_mib": round((run / "tracks.npz").stat().st_size / 2**20, 2),
        "report_html_mib": round((run / "report.html").stat().st_size / 2**20, 2),
        "index_html_kib": round((out / "index.html").stat().st_size / 2**10, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=Path, default=PEOPLE)
    parser.add_argument("--copies", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("reports/benchmarks/long"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not (args.people / "labels.csv").is_file():
        print(f"benchmark needs the shared photos at {args.people}", file=sys.stderr)
        return 2
    labels = read_labels(args.people)
    once = [p for p, files in labels.items() if len(files) == min(len(f) for f in labels.values())]
    one = args.out / "people.mp4"
    truth = render_people_video(args.people, one, sorted(labels), photo_detector(), load_embedder("sface", precision="float32"),
                                pairs=3, once=once)  # fmt: skip
    many = args.out / f"people_x{args.copies}.mp4"
    truths = {one: truth, many: repeat_video(one, truth, args.copies, many)}
    figures = {}
    for video in (one, many):  # one copy first: the peak RSS of the long run is its own when it is larger
        figures[video.stem] = report(video, args.out / "reports")
        analysis = Analysis.load(args.out / "reports" / video.stem)
        e = evaluate(analysis, truths[video])
        low = sum(p.confidence == "low" for p in analysis.identities)
        figures[video.stem] |= {"identities": len(analysis.identities), "low_confidence": low, "suggestions": len(analysis.suggestions),
                                "bcubed_precision": round(e.bcubed_precision, 4), "bcubed_recall": round(e.bcubed_recall, 4),
                                "people": len(truths[video]["people"])}  # fmt: skip
    keys = list(next(iter(figures.values())))
    print("| figure | " + " | ".join(figures) + " |\n| --- |" + " --- |" * len(figures))
    for k in keys:
        print(f"| {k} | " + " | ".join(str(f[k]) for f in figures.values()) + " |")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
