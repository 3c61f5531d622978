"""Background sampling of CPU, memory and (through NVML) GPU use during a run."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

import pandas as pd
import psutil

COLUMNS = ["time_s", "stage", "cpu_percent", "rss_mb", "gpu_util_percent", "gpu_mem_mb"]


def _nvml_handles() -> list[object]:
    try:
        import pynvml

        pynvml.nvmlInit()
        return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception:  # no NVIDIA driver, no GPU or no nvidia-ml-py: CPU only
        return []


@dataclass
class ResourceMonitor:
    """Sample utilisation at ``hz`` in a thread; use as a context manager.

    ``cpu_percent`` is the whole machine's (100 = every core busy); ``rss_mb`` counts this
    process and its children. GPU columns are empty where NVML finds no GPU.

    Example:
        >>> with ResourceMonitor() as mon:
        ...     mon.mark("work")
        >>> mon.frame().columns.tolist()[:3]
        ['time_s', 'stage', 'cpu_percent']
    """

    hz: float = 5.0
    samples: list[dict[str, object]] = field(default_factory=list)
    stage: str = "start"
    peak_rss_mb: float = 0.0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._proc = psutil.Process()
        self._gpus = _nvml_handles()
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="facetools-monitor", daemon=True)

    @property
    def has_gpu(self) -> bool:
        return bool(self._gpus)

    def mark(self, stage: str) -> None:
        """Label the samples from now on with ``stage``."""
        self.stage = stage

    def _rss_mb(self) -> float:
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                continue
        return total / 2**20

    def sample(self) -> None:
        row: dict[str, object] = {
            "time_s": round(time.perf_counter() - self._t0, 3),
            "stage": self.stage,
            "cpu_percent": psutil.cpu_percent(interval=None),
            "rss_mb": round(self._rss_mb(), 1),
            "gpu_util_percent": None,
            "gpu_mem_mb": None,
        }
        if self._gpus:
            import pynvml

            util = [pynvml.nvmlDeviceGetUtilizationRates(h) for h in self._gpus]
            mem = [pynvml.nvmlDeviceGetMemoryInfo(h) for h in self._gpus]
            row["gpu_util_percent"] = max(u.gpu for u in util)
            row["gpu_mem_mb"] = round(sum(m.used for m in mem) / 2**20, 1)
        self.peak_rss_mb = max(self.peak_rss_mb, float(row["rss_mb"]))  # type: ignore[arg-type]
        self.samples.append(row)

    def _run(self) -> None:
        while not self._stop.wait(1.0 / self.hz):
            self.sample()

    def __enter__(self) -> ResourceMonitor:
        psutil.cpu_percent(interval=None)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.samples, columns=COLUMNS)
