"""``identify()``: the cheap stage, stored tracks to identities (no decoding, no torch)."""

from __future__ import annotations

import os
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from facetools.calibration import Calibration
from facetools.config import Config
from facetools.identify.analysis import Identification, Unidentified, stored_config
from facetools.identify.clusters import Clusters, TrackEvidence, cluster_tracks
from facetools.identify.identities import Identity, name_identities
from facetools.identify.rules import Rules, calibrated_rules
from facetools.identify.suggestions import suggest_merges
from facetools.intervals import merge_intervals
from facetools.trackset.records import TRACK_COLUMNS, TrackRecord, TrackSet
from facetools.trackset.store import Edits, load_tracks


def rules_for(tracks: TrackSet, config: Config) -> tuple[Rules, Calibration]:
    """The thresholds for this run: its embedder's calibration, scaled by the config's threshold."""
    return calibrated_rules(tracks.space.embedder, config)


def evidence(record: TrackRecord, cal: Calibration) -> TrackEvidence:
    """What clustering needs of a stored track; its best face decides whether it is low quality."""
    _quality, height, yaw, sharpness = record.best_face
    low = cal.is_low_quality(float(height), float(yaw), float(sharpness))
    seconds = round(record.span[1] - record.span[0], 6)  # a 1 s span of sampled frames adds up to 0.99999...
    return TrackEvidence(record.id, record.shot, frozenset(record.frames.tolist()), record.embedding, len(record), low, seconds)


def identify(tracks: TrackSet, config: Config | None = None, edits: Edits | None = None) -> Identification:
    """Cluster stored tracks into identities, apply a user's edits and gallery names, build timelines.

    Example:
        >>> analysis = identify(load_tracks("reports/sample"), Config(cluster_threshold=0.05))
    """
    started = time.perf_counter()
    cfg = config or Config()
    edits = edits or Edits()
    rules, cal = rules_for(tracks, cfg)
    ev = [evidence(r, cal) for r in tracks.tracks]
    cannot = [(a, b) for a, b in edits.cannot_link]
    clusters = cluster_tracks(ev, rules, shot_samples=tracks.shot_samples, must_link=edits.must_link, cannot_link=cannot)
    labels = clusters.labels
    by_id = {r.id: r for r in tracks.tracks}
    identities = _identities(tracks.tracks, {e.id: e.low_quality for e in ev}, clusters, cfg.merge_gap_s)
    ident_of = {labels[p.tracks[0]]: p.id for p in identities}
    suggestions = [replace(m, a=min(ident_of[m.a], ident_of[m.b]), b=max(ident_of[m.a], ident_of[m.b]))
                   for m in suggest_merges(ev, clusters, rules, cannot_link=cannot)]  # fmt: skip
    for person in identities:
        for t in person.tracks:
            labels[t] = person.id
    _apply_names(identities, edits)
    name_identities(identities, tracks.gallery, rules.threshold, taken=set(edits.names))
    loose = sorted((by_id[t] for t, k in labels.items() if k < 0), key=lambda r: -r.quality)
    unidentified = Unidentified(sorted(r.id for r in loose), sum(len(r) for r in loose),
                                merge_intervals([r.span for r in loose], cfg.merge_gap_s), [r.id for r in loose[:6]])  # fmt: skip
    faces = tracks.faces.copy()
    faces["identity"] = faces["track"].map(labels).fillna(-1).astype("int64")
    table = pd.DataFrame(
        [[r.id, labels[r.id], r.shot, len(r), int(r.frames[0]), int(r.frames[-1]), *r.span] for r in tracks.tracks], columns=TRACK_COLUMNS
    ).astype({"start_s": "float64", "end_s": "float64"})
    thumbnails = {p.id: max((by_id[t] for t in p.tracks), key=lambda r: r.quality).thumbnail for p in identities}
    run = replace(tracks.run, config={**tracks.run.config, **cfg.identify_options()}, cluster_threshold=round(rules.threshold, 5),
                  strict_threshold=round(rules.strict_threshold, 5), identities=len(identities), unidentified_tracks=len(loose),
                  identify_seconds=round(time.perf_counter() - started, 4))  # fmt: skip
    return Identification(tracks, faces, table, identities, unidentified, run, thumbnails, edits, suggestions)


def identify_run(run_dir: str | os.PathLike[str]) -> Identification:
    """A run directory identified again: its stored tracks, with the run's last options and its edits."""
    return identify(load_tracks(run_dir), stored_config(run_dir), Edits.load(run_dir))


def _identities(records: list[TrackRecord], low: dict[int, bool], clusters: Clusters, gap: float) -> list[Identity]:
    """Group labelled tracks into identities sorted by screen time (ids 0, 1, …, named ``person N``)."""
    groups: dict[int, list[TrackRecord]] = {}
    for r in records:
        if clusters.labels[r.id] >= 0:
            groups.setdefault(clusters.labels[r.id], []).append(r)
    people = []
    for label, members in groups.items():
        good = [r for r in members if not low[r.id]] or members
        emb = np.mean([r.embedding for r in good], axis=0)
        segments = merge_intervals([r.span for r in members], gap)
        confidence = "low" if label in clusters.low_confidence else "high"
        people.append(Identity(-1, "", sorted(r.id for r in members), sum(len(r) for r in members), segments, emb / np.linalg.norm(emb),
                               confidence=confidence))  # fmt: skip
    people.sort(key=lambda p: (-p.screen_time_s, p.first_s))
    for new_id, person in enumerate(people):
        person.id, person.name = new_id, f"person {new_id}"
    return people


def _apply_names(identities: list[Identity], edits: Edits) -> None:
    """A user's name goes to the identity holding most of the tracks it was given to."""
    for name, named in edits.names.items():
        scores = [len(set(p.tracks) & set(named)) for p in identities]
        if scores and max(scores) > 0:
            identities[int(np.argmax(scores))].name = name
