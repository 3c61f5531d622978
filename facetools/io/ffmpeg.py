"""Locating and running the ffmpeg/ffprobe binaries."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import threading
from collections.abc import Iterable

from facetools.errors import FacetoolsError, FFmpegError

INSTALL_HINT = "install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; conda: conda install -c conda-forge ffmpeg)"


def binary(name: str) -> str:
    """Return the path of ``ffmpeg`` or ``ffprobe``, or raise with the install command."""
    path = shutil.which(name)
    if path is None:
        raise FacetoolsError(f"{name} not found on PATH: {INSTALL_HINT}")
    return path


@functools.cache
def version() -> str:
    """ffmpeg's version string (``5.1.9-0+deb12u1``), or ``unknown``."""
    try:
        first = run(["ffmpeg", "-version"], timeout=30).decode(errors="replace").split("\n", 1)[0]
    except FacetoolsError:
        return "unknown"
    return first.split()[2] if first.startswith("ffmpeg version ") else "unknown"


def at_least(major: int, minor: int) -> bool:
    """Whether the installed ffmpeg is ``major.minor`` or newer (unparsable versions, such as git builds, count as new)."""
    m = re.match(r"n?(\d+)\.(\d+)", version())
    return m is None or (int(m.group(1)), int(m.group(2))) >= (major, minor)


def run(args: list[str], *, timeout: float = 600.0, what: str = "ffmpeg failed", stdin: bytes | None = None) -> bytes:
    """Run ``ffmpeg``/``ffprobe`` with ``args`` (the first item names the tool); return stdout.

    Raises:
        FFmpegError: non-zero exit or a run longer than ``timeout`` seconds.
    """
    cmd = [binary(args[0]), *args[1:]]
    try:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FFmpegError(cmd, f"timed out after {timeout:.0f} s", what) from exc
    if proc.returncode != 0:
        raise FFmpegError(cmd, proc.stderr.decode(errors="replace"), what)
    return proc.stdout


def encode(args: list[str], chunks: Iterable[bytes], *, what: str = "ffmpeg failed") -> None:
    """Run ``ffmpeg`` with ``args``, streaming ``chunks`` (raw frames) to its stdin.

    Raises:
        FFmpegError: ffmpeg exits non-zero or stops reading.
    """
    cmd = [binary(args[0]), *args[1:]]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    broken = False
    try:
        for chunk in chunks:
            proc.stdin.write(chunk)  # type: ignore[union-attr]
    except BrokenPipeError:
        broken = True
    finally:
        try:
            proc.stdin.close()  # type: ignore[union-attr]
        except BrokenPipeError:
            broken = True
        code = proc.wait()
        reader.join()
    if code != 0 or broken:
        raise FFmpegError(cmd, b"".join(errors).decode(errors="replace"), what)
