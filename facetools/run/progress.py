"""Progress display for long runs: a text progress bar fed by the pipeline's hook."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm.std import tqdm


class TqdmProgress:
    """A ``ProgressHook`` drawing one text bar per stage (plain tqdm: works in terminals,
    notebooks and papermill logs alike).

    Example:
        >>> analyze("video.mp4", progress=TqdmProgress())
    """

    def __init__(self, file: TextIO | None = None, disable: bool = False) -> None:
        self.file = file or sys.stderr
        self.disable = disable
        self._bars: dict[str, tqdm] = {}

    def __call__(self, stage: str, completed: int, total: int) -> None:
        bar = self._bars.get(stage)
        if bar is None:
            unit = "frame" if stage == "analyze" else "step"
            bar = tqdm(total=total, desc=stage, unit=unit, file=self.file, disable=self.disable, mininterval=1.0, dynamic_ncols=True)
            self._bars[stage] = bar
        bar.total = max(total, completed)
        bar.update(completed - bar.n)
        if completed >= total:
            bar.close()
