"""Where the project's folders are, whatever the working directory (nbmake runs notebooks in theirs)."""

from __future__ import annotations

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
