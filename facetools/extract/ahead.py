"""Whole-frame detection on a worker thread, a batch ahead of tracking, so that the two share the cores."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import TypeVar

import torch

from facetools.extract.opencv_zoo import opencv

T = TypeVar("T")
R = TypeVar("R")


def run_ahead(items: Iterator[T], work: Callable[[T], R], depth: int = 1) -> Generator[tuple[T, R], None, None]:
    """``(item, work(item))`` for each of ``items``, computed on a worker thread up to ``depth`` items ahead (it holds
    ``depth + 1`` at most).

    The worker's exceptions are raised here; when the caller stops early (an error, or closing this generator) the worker
    stops once its current item is done and closes ``items``; the caller waits up to 30 s for that.
    """
    if depth < 1:
        raise ValueError("run_ahead: depth must be at least 1")
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
                if stop.is_set() or not put((item, work(item))):
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


_cores_lock = threading.Lock()
_cores_users = 0
_cores_before = (0, 0)


@contextmanager
def shared_cores() -> Iterator[None]:
    """torch and OpenCV on half of torch's threads each (OpenCV no more than it had) while two stages run side by side; on two
    cores one thread each, which wastes less on waking threads than two. The counts are the process's: they are set when
    the first of overlapping blocks starts and restored when the last ends."""
    global _cores_users, _cores_before
    cv2 = opencv()
    with _cores_lock:
        if _cores_users == 0:
            _cores_before = torch.get_num_threads(), cv2.getNumThreads()
            half = max(1, _cores_before[0] // 2)
            torch.set_num_threads(half)
            cv2.setNumThreads(min(half, _cores_before[1]))
        _cores_users += 1
    try:
        yield
    finally:
        with _cores_lock:
            _cores_users -= 1
            if _cores_users == 0:
                torch.set_num_threads(_cores_before[0])
                cv2.setNumThreads(_cores_before[1])
