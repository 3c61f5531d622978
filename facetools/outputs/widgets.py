"""ipywidgets for exploring an analysis in JupyterLab (the package's only UI code; needs ``facetools[notebooks]``)."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from facetools.errors import FacetoolsError
from facetools.outputs import plots
from facetools.outputs.analysis import Analysis, stored_config
from facetools.outputs.explore import appearances, assign_track, draw_frame, merge_identities, reidentify, rename_identity


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


class Explorer:
    """A frame slider with labelled boxes, an identity gallery, rename/merge, jumps to appearances,
    hand assignment of unidentified tracks, and a threshold slider that re-identifies live from the stored tracks.

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
        self.person = w.Dropdown(description="identity")
        self.jump = w.Button(description="next appearance")
        self.name = w.Text(description="new name")
        self.rename = w.Button(description="rename")
        self.other = w.Dropdown(description="merge in")
        self.merge = w.Button(description="merge")
        self.loose = w.Dropdown(description="unidentified")
        self.assign = w.Button(description="assign to identity")
        threshold = self.analysis.run.cluster_threshold
        self.threshold = w.FloatSlider(threshold, min=0.0, max=round(threshold * 2, 3), step=round(threshold / 50, 4),
                                       readout_format=".4f", description="threshold", continuous_update=False)  # fmt: skip
        self.timeline = w.Image(format="png")
        self.gallery = w.HBox()
        self.status = w.Label()
        self.threshold.observe(lambda change: self._report(self.do_threshold, change["new"]), names="value")
        self.assign.on_click(lambda _b: self._report(self.do_assign, self.loose.value, self.person.value))
        self.slider.observe(lambda _change: self.show(), names="value")
        self.jump.on_click(lambda _b: self.next_appearance())
        self.rename.on_click(lambda _b: self._report(self.do_rename, self.person.value, self.name.value))
        self.merge.on_click(lambda _b: self._report(self.do_merge, self.person.value, self.other.value))
        self.widget = w.VBox(
            [
                self.slider,
                self.image,
                w.HBox([self.person, self.jump]),
                w.HBox([self.name, self.rename]),
                w.HBox([self.other, self.merge]),
                w.HBox([self.loose, self.assign]),
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
        self.timeline.value = plots.png(plots.timeline(self.analysis))
        tiles = []
        for p in self.analysis.identities:
            if p.id in self.analysis.thumbnails:
                tiles.append(w.VBox([w.Image(value=_jpeg(self.analysis.thumbnails[p.id]), width=96), w.Label(p.name)]))
        self.gallery.children = tiles
        self.show()

    def show(self) -> None:
        self.image.value = _jpeg(draw_frame(self.analysis, self.slider.value))

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

    def do_threshold(self, threshold: float) -> None:
        """Re-identify from the stored tracks at ``threshold`` (edits kept) and redraw."""
        started = time.perf_counter()
        self.analysis = reidentify(self.folder, stored_config(self.folder).with_options(cluster_threshold=float(threshold)))
        self.refresh()
        self.status.value = f"threshold {threshold:.4f}: {len(self.analysis.identities)} identities ({time.perf_counter() - started:.2f} s)"
