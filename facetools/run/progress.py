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


class VideoBar:
    """One bar over a batch's videos for ``run_videos``' ``progress(done, failed, running, total)`` hook."""

    def __init__(self, total: int, file: TextIO | None = None) -> None:
        self._bar = tqdm(total=total, desc="videos", unit="video", file=file or sys.stderr, mininterval=0.5, dynamic_ncols=True)

    def __call__(self, done: int, failed: int, running: int, total: int) -> None:
        self._bar.total = total
        self._bar.set_postfix_str(f"failed {failed}, running {running}", refresh=False)
        self._bar.update(done + failed - self._bar.n)

    def __enter__(self) -> VideoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()
