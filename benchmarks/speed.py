"""Speed and memory: decode only, the old naive per-frame loop, facetools at defaults, and a 10× longer video.

Builds ``--seconds`` of video by looping ``--video`` (default: the shared 1080p crowd clip), then
runs each variant in its own process of this process tree and prints frames/s, realtime
factor, speedup over the naive loop and peak RSS (the process and its children, the ffmpeg
decoder among them), plus detection recall: on the frames facetools detects, the share of
faces that full-resolution MTCNN (facenet-pytorch defaults) finds that facetools finds too (IoU ≥ 0.4).

The naive loop is the old tool's way: every frame through PIL, full-resolution MTCNN, every face
cropped and embedded by InceptionResnetV1 one frame at a time. InceptionResnetV1 runs with random
weights here (VGGFace2 weights cannot be downloaded offline): the compute is the same, and no
identity result is taken from it.

Usage: python benchmarks/speed.py [--video V] [--seconds 20] [--loops 10] [--naive-frames 12] [--device cpu] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

SHARED_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "crowd_1080p.mp4"


def looped(video: Path, seconds: float, out: Path) -> Path:
    if not out.is_file():
        cmd = ["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(video), "-t", str(seconds), "-c", "copy", str(out)]
        subprocess.run(cmd, check=True)
    return out


def child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter (its own peak RSS); it prints one JSON line last."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


DECODE = """
import json, resource, sys, time
from facetools.io.loader import FrameLoader
from facetools.io.probe import probe
t = time.perf_counter(); n = sum(len(b) for b in FrameLoader(probe(sys.argv[1]), batch_size=16))
rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
print(json.dumps({"frames": n, "seconds": time.perf_counter() - t, "peak_rss_mb": rss}))
"""

NAIVE = """
import json, resource, sys, time
import torch  # before decord: see facetools/__init__.py
import decord
from PIL import Image
from facenet_pytorch import MTCNN, InceptionResnetV1
torch.set_grad_enabled(False)
mtcnn = MTCNN(keep_all=True, device=sys.argv[3]); net = InceptionResnetV1().eval().to(sys.argv[3])
reader = decord.VideoReader(sys.argv[1]); n = int(sys.argv[2])
t = time.perf_counter(); faces = 0
for i in range(n):
    img = Image.fromarray(reader[i].asnumpy())
    crops = mtcnn(img)
    if crops is not None:
        net(crops.to(sys.argv[3])); faces += len(crops)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"frames": n, "faces": faces, "seconds": time.perf_counter() - t, "peak_rss_mb": rss}))
"""

FACETOOLS = """
import json, os, resource, sys
import torch
import facetools
a = facetools.analyze(sys.argv[1], device=sys.argv[2], **json.loads(sys.argv[4]))
a.faces.to_csv(sys.argv[3], index=False)
r = a.run
usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
peak = max(r.peak_rss_mb, usage / 1024)
threads = {"torch": torch.get_num_threads(), "cpus": os.cpu_count(),
           **{k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE") if k in os.environ}}
print(json.dumps({"frames": r.frames_decoded, "seconds": r.wall_seconds, "stages": r.stage_seconds, "stride": r.stride,
                  "identities": r.identities, "faces": r.faces, "tracks": r.tracks, "embedder": r.embedder, "decoder": r.decoder,
                  "threads": threads, "peak_rss_mb": peak}))
"""

RECALL = """
import json, sys
import torch  # before decord: see facetools/__init__.py
import decord, numpy as np, pandas as pd
from facenet_pytorch import MTCNN
from facetools.geometry import iou_matrix
faces = pd.read_csv(sys.argv[2]); stride = int(sys.argv[3]); n = int(sys.argv[4])
reader = decord.VideoReader(sys.argv[1]); mtcnn = MTCNN(keep_all=True)
found = total = 0
frames = sorted({int(f) // stride * stride for f in np.linspace(0, len(reader) - 1, n)})  # spread over the video
for f in frames:
    boxes, _ = mtcnn.detect(reader[f].asnumpy())
    if boxes is None:
        continue
    ref = np.asarray(boxes, dtype=float); ours = faces[faces.frame == f][["x1", "y1", "x2", "y2"]].to_numpy(float)
    total += len(ref)
    if len(ours):
        found += int((iou_matrix(ref, ours).max(1) >= 0.4).sum())
print(json.dumps({"frames": len(frames), "reference_faces": total, "found": found, "recall": found / max(total, 1)}))
"""


def _option(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=SHARED_VIDEO)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--loops", type=int, default=10, help="length of the long run, in multiples of --seconds")
    parser.add_argument("--naive-frames", type=int, default=12, help="frames timed for the naive loop (it is slow)")
    parser.add_argument("--recall-frames", type=int, default=60, help="detected frames checked against full-resolution MTCNN")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--decoder", default="auto", choices=["auto", "ffmpeg", "decord"], help="facetools' decoder backend")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a Config field, e.g. detect_long_side=1280")
    parser.add_argument("--out", type=Path, default=Path("reports/benchmarks/speed"))
    args = parser.parse_args()
    if not args.video.is_file():
        print(f"benchmark needs a video: {args.video} not found", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    base = looped(args.video, args.seconds, args.out / f"base_{args.seconds:g}s.mp4")
    long = looped(args.video, args.seconds * args.loops, args.out / f"long_{args.seconds * args.loops:g}s.mp4")
    started = time.perf_counter()
    decode = child(DECODE, str(base))
    naive = child(NAIVE, str(base), str(args.naive_frames), args.device)
    options = json.dumps({"decoder": args.decoder, **dict(_option(o) for o in args.set)})
    ours = child(FACETOOLS, str(base), args.device, str(args.out / "faces_base.csv"), options)
    ours_long = child(FACETOOLS, str(long), args.device, str(args.out / "faces_long.csv"), options) if args.loops > 1 else None
    recall = child(RECALL, str(base), str(args.out / "faces_base.csv"), str(ours["stride"]), str(args.recall_frames))
    naive_fps = naive["frames"] / naive["seconds"]
    print(f"facetools options: {options}")
    print(f"video: {args.video.name} looped to {args.seconds:g} s (and {args.seconds * args.loops:g} s); device {args.device}\n")
    print("| run | frames | seconds | frames/s | realtime × | speedup vs naive | peak RSS (MiB) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rows = [("decode only", decode), (f"naive per-frame loop (first {naive['frames']} frames)", naive), ("facetools defaults", ours)]
    if ours_long:
        rows.append((f"facetools defaults, {args.loops}× longer", ours_long))
    for name, r in rows:
        fps = r["frames"] / r["seconds"]
        video_s = r["frames"] / 25.0
        cells = [name, r["frames"], f"{r['seconds']:.1f}", f"{fps:.1f}", f"{video_s / r['seconds']:.2f}", f"{fps / naive_fps:.1f}"]
        print("| " + " | ".join(map(str, cells)) + f" | {r['peak_rss_mb']:.0f} |")
    print(f"\nfacetools stages (s): {ours['stages']}")
    print(
        f"faces {ours['faces']}, tracks {ours['tracks']}, identities {ours['identities']}; embedder {ours['embedder']}, "
        f"decoder {ours['decoder']}; threads {ours['threads']}"
    )
    if ours_long:
        print(f"peak RSS {args.loops}× / 1×: {ours_long['peak_rss_mb'] / ours['peak_rss_mb']:.2f}")
    found, total = recall["found"], recall["reference_faces"]
    print(f"detection recall vs full-resolution MTCNN on {recall['frames']} detected frames: {found}/{total} = {recall['recall']:.3f}")
    print(f"benchmark wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
