"""The GPU path at 1080p: decoding, batched MTCNN with face crops on the GPU, and facetools at stride 1 and at defaults.

One script for a lent GPU machine (few minutes, no package registry): every run in its own process, figures in
``--out``/gpu.json, a GPU and CPU utilisation plot per run (``utilization_<run>.png``), a table printed. On a machine
without CUDA it times the same steps on the CPU (``--device cpu``), to try the script before a GPU is at hand.

Runs on ``--video`` (the crowd video looped to 20 s, as :mod:`speed` builds it):

- decode only, every frame to RGB, on 4 ffmpeg threads and on every core, and downscaled to 1280 px by ffmpeg;
- the detection engine at stride 1: every frame through batched MTCNN on the device, each face cropped to 160×160 there
  (``roi_align``), ``--engine-batch`` frames a call; again on frames ffmpeg decodes at MTCNN's 1280 px, and so with
  2, 3 or 4 batches detected at once (threads, each on its own CUDA stream); and the operators of 3 batches
  (``torch.profiler``);
- facetools (``analyze``) at defaults and at stride 1, with the embedder ``auto`` picks and with FaceNet on the GPU.
  FaceNet's VGGFace2 weights cannot be had offline, so those runs use random weights: timing only, their identities
  mean nothing.

Detection recall against full-resolution MTCNN is computed as in :mod:`speed`, from ``--reference`` (boxes cached by
``speed.py``; frames missing there are detected anew, which needs decord).

Usage: python benchmarks/gpu.py --video reports/benchmarks/speed/base_20s.mp4 --out DIR [--device cuda] [--reference JSON]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import time
from pathlib import Path

from speed import DECODE, FACETOOLS, _fps, child, recall

ENGINE = """
import collections, concurrent.futures, json, os, sys, threading, time
import facetools  # before torch, as the CLI does
import numpy as np, torch
from torchvision.ops import roi_align
from facetools.io.decoders import read_frames
from facetools.io.loader import FrameLoader
from facetools.io.probe import probe
from facetools.extract.monitor import ResourceMonitor
from facetools.extract.detect import load_detector
video, device, faces_csv, samples_csv = sys.argv[1], torch.device(sys.argv[2]), sys.argv[3], sys.argv[4]
opts = json.loads(sys.argv[5]); batch = opts["batch"]
info = probe(video)
detector = load_detector("mtcnn", device)
warm = read_frames(info, range(batch))
detector.detect(warm.frames.to(device), warm.indices, warm.scale)
sync = (lambda: torch.cuda.current_stream(device).synchronize()) if device.type == "cuda" else (lambda: None)
seconds = {"decode_wait": 0.0, "detect": 0.0, "crop": 0.0}
rows, frames, chips = [], 0, 0
with ResourceMonitor(10.0) as monitor:
    started = time.perf_counter()
    loader = iter(FrameLoader(info, batch_size=batch, device=device, batch_bytes=batch * info.width * info.height * 3,
                              threads=os.cpu_count(), max_side=opts.get("max_side", 1920)))
    if opts.get("profile"):  # only the operators of 3 batches, by GPU and by CPU time
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])) as prof:
            for _ in range(3):
                b = next(loader); detector.detect(b.frames, b.indices, b.scale)
            sync()
        keys = (("cuda_time_total",) if device.type == "cuda" else ()) + ("cpu_time_total", "self_cpu_time_total")
        print(json.dumps({"profile": "\\n".join(prof.key_averages().table(sort_by=k, row_limit=20) for k in keys)}))
        sys.exit()
    local = threading.local()

    def work(b):  # detect, then crop each face: on its own CUDA stream where batches run in threads
        if device.type == "cuda" and workers > 1:
            if not hasattr(local, "stream"):
                local.stream = torch.cuda.Stream(device)
            local.stream.wait_stream(torch.cuda.default_stream(device))
            with torch.cuda.stream(local.stream):
                return crop(b, detect(b))
        return crop(b, detect(b))

    def detect(b):
        t = time.perf_counter(); found = detector.detect(b.frames, b.indices, b.scale); seconds["detect"] += time.perf_counter() - t
        return found

    def crop(b, found):
        t = time.perf_counter(); n = 0
        if len(found):
            at = np.searchsorted(b.indices, found.frame).astype(np.float32)[:, None]
            rois = torch.from_numpy(np.hstack([at, found.boxes / b.scale])).to(device)
            n = len(roi_align(b.frames.permute(0, 3, 1, 2).float(), rois, output_size=160, aligned=True))
        sync(); seconds["crop"] += time.perf_counter() - t
        return b, found, n

    workers = opts.get("workers", 1)
    pending = collections.deque()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        while True:
            t = time.perf_counter(); b = next(loader, None); seconds["decode_wait"] += time.perf_counter() - t
            if b is not None:
                pending.append(pool.submit(work, b))
            while pending and (len(pending) >= workers or b is None):
                b_done, found, n = pending.popleft().result()
                frames += len(b_done); chips += n
                rows += [[int(f), *box] for f, box in zip(found.frame, found.boxes.tolist())]
            if b is None:
                break
    sync(); wall = time.perf_counter() - started
