"""``recluster()``: identify a run directory's stored tracks again, in seconds (no decoding, no torch)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from facetools.config import Config
from facetools.errors import InputValidationError
from facetools.identify.analysis import stored_config
from facetools.identify.identifier import identify
from facetools.io.lock import folder_lock
from facetools.outputs.analysis import Analysis
from facetools.trackset.records import TrackSet
from facetools.trackset.store import Edits, load_tracks, save_tracks


def recluster(run_dir: str | os.PathLike[str], **options: Any) -> Analysis:
    """Identify the stored tracks of ``run_dir`` again with changed identify options, keeping the user's edits.

    Rewrites ``faces.csv``, ``identities.json``, ``run.json`` and the plots; decodes nothing and,
    unless a new ``gallery`` is given, loads no model. Another process writing ``run_dir`` makes it
    raise :class:`facetools.errors.RunDirectoryBusyError` before anything is read or written.

    Example:
        >>> recluster("reports/sample", cluster_threshold=0.05).summary()
    """
    with folder_lock(run_dir) as out:
        cfg = stored_config(out).with_options(**options)
        extract_only = sorted(set(options) - set(cfg.identify_options()))
        if extract_only:
            raise InputValidationError(f"{', '.join(extract_only)} change extraction: run `facetools analyze` again instead")
        tracks = load_tracks(out)
        if options.get("gallery"):
            tracks.gallery = _embed_gallery(options["gallery"], tracks.space.embedder, tracks.run.embedder_precision)
        analysis = Analysis.of(identify(tracks, cfg, Edits.load(out)))
        analysis.save(out, tracks=bool(options.get("gallery")))
        return analysis


def _embed_gallery(folder: str, embedder: str, precision: str) -> dict[str, np.ndarray]:
    """Gallery embeddings in the run's embedding space and precision (loads the detector and the embedder)."""
    from facetools.extract.gallery import embed_gallery
    from facetools.extract.models import load_photo_models

    return embed_gallery(folder, load_photo_models(embedder, precision))


def identify_stored(out: Path, options: dict[str, Any], tracks: TrackSet | None = None) -> Analysis:
    """Identify the stored tracks of ``out`` (extracted here or by an executor) with its edits and save.

    Identify options come from ``options``; the rest from the run's last identification, or its extraction.
    ``tracks`` saves reading ``tracks.npz`` again where the caller has it.
    """
    tracks = tracks or load_tracks(out)
    placed = json.loads((out / "run.json").read_text()) if (out / "run.json").is_file() else {}
    if placed.get("node") and not tracks.run.node:  # where an executor ran the extraction
        tracks.run.node, tracks.run.executor = placed["node"], placed.get("executor", "local")
        save_tracks(tracks, out)
    base = stored_config(out) if (out / "identities.json").is_file() else Config.from_dict(tracks.run.config)
    identify_only = {k: v for k, v in options.items() if k in base.identify_options() and k != "gallery"}
    analysis = Analysis.of(identify(tracks, base.with_options(**identify_only), Edits.load(out)))
    analysis.save(out, tracks=False)
    return analysis
