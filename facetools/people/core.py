"""One person across many videos: cluster the identities of many runs into people, search them by photo, forget one.

Clustering reads only stored tracks (``tracks.npz``) and the runs' edits: no decoding, no model,
no torch. It uses the within-video rules (:func:`facetools.identify.clusters.cluster_tracks`: mean
embeddings under the calibrated thresholds for face sets, the low-quality bands for weak evidence)
with one identity of one run as the item, backed by as many views as it has shots; identities of
one video are cannot-linked only where they share a frame, and identities a user gave different
names are never joined (the same name: always).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from facetools.config import Config
from facetools.errors import InputValidationError
from facetools.identify.analysis import Identification, stored_config
from facetools.identify.clusters import TrackEvidence, cluster_tracks
from facetools.identify.identifier import evidence, identify, rules_for
from facetools.identify.identities import Identity, name_identities
from facetools.identify.suggestions import suggest_merges
from facetools.people.index import PEOPLE_JSON, Answers, Appearance, PeopleIndex, Person, SpaceMismatchError
from facetools.trackset.records import EmbeddingSpace, TrackSet
from facetools.trackset.store import TRACKS_FILE, Edits, load_tracks

if TYPE_CHECKING:
    from facetools.extract.models import Models

THUMBNAILS_PER_APPEARANCE = 3
_FRAME_BASE = 1 << 40  # frames of run k are numbered k·2⁴⁰ + frame, so runs never share a frame


def run_dirs_under(paths: list[str | os.PathLike[str]]) -> list[Path]:
    """Run directories among ``paths``: each path that holds stored tracks, else its sub-folders that do (e.g. ``reports/``)."""
    out: list[Path] = []
    for given in paths:
        path = Path(given)
        if (path / TRACKS_FILE).is_file():
            out.append(path.resolve())
        elif path.is_dir():
            found = sorted(p.resolve() for p in path.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / TRACKS_FILE).is_file())
            if not found:
                raise InputValidationError(f"{path}: neither a run directory nor a folder of them (no {TRACKS_FILE})")
            out += found
        else:
            raise InputValidationError(f"{path}: no such run directory")
    return list(dict.fromkeys(out))


def _check_spaces(runs: list[Path], spaces: list[EmbeddingSpace]) -> EmbeddingSpace:
    """The one embedding space of ``runs``; otherwise a one-line error naming the runs to extract again."""
    counts = Counter(spaces)
    if len(counts) <= 1:
        return spaces[0]
    major = counts.most_common(1)[0][0]
    others = [f"{run} ({space.key})" for run, space in zip(runs, spaces) if space != major]
    raise SpaceMismatchError(
        f"runs in different embedding spaces cannot be compared: {len(runs) - len(others)} run(s) in {major.key}, re-extract "
        f"these with embedder {major.embedder} (`facetools analyze VIDEO --out RUN --embedder {major.embedder}`): {'; '.join(others)}"
    )


def _load_runs(runs: list[Path]) -> tuple[list[TrackSet], list[Identification]]:
    tracksets = [load_tracks(r) for r in runs]
    _check_spaces(runs, [t.space for t in tracksets])
    return tracksets, [identify(t, stored_config(r), Edits.load(r)) for t, r in zip(tracksets, runs)]


def _appearances(run: Path, analysis: Identification, rules_cal: Any) -> list[tuple[Appearance, frozenset[int], list[np.ndarray]]]:
    """The run's identities as appearances, with their frames and best thumbnails."""
    by_id = {r.id: r for r in analysis.trackset.tracks}
    out = []
    for ident in analysis.identities:
        records = [by_id[t] for t in ident.tracks]
        weak = [evidence(r, rules_cal).low_quality for r in records]
        shots = {r.shot for r, w in zip(records, weak) if not w} or {r.shot for r in records}
        frames = frozenset(int(f) for r in records for f in r.frames)
        best = sorted(records, key=lambda r: -r.quality)[:THUMBNAILS_PER_APPEARANCE]
        user = ident.name in analysis.edits.names
        app = Appearance(analysis.video.path, str(run), ident.id, ident.name, user, float(analysis.video.duration_s), list(ident.segments),
                         list(ident.tracks), ident.faces, all(weak), ident.embedding.astype(np.float32), views=len(shots))  # fmt: skip
        out.append((app, frames, [r.thumbnail for r in best]))
    return out


