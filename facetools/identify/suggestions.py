"""\"Same person?\" suggestions: pairs of identities that did not join but are close enough to ask a user about."""

from __future__ import annotations

from dataclasses import dataclass

from facetools.identify.clusters import Clusters, TrackEvidence, frames_of, side_of
from facetools.identify.rules import Rules


@dataclass(frozen=True)
class Suggestion:
    """Two identities that may be one person: their mean faces lie under what is worth asking, over what joins."""

    a: int
    b: int
    distance: float
    threshold: float
    evidence: str

    def to_dict(self) -> dict[str, object]:
        return {
            "a": self.a,
            "b": self.b,
            "distance": round(self.distance, 4),
            "threshold": round(self.threshold, 4),
            "evidence": self.evidence,
        }


def suggest_merges(
    tracks: list[TrackEvidence],
    clusters: Clusters,
    rules: Rules,
    *,
    cannot_link: list[tuple[int, int]] | None = None,
    per_identity: int = 2,
) -> list[Suggestion]:
    """Pairs of identities (cluster labels) worth a "same person?" question, best first.

    A pair qualifies when its mean faces lie under the calibrated distance worth asking; never when the two
    share a frame or a cannot-link fact stands between them (a user's "no", or a split). Best first: the
    smallest distance relative to the threshold the pair missed; at most ``per_identity`` pairs per identity.
    """
    pos = {t.id: k for k, t in enumerate(tracks)}
    members: dict[int, list[int]] = {}
    for tid, label in clusters.labels.items():
        if label >= 0:
            members.setdefault(label, []).append(pos[tid])
    labels = sorted(members)
    frames = {k: frames_of(tracks, members[k]) for k in labels}
    of = clusters.labels
    answered = {frozenset((of[a], of[b])) for a, b in cannot_link or [] if of.get(a, -1) >= 0 and of.get(b, -1) >= 0}
    sides = {k: side_of(tracks, members[k]) for k in labels}
    found = []
    for x, a in enumerate(labels):
        for b in labels[x + 1 :]:
            sa, sb = sides[a], sides[b]
            distance = 1.0 - float(sa.centroid @ sb.centroid)
            if distance >= rules.sets.asking(sa.low, sb.low) or frozenset((a, b)) in answered or frames[a] & frames[b]:
                continue
            threshold = rules.sets(sa.low, sa.views, sb.low, sb.views)
            quality = {(False, False): "both good", (True, True): "both low quality"}.get((sa.low, sb.low), "one low quality")
            evidence = f"mean faces {distance:.3f} apart, {sa.views} and {sb.views} shots, {quality}: they would join under {threshold:.3f}"
            found.append(Suggestion(a, b, distance, threshold, evidence))
    found.sort(key=lambda s: s.distance / max(s.threshold, 1e-9))
    chosen: list[Suggestion] = []
    count: dict[int, int] = {}
    for s in found:
        if count.get(s.a, 0) < per_identity and count.get(s.b, 0) < per_identity:
            chosen.append(s)
            count[s.a], count[s.b] = count.get(s.a, 0) + 1, count.get(s.b, 0) + 1
    return chosen
