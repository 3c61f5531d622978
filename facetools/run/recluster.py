"""``recluster()``: identify a run directory's stored tracks again, in seconds (no decoding, no torch)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from facetools.errors import InputValidationError
from facetools.io.store import Edits, load_tracks
from facetools.outputs.analysis import Analysis, stored_config
from facetools.stages.identify import identify


def recluster(run_dir: str | os.PathLike[str], **options: Any) -> Analysis:
    """Identify the stored tracks of ``run_dir`` again with changed identify options, keeping the user's edits.

    Rewrites ``faces.csv``, ``identities.json``, ``run.json`` and the plots; decodes nothing and,
    unless a new ``gallery`` is given, loads no model.

    Example:
        >>> recluster("reports/sample", cluster_threshold=0.05).summary()
    """
    out = Path(run_dir)
    cfg = stored_config(out).with_options(**options)
    extract_only = sorted(set(options) - set(cfg.identify_options()))
    if extract_only:
        raise InputValidationError(f"{', '.join(extract_only)} change extraction: run `facetools analyze` again instead")
    tracks = load_tracks(out)
    if options.get("gallery"):
        tracks.gallery = _embed_gallery(options["gallery"], tracks.space.embedder)
    analysis = identify(tracks, cfg, Edits.load(out))
    analysis.save(out, tracks=bool(options.get("gallery")))
    return analysis


def _embed_gallery(folder: str, embedder: str) -> dict[str, np.ndarray]:
    """Gallery embeddings in the run's embedding space (loads the detector and the embedder)."""
    from facetools.stages.detect import FaceDetector
    from facetools.stages.extract import cached_embedder
    from facetools.stages.gallery import embed_gallery

    return embed_gallery(folder, FaceDetector("cpu"), cached_embedder(embedder, "cpu", None))
