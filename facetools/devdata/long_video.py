"""Long test videos: a composed video played ``copies`` times in a row (one file, stream copied), with the whole truth.

A person who comes back in every copy must stay one identity, as in an episode or a lecture an hour long.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from facetools.devdata.synth import truth_file
from facetools.io import ffmpeg


def repeat_video(video: str | os.PathLike[str], truth: dict[str, Any], copies: int, out: str | os.PathLike[str]) -> dict[str, Any]:
    """Write ``copies`` of ``video`` one after another to ``out`` (ffmpeg's concat demuxer, no re-encoding); return the truth
    of the whole (every face, shot and shot note of each copy, ``frames`` later), also written to ``<out>.truth.json``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=out.parent, delete=False) as listing:
        listing.write("".join(f"file '{Path(video).resolve().as_posix()}'\n" for _ in range(copies)))
    try:
        ffmpeg.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", listing.name, "-c", "copy", str(out)],
                   what="concatenating the test video failed")  # fmt: skip
    finally:
        Path(listing.name).unlink(missing_ok=True)
    n = truth["frames"]
    whole = copy.deepcopy(truth)
    whole.update(video=out.name, frames=n * copies, shots=[[a + k * n, b + k * n] for k in range(copies) for a, b in truth["shots"]])
    whole["people"] = {p: [[f + k * n, *box] for k in range(copies) for f, *box in rows] for p, rows in truth["people"].items()}
    if "shot_info" in truth:
        whole["shot_info"] = truth["shot_info"] * copies
    truth_file(out).write_text(json.dumps(whole, indent=1, sort_keys=True))
    return whole
