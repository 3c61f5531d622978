"""Speed and memory: decode only, the old naive per-frame loop, facetools at defaults, and a 10× longer video.

Builds ``--seconds`` of video by looping ``--video`` (default: the shared 1080p crowd clip), then
runs each variant in its own process of this process tree and prints frames/s, realtime
factor, speedup over the naive loop and peak RSS (the process and its children, the ffmpeg
decoder among them), plus detection recall: on ``--recall-frames`` frames spread evenly over
the video (snapped to the stride's grid, so most lie between full detection passes), the share
of the faces full-resolution MTCNN (facenet-pytorch defaults) finds that facetools has too (IoU ≥ 0.4).

Also prints the time budget (what one full detection pass, one re-detection around a track,
one embedding and the shot detector cost here) and, with ``--curve``, realtime factor against
recall for several strides and full-pass intervals. Reference detections are cached in ``--out``.

The naive loop is the old tool's way: every frame through PIL, full-resolution MTCNN, every face
cropped and embedded by InceptionResnetV1 one frame at a time. InceptionResnetV1 runs with random
weights here (VGGFace2 weights cannot be downloaded offline): the compute is the same, and no
identity result is taken from it.

Usage: python benchmarks/speed.py [--video V] [--seconds 20] [--loops 10] [--naive-frames 12] [--device cpu] [--set KEY=VALUE]
       [--curve 5:0,5:0.4,5:1,10:0,10:1] [--no-budget] [--repeat 3]

The decode-only, naive and 20 s default runs are repeated ``--repeat`` times (a shared machine's
speed drifts by a third within an hour, measured): the table shows the median run, and the range is printed.
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
def cpu():
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))
c, t = cpu(), time.perf_counter()
threads = int(sys.argv[3]) if len(sys.argv) > 3 else None
size = {"max_side": int(sys.argv[4])} if len(sys.argv) > 4 else {}
n = sum(b.decoded for b in FrameLoader(probe(sys.argv[1]), batch_size=16, sample_every=int(sys.argv[2]) or None, threads=threads, **size))
rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
print(json.dumps({"frames": n, "seconds": time.perf_counter() - t, "cpu_s": cpu() - c, "peak_rss_mb": rss}))
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
import facetools  # before torch, as the CLI does: OpenMP threads sleep between operations (facetools/_openmp.py)
import torch
a = facetools.analyze(sys.argv[1], device=sys.argv[2], **json.loads(sys.argv[4]))
a.faces.to_csv(sys.argv[3], index=False)
if len(sys.argv) > 5:
    a.utilization.to_csv(sys.argv[5], index=False)
r = a.run
usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
peak = max(r.peak_rss_mb, usage / 1024)
threads = {"torch": torch.get_num_threads(), "cpus": os.cpu_count(),
           **{k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE") if k in os.environ}}
print(json.dumps({"frames": r.frames_decoded, "seconds": r.wall_seconds, "stages": r.stage_seconds, "stride": r.stride,
                  "full_passes": r.full_passes, "sampled": r.frames_detected, "identities": r.identities, "faces": r.faces,
                  "tracks": r.tracks, "embedder": f"{r.embedder} ({r.embedder_precision})", "detector": r.detector,
                  "decoder": r.decoder, "threads": threads,
                  "peak_rss_mb": peak, "device": r.cuda_device_name or r.device, "peak_gpu_memory_mb": r.peak_gpu_memory_mb}))
"""

REFERENCE = """
import json, sys
import torch  # before decord: see facetools/__init__.py
import decord, numpy as np
from facenet_pytorch import MTCNN
reader = decord.VideoReader(sys.argv[1]); mtcnn = MTCNN(keep_all=True)
out = {}
for f in json.loads(sys.argv[2]):
    boxes, _ = mtcnn.detect(reader[f].asnumpy())
    out[f] = [] if boxes is None else np.asarray(boxes, dtype=float).tolist()
print(json.dumps(out))
"""

