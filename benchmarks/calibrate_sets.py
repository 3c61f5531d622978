"""Set-level calibration: thresholds between the mean embeddings of two sets of faces, by size and quality.

An identity is a set of tracks and a track a set of faces, so identification compares sets. For every
band (both sets good, one good and one low quality, both low) and every pair of set sizes (1, 2, 4, 8
faces, from distinct photos while the person has them, then further copies), this draws ``DRAWS``
pairs of sets for every pair of different people, and pairs of one person's sets from disjoint photos,
and measures the cosine distance between the two sets' L2-normalised mean embeddings.

A cell's threshold is the smallest different-person distance among the calibration people: no pair of
them merges once in ``DRAWS`` draws, which bounds each pair's merge rate at ≤ 1e-3 (95 % one-sided).
Less a margin per band, chosen by leave-one-person-out: the smallest margin under which, in every cell,
the thresholds chosen without a person merge that person's pairs at a rate ≤ 1e-3 (95 %, over all
folds). A side with a count between two listed sizes reads the stricter of their rows
(:class:`facetools.calibration.SetThresholds`). People held out of every choice are reported apart
(their pairs' rate and the worst pair's). Called by ``calibrate.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import beta

VIEWS = (1, 2, 4, 8)
BANDS = {"good": (False, False), "mixed": (False, True), "low": (True, True)}  # (first side low, second side low)
DRAWS = 3000  # per pair of people and cell: 0 merges in 3000 bounds the rate at 9.98e-4
SAME_SPLITS, SAME_DRAWS = 20, 50  # per person and cell: photo splits, draws per split
BOUND = 1e-3
MARGINS = (0.0, 0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.15, 0.20, 0.25, 0.30)
SEED = 0
ASK_QUANTILE = 0.01  # "same person?" is worth asking under the distance 1 % of different people's single faces lie closer than


@dataclass
class FaceSet:
    """Embedded faces with their person, photo and quality band."""

    vecs: np.ndarray
    person: np.ndarray
    photo: np.ndarray
    low: np.ndarray


@dataclass
class Cell:
    """The distances measured for one band and pair of set sizes."""

    band: str
    ka: int
    kb: int
    diff: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (person a, person b) → DRAWS distances
    same: dict[int, np.ndarray] = field(default_factory=dict)  # person → distances between sets of disjoint photos

    @property
    def key(self) -> str:
        return f"{self.band} {self.ka}x{self.kb}"

    def smallest(self, people: set[int], without: int | None = None) -> float:
        """The smallest different-person distance among ``people`` (leaving ``without`` out)."""
        return min(d.min() for (a, b), d in self.diff.items() if a in people and b in people and without not in (a, b))

    def quantile(self, q: float, people: set[int]) -> float:
        """The ``q`` quantile of the different-person distances among ``people``."""
        return float(np.quantile(np.concatenate([d for (a, b), d in self.diff.items() if a in people and b in people]), q))

    def merges(self, threshold: float, involving: set[int], people: set[int] | None = None) -> dict[tuple[int, int], int]:
        """Merges below ``threshold`` per pair of people with one of ``involving`` (and both in ``people``, when given)."""
        return {
            (a, b): int((d < threshold).sum())
            for (a, b), d in self.diff.items()
            if (a in involving or b in involving) and (people is None or (a in people and b in people))
        }

    def accepted(self, threshold: float, people: set[int]) -> tuple[int, int]:
        same = [d for p, d in self.same.items() if p in people]
        return (int(sum((d < threshold).sum() for d in same)), int(sum(len(d) for d in same)))


class Sampler:
    """Draws sets of k faces of one person and band, spread over photos: a face of every photo before a second of any."""

    def __init__(self, faces: FaceSet, seed: int = SEED) -> None:
        self.faces = faces
        self.rng = np.random.default_rng(seed)

    def pool(self, person: int, low: bool, photos: np.ndarray | None = None) -> np.ndarray:
        f = self.faces
        mask = (f.person == person) & (f.low == low)
        if photos is not None:
            mask &= np.isin(f.photo, photos)
        return np.flatnonzero(mask)

    def draw(self, pool: np.ndarray, k: int, n: int) -> np.ndarray | None:
        """``n`` sets of ``k`` faces of ``pool`` (an ``n×k`` array of face indices), None when the pool has fewer than k."""
        if len(pool) < k:
            return None
        photo = self.faces.photo[pool]
        rank = np.empty((n, len(pool)))
        for p in np.unique(photo):
            cols = np.flatnonzero(photo == p)
            rank[:, cols] = np.argsort(np.argsort(self.rng.random((n, len(cols))), axis=1), axis=1)
        order = np.argsort(rank + self.rng.random(rank.shape), axis=1)[:, :k]
        return pool[order]

    def distances(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Cosine distances between the mean embeddings of the sets ``a[i]`` and ``b[i]``."""
        ma, mb = self.faces.vecs[a].mean(1), self.faces.vecs[b].mean(1)
        ma /= np.linalg.norm(ma, axis=1, keepdims=True)
        mb /= np.linalg.norm(mb, axis=1, keepdims=True)
        return 1.0 - np.einsum("ij,ij->i", ma, mb)


