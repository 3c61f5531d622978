"""Viewing and correcting a finished analysis: frames with labelled boxes; renames, merges, hand assignments,
answers to "same person?" suggestions and splits.

Corrections are saved as track-level facts in the run's ``edits.json`` and applied by every
later identification (recluster, the explorer's threshold slider, reports), so they survive
changes of threshold. The widgets of ``notebooks/explore.ipynb`` (:mod:`facetools.outputs.widgets`)
and ``facetools review`` call these.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from facetools.config import Config
from facetools.errors import InputValidationError
from facetools.identify.analysis import stored_config
from facetools.identify.identifier import identify
from facetools.identify.identities import Identity
from facetools.io.decoders import read_frames_by
from facetools.outputs.analysis import Analysis
from facetools.outputs.plots import colour
from facetools.trackset.store import Edits, load_tracks

UNIDENTIFIED_COLOUR = "#9e9e9e"


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def draw_frame(analysis: Analysis, frame: int) -> np.ndarray:
    """Frame ``frame`` of the analysed video with every face box coloured and labelled by identity."""
    batch = read_frames_by(analysis.run.decoder, analysis.video, [int(frame)], times=analysis.frame_times)
    image = Image.fromarray(batch.frames[0].numpy())
    sx, sy = image.width / analysis.video.width, image.height / analysis.video.height
    names = {p.id: p.name for p in analysis.identities}
    draw = ImageDraw.Draw(image)
    font = _font(max(12, image.height // 30))
    for row in analysis.boxes_at(frame).itertuples():
        box = (row.x1 * sx, row.y1 * sy, row.x2 * sx, row.y2 * sy)
        ink = colour(row.identity) if row.identity >= 0 else UNIDENTIFIED_COLOUR
        draw.rectangle(box, outline=ink, width=3 if row.detected else 1)
        label = names.get(row.identity, f"unidentified (track {row.track})")
        left, top, right, bottom = draw.textbbox((box[0], box[1]), label, font=font)
        y = box[1] - (bottom - top) - 6 if box[1] - (bottom - top) - 6 >= 0 else box[3] + 2
        draw.rectangle((box[0], y, box[0] + right - left + 6, y + bottom - top + 4), fill=ink)
        draw.text((box[0] + 3, y + 2 - (top - box[1])), label, fill="white", font=font)
    return np.asarray(image)


def first_appearances(analysis: Analysis) -> Figure:
    """Each identity's first frame on screen, boxes drawn."""
    people = analysis.identities
    fig = Figure(figsize=(4 * max(len(people), 1), 3))
    for ax, person in zip(fig.subplots(1, max(len(people), 1), squeeze=False)[0], people):
        ax.imshow(draw_frame(analysis, appearances(analysis, person.id)[0]))
        ax.set_title(f"{person.name}: first seen at {person.first_s:.1f} s", fontsize=9)
        ax.axis("off")
    fig.suptitle("Where each identity is first seen")
    return fig


def appearances(analysis: Analysis, identity: int) -> list[int]:
    """The first frame of each of an identity's on-screen segments."""
    return [analysis.frame_at(s) for s, _ in analysis.identity(identity).segments]


def reidentify(folder: str | os.PathLike[str], config: Config | None = None) -> Analysis:
    """Identify the run's stored tracks again with its edits (and ``config``, default: the run's last options) and save."""
    out = Path(folder)
    analysis = Analysis.of(identify(load_tracks(out), config or stored_config(out), Edits.load(out)))
    analysis.save(out, tracks=False)
    return analysis


def rename_identity(folder: str | os.PathLike[str], identity: int, name: str) -> Analysis:
    """Give an identity a name, kept on its tracks through later re-identifications; returns the updated analysis."""
    analysis = Analysis.load(folder)
    name = name.strip()
    if not name:
        raise InputValidationError("a name cannot be empty")
    if any(p.name == name and p.id != identity for p in analysis.identities):
        raise InputValidationError(f"another identity is already called {name!r}")
    person = _find(analysis, identity)
    edits = analysis.edits
    edits.names = {n: t for n, t in edits.names.items() if not set(t) & set(person.tracks)}
    edits.names[name] = list(person.tracks)
    edits.save(folder)
    return reidentify(folder)


