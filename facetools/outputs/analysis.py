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

from facetools.errors import OutputWriteError
from facetools.identify.analysis import Identification
from facetools.identify.identifier import identify_run
from facetools.trackset.store import TRACKS_FILE, save_tracks

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

        Every file is written first, in a hidden folder inside ``out_dir`` (the same filesystem), and only then moved in:
        ``identities.json``, whose presence means a complete run, is taken out first and put back last. A failure while
        writing (a full disk) leaves the previous run exactly as it was and raises
        :class:`facetools.errors.OutputWriteError`; one while moving in leaves no ``identities.json``. So an interrupted
        save never leaves a folder that looks complete.
        """
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".facetools-", dir=out))
        except OSError as exc:
            raise OutputWriteError(f"{out}: could not write the results ({exc})") from exc
        try:
            try:
                names = self._write(tmp, tracks)
            except OSError as exc:
                raise OutputWriteError(f"{out}: could not write the results ({exc}); the folder is left as it was") from exc
            (out / "identities.json").unlink(missing_ok=True)
            for name in names:
                if (out / name).is_dir():  # a folder cannot be replaced whole: the old one goes to be deleted with tmp
                    os.replace(out / name, tmp / f"{name}.old")
                os.replace(tmp / name, out / name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return out

    def _write(self, folder: Path, tracks: bool) -> list[str]:
        """Write the run's files into ``folder``; their names, in the order to move them in (``identities.json`` last)."""
        from facetools.outputs import plots

        if tracks:
            save_tracks(self.trackset, folder)
        self.faces.to_csv(folder / "faces.csv", index=False)
        self.tracks.to_csv(folder / "tracks.csv", index=False)
        self.utilization.to_csv(folder / "utilization.csv", index=False)
        (folder / "run.json").write_text(json.dumps(asdict(self.run), indent=2, default=str))
        embeddings = np.stack([p.embedding for p in self.identities]) if self.identities else np.zeros((0, 0), np.float32)
        np.save(folder / "embeddings.npy", embeddings)
        (folder / "thumbnails").mkdir()
        for person in self.identities:
            if person.id in self.thumbnails:
                person.thumbnail = identity_thumbnail(person.id)
                Image.fromarray(self.thumbnails[person.id]).save(folder / person.thumbnail, quality=92)
        by_id = {r.id: r for r in self.trackset.tracks}
        self.unidentified.thumbnails = []
        for t in self.unidentified.best_tracks:
            name = f"thumbnails/unidentified_track_{t}.jpg"
            Image.fromarray(by_id[t].thumbnail).save(folder / name, quality=92)
            self.unidentified.thumbnails.append(name)
        plots.save(plots.timeline(self), folder / "timeline.png")
        plots.save(plots.utilization(self.utilization), folder / "utilization.png")
        (folder / "identities.json").write_text(json.dumps(self.identities_json(), indent=2))
        return ([TRACKS_FILE] if tracks else []) + ["thumbnails", *CONTRACT_FILES]

    @classmethod
    def load(cls, out_dir: str | os.PathLike[str]) -> Analysis:
        """The analysis of a run directory: its stored tracks identified with the run's last options and its edits."""
        return cls.of(identify_run(out_dir))


def identity_thumbnail(identity: int) -> str:
    """Where a saved run keeps an identity's best face, relative to the run directory."""
    return f"thumbnails/identity_{identity}.jpg"
