"""Plots of an analysis: identity timeline, screen time, gallery, resource use.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot, so the package
changes no global plotting state; notebooks display them, ``save`` writes them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from .results import Analysis

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def colour(identity: int) -> str:
    """Colour of an identity in every plot (grey for unassigned faces)."""
    return "#999999" if identity < 0 else PALETTE[identity % len(PALETTE)]


def save(fig: Figure, path: str | os.PathLike[str]) -> None:
    fig.savefig(path, dpi=110, bbox_inches="tight")


def timeline(analysis: Analysis) -> Figure:
    """One row per identity with its on-screen segments over the video's duration."""
    people = analysis.identities
    fig = Figure(figsize=(10, 0.5 + 0.45 * max(len(people), 1)))
    ax = fig.subplots()
    for row, person in enumerate(people):
        spans = [(s, e - s) for s, e in person.segments]
        ax.broken_barh(spans, (row - 0.35, 0.7), color=colour(person.id))
    ax.set_yticks(range(len(people)), [f"{p.name} ({p.screen_time_s:.1f} s)" for p in people])
    ax.set_ylim(len(people) - 0.5, -0.5)
    ax.set_xlim(0, max(analysis.video.duration_s, 1e-3))
    ax.set_xlabel("time (s)")
    ax.set_title(f"Who appears when — {os.path.basename(analysis.video.path)}")
    ax.grid(axis="x", alpha=0.3)
    if not people:
        ax.text(0.5, 0.5, "no identities found", transform=ax.transAxes, ha="center", va="center")
    return fig


def screen_time(analysis: Analysis) -> Figure:
    """Horizontal bars of screen time per identity."""
    people = analysis.identities
    fig = Figure(figsize=(6, 0.5 + 0.4 * max(len(people), 1)))
    ax = fig.subplots()
    ax.barh([p.name for p in people], [p.screen_time_s for p in people], color=[colour(p.id) for p in people])
    ax.invert_yaxis()
    ax.set_xlabel("screen time (s)")
    return fig


def gallery(analysis: Analysis, columns: int = 6) -> Figure:
    """Each identity's best face with its name and screen time."""
    people = [p for p in analysis.identities if p.id in analysis.thumbnails]
    rows = max(1, -(-len(people) // columns))
    fig = Figure(figsize=(1.8 * columns, 2.1 * rows))
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, person in zip(axes, people):
        ax.imshow(analysis.thumbnails[person.id])
        ax.set_title(f"{person.name}\n{person.screen_time_s:.1f} s", fontsize=9, color=colour(person.id))
    return fig


def utilization(samples: pd.DataFrame) -> Figure:
    """CPU and memory (and GPU where sampled) over the run, with stage boundaries marked."""
    has_gpu = "gpu_util_percent" in samples and samples["gpu_util_percent"].notna().any()
    fig = Figure(figsize=(10, 5.5 if has_gpu else 3.8))
    axes = np.atleast_1d(fig.subplots(2 if has_gpu else 1, 1, sharex=True))
    t = samples["time_s"]
    ax = axes[0]
    ax.plot(t, samples["cpu_percent"], color="#1f77b4", label="CPU %")
    ax.set_ylabel("CPU (%)")
    ax.set_ylim(0, 105)
    mem = ax.twinx()
    mem.plot(t, samples["rss_mb"], color="#ff7f0e", label="RSS (MiB)")
    mem.set_ylabel("RSS (MiB)")
    ax.set_title("Resource use over the run")
    if has_gpu:
        g = axes[1]
        g.plot(t, samples["gpu_util_percent"], color="#2ca02c")
        g.set_ylabel("GPU (%)")
        g.set_ylim(0, 105)
        gm = g.twinx()
        gm.plot(t, samples["gpu_mem_mb"], color="#d62728")
        gm.set_ylabel("GPU memory (MiB)")
    changes = samples["stage"].ne(samples["stage"].shift())
    for _, row in samples[changes].iterrows():
        for a in axes:
            a.axvline(row["time_s"], color="#555555", ls=":", lw=0.8)
        axes[0].text(row["time_s"], 102, f" {row['stage']}", fontsize=8, va="bottom", rotation=30)
    axes[-1].set_xlabel("time since start (s)")
    return fig


def stage_times(analysis: Analysis) -> Figure:
    """Seconds spent per pipeline stage (stages overlap with decoding, so they need not sum to wall time)."""
    stages = analysis.run.get("stage_seconds", {})
    fig = Figure(figsize=(6, 0.5 + 0.35 * max(len(stages), 1)))
    ax = fig.subplots()
    ax.barh(list(stages), list(stages.values()), color="#4c72b0")
    ax.invert_yaxis()
    ax.set_xlabel(f"seconds (wall time {analysis.run.get('wall_seconds', 0):.1f} s)")
    return fig