def merge_identities(folder: str | os.PathLike[str], keep: int, drop: int) -> Analysis:
    """Declare identities ``keep`` and ``drop`` one person (refused when both are on screen in one frame)."""
    if keep == drop:
        raise InputValidationError("cannot merge an identity with itself")
    analysis = Analysis.load(folder)
    a, b = _find(analysis, keep), _find(analysis, drop)
    _link(analysis, a.tracks, b.tracks, f"identities {keep} and {drop}")
    analysis.edits.save(folder)
    return reidentify(folder)


def assign_track(folder: str | os.PathLike[str], track: int, identity: int) -> Analysis:
    """Assign a track (an unidentified one, or one of another identity) to ``identity`` by hand."""
    analysis = Analysis.load(folder)
    if track not in set(analysis.tracks["track"]):
        raise InputValidationError(f"no track with id {track}")
    person = _find(analysis, identity)
    _link(analysis, [track], person.tracks, f"track {track} and identity {identity}")
    analysis.edits.cannot_link = [p for p in analysis.edits.cannot_link if track not in p]
    analysis.edits.save(folder)
    return reidentify(folder)


def answer_suggestion(folder: str | os.PathLike[str], a: int, b: int, same: bool) -> Analysis:
    """Answer "are identities ``a`` and ``b`` one person?": yes merges them; no keeps them apart for good
    (a cannot-link fact between their best tracks, so the pair is never suggested again)."""
    if same:
        return merge_identities(folder, a, b)
    analysis = Analysis.load(folder)
    best = {r.id: r.quality for r in analysis.trackset.tracks}
    pa, pb = _find(analysis, a), _find(analysis, b)
    analysis.edits.cannot_link.append([max(pa.tracks, key=best.__getitem__), max(pb.tracks, key=best.__getitem__)])
    analysis.edits.save(folder)
    return reidentify(folder)


def split_track(folder: str | os.PathLike[str], track: int) -> Analysis:
    """Take a track out of its identity for good (the inverse of :func:`assign_track`): cannot-link facts with every
    other track of the identity; the track leaves the user's merges and names."""
    analysis = Analysis.load(folder)
    rows = analysis.tracks[analysis.tracks["track"] == track]
    if rows.empty:
        raise InputValidationError(f"no track with id {track}")
    identity = int(rows["identity"].iloc[0])
    if identity < 0:
        raise InputValidationError(f"track {track} is in no identity")
    others = [t for t in _find(analysis, identity).tracks if t != track]
    if not others:
        raise InputValidationError(f"track {track} is the only track of identity {identity}")
    edits = analysis.edits
    edits.must_link = [g for g in ([t for t in group if t != track] for group in edits.must_link) if len(g) > 1]
    edits.names = {n: kept for n, ts in edits.names.items() if (kept := [t for t in ts if t != track])}
    edits.cannot_link += [[track, t] for t in others]
    edits.save(folder)
    return reidentify(folder)


def _link(analysis: Analysis, a: list[int], b: list[int], what: str) -> None:
    """Add a must-link fact joining tracks ``a`` and ``b``, unless two of their faces share a frame."""
    faces = analysis.faces
    shared = set(faces.loc[faces["track"].isin(a), "frame"]) & set(faces.loc[faces["track"].isin(b), "frame"])
    if shared:
        raise InputValidationError(f"{what} are both on screen in frame {min(shared)}: they cannot be one person")
    analysis.edits.must_link.append(sorted(set(a) | set(b)))


def _find(analysis: Analysis, identity: int) -> Identity:
    try:
        return analysis.identity(identity)
    except KeyError:
        raise InputValidationError(f"no identity with id {identity}") from None