def measure(faces: FaceSet) -> list[Cell]:
    """Every cell's different-person and same-person distances."""
    s = Sampler(faces)
    people = np.unique(faces.person)
    cells = []
    for band, (low_a, low_b) in BANDS.items():
        for ka in VIEWS:
            for kb in VIEWS:
                if low_a == low_b and kb < ka:
                    continue  # symmetric band: one of (ka, kb) and (kb, ka)
                cell = Cell(band, ka, kb)
                for a in people:
                    for b in people:
                        if a == b or (low_a == low_b and b < a):
                            continue
                        sa, sb = s.draw(s.pool(a, low_a), ka, DRAWS), s.draw(s.pool(b, low_b), kb, DRAWS)
                        if sa is not None and sb is not None:
                            cell.diff[(int(a), int(b))] = s.distances(sa, sb)
                    photos = np.unique(faces.photo[faces.person == a])
                    parts = []
                    for _ in range(SAME_SPLITS):
                        order = s.rng.permutation(photos)
                        cut = int(s.rng.integers(1, len(photos)))
                        sa = s.draw(s.pool(a, low_a, order[:cut]), ka, SAME_DRAWS)
                        sb = s.draw(s.pool(a, low_b, order[cut:]), kb, SAME_DRAWS)
                        if sa is not None and sb is not None:
                            parts.append(s.distances(sa, sb))
                    if parts:
                        cell.same[int(a)] = np.concatenate(parts)
                cells.append(cell)
    return cells


def choose_margin(cells: list[Cell], calib: set[int]) -> float:
    """The smallest margin under which, in every cell, leave-one-person-out thresholds merge the left-out people with others
    at a rate ≤ ``BOUND`` (95 %, over all folds)."""
    for m in MARGINS:
        ok = True
        for c in cells:
            folds = [c.merges((1 - m) * c.smallest(calib, p), {p}, calib) for p in calib]
            merged, draws = sum(sum(f.values()) for f in folds), DRAWS * sum(len(f) for f in folds)
            ok &= upper95(merged, draws) <= BOUND
        if ok:
            return m
    return 1.0


def table(cells: list[Cell], band: str, value: dict[str, float]) -> np.ndarray:
    """The band's thresholds as a full matrix by set size (symmetric but for ``mixed``)."""
    n = len(VIEWS)
    t = np.full((n, n), np.nan)
    for c in cells:
        if c.band == band:
            i, j = VIEWS.index(c.ka), VIEWS.index(c.kb)
            t[i, j] = value[c.key]
            if band != "mixed":
                t[j, i] = value[c.key]
    return t


def upper95(k: int, n: int) -> float:
    """One-sided 95 % upper bound of a rate seen k times in n (Clopper-Pearson; 0 of n gives ≈ 3/n)."""
    return 1.0 if n == 0 or k >= n else float(beta.ppf(0.95, k + 1, n - k))