def build_index(
    run_dirs: list[str | os.PathLike[str]],
    *,
    gallery: dict[str, np.ndarray] | None = None,
    threshold: float | None = None,
    answers: Answers | None = None,
) -> tuple[PeopleIndex, dict[tuple[str, int], list[np.ndarray]]]:
    """Cluster the identities of ``run_dirs`` into people (in memory); also returns the thumbnails per appearance.

    ``gallery`` maps names to L2-normalised embeddings in the runs' space; ``threshold`` overrides the calibrated one;
    ``answers`` are a user's "same" and "different" facts (applied where their tracks are still in these runs).
    """
    runs = run_dirs_under(run_dirs)
    if not runs:
        raise InputValidationError("no run directories given")
    tracksets, analyses = _load_runs(runs)
    rules, cal = rules_for(tracksets[0], Config(cluster_threshold=threshold))
    items: list[Appearance] = []
    frames: list[frozenset[int]] = []
    thumbs: dict[tuple[str, int], list[np.ndarray]] = {}
    for k, (run, analysis) in enumerate(zip(runs, analyses)):
        for app, fr, images in _appearances(run, analysis, cal):
            items.append(app)
            frames.append(frozenset(k * _FRAME_BASE + f for f in fr))
            thumbs[(app.run, app.identity)] = images
    views = [frozenset(range(i << 20, (i << 20) + a.views)) for i, a in enumerate(items)]  # distinct keys: one per shot of each
    ev = [TrackEvidence(i, 0, frames[i], a.embedding, a.faces, a.low_quality, a.screen_time_s, views[i]) for i, a in enumerate(items)]
    named: dict[str, list[int]] = {}
    for i, a in enumerate(items):
        if a.user_named:
            named.setdefault(a.name, []).append(i)
    must = [g for g in named.values() if len(g) > 1]
    firsts = [g[0] for g in named.values()]
    cannot = [(a, b) for x, a in enumerate(firsts) for b in firsts[x + 1 :]]
    owner = {(a.run, t): i for i, a in enumerate(items) for t in a.tracks}
    answered = answers or Answers()
    must += [[owner[tuple(x)], owner[tuple(y)]] for x, y in answered.same if tuple(x) in owner and tuple(y) in owner]
    cannot += [(owner[tuple(x)], owner[tuple(y)]) for x, y in answered.different if tuple(x) in owner and tuple(y) in owner]
    clusters = cluster_tracks(ev, rules, must_link=must, cannot_link=cannot)
    labels = clusters.labels
    next_label = max(labels.values(), default=-1) + 1
    groups: dict[int, list[Appearance]] = {}
    for i, a in enumerate(items):
        if labels[i] < 0:  # an identity no rule joined to others is a person of its own
            labels[i], next_label = next_label, next_label + 1
        groups.setdefault(labels[i], []).append(a)
    people = [Person(-1, "", sorted(g, key=lambda a: (-a.screen_time_s, a.run))) for g in groups.values()]
    people.sort(key=lambda p: (-p.screen_time_s, p.appearances[0].run, p.appearances[0].identity))
    for n, p in enumerate(people):
        p.id = n
    _name_people(people, gallery or {}, rules.threshold)
    position = {id(a): i for i, a in enumerate(items)}
    person_of = {labels[position[id(p.appearances[0])]]: p.id for p in people}
    suggestions = [replace(m, a=min(person_of[m.a], person_of[m.b]), b=max(person_of[m.a], person_of[m.b]))
                   for m in suggest_merges(ev, clusters, rules, cannot_link=cannot)]  # fmt: skip
    return PeopleIndex(tracksets[0].space, rules, [str(r) for r in runs], people, suggestions), thumbs