import pandas as pd
pd.DataFrame(rows, columns=["frame", "x1", "y1", "x2", "y2"]).to_csv(faces_csv, index=False)
monitor.frame().to_csv(samples_csv, index=False)
gpu = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
print(json.dumps({"frames": frames, "seconds": wall, "faces": len(rows), "chips": chips, "stride": 1, "stages": seconds,
                  "chunk": detector.chunk, "peak_gpu_memory_mb": gpu, "peak_rss_mb": monitor.peak_rss_mb}))
"""


def environment(device: str) -> dict:
    """What the machine is: Python, torch, its GPU, OpenCV, ffmpeg and the cores."""
    import torch

    from facetools.io import ffmpeg

    out = {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(), "device": device}
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    try:
        import cv2

        out["opencv"] = cv2.__version__
    except ImportError:
        out["opencv"] = None
    out["ffmpeg"] = ffmpeg.version()
    return out


def random_facenet(path: Path) -> Path:
    """InceptionResnetV1 with random weights, saved where ``--set facenet_weights`` can name it (timing only)."""
    import torch
    from facenet_pytorch import InceptionResnetV1

    torch.manual_seed(0)
    torch.save(InceptionResnetV1(pretrained=None).state_dict(), path)
    return path


def plot(samples_csv: Path, png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from facetools.outputs import plots

    fig = plots.utilization(pd.read_csv(samples_csv))
    fig.suptitle(title)
    plots.save(fig, png)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=Path("reports/benchmarks/speed/base_20s.mp4"))
    parser.add_argument("--reference", type=Path, default=None, help="full-resolution MTCNN boxes (default: beside the video)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--engine-batch", type=int, default=32, help="frames a batched MTCNN call takes in the engine run")
    parser.add_argument("--recall-frames", type=int, default=60)
    parser.add_argument("--out", type=Path, required=True, help="where gpu.json and the utilisation plots go")
    parser.add_argument("--work", type=Path, default=Path("/tmp/facetools-gpu"), help="faces, samples and weights of the runs")
    parser.add_argument("--skip", default="", help="comma-separated keys of runs to leave out (decode_4, engine, stride1, ...)")
    args = parser.parse_args()
    for folder in (args.out, args.work):
        folder.mkdir(parents=True, exist_ok=True)
    cache = args.reference or args.video.with_name(f"reference_{args.video.stem}.json")
    report: dict = {"environment": environment(args.device), "runs": {}}
    print(json.dumps(report["environment"]), flush=True)
    weights = random_facenet(args.work / "facenet_random.pt")

    def files(key: str) -> tuple[str, str]:
        """Where a run writes its faces and its utilisation samples."""
        return str(args.work / f"faces_{key}.csv"), str(args.work / f"samples_{key}.csv")

    def facetools_run(key: str, options: dict) -> dict:
        faces, samples = files(key)
        return child(FACETOOLS, str(args.video), args.device, faces, json.dumps(options), samples)

    def engine(key: str, **options: object) -> dict:
        return child(ENGINE, str(args.video), args.device, *files(key), json.dumps({"batch": args.engine_batch, **options}))

    facenet = {"embedder": "facenet", "facenet_weights": str(weights)}
    runs = [  # name, key (--skip; the names of its faces and samples), the run
        ("decode, 4 threads", "decode_4", lambda: child(DECODE, str(args.video), "0", "4")),
        ("decode, every core", "decode_all", lambda: child(DECODE, str(args.video), "0", str(os.cpu_count()))),
        ("decode at 1280 px, every core", "decode_1280", lambda: child(DECODE, str(args.video), "0", str(os.cpu_count()), "1280")),
        ("engine, stride 1", "engine", lambda: engine("engine")),
        ("engine, stride 1, decoded at 1280 px", "engine_1280", lambda: engine("engine_1280", max_side=1280)),
        *((f"engine, stride 1, decoded at 1280 px, {n} batches at once (threads, CUDA streams)", f"engine_1280_{n}",
           functools.partial(engine, f"engine_1280_{n}", max_side=1280, workers=n)) for n in (2, 3, 4)),
        ("engine profile", "profile", lambda: engine("profile", max_side=1280, profile=True)),
        ("facetools defaults", "defaults", lambda: facetools_run("defaults", {})),
        ("facetools stride 1", "stride1", lambda: facetools_run("stride1", {"stride": 1})),
        ("facetools defaults, FaceNet random weights (timing only)", "defaults_facenet",
         lambda: facetools_run("defaults_facenet", facenet)),
        ("facetools stride 1, FaceNet random weights (timing only)", "stride1_facenet",
         lambda: facetools_run("stride1_facenet", {"stride": 1, **facenet})),
    ]  # fmt: skip
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    for name, key, run in runs:
        if key in skip:
            continue
        faces, samples = files(key)
        Path(faces).unlink(missing_ok=True)
        started = time.perf_counter()
        try:
            r = run()
        except RuntimeError as exc:  # one failed run (a missing model, say) leaves the others
            report["runs"][name] = {"error": str(exc)[-800:]}
            print(f"{name}: FAILED\n{str(exc)[-800:]}", flush=True)
            continue
        if "profile" in r:
            print(r["profile"], flush=True)
            continue
        r |= {"fps": round(_fps(r), 1), "realtime": round(_fps(r) / 25.0, 2), "process_s": round(time.perf_counter() - started, 1)}
        if Path(faces).is_file():  # a run that detects
            checked, total, found, extra = recall(args.video, Path(faces), r, args.recall_frames, cache)
            r["recall"] = {"frames": checked, "reference_faces": total, "found": found, "share": round(found / max(total, 1), 3),
                           "not_in_reference": extra}  # fmt: skip
            plot(Path(samples), args.out / f"utilization_{key}.png", f"{name}: {r['fps']} frames/s")
            r["gpu_util_percent_mean"] = _mean_util(Path(samples))
        report["runs"][name] = r
        print(f"{name}: {json.dumps(r)}", flush=True)
        (args.out / "gpu.json").write_text(json.dumps(report, indent=1))
    print("\n| run | frames | seconds | frames/s | realtime × | recall | faces | tracks | mean GPU util % | peak GPU MiB | peak RSS MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in report["runs"].items():
        if "error" in r:
            continue
        cells = [name, r["frames"], f"{r['seconds']:.1f}", r["fps"], r["realtime"], r.get("recall", {}).get("share", "–"),
                 r.get("faces", "–"), r.get("tracks", "–"), _round(r.get("gpu_util_percent_mean")), _round(r.get("peak_gpu_memory_mb")),
                 _round(r.get("peak_rss_mb"))]  # fmt: skip
        print("| " + " | ".join(map(str, cells)) + " |")
    return 0


def _mean_util(samples: Path) -> float | None:
    import pandas as pd

    util = pd.read_csv(samples)["gpu_util_percent"].dropna()
    return round(float(util.mean()), 1) if len(util) else None


def _round(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


if __name__ == "__main__":
    sys.exit(main())
