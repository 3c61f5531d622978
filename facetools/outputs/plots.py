"""Plots of an analysis: identity timeline, screen time, gallery, resource use.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot, so the package
changes no global plotting state; notebooks display them, ``save`` writes them.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnnotationBbox, OffsetImage

from facetools.intervals import merge_intervals

if TYPE_CHECKING:
    from facetools.identify.analysis import Identification
    from facetools.identify.identities import Identity

TOP = 20
"""Identities drawn one by one in a figure, most screen time first; the rest are counted (a row of their own in the timeline).
20 rows of 0.6 in keep the timeline under 14.1 in (1,550 px at the saved 110 dpi, two screens) with its faces readable, and the
gallery at 4 rows, so a report of a crowded video stays small (see docs/notebooks.md)."""
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def colour(identity: int) -> str:
    """Colour of an identity in every plot (grey for unassigned faces)."""
    return "#999999" if identity < 0 else PALETTE[identity % len(PALETTE)]


def save(fig: Figure, path: str | os.PathLike[str]) -> None:
    fig.savefig(path, dpi=110, bbox_inches="tight")


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (for image widgets)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


def more(count: int) -> str:
    """``"1 more identity"``, ``"N more identities"``."""
    return f"{count} more {'identity' if count == 1 else 'identities'}"


def _top(people: list[Identity], count: int) -> tuple[list[Identity], list[Identity]]:
    """The first ``count`` identities (identities come sorted by screen time, largest first) and the rest."""
    return people[:count], people[count:]


def _capped(title: str, shown: int, rest: int) -> str:
    """A figure's title, saying how many identities it leaves out."""
    return f"{title}\n(the {shown} with most screen time; {more(rest)} not shown)" if rest else title


def timeline(analysis: Identification, only: list[int] | None = None, top: int = TOP) -> Figure:
    """One row per identity (or only those with ids in ``only``) with its face and its on-screen segments, for the ``top``
    with most screen time; one row for the rest together (their union), and a grey row for the faces left unidentified."""
    shown, rest = _top([p for p in analysis.identities if only is None or p.id in only], top)
    rows = [(f"{p.name} ({p.screen_time_s:.1f} s)", p.segments, {"color": colour(p.id)}) for p in shown]
    if rest:
        union = merge_intervals([s for p in rest for s in p.segments], 0.0)
        rows.append((f"{more(len(rest))} ({sum(e - s for s, e in union):.1f} s on screen)", union, {"color": "#666666"}))
    loose = analysis.unidentified
    if only is None and loose.segments:
        rows.append((f"unidentified ({loose.screen_time_s:.1f} s, {len(loose.tracks)} tracks)", loose.segments,
                     {"color": "#bdbdbd", "hatch": "//"}))  # fmt: skip
    fig = Figure(figsize=(10, 0.9 + 0.6 * max(len(rows), 1)))
    ax = fig.subplots()
    for row, (_label, segments, style) in enumerate(rows):
        ax.broken_barh([(s, e - s) for s, e in segments], (row - 0.35, 0.7), **style)
    for row, person in enumerate(shown):
        if person.id in analysis.thumbnails:
            thumb = analysis.thumbnails[person.id]
            face = OffsetImage(thumb, zoom=0.5 * 72 / thumb.shape[0])  # half an inch tall
            ax.add_artist(AnnotationBbox(face, (0, row), xycoords=("axes fraction", "data"), box_alignment=(1.05, 0.5), frameon=False))
    ax.set_yticks(range(len(rows)), [label for label, _segments, _style in rows])
    ax.tick_params(axis="y", pad=42 if analysis.thumbnails else 4)
    ax.set_ylim(max(len(rows), 1) - 0.5, -0.5)
    end = analysis.video.video_start_s + analysis.video.duration_s
    ax.set_xlim(0, max(end, 1e-3))
    ax.set_xlabel("time in the video (s)")
    ax.set_title(f"Who appears when: {os.path.basename(analysis.video.path)}")
    ax.grid(axis="x", alpha=0.3)
    if not rows:
        ax.text(0.5, 0.5, "no faces found", transform=ax.transAxes, ha="center", va="center")
    return fig