BUDGET = """
import json, sys, time
from facetools.config import Config
import numpy as np, torch
from facetools.io.decoders import read_frames
from facetools.io.probe import probe
from facetools.extract.detect import load_detector
from facetools.extract.embed import load_embedder
from facetools.extract.faces import cut_patch
from facetools.extract.shots import ShotDetector
cfg = Config().with_options(**json.loads(sys.argv[2]))
info = probe(sys.argv[1]); first = [int(f) for f in np.linspace(0, info.frame_count - 6, 8)]
batch = read_frames(info, [f for s in first for f in (s, s + 5)])
embedder = load_embedder(cfg.embedder, "cpu", precision=cfg.embed_precision)
out = {"detectors": {}}; patches = []
for name in ("mtcnn", "yunet"):
    detector = load_detector(name, torch.device("cpu"), min_face_size=cfg.min_face_size)
    detector.detect(batch.frames[:1], batch.indices[:1], batch.scale)
    full = redetect = 0.0; faces = 0
    for k in range(0, len(batch.indices), 2):
        t = time.perf_counter(); found = detector.detect(batch.frames[k : k + 1], batch.indices[k : k + 1], batch.scale)
        full += time.perf_counter() - t
        t = time.perf_counter(); detector.around(batch.frames[k + 1], found.boxes, 0, batch.scale); redetect += time.perf_counter() - t
        faces += len(found)
        image = batch.frames[k].numpy()
        patches += [cut_patch(image, b / batch.scale, lm / batch.scale, float(s))
                    for b, lm, s in zip(found.boxes, found.landmarks, found.scores)]
    n = len(first)
    out["detectors"][f"{name} at {detector.long_side} px"] = {"full_pass_s": full / n, "redetect_s": redetect / n,
                                                              "faces_per_frame": faces / n}
t = time.perf_counter(); embedder.embed(patches); embed = time.perf_counter() - t
shots = ShotDetector(); t = time.perf_counter(); shots.update(batch.frames, batch.indices)
out.update({"embed_s_per_face": embed / max(len(patches), 1), "embedder": f"{embedder.name} ({embedder.precision})",
            "shots_s_per_frame": (time.perf_counter() - t) / len(batch.indices), "torch_threads": torch.get_num_threads()})
print(json.dumps(out))
"""


def reference(video: Path, frames: list[int], cache: Path) -> dict[int, list[list[float]]]:
    """Full-resolution MTCNN's boxes on ``frames``, cached in ``cache`` (a JSON file per video and frame set)."""
    known = {int(k): v for k, v in json.loads(cache.read_text()).items()} if cache.is_file() else {}
    todo = [f for f in frames if f not in known]
    if todo:
        known.update({int(k): v for k, v in child(REFERENCE, str(video), json.dumps(todo)).items()})
        cache.write_text(json.dumps(known))
    return {f: known[f] for f in frames}


