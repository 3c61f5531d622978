"""ipywidgets for exploring an analysis in JupyterLab (the package's only UI code; needs ``facetools[notebooks]``)."""

from __future__ import annotations

import html
import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from facetools.errors import FacetoolsError
from facetools.identify.analysis import stored_config
from facetools.identify.suggestions import Suggestion
from facetools.outputs import plots
from facetools.outputs.analysis import Analysis
from facetools.outputs.explore import (
    answer_suggestion,
    appearances,
    assign_track,
    draw_frame,
    merge_identities,
    reidentify,
    rename_identity,
    split_track,
)


def _jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _set_options(dropdown: Any, options: list[tuple[str, int]]) -> None:
    """New choices for a dropdown, keeping its value where it is still offered, else the first choice."""
    values = [v for _, v in options]
    keep = dropdown.value if dropdown.value in values else (values[0] if values else None)
    dropdown.options = options
    dropdown.value = keep


def _clock(seconds: float) -> str:
    """``m:ss.s``."""
    minutes, rest = divmod(round(seconds, 1), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def appearance_choices(analysis: Analysis) -> list[tuple[str, tuple[int, int]]]:
    """Every identity's appearances (the starts of its on-screen segments) in time order, as dropdown choices:
    ``"m:ss.s  name"`` for ``(first frame, identity id)``."""
    starts = sorted((start, p.id, p.name) for p in analysis.identities for start, _end in p.segments)
    return [(f"{_clock(start)}  {name}", (analysis.frame_at(start), identity)) for start, identity, name in starts]


class Explorer:
    """A frame slider with labelled boxes, a list of every appearance in time order to jump to, an identity gallery,
    rename/merge, a jump to an identity's next appearance, hand assignment of unidentified tracks, splitting a track out of an
    identity, a review of the "same person?" suggestions (yes / no / skip), and a threshold slider that re-identifies live from
    the stored tracks.

    Example:
        >>> Explorer("reports/sample").widget  # displayed in JupyterLab
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        import ipywidgets as w

        self.folder = Path(folder)
        self.analysis = Analysis.load(self.folder)
        last = max(1, len(self.analysis.frame_times)) - 1
        self.slider = w.IntSlider(0, 0, last, description="frame", continuous_update=False, layout=w.Layout(width="90%"))
        self.image = w.Image(format="jpeg")
        self.appearance = w.Dropdown(description="appearance", layout=w.Layout(width="50%"))
        self.person = w.Dropdown(description="identity")
        self.jump = w.Button(description="next appearance")
        self.name = w.Text(description="new name")
        self.rename = w.Button(description="rename")
        self.other = w.Dropdown(description="merge in")
        self.merge = w.Button(description="merge")
        self.loose = w.Dropdown(description="unidentified")
        self.assign = w.Button(description="assign to identity")
        self.track = w.Dropdown(description="its track")
        self.split = w.Button(description="split out")
        self.question = w.HTML()
        self.pair = w.VBox()
        self.yes, self.no, self.skip = w.Button(description="Yes"), w.Button(description="No"), w.Button(description="Skip")
        self.skipped: set[frozenset[int]] = set()
        threshold = self.analysis.run.cluster_threshold
        self.threshold = w.FloatSlider(threshold, min=0.0, max=round(threshold * 2, 3), step=round(threshold / 50, 4),
                                       readout_format=".4f", description="threshold", continuous_update=False)  # fmt: skip
        self.timeline = w.Image(format="png")
        self.gallery = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.status = w.Label()
        self.threshold.observe(lambda change: self._report(self.do_threshold, change["new"]), names="value")
        self.assign.on_click(lambda _b: self._report(self.do_assign, self.loose.value, self.person.value))
        self.split.on_click(lambda _b: self._report(self.do_split, self.track.value))
        self.person.observe(lambda _change: self._list_tracks(), names="value")
        self.yes.on_click(lambda _b: self._report(self.do_answer, True))
        self.no.on_click(lambda _b: self._report(self.do_answer, False))
        self.skip.on_click(lambda _b: self.do_skip())
        self.slider.observe(lambda _change: self.show(), names="value")
        self.appearance.observe(lambda change: self.jump_to(change["new"]), names="value")
        self.jump.on_click(lambda _b: self.next_appearance())
        self.rename.on_click(lambda _b: self._report(self.do_rename, self.person.value, self.name.value))
        self.merge.on_click(lambda _b: self._report(self.do_merge, self.person.value, self.other.value))
        self.widget = w.VBox(
            [
                self.slider,
                self.image,
                self.appearance,
                w.HBox([self.person, self.jump]),
                w.HBox([self.name, self.rename]),
                w.HBox([self.other, self.merge]),
                w.HBox([self.loose, self.assign]),
                w.HBox([self.track, self.split]),
                w.VBox([self.question, self.pair, w.HBox([self.yes, self.no, self.skip])]),
                self.threshold,
                self.timeline,
                self.gallery,
                self.status,
            ]
        )
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the identity lists and the gallery after an edit, then redraw."""
        import ipywidgets as w

        options = [(f"{p.name} ({p.screen_time_s:.1f} s)", p.id) for p in self.analysis.identities]
        _set_options(self.person, options)
        _set_options(self.other, options)
        _set_options(self.loose, [(f"track {t}", t) for t in self.analysis.unidentified.tracks])
        self.appearance.options = [("jump to an appearance…", None), *appearance_choices(self.analysis)]
        self.appearance.value = None  # a refresh moves no slider
        self.timeline.value = plots.png(plots.timeline(self.analysis))
        tiles = []
        for p in self.analysis.identities:
            if p.id in self.analysis.thumbnails:
                tiles.append(w.VBox([w.Image(value=_jpeg(self.analysis.thumbnails[p.id]), width=96), w.Label(p.name)]))
        self.gallery.children = tiles
        self._list_tracks()
        self._ask()
        self.show()

    def show(self) -> None:
        self.image.value = _jpeg(draw_frame(self.analysis, self.slider.value))

    def jump_to(self, choice: tuple[int, int] | None) -> None:
        """Show an appearance (a value of :func:`appearance_choices`): the slider at its first frame, its identity selected."""
        if choice is None:
            return
        frame, identity = choice
        self.person.value = identity
        self.slider.value = min(frame, self.slider.max)

    def next_appearance(self) -> None:
        """Move the slider to the identity's next segment start after the current frame (wrapping)."""
        starts = appearances(self.analysis, self.person.value)
        later = [f for f in starts if f > self.slider.value]
        if starts:
            self.slider.value = min(later[0] if later else starts[0], self.slider.max)

    def _report(self, action: Callable[..., None], *args: Any) -> None:
        """Run a button's action; a refused edit (a ``FacetoolsError``) is shown in the status line."""
        try:
            action(*args)
        except FacetoolsError as exc:
            self.status.value = f"not done: {exc}"

    def do_rename(self, identity: int, name: str) -> None:
        self.analysis = rename_identity(self.folder, identity, name)
        self.status.value = f"renamed identity {identity} to {name} (saved)"
        self.refresh()

    def do_merge(self, keep: int, drop: int) -> None:
        self.analysis = merge_identities(self.folder, keep, drop)
        self.status.value = f"merged identity {drop} into {keep} (saved)"
        self.refresh()

    def do_assign(self, track: int | None, identity: int) -> None:
        if track is None:
            return
        self.analysis = assign_track(self.folder, track, identity)
        self.status.value = f"assigned track {track} to identity {identity} (saved)"
        self.refresh()

    def _list_tracks(self) -> None:
        tracks = self.analysis.identity(self.person.value).tracks if self.person.value is not None else []
        _set_options(self.track, [(f"track {t}", t) for t in tracks])

    def suggestion(self) -> Suggestion | None:
        """The first suggestion not skipped in this session."""
        for s in self.analysis.suggestions:
            if self._key(s) not in self.skipped:
                return s
        return None

    def _key(self, s: Suggestion) -> frozenset[int]:
        return frozenset(self.analysis.identity(s.a).tracks + self.analysis.identity(s.b).tracks)

    def _ask(self) -> None:
        """Show the next suggestion: its two identities' best faces, a row each, and the evidence."""
        import ipywidgets as w

        s = self.suggestion()
        for button in (self.yes, self.no, self.skip):
            button.disabled = s is None
        if s is None:
            self.question.value = "<b>Same person?</b> No suggestions left."
            self.pair.children = []
            return
        a, b = self.analysis.identity(s.a), self.analysis.identity(s.b)
        self.question.value = f"<b>Same person?</b> {html.escape(a.name)} and {html.escape(b.name)}: {html.escape(s.evidence)}"
        rows = []
        for person in (a, b):
            faces = [w.Image(value=_jpeg(face), width=80) for face in self.analysis.faces_of(person.id)]
            rows.append(w.HBox([w.Label(person.name, layout=w.Layout(width="120px")), *faces]))
        self.pair.children = rows

    def do_answer(self, same: bool) -> None:
        s = self.suggestion()
        if s is None:
            return
        self.analysis = answer_suggestion(self.folder, s.a, s.b, same)
        self.status.value = f"identities {s.a} and {s.b}: {'one person' if same else 'two people'} (saved)"
        self.refresh()

    def do_skip(self) -> None:
        s = self.suggestion()
        if s is not None:
            self.skipped.add(self._key(s))
        self._ask()

    def do_split(self, track: int | None) -> None:
        if track is None:
            return
        self.analysis = split_track(self.folder, track)
        self.status.value = f"split track {track} out of its identity (saved)"
        self.refresh()

    def do_threshold(self, threshold: float) -> None:
        """Re-identify from the stored tracks at ``threshold`` (edits kept) and redraw."""
        started = time.perf_counter()
        self.analysis = reidentify(self.folder, stored_config(self.folder).with_options(cluster_threshold=float(threshold)))
        self.refresh()
        self.status.value = f"threshold {threshold:.4f}: {len(self.analysis.identities)} identities ({time.perf_counter() - started:.2f} s)"
