"""Notebook reports: run ``notebooks/analyze_video.ipynb`` under papermill per video, index them (and what the notebooks run)."""

from __future__ import annotations

import functools
import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from facetools.config import Config
from facetools.errors import FacetoolsError
from facetools.io.lock import folder_lock
from facetools.outputs.analysis import Analysis
from facetools.outputs.pages import PEOPLE_PAGE, STATUS_FILE, read_status, runs_table, write_index
from facetools.paths import PACKAGE_DIR, project_root, reports_dir, resolve
from facetools.run.progress import TqdmProgress, console_bars, log_progress
from facetools.run.recluster import identify_stored
from facetools.trackset.store import TRACKS_FILE, load_tracks

NOTEBOOK = PACKAGE_DIR / "notebooks" / "analyze_video.ipynb"
"""The report notebook ships inside the package, so an installed facetools can run reports anywhere."""


def run_analysis(video: str = "", out_dir: str = "", *, progress: bool = True, **options: Any) -> Analysis:
    """What the analysis notebook runs: analyze ``video`` (the bundled sample when empty) and save it.

    ``out_dir`` defaults to ``reports/<video stem>``; empty option values are left at their defaults. With ``progress``,
    a bar and log lines (:func:`facetools.run.progress.log_progress`) tell how far extraction is.
    When ``out_dir`` already holds this video's stored tracks (extracted elsewhere, e.g. by a Ray
    worker, or an earlier run), only identification runs.
    """
    from facetools.devdata.sample import sample_video

    path = resolve(video) if video else sample_video()
    out = resolve(out_dir) if out_dir else reports_dir() / path.stem
    chosen = Config.chosen(options)
    stored = load_tracks(out) if (out / TRACKS_FILE).is_file() else None
    if stored is not None and Path(stored.video.path).resolve() == path.resolve():
        return identify_stored(out, chosen, stored)
    from facetools.run.pipeline import analyze

    if progress:
        log_progress()
    analysis = analyze(path, progress=TqdmProgress(disable=not progress), **chosen)
    analysis.save(out)
    return analysis


def rerender(run_dir: str | os.PathLike[str]) -> Path:
    """Run the report notebook again on a finished run directory (identification only) and rewrite its ``report.html``."""
    with folder_lock(resolve(run_dir)) as folder:
        _execute(Path(load_tracks(folder).video.path), folder, {})
    return folder / "report.html"


def run_export(
    video: str = "", analysis_dir: str = "", target: str = "auto", out_dir: str = "", **options: Any
) -> tuple[Analysis, Path, list]:
    """What the export notebook runs: load (or first make) the analysis of ``video``, then cut clips.

    Returns the analysis, the clips folder and the clips.

    ``analysis_dir`` defaults to ``reports/<stem>``, ``out_dir`` to ``<analysis_dir>/clips``;
    ``options`` are :class:`facetools.outputs.export.ExportOptions` fields.
    """
    from facetools.devdata.sample import sample_video
    from facetools.outputs.export import ExportOptions, export_clips

    path = resolve(video) if video else sample_video()
    folder = resolve(analysis_dir) if analysis_dir else reports_dir() / path.stem
    analysis = Analysis.load(folder) if (folder / "identities.json").is_file() else run_analysis(str(path), str(folder))
    clips_dir = resolve(out_dir) if out_dir else folder / "clips"
    return analysis, clips_dir, export_clips(analysis, target, clips_dir, ExportOptions(**options))


def compare_runs(folders: list[str]) -> pd.DataFrame:
    """One row per finished analysis folder (:func:`facetools.outputs.pages.runs_table`); no folders: the bundled sample's
    report (made first if missing)."""
    if not folders:
        folders = ["reports/sample"]
        if not (resolve(folders[0]) / "identities.json").is_file():
            run_analysis("", folders[0])
    return runs_table(folders)


@dataclass
class ReportResult:
    """Outcome of one video's report."""

    video: str
    folder: Path
    status: str
    seconds: float
    error: str = ""


