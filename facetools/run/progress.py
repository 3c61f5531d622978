"""Progress of long runs: a text bar per count, and the same figures as log lines (logger ``facetools``, INFO).

A log line goes out at the first and the last report of a count and whenever 30 s or 10 % of it have passed
since the line before, so a papermill log, a CI log or a terminal without a bar shows how far a run is.
Rates and times left are measured from a count's first report: work done before (frames resumed from a
checkpoint, videos skipped as complete) does not count as this run's speed.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from tqdm.std import tqdm

LOG = logging.getLogger("facetools")


@dataclass
class Meter:
    """Rate and time left of one count from its measured progress, and when a log line about it is due."""

    total: int
    start: int
    every_s: float = 30.0
    every_fraction: float = 0.1
    clock: Callable[[], float] = time.monotonic
    started: float = field(init=False)
    _logged: tuple[float, int] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def rate(self, done: int) -> float | None:
        """Units per second since the first report; ``None`` before any were done."""
        elapsed = self.clock() - self.started
        return (done - self.start) / elapsed if elapsed > 0 and done > self.start else None

    def eta_s(self, done: int) -> float | None:
        """Seconds left at the measured rate; ``None`` while there is none."""
        rate = self.rate(done)
        return max(self.total - done, 0) / rate if rate else None

    def due(self, done: int) -> bool:
        """Whether to log ``done`` (and note that it was): the first report, the last, or 30 s or 10 % since a line."""
        now = self.clock()
        last = self._logged
        if last is not None and done == last[1]:
            return False
        if last is None or done >= self.total or now - last[0] >= self.every_s or done - last[1] >= self.every_fraction * self.total:
            self._logged = (now, done)
            return True
        return False

    def line(self, label: str, done: int, unit: str, note: str = "") -> str:
        """``analyze: 1200/9000 frames (13 %), 532 faces, 48.2 frames/s, ETA 02:41``."""
        rate, eta = self.rate(done), self.eta_s(done)
        parts = [f"{label}: {done}/{self.total} {unit}s ({100 * done / max(self.total, 1):.0f} %)"]
        parts += [note] if note else []
        if rate and self.total > 1:  # the rate of a single step says nothing
            per, scale = next((p, s) for p, s in (("s", 1), ("min", 60), ("h", 3600)) if rate * s >= 1 or p == "h")
            parts.append(f"{rate * scale:.1f} {unit}s/{per}")
        parts += [f"ETA {tqdm.format_interval(eta)}"] if eta is not None and done < self.total else []
        return ", ".join(parts)


class _Counter:
    """One count shown twice with the same figures: a tqdm bar (average rate, no smoothing) and log lines when due."""

    def __init__(self, label: str, unit: str, total: int, start: int, file: TextIO, disable: bool, every_s: float) -> None:
        self.label, self.unit = label, unit
        self.meter = Meter(max(total, start), start, every_s=every_s)
        self.bar = tqdm(total=self.meter.total, initial=start, desc=label, unit=unit, file=file, disable=disable, smoothing=0,
                        mininterval=1.0, dynamic_ncols=True)  # fmt: skip

    def update(self, done: int, total: int, note: str = "") -> None:
        self.meter.total = self.bar.total = max(total, done)
        self.bar.set_postfix_str(note, refresh=False)
        self.bar.update(done - self.bar.n)
        if self.meter.due(done):
            LOG.info(self.meter.line(self.label, done, self.unit, note))


class TqdmProgress:
    """A ``ProgressHook`` drawing one text bar per stage (plain tqdm: works in terminals, notebooks and papermill logs
    alike) and logging the same figures: frames processed, faces found so far, rate and time left.

    Args:
        file: where bars go (standard error).
        disable: no bars; the log lines still go out.
        every_s: at most this many seconds between two log lines of a stage (and one every 10 % of it).

    Example:
        >>> analyze("video.mp4", progress=TqdmProgress())
    """

    def __init__(self, file: TextIO | None = None, disable: bool = False, every_s: float = 30.0) -> None:
        self.file = file or sys.stderr
        self.disable = disable
        self.every_s = every_s
        self._counts: dict[str, _Counter] = {}

    def __call__(self, stage: str, completed: int, total: int, faces: int | None = None) -> None:
        count = self._counts.get(stage)
        if count is None:
            unit = "frame" if stage == "analyze" else "step"
            count = self._counts[stage] = _Counter(stage, unit, total, completed, self.file, self.disable, self.every_s)
        count.update(completed, total, f"{faces} faces" if faces is not None and count.unit == "frame" else "")
        if completed >= total:
            count.bar.close()


class VideoBar:
    """One bar over a batch's videos for ``run_videos``' ``progress(done, failed, running, total)`` hook, with log lines
    of the same figures; its rate and time left are those of the videos finished in this run (skipped ones aside).

    Example:
        >>> with VideoBar() as bar:
        ...     report(videos, progress=bar)
    """

    def __init__(self, file: TextIO | None = None, disable: bool = False, every_s: float = 30.0) -> None:
        self.file, self.disable, self.every_s = file or sys.stderr, disable, every_s
        self._count: _Counter | None = None

    def __call__(self, done: int, failed: int, running: int, total: int) -> None:
        finished = done + failed
        if self._count is None:  # the first report: the videos already complete
            self._count = _Counter("videos", "video", total, finished, self.file, self.disable, self.every_s)
        self._count.update(finished, total, f"{failed} failed, {running} running")

    def __enter__(self) -> VideoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._count is not None:
            self._count.bar.close()


class _TqdmLogHandler(logging.Handler):
    """Log lines written around any bars (``tqdm.write``), so that neither garbles the other."""

    def __init__(self, file: TextIO | None) -> None:
        super().__init__(logging.INFO)
        self.file = file
        self.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=self.file or sys.stderr)
        except Exception:
            self.handleError(record)


def log_progress(file: TextIO | None = None) -> None:
    """Show the ``facetools`` logger's INFO lines (progress among them) on ``file`` (standard error at each line), unless
    logging is set up already (a handler on it or the root logger): then those handlers decide."""
    if LOG.hasHandlers():
        return
    LOG.addHandler(_TqdmLogHandler(file))
    LOG.setLevel(logging.INFO)


def console_bars(quiet: bool = False) -> bool:
    """Where a command's progress goes: bars on a terminal, log lines on anything else (a file, a CI log), nothing when
    ``quiet``. Returns whether to draw bars."""
    bars = not quiet and sys.stderr.isatty()
    if not quiet and not bars:
        log_progress()
    return bars
