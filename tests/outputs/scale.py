"""Big runs for tests without decoding anything (the sample's tracks copied into many identities over an hour), and what pages link."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd

from facetools.trackset.records import TrackRecord, TrackSet

FPS = 25.0
STRIDE = 5


def _track(base: TrackRecord, track: int, start_s: float, seconds: float, embedding: np.ndarray, height: float) -> TrackRecord:
    """A copy of ``base`` on screen from ``start_s`` for ``seconds``, as its own shot, with its own embedding and face height."""
    first = round(start_s * FPS)
    frames = np.arange(first, first + round(seconds * FPS), STRIDE, dtype=np.int64)
    quality = np.tile(base.best_face, (3, 1))
    quality[:, 1] = height
    return TrackRecord(track, track, frames, (start_s, start_s + seconds), embedding, np.tile(embedding, (3, 1)), quality, base.thumbnail)


def crowd(base: TrackSet, people: int = 64, loose: int = 10, duration_s: float = 3600.0, seed: int = 0) -> TrackSet:
    """``people`` identities (random, far apart embeddings; identity k has ``1 + (people - 1 - k) // 8`` segments of 4 s,
    spread over the video) and ``loose`` short tracks of small faces (left unidentified), in a video of ``duration_s``."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(people + loose, base.tracks[0].embedding.shape[0])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    spans = [(k, 4.0) for k in range(people) for _ in range(1 + (people - 1 - k) // 8)]
    spans += [(people + k, 0.6) for k in range(loose)]
    starts = np.sort(rng.uniform(0, duration_s - 5, len(spans)))
    records = [
        _track(base.tracks[k % len(base.tracks)], n, float(start), seconds, vectors[k], 120.0 if k < people else 30.0)
        for n, ((k, seconds), start) in enumerate(zip(spans, rng.permutation(starts)))
    ]
    box = base.faces.iloc[0]
    faces = pd.DataFrame([{"frame": f, "time_s": f / FPS, "x1": box.x1, "y1": box.y1, "x2": box.x2, "y2": box.y2, "score": 0.99,
                           "track": r.id} for r in records for f in r.frames])  # fmt: skip
    frame_count = round(duration_s * FPS)
    video = replace(base.video, duration_s=duration_s, frame_count=frame_count)
    return replace(base, video=video, frame_times=np.arange(frame_count) / FPS, faces=faces, tracks=records,
                   cuts=sorted(int(r.frames[0]) for r in records), shot_samples={r.id: len(r) for r in records})  # fmt: skip


def linked_images(page: Path) -> list[Path]:
    """The files a page's ``<img>`` tags point at, resolved from the page's folder."""
    return [page.parent / unquote(src) for src in re.findall(r'<img src="([^"]+)"', page.read_text(encoding="utf-8"))]
