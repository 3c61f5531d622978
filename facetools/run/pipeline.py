"""``analyze()``: extract, then identify."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from facetools.config import Config
from facetools.extract.extractor import ProgressHook, extract
from facetools.identify.identifier import identify
from facetools.outputs.analysis import Analysis


def analyze(
    path: str | os.PathLike[str],
    config: Config | None = None,
    *,
    progress: ProgressHook | None = None,
    checkpoint: Path | None = None,
    **options: Any,
) -> Analysis:
    """Find, track and identify every face in the video at ``path``.

    Args:
        path: the video file.
        config: settings; ``options`` override single fields (``stride=3``).
        progress: called as ``progress(stage, completed, total)``.
        checkpoint: a file where extraction saves its progress and from which it resumes.

    Example:
        >>> result = analyze("data/sample/sample.mp4", device="cpu")
        >>> result.summary()
    """
    cfg = (config or Config()).with_options(**options)
    return Analysis.of(identify(extract(path, cfg, progress=progress, checkpoint=checkpoint), cfg))
