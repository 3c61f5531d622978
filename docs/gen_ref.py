"""Write the API reference pages at build time (mkdocs-gen-files), one page per public module of ``facetools``.

The package is walked on every build, so modules that are added, moved or renamed need no edit here.
Skipped: private modules and packages (a leading underscore), ``facetools/notebooks`` and ``facetools/data``,
and folders without ``__init__.py`` (griffe, which reads the docstrings, sees only regular packages).
"""

from __future__ import annotations

import logging
from pathlib import Path

import mkdocs_gen_files

log = logging.getLogger("mkdocs.plugins.gen_ref")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "facetools"
SKIP_DIRS = {"notebooks", "data", "__pycache__"}

nav = mkdocs_gen_files.Nav()

for path in sorted(PACKAGE.rglob("*.py")):
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if any(part in SKIP_DIRS for part in parts[1:-1]):
        continue
    if any(part.startswith("_") for part in parts[1:-1]):
        continue  # a private package: none of its modules
    folders = [ROOT.joinpath(*parts[:n]) for n in range(1, len(parts))]
    if not all((folder / "__init__.py").is_file() for folder in folders):
        log.info("API reference: %s skipped (a folder above it has no __init__.py)", path.relative_to(ROOT))
        continue
    if parts[-1] == "__init__":
        parts = parts[:-1]
        page = Path("reference", *parts, "index.md")
    elif parts[-1].startswith("_"):
        continue  # a private module (also __main__)
    else:
        page = Path("reference", *parts).with_suffix(".md")
    identifier = ".".join(parts)
    nav[tuple(parts)] = page.relative_to("reference").as_posix()
    with mkdocs_gen_files.open(page, "w") as f:
        f.write(f"# `{identifier}`\n\n::: {identifier}\n")
    mkdocs_gen_files.set_edit_path(page, path.relative_to(ROOT).as_posix())

with mkdocs_gen_files.open("reference/SUMMARY.md", "w") as f:
    f.writelines(nav.build_literate_nav())
