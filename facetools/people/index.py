"""The people index: people, their appearances in runs, and its files (``people.json``, ``people.npz``)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from facetools.config import Config
from facetools.errors import InputValidationError
from facetools.identify.rules import Rules, calibrated_rules
from facetools.identify.suggestions import Suggestion
from facetools.trackset.records import EmbeddingSpace
from facetools.trackset.store import atomic_write, save_arrays

PEOPLE_JSON = "people.json"
PEOPLE_NPZ = "people.npz"
ANSWERS_JSON = "answers.json"
INDEX_VERSION = 1


class SpaceMismatchError(InputValidationError):
    """Runs whose embeddings lie in different spaces (embedder, weights or calibration) cannot be compared."""


@dataclass
class Answers:
    """A user's answers about people across runs, as facts about tracks (person numbers change between builds; tracks do not).

    Each answer names one track of each person, as ``[run directory, track id]``.
    """

    same: list[list[list[Any]]] = field(default_factory=list)
    different: list[list[list[Any]]] = field(default_factory=list)

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> Answers:
        path = Path(folder) / ANSWERS_JSON
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(list(data.get("same", [])), list(data.get("different", [])))
        except (ValueError, AttributeError) as exc:
            raise InputValidationError(f"{path}: not a valid answers file ({exc})") from exc

    def save(self, folder: str | os.PathLike[str]) -> None:
        text = json.dumps({"version": 1, "same": self.same, "different": self.different}, indent=1)
        atomic_write(Path(folder) / ANSWERS_JSON, lambda tmp: tmp.write_text(text, encoding="utf-8"))


class PhotoError(InputValidationError):
    """A query photo is missing, not an image, undecodable, or has no (or no single) face."""


@dataclass
class Appearance:
    """One identity of one run: a person's presence in one video.

    Attributes:
        video: the video's path. run: the run directory. identity: the identity's id in that run.
        name: its name in the run (a user's, a gallery's, or ``person N``); user_named: whether a user gave it.
        duration_s: the video's duration. segments: ``(start_s, end_s)`` on screen.
        thumbnails: best faces, paths relative to the people folder. tracks: its track ids.
        embedding: the identity's L2-normalised mean. low_quality: every one of its tracks is weak evidence.
        faces: its number of chosen faces. views: the shots behind its embedding (independent views of the person).
    """

    video: str
    run: str
    identity: int
    name: str
    user_named: bool
    duration_s: float
    segments: list[tuple[float, float]]
    tracks: list[int]
    faces: int
    low_quality: bool
    embedding: np.ndarray = field(repr=False)
    thumbnails: list[str] = field(default_factory=list)
    views: int = 1

    @property
    def screen_time_s(self) -> float:
        return float(sum(e - s for s, e in self.segments))

    def to_dict(self) -> dict[str, Any]:
        return {"video": self.video, "run": self.run, "identity": self.identity, "name": self.name, "duration_s": round(self.duration_s, 3),
                "screen_time_s": round(self.screen_time_s, 3), "segments": [[round(s, 3), round(e, 3)] for s, e in self.segments],
                "thumbnails": self.thumbnails, "tracks": self.tracks, "faces": self.faces, "user_named": self.user_named,
                "low_quality": self.low_quality, "views": self.views}  # fmt: skip


@dataclass
class Person:
    """One person across videos: their appearances, best first (most screen time)."""

    id: int
    name: str
    appearances: list[Appearance]

    @property
    def screen_time_s(self) -> float:
        return float(sum(a.screen_time_s for a in self.appearances))

    @property
    def embedding(self) -> np.ndarray:
        mean = np.mean([a.embedding for a in self.appearances], axis=0)
        return mean / np.linalg.norm(mean)

    def to_dict(self) -> dict[str, Any]:
        return {"person": self.id, "name": self.name, "screen_time_s": round(self.screen_time_s, 3),
                "videos": len({a.video for a in self.appearances}), "appearances": [a.to_dict() for a in self.appearances]}  # fmt: skip


@dataclass
class PeopleIndex:
    """People found in a set of runs, all in one embedding space, with the thresholds that decided,
    and pairs of people that may be one (``suggestions``, by person id, best first)."""

    space: EmbeddingSpace
    rules: Rules
    runs: list[str]
    people: list[Person]
    suggestions: list[Suggestion] = field(default_factory=list)

    def person(self, key: int | str) -> Person:
        """The person with id, ``person N`` or name ``key`` (names compared case-insensitively)."""
        text = str(key).strip()
        for p in self.people:
            if text in (str(p.id), f"person {p.id}") or p.name.casefold() == text.casefold():
                return p
        known = ", ".join(sorted({p.name for p in self.people})) or "none"
        raise InputValidationError(f"no person {text!r} in the people index (people: {known})")

    def to_json(self) -> dict[str, Any]:
        return {"version": INDEX_VERSION, "space": self.space.key, "embedding_space": vars(self.space),
                "threshold": round(self.rules.threshold, 5), "strict_threshold": round(self.rules.strict_threshold, 5),
                "runs": self.runs, "people": [p.to_dict() for p in self.people],
                "suggestions": [s.to_dict() for s in self.suggestions]}  # fmt: skip

    def save(self, out_dir: str | os.PathLike[str], thumbnails: dict[tuple[str, int], list[np.ndarray]] | None = None) -> Path:
        """Write ``people.json``, ``people.npz`` (the appearances' embeddings) and thumbnails to ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(out / "thumbnails", ignore_errors=True)
        if thumbnails:
            (out / "thumbnails").mkdir()
        for p in self.people:
            for k, a in enumerate(p.appearances):
                a.thumbnails = []
                for j, image in enumerate((thumbnails or {}).get((a.run, a.identity), [])):
                    name = f"thumbnails/person_{p.id}_{k}_{j}.jpg"
                    Image.fromarray(image).save(out / name, quality=90)
                    a.thumbnails.append(name)
        apps = [a for p in self.people for a in p.appearances]
        dim = apps[0].embedding.shape[0] if apps else 0
        arrays = {"embedding": np.stack([a.embedding for a in apps]).astype(np.float32) if apps else np.zeros((0, dim), np.float32),
                  "person": np.array([p.id for p in self.people for _ in p.appearances], dtype=np.int64),
                  "low_quality": np.array([a.low_quality for a in apps], dtype=bool)}  # fmt: skip

        save_arrays(out / PEOPLE_NPZ, arrays)
        text = json.dumps(self.to_json(), indent=1)
        atomic_write(out / PEOPLE_JSON, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return out / PEOPLE_JSON

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> PeopleIndex:
        """The index written by :meth:`save` (embeddings from ``people.npz``)."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / PEOPLE_JSON).read_text(encoding="utf-8"))
            with np.load(folder / PEOPLE_NPZ, allow_pickle=False) as z:
                emb, low = z["embedding"], z["low_quality"]
        except (OSError, ValueError, KeyError) as exc:
            raise InputValidationError(f"{folder}: unreadable people index ({exc}); run `facetools people` again") from exc
        if meta.get("version") != INDEX_VERSION:
            raise InputValidationError(f"{folder}: people index version {meta.get('version')}; run `facetools people` again")
        people, k = [], 0
        for p in meta["people"]:
            apps = []
            for a in p["appearances"]:
                segments = [(float(s), float(e)) for s, e in a["segments"]]
                apps.append(
                    Appearance(
                        a["video"],
                        a["run"],
                        a["identity"],
                        a["name"],
                        a["user_named"],
                        a["duration_s"],
                        segments,
                        a["tracks"],
                        a["faces"],
                        bool(low[k]),
                        emb[k],
                        a["thumbnails"],
                        int(a.get("views", 1)),
                    )  # fmt: skip
                )
                k += 1
            people.append(Person(p["person"], p["name"], apps))
        space = EmbeddingSpace(**meta["embedding_space"])
        rules, _cal = calibrated_rules(space.embedder, Config(cluster_threshold=meta["threshold"]))
        suggestions = [Suggestion(s["a"], s["b"], s["distance"], s["threshold"], s["evidence"]) for s in meta.get("suggestions", [])]
        return cls(space, rules, meta["runs"], people, suggestions)
