"""Editing and viewing a finished analysis: frames with labelled boxes, renaming and merging identities.

The widgets of ``notebooks/explore.ipynb`` (:mod:`facetools.outputs.widgets`) call these; edits are
saved back into the analysis folder so the next report uses them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from facetools.errors import InputValidationError
from facetools.intervals import merge_intervals
from facetools.io.loader import read_frames
from facetools.outputs.analysis import Analysis
from facetools.outputs.plots import colour


def draw_frame(analysis: Analysis, frame: int) -> np.ndarray:
    """Frame ``frame`` of the analysed video with every face box coloured and labelled by identity."""
    image = Image.fromarray(read_frames(analysis.video, [int(frame)]).frames[0].numpy())
    sx, sy = image.width / analysis.video.width, image.height / analysis.video.height
    names = {p.id: p.name for p in analysis.identities}
    draw = ImageDraw.Draw(image)
    for row in analysis.boxes_at(frame).itertuples():
        box = (row.x1 * sx, row.y1 * sy, row.x2 * sx, row.y2 * sy)
        draw.rectangle(box, outline=colour(row.identity), width=3 if row.detected else 1)
        draw.text((box[0] + 2, max(0, box[1] - 12)), names.get(row.identity, "unassigned"), fill=colour(row.identity))
    return np.asarray(image)


def first_appearances(analysis: Analysis) -> Figure:
    """Each identity's first frame on screen, boxes drawn."""
    people = analysis.identities
    fig = Figure(figsize=(4 * max(len(people), 1), 3))
    for ax, person in zip(fig.subplots(1, max(len(people), 1), squeeze=False)[0], people):
        frame = appearances(analysis, person.id)[0]
        ax.imshow(draw_frame(analysis, frame))
        ax.set_title(f"{person.name}: first seen at {person.first_s:.1f} s", fontsize=9)
        ax.axis("off")
    return fig


def appearances(analysis: Analysis, identity: int) -> list[int]:
    """The first frame of each of an identity's on-screen segments."""
    fps = analysis.video.fps
    return [int(round(s * fps)) for s, _ in analysis.identity(identity).segments]


def rename_identity(folder: str | os.PathLike[str], identity: int, name: str) -> Analysis:
    """Rename an identity in a saved analysis; returns the updated analysis."""
    analysis = Analysis.load(folder)
    if not name.strip():
        raise InputValidationError("a name cannot be empty")
    if any(p.name == name and p.id != identity for p in analysis.identities):
        raise InputValidationError(f"another identity is already called {name!r}")
    _find(analysis, identity).name = name.strip()
    analysis.save(folder)
    return analysis


def merge_identities(folder: str | os.PathLike[str], keep: int, drop: int) -> Analysis:
    """Merge identity ``drop`` into ``keep`` (faces, tracks, segments, embedding) and save."""
    if keep == drop:
        raise InputValidationError("cannot merge an identity with itself")
    analysis = Analysis.load(folder)
    a, b = _find(analysis, keep), _find(analysis, drop)
    gap = float(analysis.run.get("config", {}).get("merge_gap_s", 0.5))
    if a.embedding.size and b.embedding.size:
        mean = a.embedding * a.faces + b.embedding * b.faces
        a.embedding = mean / np.linalg.norm(mean)
    a.tracks = sorted(a.tracks + b.tracks)
    a.faces += b.faces
    a.segments = merge_intervals(a.segments + b.segments, gap)
    analysis.identities = sorted((p for p in analysis.identities if p.id != drop), key=lambda p: -p.screen_time_s)
    analysis.faces.loc[analysis.faces["identity"] == drop, "identity"] = keep
    analysis.tracks.loc[analysis.tracks["identity"] == drop, "identity"] = keep
    analysis.thumbnails.pop(drop, None)
    analysis.run["identities"] = len(analysis.identities)
    analysis.save(Path(folder))
    return analysis


def _find(analysis: Analysis, identity: int):  # noqa: ANN202 - Identity
    try:
        return analysis.identity(identity)
    except KeyError:
        raise InputValidationError(f"no identity with id {identity}") from None
