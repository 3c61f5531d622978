"""Decoding speed and memory of the two frame loaders: the ffmpeg pipe (``FrameLoader``) and decord (``DecordLoader``).

Builds ``--seconds`` long videos by looping ``--video`` (default: the shared 1080p crowd clip) and
decodes each with each loader at each ``--max-side``, every run in a fresh interpreter, first as
fast as the loader goes (decode-only frames/s) and then with a consumer that sleeps
``--sleep-ms`` per batch (a detector's pace). Prints a Markdown table: frames/s, peak RSS (the
process and its live children, the ffmpeg decoder among
them, sampled every 10 ms), RSS after 60 and after 300 frames, and
per loader the peak-RSS ratio of the longest video to the shortest.

Usage: python benchmarks/decode.py [--video V] [--seconds 20 200] [--max-side 3840 1280] [--sleep-ms 50] [--sleep-max-side 1280]
       [--loaders ffmpeg decord] [--chunk-frames 32] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

SHARED_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "crowd_1080p.mp4"


def looped(video: Path, seconds: float, folder: Path) -> Path:
    """``video`` looped (stream copy) to ``seconds`` long, built once in ``folder``."""
    out = folder / f"{video.stem}_{seconds:g}s.mp4"
    if not out.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        cmd = ["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(video), "-t", str(seconds), "-c", "copy", str(out)]
        subprocess.run(cmd, check=True)
    return out


def _rss_mib(pid: int | str = "self") -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # the child has just exited
        pass
    return 0.0


def _tree_rss_mib() -> float:
    """RSS of this process plus its live children (the ffmpeg decoder)."""
    children = []
    for task in Path("/proc/self/task").iterdir():
        try:
            children += (task / "children").read_text().split()
        except OSError:
            continue
    return _rss_mib() + sum(_rss_mib(pid) for pid in children)


class PeakSampler(threading.Thread):
    """Samples the process tree's RSS every 10 ms; ``peak`` is the largest sum seen.

    ``ru_maxrss`` of children cannot be added to the process's own: a child forked from a process
    holding torch counts the parent's pages until it execs, which would add ~0.7 GiB to ffmpeg.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, _tree_rss_mib())
            time.sleep(0.01)


def measure(loader: str, path: str, max_side: int, sleep_ms: float, chunk_frames: int) -> dict[str, Any]:
    """Decode ``path`` with ``loader`` in this process; frames/s and memory (call it in a fresh interpreter)."""
    import torch  # noqa: F401  (first: decord after torch)

    from facetools.io.probe import probe

    info = probe(path)
    sampler = PeakSampler()
    sampler.start()
    start = time.perf_counter()
    if loader == "decord":
        from facetools.io.decord_backend import DecordLoader

        frames = DecordLoader(info, batch_size=16, max_side=max_side, chunk_frames=chunk_frames)
    else:
        from facetools.io.loader import FrameLoader

        frames = FrameLoader(info, batch_size=16, max_side=max_side)
    n = 0
    marks: dict[int, float] = {}
    for batch in frames:
        n += len(batch)
        for mark in (60, 300, 1000, 3000):
            if mark not in marks and n >= mark:
                marks[mark] = round(_rss_mib())
        if sleep_ms:
            time.sleep(sleep_ms / 1000)
    seconds = time.perf_counter() - start
    sampler.running = False
    sampler.join()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"loader": loader, "video": Path(path).name, "max_side": max_side, "sleep_ms": sleep_ms, "frames": n,
            "seconds": round(seconds, 2), "fps": round(n / seconds, 1), "peak_rss_mib": round(max(sampler.peak, own)),
            "own_peak_rss_mib": round(own),
            "rss_at": marks, "warnings": frames.warnings}  # fmt: skip


def run_child(*args: str) -> dict[str, Any]:
    """One measurement in a fresh interpreter (its own peak RSS)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", type=Path, default=SHARED_VIDEO)
    parser.add_argument("--seconds", type=float, nargs="+", default=[20, 200])
    parser.add_argument("--max-side", type=int, nargs="+", default=[3840, 1280])
    parser.add_argument("--sleep-ms", type=float, default=50.0, help="consumer's pause per batch of 16 in the second pass (0: none)")
    parser.add_argument("--sleep-max-side", type=int, nargs="+", default=[1280], help="long sides of the sleeping-consumer pass")
    parser.add_argument("--loaders", nargs="+", default=["ffmpeg", "decord"], choices=["ffmpeg", "decord"])
    parser.add_argument("--chunk-frames", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/facetools-bench"))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        loader, path, max_side, sleep_ms, chunk = args.child
        print(json.dumps(measure(loader, path, int(max_side), float(sleep_ms), int(chunk))))
        return

    videos = [looped(args.video, s, args.workdir) for s in args.seconds]
    rows = []
    print("| loader | video | long side | consumer | frames | frames/s | peak RSS MiB | RSS @60 / @300 MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    sleeps = [0.0] + ([args.sleep_ms] if args.sleep_ms else [])
    for sleep_ms in sleeps:
        for max_side in args.sleep_max_side if sleep_ms else args.max_side:
            for video in videos:
                for loader in args.loaders:  # interleaved, so that a busy machine slows both alike
                    r = run_child(loader, str(video), str(max_side), str(sleep_ms), str(args.chunk_frames))
                    rows.append(r)
                    consumer = f"sleeps {sleep_ms:g} ms/batch" if sleep_ms else "none (decode only)"
                    at = r["rss_at"]
                    print(f"| {loader} | {r['video']} | {max_side} | {consumer} | {r['frames']} | {r['fps']} | {r['peak_rss_mib']} "
                          f"| {at.get('60', '-')} / {at.get('300', '-')} |", flush=True)  # fmt: skip
    if len(videos) > 1:
        print("\nPeak RSS, longest / shortest video:")
        for loader in args.loaders:
            for sleep_ms in sleeps:
                for max_side in args.sleep_max_side if sleep_ms else args.max_side:
                    key = (loader, max_side, sleep_ms)
                    peaks = {r["video"]: r["peak_rss_mib"] for r in rows if (r["loader"], r["max_side"], r["sleep_ms"]) == key}
                    ratio = peaks[videos[-1].name] / peaks[videos[0].name]
                    print(f"- {loader}, {max_side} px, consumer sleeping {sleep_ms:g} ms/batch: {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
