"""A crowded hour (64 identities, unidentified faces): the figures show the top identities and count the rest, at a bounded size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facetools.identify.identifier import identify
from facetools.intervals import merge_intervals
from facetools.outputs import plots
from facetools.outputs.analysis import Analysis
from tests.outputs.scale import crowd

PEOPLE = 64
REST = PEOPLE - plots.TOP


@pytest.fixture(scope="module")
def crowded(sample_analysis: Analysis) -> Analysis:
    analysis = Analysis.of(identify(crowd(sample_analysis.trackset, people=PEOPLE)))
    assert len(analysis.identities) == PEOPLE and len(analysis.unidentified.tracks) == 10
    return analysis


def _bars(collection) -> list[tuple[float, float]]:  # noqa: ANN001 - the PolyCollection of broken_barh
    """The ``(start, end)`` of each bar of a ``broken_barh`` row."""
    return sorted((float(p.vertices[:, 0].min()), float(p.vertices[:, 0].max())) for p in collection.get_paths())


def test_the_timeline_of_a_crowd_has_a_row_for_each_top_identity_one_for_the_rest_and_a_bounded_height(crowded: Analysis) -> None:
    fig = plots.timeline(crowded)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    top, rest = crowded.identities[: plots.TOP], crowded.identities[plots.TOP :]
    assert labels[: plots.TOP] == [f"{p.name} ({p.screen_time_s:.1f} s)" for p in top]
    assert labels[plots.TOP].startswith(f"{REST} more identities (") and labels[-1].startswith("unidentified (")
    assert len(labels) == plots.TOP + 2
    union = merge_intervals([s for p in rest for s in p.segments], 0.0)
    np.testing.assert_allclose(_bars(ax.collections[plots.TOP]), union, err_msg="the rest's row is the union of their segments")
    assert f"({sum(e - s for s, e in union):.1f} s on screen)" in labels[plots.TOP]
    assert fig.get_size_inches()[1] == pytest.approx(0.9 + 0.6 * (plots.TOP + 2)) and fig.get_size_inches()[1] <= 14.1
    assert min(p.screen_time_s for p in top) >= max(p.screen_time_s for p in rest), "the top rows have the most screen time"


def test_a_small_run_keeps_one_row_per_identity(sample_analysis: Analysis) -> None:
    fig = plots.timeline(sample_analysis)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == [f"{p.name} ({p.screen_time_s:.1f} s)" for p in sample_analysis.identities]
    assert fig.get_size_inches()[1] == pytest.approx(0.9 + 0.6 * len(labels))
    assert "not shown" not in plots.gallery(sample_analysis)._suptitle.get_text()


def test_the_gallery_and_the_other_figures_show_the_top_identities_and_say_how_many_more(crowded: Analysis) -> None:
    gallery = plots.gallery(crowded)
    assert sum(bool(ax.images) for ax in gallery.axes) == plots.TOP
    assert f"{REST} more identities not shown" in gallery._suptitle.get_text()
    assert gallery.get_size_inches()[1] == pytest.approx(2.1 * -(-plots.TOP // 6))
    bars = plots.screen_time(crowded).axes[0]
    assert len(bars.patches) == plots.TOP and f"{REST} more identities" in bars.get_title()
    heat = plots.co_appearance(crowded).axes[0]
    assert heat.images[0].get_array().shape == (plots.TOP, plots.TOP) and f"{REST} more identities" in heat.get_title()
    assert "1 more identity not shown" in plots.gallery(crowded, top=PEOPLE - 1)._suptitle.get_text()


REPORT_MB = 2.0
"""The report notebook's HTML for the crowd (1.5 MB measured; 4.7 MB before the figures were capped)."""


@pytest.mark.slow
def test_the_report_of_a_crowd_stays_small(crowded: Analysis, tmp_path: Path) -> None:
    from facetools.run.report import rerender

    report = rerender(crowded.save(tmp_path / "crowd"))
    assert report.stat().st_size < REPORT_MB * 2**20, f"{report.stat().st_size / 2**20:.2f} MB"
    assert report.read_text(encoding="utf-8").count("data:image/png;base64") >= 6, "the report embeds its plots"
