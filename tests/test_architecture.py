"""The package's shape: imports point only down the layers, no import circles, small modules, a short ``extract()``.

Every ``import`` of every module counts, those inside functions too (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "facetools"

LAYERS = [
    {"errors", "config", "paths", "geometry", "intervals", "calibration", "_openmp", "_import_order", "_callable"},  # base
    {"io"},  # probe, decoders, loaders, ffmpeg, atomic files
    {"trackset"},  # TrackSet: what extraction leaves for identification, its schema and store, the user's edits
    {"extract"},  # decode-side stages: detection, shots, tracking, embedding, models, checkpoints, monitor
    {"identify"},  # clustering rules, identify(), the identification and its loading
    {"outputs"},  # plots, report pages, export, explorer
    {"people"},  # people across videos, search by photo
    {"devdata"},  # composed test videos and their scoring
    {"run"},  # analyze, recluster, batches, executors, the papermill runner
    {"cli", "__init__"},  # entry points
]
MAX_LINES = 350


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return next(k for k, names in enumerate(LAYERS) if top in names)


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The facetools modules ``module`` imports (a ``from package import name`` counts the submodule where there is one)."""
    out = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("facetools")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.startswith("facetools"):
                out |= {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
    return {m for m in out if m in known and m != module}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: _imports(m, p, set(modules)) for m, p in modules.items()}


def test_imports_point_down_the_layers() -> None:
    upward = [f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})" for a, bs in _graph().items() for b in bs if _layer(b) > _layer(a)]
    assert not upward, "\n".join(sorted(upward))


def test_no_import_circles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    packages = {m for m in graph if (PACKAGE.parent / m.replace(".", "/") / "__init__.py").is_file()}
    # a package's __init__ re-exporting its own modules is not a circle of modules
    real = [c for c in cycles if len(set(c) - packages) > 1 or not set(c) & packages]
    assert not real, real


def test_modules_are_small() -> None:
    big = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big, big


def test_extract_is_a_short_loop_of_named_steps() -> None:
    from facetools.extract import extract

    lines = extract.__code__.co_firstlineno, max(line for _, _, line in extract.__code__.co_lines() if line)
    assert lines[1] - lines[0] + 1 < 60, lines


def test_the_layers_cover_the_package() -> None:
    tops = {m.split(".")[1] if "." in m else "__init__" for m in _modules()}
    assert tops <= set().union(*LAYERS), tops - set().union(*LAYERS)


def test_the_stage_packages_are_still_their_functions_once_imported() -> None:
    """``facetools.extract``, ``identify`` and ``people`` name both a package and a function: calling works after their
    modules are imported, and importing the extraction package loads no torch (a fresh interpreter)."""
    import subprocess
    import sys

    code = (
        "import sys, facetools, facetools.extract.quality, facetools.identify.rules, facetools.people.index\n"
        "assert 'torch' not in sys.modules\n"
        "assert all(callable(getattr(facetools, n)) for n in ('extract', 'identify', 'people'))\n"
        "from facetools.identify.identifier import identify\n"
        "assert facetools.identify._function == ('facetools.identify.identifier', 'identify')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
