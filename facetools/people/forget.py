"""``forget()``: delete one person's face templates (embeddings) and face pictures from every run and the people index."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from facetools.geometry import cosine_distances
from facetools.identify.analysis import stored_config
from facetools.identify.identifier import identify
from facetools.outputs.analysis import Analysis
from facetools.people.core import build_index, people
from facetools.people.index import PeopleIndex
from facetools.trackset.records import TrackSet
from facetools.trackset.store import Edits, load_tracks, save_tracks


@dataclass
class Forgotten:
    """What :func:`forget` deleted: tracks per run, and the gallery names dropped."""

    person: str
    tracks: dict[str, list[int]]
    gallery_names: list[str]
    reports_removed: list[str]


def forget(
    name_or_person: str, run_dirs: list[str | os.PathLike[str]], out_dir: str | os.PathLike[str], *, gallery: str | None = None
) -> Forgotten:
    """Delete a person (a name, ``person N`` or N of the index) from every run of ``run_dirs``; rebuild the index in ``out_dir``.

    In each run the person's tracks are removed from ``tracks.npz`` (embeddings, chosen faces,
    thumbnail, face rows), and so are unidentified tracks closer to them than ``threshold`` and to
    no other person; names and edits that pointed only at those tracks go, and so does a gallery
    entry of that name. The run is identified again (``identities.json``, ``embeddings.npy``,
    thumbnails rewritten) and a ``report.html`` holding their pictures is deleted. The run records
    in ``run.json`` warnings how many tracks were forgotten, not whose.
    """
    index, _ = build_index(run_dirs)
    person = index.person(name_or_person)
    gone_tracks: dict[str, list[int]] = {}
    reports: list[str] = []
    dropped_names: set[str] = set()
    for run in index.runs:
        mine = [a for a in person.appearances if a.run == run]
        tracks = load_tracks(run)
        drop = {t for a in mine for t in a.tracks} | _loose_tracks(run, tracks, index, person.id)
        names = [n for n in tracks.gallery if n.casefold() == person.name.casefold()]
        if not drop and not names:
            continue
        _remove(run, tracks, drop, names)
        dropped_names.update(names)
        gone_tracks[run] = sorted(drop)
        for stale in ("report.html", "analysis.ipynb"):
            path = Path(run) / stale
            if path.is_file():
                path.unlink()
                reports.append(str(path))
    if reports:
        warnings.warn(
            f"deleted {len(reports)} report file(s) that showed the person; re-render with `facetools recluster RUN --report`", stacklevel=2
        )
    people(index.runs, out_dir, gallery=gallery)
    return Forgotten(person.name, gone_tracks, sorted(dropped_names), reports)


def _loose_tracks(run: str, tracks: TrackSet, index: PeopleIndex, person_id: int) -> set[int]:
    """Unidentified tracks of ``run`` within the threshold of the person's appearances and nearer to them than to anyone else."""
    identified = {t for p in index.people for a in p.appearances if a.run == run for t in a.tracks}
    loose = [r for r in tracks.tracks if r.id not in identified]
    apps = [(p.id, a.embedding) for p in index.people for a in p.appearances]
    if not loose or not apps:
        return set()
    dist = cosine_distances(np.stack([r.embedding for r in loose]), np.stack([e for _, e in apps]))
    owner = np.array([pid for pid, _ in apps])
    out = set()
    for r, row in zip(loose, dist):
        k = int(np.argmin(row))
        if owner[k] == person_id and row[k] < index.rules.threshold:
            out.add(r.id)
    return out


def _remove(run: str, tracks: TrackSet, drop: set[int], gallery_names: list[str]) -> None:
    """Rewrite ``run`` without the tracks ``drop`` and the gallery entries ``gallery_names``; identify it again."""
    faces = tracks.faces[~tracks.faces["track"].isin(drop)].reset_index(drop=True)
    note = f"{len(drop)} track(s) forgotten at a user's request (facetools people --forget)"
    kept = replace(tracks, tracks=[r for r in tracks.tracks if r.id not in drop], faces=faces,
                   gallery={n: v for n, v in tracks.gallery.items() if n not in gallery_names},
                   run=replace(tracks.run, warnings=[*tracks.run.warnings, note]))  # fmt: skip
    edits = Edits.load(run)
    edits = Edits({n: [t for t in ts if t not in drop] for n, ts in edits.names.items() if set(ts) - drop},
                  [[t for t in g if t not in drop] for g in edits.must_link if len(set(g) - drop) > 1],
                  [p for p in edits.cannot_link if not set(p) & drop])  # fmt: skip
    config = stored_config(run)
    save_tracks(kept, run)
    if (Path(run) / "edits.json").is_file():
        edits.save(run)
    Analysis.of(identify(kept, config, edits)).save(run, tracks=False)