def _name_people(people: list[Person], gallery: dict[str, np.ndarray], threshold: float) -> None:
    """A user's name from any run first, then a ``gallery`` match, then a name a run's own gallery gave, else ``person N``."""
    for p in people:
        user = Counter({a.name: 0.0 for a in p.appearances if a.user_named})
        for a in p.appearances:
            if a.user_named:
                user[a.name] += a.screen_time_s
        p.name = user.most_common(1)[0][0] if user else f"person {p.id}"
    taken = {p.name for p in people if p.name != f"person {p.id}"}
    proxies = [Identity(p.id, p.name, [], 0, [], p.embedding) for p in people]
    name_identities(proxies, gallery, threshold, taken=taken)
    for p, proxy in zip(people, proxies):
        if proxy.name != p.name:
            p.name = proxy.name
            taken.add(p.name)
    for p in people:
        if p.name == f"person {p.id}":
            run_names = Counter(a.name for a in p.appearances if a.name != f"person {a.identity}" and a.name not in taken)
            if run_names:
                p.name = run_names.most_common(1)[0][0]
                taken.add(p.name)


def _answer(out_dir: str | os.PathLike[str], answers: Answers, same: list[tuple[str, str]], different: list[tuple[str, str]]) -> Answers:
    """``answers`` with the user's new ones, each person named by a track of their longest appearance; saved in ``out_dir``."""
    if not (Path(out_dir) / PEOPLE_JSON).is_file():
        raise InputValidationError(f"{out_dir}: no people index to answer about yet; run `facetools people RUNS --out {out_dir}` first")
    index = PeopleIndex.load(out_dir)

    def anchor(key: str) -> list[Any]:
        first = index.person(key).appearances[0]
        return [first.run, first.tracks[0]]

    for pairs, facts in ((same, answers.same), (different, answers.different)):
        for a, b in pairs:
            if index.person(a).id == index.person(b).id:
                raise InputValidationError(f"{a} and {b} are the same person of the index already")
            facts.append([anchor(a), anchor(b)])
    answers.save(out_dir)
    return answers


def embed_gallery_folder(folder: str | os.PathLike[str], space: EmbeddingSpace) -> dict[str, np.ndarray]:
    """Gallery photos embedded in ``space`` (loads the detector and the embedder: torch)."""
    from facetools.extract.gallery import embed_gallery

    return embed_gallery(folder, models_for(space, [folder]))


def models_for(space: EmbeddingSpace, runs: list[Any]) -> Models:
    """Models that read photos in ``space``; a one-line error when the installed embedder differs (other weights or calibration)."""
    from facetools.extract.models import load_photo_models

    models = load_photo_models(space.embedder)
    if models.space != space:
        raise SpaceMismatchError(
            f"the installed {space.embedder} embedder is {models.space.key}, the runs were made in {space.key}: re-extract "
            f"{', '.join(str(r) for r in runs)} with this facetools"
        )
    return models


def people(
    run_dirs: list[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    gallery: str | os.PathLike[str] | None = None,
    threshold: float | None = None,
    same: list[tuple[str, str]] | None = None,
    different: list[tuple[str, str]] | None = None,
) -> PeopleIndex:
    """Cluster the identities of many run directories into people; write ``people.json``, ``people.npz`` and ``people.html``.

    ``run_dirs`` may also name folders of run directories (``reports/``). ``gallery`` is a folder of
    named reference photos (embedding it loads the models). Runs in different embedding spaces are refused.
    ``same`` and ``different`` answer "same person?" about pairs of people of the index already in ``out_dir``
    (ids, ``person N`` or names): stored in ``answers.json`` there and applied on every rebuild.

    Example:
        >>> index = people(["reports/a", "reports/b"], "reports/people")
        >>> [(p.name, len(p.appearances)) for p in index.people]
    """
    from facetools.people.page import write_page

    space = None
    named: dict[str, np.ndarray] = {}
    if gallery:
        runs = run_dirs_under(run_dirs)
        space = _check_spaces(runs, [load_tracks(r).space for r in runs])
        named = embed_gallery_folder(gallery, space)
    answers = Answers.load(out_dir)
    if same or different:
        answers = _answer(out_dir, answers, same or [], different or [])
    index, thumbs = build_index(run_dirs, gallery=named, threshold=threshold, answers=answers)
    index.save(out_dir, thumbs)
    write_page(index, out_dir)
    return index