def co_appearance(analysis: Identification, top: int = TOP) -> Figure:
    """Heatmap of seconds each pair of the ``top`` identities shares the screen (diagonal: screen time)."""
    full = analysis.co_appearance()
    table = full.iloc[:top, :top]
    n = len(table)
    fig = Figure(figsize=(2 + 0.6 * max(n, 1), 1.5 + 0.6 * max(n, 1)))
    ax = fig.subplots()
    image = ax.imshow(table.to_numpy() if n else np.zeros((1, 1)), cmap="Blues")
    ax.set_xticks(range(n), table.columns, rotation=45, ha="right")
    ax.set_yticks(range(n), table.index)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{table.iat[i, j]:.1f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label="seconds together")
    ax.set_title(_capped("Who is on screen with whom", n, len(full) - n))
    return fig


def screen_time(analysis: Identification, top: int = TOP) -> Figure:
    """Horizontal bars of screen time per identity, for the ``top`` with most."""
    people, rest = _top(analysis.identities, top)
    fig = Figure(figsize=(6, 0.5 + 0.4 * max(len(people), 1)))
    ax = fig.subplots()
    ax.barh([p.name for p in people], [p.screen_time_s for p in people], color=[colour(p.id) for p in people])
    ax.invert_yaxis()
    ax.set_xlabel("screen time (s)")
    ax.set_title(_capped("Screen time per identity", len(people), len(rest)))
    return fig


