"""Analyzing many videos: a failing one is recorded and the batch goes on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facetools.errors import FacetoolsError
from facetools.run.pipeline import analyze
from facetools.stages.extract import ProgressHook


@dataclass
class BatchItem:
    """One video of a batch: where its results went, or why it failed."""

    video: str
    out: Path | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def analyze_batch(
    videos: list[str | os.PathLike[str]], out: str | os.PathLike[str], *, progress: ProgressHook | None = None, **options: Any
) -> list[BatchItem]:
    """Analyze each video into ``out/<video stem>/``; ``FacetoolsError`` s are recorded, not raised.

    Example:
        >>> items = analyze_batch(["a.mp4", "broken.mp4"], "results", device="cpu")
        >>> [i.ok for i in items]
        [True, False]
    """
    items = []
    for video in videos:
        path = Path(video)
        try:
            result = analyze(path, progress=progress, **options)
            items.append(BatchItem(str(path), result.save(Path(out) / path.stem)))
        except FacetoolsError as exc:
            items.append(BatchItem(str(path), None, str(exc)))
    return items
