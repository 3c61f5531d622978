"""Whole-frame detection on a worker thread, a batch ahead of tracking, so that the two share the cores."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import torch

from facetools.stages.opencv_zoo import opencv

T = TypeVar("T")
R = TypeVar("R")


def run_ahead(items: Iterator[T], work: Callable[[T], R], depth: int = 1) -> Iterator[tuple[T, R]]:
    """``(item, work(item))`` for each of ``items``, computed on a worker thread up to ``depth`` items ahead.

    The worker's exceptions are raised here; when the caller stops early (an error, or closing this generator) the worker
    stops after its current item and closes ``items``.
    """
    out: queue.Queue[tuple[T, R] | BaseException | None] = queue.Queue(depth)
    stop = threading.Event()

    def put(entry: tuple[T, R] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                out.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def worker() -> None:
        try:
            for item in items:
                if not put((item, work(item))):
                    return
            put(None)
        except BaseException as exc:  # handed to the caller
            put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=worker, name="facetools-detect-ahead", daemon=True)
    thread.start()
    try:
        while (entry := out.get()) is not None:
            if isinstance(entry, BaseException):
                raise entry
            yield entry
    finally:
        stop.set()
        thread.join(timeout=30)


@contextmanager
def shared_cores() -> Iterator[None]:
    """torch and OpenCV on half the cores each while two stages run side by side (on two cores: one thread each, which
    wastes less on waking threads than two), restored afterwards."""
    cv2 = opencv()
    before = torch.get_num_threads(), cv2.getNumThreads()
    half = max(1, before[0] // 2)
    torch.set_num_threads(half)
    cv2.setNumThreads(half)
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        cv2.setNumThreads(before[1])
