"""Where the project's folders are, whatever the working directory (nbmake runs notebooks in theirs), and file checksums."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The checkout holding this package (editable install), else the working directory."""
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def resolve(path: str | os.PathLike[str]) -> Path:
    """``path`` as given when absolute or existing, else relative to the project root."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    return project_root() / p


def sample_dir() -> Path:
    return project_root() / "data" / "sample"


def reports_dir() -> Path:
    return project_root() / "reports"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the file at ``path``, computed once per path, size and modification time."""
    st = os.stat(path)
    return _sha256(str(path), st.st_size, st.st_mtime)


@functools.cache
def _sha256(path: str, size: int, mtime: float) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
