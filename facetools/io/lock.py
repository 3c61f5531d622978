"""One writer per folder: an advisory lock that the operating system releases when its process ends, even if killed."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from facetools.errors import InputValidationError, RunDirectoryBusyError

LOCK_FILE = ".facetools.lock"
"""Kept in the locked folder; it holds the pid of the process that last held the lock."""

_held: dict[Path, int] = {}  # folders this process holds, and how many times (a holder may call another holder)


@contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the existing ``folder`` for this process, or raise :class:`RunDirectoryBusyError` at once.

    The lock is ``flock`` on ``folder/.facetools.lock``: the kernel drops it when the holder exits, however it
    exits, so a killed run never leaves the folder locked. Taking it again in the holding process nests.

    Example:
        >>> with folder_lock("reports/sample"):
        ...     write_results()
    """
    path = Path(folder).resolve()
    fd = None if path in _held else _acquire(path)
    _held[path] = _held.get(path, 0) + 1
    try:
        yield Path(folder)
    finally:
        _held[path] -= 1
        if fd is not None:
            del _held[path]
            os.close(fd)  # releases the lock


def _acquire(path: Path) -> int:
    """The open lock file of ``path``, locked, with this process's pid in it."""
    if not path.is_dir():
        raise InputValidationError(f"{path}: no such folder")
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.pread(fd, 20, 0).decode(errors="replace").strip()
        os.close(fd)
        owner = f"process {pid}" if pid.isdigit() else "another process"
        raise RunDirectoryBusyError(f"{path} is being written by {owner}; wait for it to finish or write elsewhere") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd
