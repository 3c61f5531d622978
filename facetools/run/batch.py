"""Analyzing many videos: extraction here or on a Ray cluster, identification here; a failing video is recorded and the batch goes on."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facetools.config import Config
from facetools.errors import FacetoolsError
from facetools.extract.checkpoint import CHECKPOINT_FILE

if TYPE_CHECKING:
    from collections.abc import Callable

    from facetools.extract.extractor import ProgressHook

from facetools.run.executors import Progress, Work, one_line, run_videos
from facetools.trackset.store import save_tracks


@dataclass
class BatchItem:
    """One video of a batch: where its results went, or why it failed."""

    video: str
    out: Path | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def extract_into(
    video: str, out_dir: Path, config: Config, checkpoints: Path | None = None, progress: Callable[[], ProgressHook] | None = None
) -> None:
    """Executor work: extract ``video`` and store its tracks (and the extraction's ``run.json``) in ``out_dir``.

    ``progress`` makes a fresh progress hook for the video (frames processed, faces, time left). With ``checkpoints``
    (a folder that outlives ``out_dir``), extraction checkpoints there and a batch run again after an interruption
    resumes the video where it stopped (:func:`checkpoint_of`); the checkpoint goes once the tracks are stored.
    """
    from facetools.extract.extractor import extract

    checkpoint = checkpoint_of(checkpoints, video) if checkpoints else None
    tracks = extract(video, config, checkpoint=checkpoint, progress=progress() if progress else None)
    save_tracks(tracks, out_dir)
    (out_dir / "run.json").write_text(json.dumps(asdict(tracks.run), indent=2, default=str))
    if checkpoint:
        checkpoint.unlink(missing_ok=True)


def checkpoint_of(folder: Path, video: str) -> Path:
    """Where a batch keeps the extraction checkpoint of ``video``: beside the run folders, hidden."""
    return folder / f".{Path(video).stem}{CHECKPOINT_FILE}"


def extract_work(options: dict[str, Any], checkpoints: Path | None = None, progress: Callable[[], ProgressHook] | None = None) -> Work:
    """The picklable executor work for these options (those that are ``Config`` fields; empty values keep defaults);
    ``checkpoints``: a folder for resumable checkpoints (local runs; a Ray task's node-local files would not outlive it);
    ``progress``: a picklable maker of each video's progress hook (local runs: a Ray task's bars would print on its node)."""
    config = Config.from_dict(options, skip_empty=True)
    return functools.partial(extract_into, config=config, checkpoints=checkpoints, progress=progress)


def analyze_batch(
    videos: list[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    executor: str = "local",
    address: str | None = None,
    cpus_per_task: int = 1,
    gpus_per_task: int = 0,
    force: bool = False,
    progress: Progress | None = None,
    **options: Any,
) -> list[BatchItem]:
    """Analyze each video into ``out/<video stem>/``; ``FacetoolsError`` s are recorded, not raised.

    Extraction runs in this process or as one Ray task per video (``executor="ray"``); complete
    run directories are skipped unless ``force``.

    Example:
        >>> items = analyze_batch(["a.mp4", "broken.mp4"], "results", device="cpu")
        >>> [i.ok for i in items]
        [True, False]
    """
    from facetools.run.recluster import identify_stored

    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    work = extract_work(options, root if executor == "local" else None)
    outcomes = run_videos([str(Path(v).resolve()) for v in videos], root, work,
                          is_complete=lambda f: (f / "identities.json").is_file(), executor=executor, address=address,
                          cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task, force=force, progress=progress)  # fmt: skip
    items = []
    for o in outcomes:
        if o.status == "failed":
            items.append(BatchItem(o.video, None, o.error))
            continue
        try:
            if o.status == "ok":
                identify_stored(o.folder, options)
            items.append(BatchItem(o.video, o.folder))
        except FacetoolsError as exc:
            items.append(BatchItem(o.video, None, one_line(exc)))
    return items