def _execute(video: Path, folder: Path, parameters: dict[str, Any]) -> None:
    try:
        import nbformat
        import papermill as pm
        from nbconvert import HTMLExporter
    except ImportError as exc:
        raise FacetoolsError("reports need the notebook extras: pip install 'facetools[notebooks]'") from exc
    notebook = folder / "analysis.ipynb"
    params = {**parameters, "video": str(video.resolve()), "out_dir": str(folder.resolve())}
    try:
        pm.execute_notebook(str(NOTEBOOK), str(notebook), parameters=params, progress_bar=False, cwd=str(project_root()))
    except pm.PapermillExecutionError as exc:
        raise FacetoolsError(f"{exc.ename}: {exc.evalue}".strip()) from exc
    executed = nbformat.read(notebook, as_version=4)
    for cell in executed.cells:  # progress bars are log, not report
        cell["outputs"] = [o for o in cell.get("outputs", []) if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    body, _ = HTMLExporter(exclude_input=True, embed_images=True).from_notebook_node(executed)
    (folder / "report.html").write_text(body, encoding="utf-8")


def report(
    videos: list[str],
    out: str | os.PathLike[str] = "reports",
    *,
    parameters: dict[str, Any] | None = None,
    force: bool = False,
    people: bool = True,
    executor: str = "local",
    address: str | None = None,
    cpus_per_task: int = 1,
    gpus_per_task: int = 0,
    progress: Callable[[int, int, int, int], None] | None = None,
) -> list[ReportResult]:
    """Extract each video (here, or one Ray task per video), then run the analysis notebook on its stored tracks
    into ``out/<stem>/`` and write ``out/index.html``.

    Extraction results arrive in place atomically (see :func:`facetools.run.executors.run_videos`); a
    failing video is recorded and the batch goes on; unless ``force``, videos whose report is complete are skipped and
    videos already extracted are not extracted again (a batch run again after a kill resumes each stage). The
    notebook then only identifies (seconds) on this machine. With ``people`` and two or more complete runs,
    ``out/people/people.html`` clusters their identities into people (linked from the index).
    Another process writing ``out`` makes it raise :class:`facetools.errors.RunDirectoryBusyError` before any work.
    """
    from facetools.run.batch import extract_work
    from facetools.run.executors import run_videos

    root = resolve(out)
    root.mkdir(parents=True, exist_ok=True)
    params = parameters or {}
    with folder_lock(root):
        local = executor == "local"  # each video's frames, faces and time left, as analyze shows them
        work = extract_work(params, root if local else None, functools.partial(TqdmProgress, disable=not console_bars()) if local else None)
        outcomes = run_videos([str(resolve(v)) for v in videos], root, work, is_complete=_extracted,
                              executor=executor, address=address, cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task,
                              force=force, progress=progress)  # fmt: skip
        results = []
        for o in outcomes:
            path = Path(o.video)
            if o.status == "skipped" and _report_complete(o.folder):
                results.append(ReportResult(str(path), o.folder, "skipped", 0.0))
                continue
            started = time.perf_counter()
            error = o.error
            if not error:
                try:
                    _execute(path, o.folder, params)
                except FacetoolsError as exc:
                    error = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            seconds = o.seconds + time.perf_counter() - started
            status = "failed" if error else "ok"
            o.folder.mkdir(parents=True, exist_ok=True)
            (o.folder / STATUS_FILE).write_text(
                json.dumps({"video": str(path), "status": status, "error": error, "seconds": round(seconds, 2)})
            )
            results.append(ReportResult(str(path), o.folder, status, seconds, error))
        if people:  # a people page across the batch (facetools/people), linked from the index
            reports_people_page(root, [r.folder for r in results if r.status in ("ok", "skipped")])
        write_index(root)
        return results


def _extracted(folder: Path) -> bool:
    """The video's tracks are stored: a batch run again only renders its report (a kill between the stages loses neither)."""
    return (folder / TRACKS_FILE).is_file()


def _report_complete(folder: Path) -> bool:
    return read_status(folder).get("status") == "ok" and (folder / "report.html").is_file()


def reports_people_page(root: str | os.PathLike[str], folders: list[Path]) -> Path | None:
    """``root/people/people.html`` for a batch of reports with two or more complete runs (a failure warns, the batch stands)."""
    from facetools.people.core import people

    runs = [f for f in folders if (f / TRACKS_FILE).is_file() and (f / "identities.json").is_file()]
    if len(runs) < 2:
        return None
    try:
        people(runs, (Path(root) / PEOPLE_PAGE).parent)
    except FacetoolsError as exc:
        warnings.warn(f"people page not built: {exc}", stacklevel=2)
        return None
    return Path(root) / PEOPLE_PAGE