def recall(video: Path, faces_csv: Path, run: dict, count: int, cache: Path) -> tuple[int, int, int, int]:
    """Frames checked, reference faces, those found, and faces found that match none: ``count`` frames spread evenly over the
    video, on ``run``'s stride grid."""
    import numpy as np
    import pandas as pd

    from facetools.geometry import iou_matrix

    faces = pd.read_csv(faces_csv)
    stride = int(run["stride"])
    frames = sorted({int(f) // stride * stride for f in np.linspace(0, run["frames"] - 1, count)})
    ref = reference(video, frames, cache)
    found = total = extra = 0
    for f in frames:
        boxes = np.asarray(ref[f], dtype=float).reshape(-1, 4)
        ours = faces[faces.frame == f][["x1", "y1", "x2", "y2"]].to_numpy(float)
        total += len(boxes)
        iou = iou_matrix(boxes, ours)
        found += int((iou.max(1, initial=0) >= 0.4).sum())
        extra += int((iou.max(0, initial=0) < 0.4).sum())
    return len(frames), total, found, extra


def _option(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _fps(r: dict) -> float:
    return r["frames"] / r["seconds"]


def _median(runs: list[dict]) -> dict:
    """The run of median frames/s (the upper one of an even count)."""
    return sorted(runs, key=_fps)[len(runs) // 2]


def _run_row(name: str, r: dict, naive_fps: float) -> str:
    fps = _fps(r)
    cells = [name, r["frames"], f"{r['seconds']:.1f}", f"{fps:.1f}", f"{r['frames'] / 25.0 / r['seconds']:.2f}", f"{fps / naive_fps:.1f}"]
    return "| " + " | ".join(map(str, cells)) + f" | {r['peak_rss_mb']:.0f} |"


def print_budget(b: dict, decode: dict, fps: float = 25.0) -> None:
    """What one video second costs at each step, against the half second that 2× realtime allows."""
    per_second = {
        "decode as facetools reads (ffmpeg, in parallel with the rest)": fps / _fps(decode),
        "its CPU time, both processes": decode["cpu_s"] / decode["frames"] * fps,
    }
    for name, d in b["detectors"].items():
        per_second[f"{name}: one full pass"] = d["full_pass_s"]
        per_second[f"{name}: one re-detection around {d['faces_per_frame']:.1f} faces"] = d["redetect_s"]
    per_second |= {
        f"one {b['embedder']} embedding": b["embed_s_per_face"],
        "shot detector on RGB frames (decord; ffmpeg makes thumbnails)": b["shots_s_per_frame"] * fps,
    }
    print(f"\ntime budget (this machine, torch threads {b['torch_threads']}); 2× realtime allows 0.5 s per video second:")
    for name, seconds in per_second.items():
        print(f"- {name}: {seconds * 1000:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=SHARED_VIDEO)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--loops", type=int, default=10, help="length of the long run, in multiples of --seconds")
    parser.add_argument("--naive-frames", type=int, default=12, help="frames timed for the naive loop (it is slow)")
    parser.add_argument("--recall-frames", type=int, default=60, help="frames checked against full-resolution MTCNN")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--decoder", default="auto", choices=["auto", "ffmpeg", "decord"], help="facetools' decoder backend")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a Config field, e.g. detect_long_side=1280")
    parser.add_argument("--curve", default="", help="STRIDE:FULL_PASS_S[:DETECTOR],... settings for the realtime-versus-recall table")
    parser.add_argument("--no-budget", action="store_true", help="skip the time budget")
    parser.add_argument("--repeat", type=int, default=3, help="runs of decode only, the naive loop and the defaults (the median is shown)")
    parser.add_argument("--out", type=Path, default=Path("reports/benchmarks/speed"))
    args = parser.parse_args()
    if not args.video.is_file():
        print(f"benchmark needs a video: {args.video} not found", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    base = looped(args.video, args.seconds, args.out / f"base_{args.seconds:g}s.mp4")
    long = looped(args.video, args.seconds * args.loops, args.out / f"long_{args.seconds * args.loops:g}s.mp4")
    cache = args.out / f"reference_{base.stem}.json"
    started = time.perf_counter()
    settings = {"decoder": args.decoder, **dict(_option(o) for o in args.set)}
    repeated = {
        "decode only": [child(DECODE, str(base), "0") for _ in range(args.repeat)],
        "naive per-frame loop": [child(NAIVE, str(base), str(args.naive_frames), args.device) for _ in range(args.repeat)],
        "facetools defaults": [child(FACETOOLS, str(base), args.device, str(args.out / "faces_base.csv"), json.dumps(settings))
                               for _ in range(args.repeat)],
    }  # fmt: skip
    decode, naive, ours = (_median(runs) for runs in repeated.values())
    stride = int(ours["stride"])  # the stride facetools chose: decoding as it reads
    repeated["decode as facetools reads"] = [child(DECODE, str(base), str(stride)) for _ in range(args.repeat)]
    sampled = _median(repeated["decode as facetools reads"])
    ours_long = child(FACETOOLS, str(long), args.device, str(args.out / "faces_long.csv"), json.dumps(settings)) if args.loops > 1 else None
    checked, total, found, extra = recall(base, args.out / "faces_base.csv", ours, args.recall_frames, cache)
    naive_fps = _fps(naive)
    print(f"facetools options: {settings}")
    print(f"video: {args.video.name} looped to {args.seconds:g} s (and {args.seconds * args.loops:g} s); device {args.device}\n")
    print("| run | frames | seconds | frames/s | realtime × | speedup vs naive | peak RSS (MiB) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rows = [
        ("decode only (every frame to RGB)", decode),
        (f"decode as facetools reads (RGB every {stride} frames)", sampled),
        (f"naive per-frame loop (first {naive['frames']} frames)", naive),
        ("facetools defaults", ours),
    ]
    if ours_long:
        rows.append((f"facetools defaults, {args.loops}× longer", ours_long))
    for name, r in rows:
        print(_run_row(name, r, naive_fps))
    if args.repeat > 1:
        print(f"\nmedian of {args.repeat} runs each; frames/s ranged over " + ", ".join(
            f"{name} {min(_fps(r) for r in runs):.1f}-{max(_fps(r) for r in runs):.1f}" for name, runs in repeated.items()))  # fmt: skip
    print(f"\nfacetools stages (s): {ours['stages']}")
    print(
        f"faces {ours['faces']} on {ours['sampled']} sampled frames (stride {ours['stride']}, {ours['full_passes']} full passes), "
        f"tracks {ours['tracks']}, identities {ours['identities']}; detector {ours['detector']}, "
        f"embedder {ours['embedder']}, decoder {ours['decoder']}; "
        f"threads {ours['threads']}"
    )
    if ours_long:
        print(f"peak RSS {args.loops}× / 1×: {ours_long['peak_rss_mb'] / ours['peak_rss_mb']:.2f}")
    share = found / max(total, 1)
    print(f"detection recall vs full-resolution MTCNN on {checked} frames spread over the video: {found}/{total} = {share:.3f}; "
          f"faces found there that MTCNN did not find: {extra}")  # fmt: skip
    if not args.no_budget:
        print_budget(child(BUDGET, str(base), json.dumps(settings)), sampled)
    if args.curve:
        print(
            "\n| detector | stride | full pass every (s) | frames/s | realtime × | recall | not in MTCNN's | faces | tracks | full passes |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for point in args.curve.split(","):
            stride, full, *detector = point.split(":")
            options = {**settings, "stride": int(stride), "full_pass_s": float(full), **({"detector": detector[0]} if detector else {})}
            csv = args.out / f"faces_curve_{point.replace(':', '_')}.csv"
            r = child(FACETOOLS, str(base), args.device, str(csv), json.dumps(options))
            _, total, found, extra = recall(base, csv, r, args.recall_frames, cache)
            fps = _fps(r)
            share = found / max(total, 1)
            cells = [r["detector"], stride, full, f"{fps:.1f}", f"{fps / 25.0:.2f}", f"{share:.3f}", extra, r["faces"], r["tracks"],
                     r["full_passes"]]  # fmt: skip
            print("| " + " | ".join(map(str, cells)) + " |")
    print(f"benchmark wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