def calibrate_sets(name: str, faces: FaceSet, people: list[str], held_out: tuple[str, ...], plot_path: Path) -> dict:
    """Print the set-level tables of one embedder and return its ``sets`` entry for ``calibration.json``."""
    cells = measure(faces)
    held = {people.index(h) for h in held_out if h in people}
    calib = set(range(len(people))) - held
    everyone = calib | held
    margins = {band: choose_margin([c for c in cells if c.band == band], calib) for band in BANDS}
    raw = {c.key: (1 - margins[c.band]) * c.smallest(calib) for c in cells}
    tables = {band: table(cells, band, raw) for band in BANDS}
    final = {c.key: float(tables[c.band][VIEWS.index(c.ka), VIEWS.index(c.kb)]) for c in cells}
    ask = {c.band: c.quantile(ASK_QUANTILE, calib) for c in cells if c.ka == c.kb == 1}
    print(f"\n### Face sets ({DRAWS} draws per pair of people and cell; sets of k faces from distinct photos first)\n")
    print("Margins (leave-one-person-out over the calibration people): " + ", ".join(f"{b} {m:.2f}" for b, m in margins.items()))
    print(f"Worth asking (suggestions; {ASK_QUANTILE:.0%} of different people's single faces lie closer): "
          + ", ".join(f"{b} {a:.4f}" for b, a in ask.items()))  # fmt: skip
    print(
        "\n| band | sizes | threshold | smallest different (calibration) | calibration same accepted | held out: merges / draws "
        "| worst pair of people, 95 % bound | held-out same accepted |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    figures = {}
    for c in cells:
        t = final[c.key]
        held_merges = c.merges(t, held)
        worst = max(held_merges.items(), key=lambda kv: kv[1], default=((0, 0), 0))
        ca, cn = c.accepted(t, calib)
        ha, hn = c.accepted(t, held)
        fm, draws = sum(held_merges.values()), DRAWS * len(held_merges)
        print(
            f"| {c.band} | {c.ka}×{c.kb} | {t:.4f} | {c.smallest(calib):.4f} | {ca / max(cn, 1):.3f} "
            f"| {fm} / {draws}, ≤ {upper95(fm, draws):.1e} "
            f"| {people[worst[0][0]]}/{people[worst[0][1]]}: {worst[1]} / {DRAWS}, ≤ {upper95(worst[1], DRAWS):.1e} "
            f"| {ha / max(hn, 1):.3f} |"
        )
        figures[c.key] = {
            "threshold": round(t, 5),
            "smallest_different_calibration": round(float(c.smallest(calib)), 5),
            "smallest_different_all": round(float(c.smallest(everyone)), 5),
            "calibration_same_accepted": round(ca / max(cn, 1), 4),
            "held_out_merges": fm,
            "held_out_draws": draws,
            "held_out_upper95": round(upper95(fm, draws), 6),
            "held_out_worst_pair": [people[worst[0][0]], people[worst[0][1]]],
            "held_out_worst_pair_upper95": round(upper95(worst[1], DRAWS), 6),
            "held_out_same_accepted": round(ha / max(hn, 1), 4),
        }
    _plot(name, cells, final, calib, held, plot_path)
    print(f"\nplot: {plot_path.name}")
    return {
        "views": list(VIEWS),
        "thresholds": {band: np.round(t, 5).tolist() for band, t in tables.items()},
        "ask": {band: round(a, 5) for band, a in ask.items()},
        "margins": margins,
        "draws_per_pair": DRAWS,
        "false_merge_bound": BOUND,
        "figures": figures,
    }


def _plot(name: str, cells: list[Cell], final: dict[str, float], calib: set[int], held: set[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), sharex=True)
    for col, band in enumerate(BANDS):
        diag = [c for c in cells if c.band == band and c.ka == c.kb]
        ks = [c.ka for c in diag]
        ax = axes[0, col]
        diff = [np.concatenate([d for (a, b), d in c.diff.items() if a in calib and b in calib]) for c in diag]
        same = [np.concatenate(list(c.same.values())) for c in diag]
        ax.fill_between(ks, [np.percentile(s, 5) for s in same], [np.percentile(s, 95) for s in same], color="tab:blue", alpha=0.25,
                        label="same person, 5-95 %")  # fmt: skip
        ax.plot(ks, [np.median(s) for s in same], color="tab:blue", marker="o", label="same person, median")
        ax.fill_between(ks, [np.percentile(d, 1) for d in diff], [np.percentile(d, 50) for d in diff], color="tab:red", alpha=0.2,
                        label="different people, 1-50 %")  # fmt: skip
        ax.plot(ks, [c.smallest(calib) for c in diag], color="tab:red", ls=":", marker="v", label="different, smallest")
        ax.plot(ks, [final[c.key] for c in diag], color="k", marker="s", label="threshold")
        ax.set_title(f"{name}: {band} (k faces a side)", fontsize=9)
        ax.set_ylabel("cosine distance of set means")
        ax = axes[1, col]
        for people, style, label in ((calib, "-", "calibration people"), (held, "--", "held-out people")):
            rates = [c.accepted(final[c.key], people) for c in diag]
            ax.plot(ks, [a / max(n, 1) for a, n in rates], ls=style, marker="o", label=label)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("faces per set (k)")
        ax.set_ylabel("same person accepted")
    for ax in axes.flat:
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(VIEWS), [str(k) for k in VIEWS])
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    axes[1, 0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