def gallery(analysis: Identification, columns: int = 6, top: int = TOP) -> Figure:
    """The best face of each of the ``top`` identities with most screen time, with its name and screen time."""
    people, rest = _top([p for p in analysis.identities if p.id in analysis.thumbnails], top)
    rows = max(1, -(-len(people) // columns))
    fig = Figure(figsize=(1.8 * columns, 2.1 * rows))
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, person in zip(axes, people):
        ax.imshow(analysis.thumbnails[person.id])
        ax.set_title(f"{person.name}\n{person.screen_time_s:.1f} s", fontsize=9, color=colour(person.id))
    fig.suptitle(_capped("Each identity's best face", len(people), len(rest)))
    return fig


def suggestions(analysis: Identification, count: int = 6, faces: int = 4) -> Figure:
    """ "Same person?": each suggested pair as two rows of their best faces, with the distance and what would join them."""
    pairs = analysis.suggestions[:count]
    if not pairs:
        fig = Figure(figsize=(6, 0.8))
        fig.text(0.5, 0.5, "No suggestions: no two identities are close enough to ask about.", ha="center", va="center")
        return fig
    fig = Figure(figsize=(1.5 * faces + 2.6, 3.3 * len(pairs)))
    grid = fig.add_gridspec(2 * len(pairs), faces + 1, width_ratios=[1.6] + [1] * faces, hspace=0.35)
    for k, s in enumerate(pairs):
        for row, identity in enumerate((s.a, s.b)):
            person = analysis.identity(identity)
            label = fig.add_subplot(grid[2 * k + row, 0])
            label.axis("off")
            head = f"{k + 1}. distance {s.distance:.3f}\n(joins under {s.threshold:.3f})\n\n" if row == 0 else ""
            label.text(0, 0.5, f"{head}{person.name}\n{person.screen_time_s:.1f} s", va="center", fontsize=9, color=colour(identity))
            for j, face in enumerate(analysis.faces_of(identity, faces)):
                ax = fig.add_subplot(grid[2 * k + row, j + 1])
                ax.imshow(face)
                ax.axis("off")
    left = len(analysis.suggestions) - len(pairs)
    fig.suptitle("Same person? Pairs of identities that may be one person, best first" + (f"; {left} more" if left else ""))
    return fig


def utilization(samples: pd.DataFrame) -> Figure:
    """CPU and memory (and GPU where NVML sampled one) over the run, with stage boundaries marked."""
    has_gpu = "gpu_util_percent" in samples and samples["gpu_util_percent"].notna().any()
    fig = Figure(figsize=(10, 5.8 if has_gpu else 4.0))
    axes = np.atleast_1d(fig.subplots(2 if has_gpu else 1, 1, sharex=True))
    t = samples["time_s"]
    _panel(axes[0], t, samples["cpu_percent"], "CPU, whole machine (%)", "CPU (%)", samples["rss_mb"], "memory, resident (MiB)",
           "resident memory (MiB)", ("#1f77b4", "#ff7f0e"))  # fmt: skip
    axes[0].set_title("Resource use over the run (dotted lines: stage changes)")
    if has_gpu:
        _panel(axes[1], t, samples["gpu_util_percent"], "GPU utilisation (%)", "GPU (%)", samples["gpu_mem_mb"], "GPU memory (MiB)",
               "GPU memory (MiB)", ("#2ca02c", "#d62728"))  # fmt: skip
    changes = samples["stage"].ne(samples["stage"].shift())
    for _, row in samples[changes].iterrows():
        for a in axes:
            a.axvline(row["time_s"], color="#555555", ls=":", lw=0.8)
        axes[0].text(row["time_s"], 3, f" {row['stage']}", fontsize=8, va="bottom", rotation=90, color="#555555")
    axes[-1].set_xlabel("time since the run started (s)")
    return fig


def _panel(ax, t, percent, percent_label, percent_axis, mib, mib_label, mib_axis, colours) -> None:  # noqa: ANN001
    """A utilisation panel: a percentage on the left axis, MiB on the right, one legend for both."""
    lines = ax.plot(t, percent, color=colours[0], label=percent_label)
    ax.set_ylabel(percent_axis)
    ax.set_ylim(0, 105)
    twin = ax.twinx()
    lines += twin.plot(t, mib, color=colours[1], label=mib_label)
    twin.set_ylabel(mib_axis)
    ax.legend(lines, [line.get_label() for line in lines], loc="upper right", fontsize=8)


def stage_times(analysis: Identification) -> Figure:
    """Seconds spent per pipeline stage (stages overlap with decoding, so they need not sum to wall time)."""
    stages = analysis.run.stage_seconds
    fig = Figure(figsize=(6, 0.9 + 0.35 * max(len(stages), 1)))
    ax = fig.subplots()
    ax.barh(list(stages), list(stages.values()), color="#4c72b0")
    ax.invert_yaxis()
    ax.set_xlabel(f"seconds (wall time {analysis.run.wall_seconds:.1f} s)")
    ax.set_title("Time per stage")
    return fig


def contact_sheet(clip: str | os.PathLike[str], count: int = 8) -> Figure:
    """``count`` evenly spaced frames of a video file in one row, with their times."""
    from facetools.io.decoders import read_frames
    from facetools.io.probe import probe

    info = probe(clip)
    indices = np.linspace(0, info.frame_count - 1, count).round().astype(int).tolist()
    batch = read_frames(info, indices)
    frames, times = batch.frames.numpy(), batch.times
    h, w = frames.shape[1:3]
    fig = Figure(figsize=(1.6 * count * w / h, 2.0))
    axes = np.atleast_1d(fig.subplots(1, count))
    for ax, frame, t in zip(axes, frames, times):
        ax.imshow(frame)
        ax.set_title(f"{t:.1f} s", fontsize=8)
        ax.axis("off")
    fig.suptitle(os.path.basename(clip), fontsize=9)
    return fig


def compare_runs(table: pd.DataFrame) -> Figure:
    """Identities found and speed of several runs (the table of ``facetools.run.report.compare_runs``)."""
    fig = Figure(figsize=(10, 0.8 + 0.45 * max(len(table), 1)))
    axes = fig.subplots(1, 3, sharey=True)
    labels = [f"{r} (stride {s}, {e})" for r, s, e in zip(table.index, table["stride"], table["embedder"])]
    for ax, column in zip(axes, ["identities", "frames/s", "peak RSS (MiB)"]):
        ax.barh(labels, table[column], color="#4c72b0")
        ax.set_title(column)
    axes[0].invert_yaxis()
    return fig
