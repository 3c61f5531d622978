"""``Analysis``: an identification with its files (the contract of DESIGN.md), saved and loaded from a run directory."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
from PIL import Image

from facetools.identify.analysis import Identification
from facetools.identify.identifier import identify_run
from facetools.trackset.store import save_tracks

# identities.json is written last: its presence means the directory is complete.
CONTRACT_FILES = ["faces.csv", "tracks.csv", "embeddings.npy", "run.json", "utilization.csv", "timeline.png", "utilization.png",
                  "identities.json"]  # fmt: skip


class Analysis(Identification):
    """Who appears in a video, when, and how the run went; :meth:`save` writes its files, :meth:`load` reads a run directory.

    Example:
        >>> Analysis.load("reports/sample").summary()
    """

    @classmethod
    def of(cls, identification: Identification) -> Analysis:
        """The identification as an analysis (the same objects, nothing copied)."""
        return cls(**{f.name: getattr(identification, f.name) for f in fields(identification)})

    def save(self, out_dir: str | os.PathLike[str], *, tracks: bool = True) -> Path:
        """Write the contract files (and, with ``tracks``, the stored tracks) to ``out_dir``; returns it.

        Everything is written to a temporary folder first and moved in with
        ``identities.json`` last, so an interrupted save never looks complete.
        """
        from facetools.outputs import plots

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "identities.json").unlink(missing_ok=True)
        if tracks:
            save_tracks(self.trackset, out)
        tmp = Path(tempfile.mkdtemp(prefix=".facetools-", dir=out))
        try:
            self.faces.to_csv(tmp / "faces.csv", index=False)
            self.tracks.to_csv(tmp / "tracks.csv", index=False)
            self.utilization.to_csv(tmp / "utilization.csv", index=False)
            (tmp / "run.json").write_text(json.dumps(asdict(self.run), indent=2, default=str))
            embeddings = np.stack([p.embedding for p in self.identities]) if self.identities else np.zeros((0, 0), np.float32)
            np.save(tmp / "embeddings.npy", embeddings)
            thumbs = tmp / "thumbnails"
            thumbs.mkdir()
            for person in self.identities:
                if person.id in self.thumbnails:
                    person.thumbnail = identity_thumbnail(person.id)
                    Image.fromarray(self.thumbnails[person.id]).save(tmp / person.thumbnail, quality=92)
            by_id = {r.id: r for r in self.trackset.tracks}
            self.unidentified.thumbnails = []
            for t in self.unidentified.best_tracks:
                name = f"thumbnails/unidentified_track_{t}.jpg"
                Image.fromarray(by_id[t].thumbnail).save(tmp / name, quality=92)
                self.unidentified.thumbnails.append(name)
            plots.save(plots.timeline(self), tmp / "timeline.png")
            plots.save(plots.utilization(self.utilization), tmp / "utilization.png")
            (tmp / "identities.json").write_text(json.dumps(self.identities_json(), indent=2))
            shutil.rmtree(out / "thumbnails", ignore_errors=True)
            os.replace(thumbs, out / "thumbnails")
            for name in CONTRACT_FILES:
                os.replace(tmp / name, out / name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return out

    @classmethod
    def load(cls, out_dir: str | os.PathLike[str]) -> Analysis:
        """The analysis of a run directory: its stored tracks identified with the run's last options and its edits."""
        return cls.of(identify_run(out_dir))


def identity_thumbnail(identity: int) -> str:
    """Where a saved run keeps an identity's best face, relative to the run directory."""
    return f"thumbnails/identity_{identity}.jpg"
