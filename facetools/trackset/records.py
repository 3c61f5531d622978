"""``TrackSet``: what extraction leaves behind, all that identification, export and seeking need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from facetools.io.probe import VideoInfo

FACE_COLUMNS = ["frame", "time_s", "x1", "y1", "x2", "y2", "score", "track", "identity"]
TRACK_COLUMNS = ["track", "identity", "shot", "faces", "first_frame", "last_frame", "start_s", "end_s"]


@dataclass(frozen=True)
class EmbeddingSpace:
    """Which vectors a run's embeddings are: comparable only with runs of the same space."""

    embedder: str
    weights_sha256: str
    calibration: str

    @property
    def key(self) -> str:
        return f"{self.embedder}/{self.weights_sha256[:12]}/{self.calibration}"


@dataclass(eq=False)
class TrackRecord:
    """One stored track.

    Attributes:
        id: track number, unique within the run.
        shot: the shot it lies in.
        frames: frame number of each of its faces (sampled frames).
        span: on-screen interval ``(start_s, end_s)``.
        embedding: L2-normalised mean of its chosen faces' embeddings.
        face_embeddings: the chosen faces' embeddings, ``k×d``.
        face_quality: per chosen face: quality, height (px), yaw, sharpness; ``k×4``.
        thumbnail: its best face, a square RGB crop.
    """

    id: int
    shot: int
    frames: np.ndarray
    span: tuple[float, float]
    embedding: np.ndarray = field(repr=False)
    face_embeddings: np.ndarray = field(repr=False)
    face_quality: np.ndarray = field(repr=False)
    thumbnail: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def quality(self) -> float:
        """The quality of its best chosen face."""
        return float(self.face_quality[:, 0].max()) if len(self.face_quality) else 0.0

    @property
    def best_face(self) -> np.ndarray:
        """Quality, height, yaw and sharpness of its best chosen face."""
        return self.face_quality[int(np.argmax(self.face_quality[:, 0]))]


@dataclass
class RunInfo:
    """How a run went; ``run.json`` is this, whole."""

    versions: dict[str, str]
    device: str
    cuda_device_name: str | None
    decoder: str
    embedder: str
    space: str
    config: dict[str, Any]
    stride: int
    video: dict[str, Any]
    frames_decoded: int
    frames_detected: int
    variable_frame_rate_observed: bool
    warnings: list[str]
    faces: int
    tracks: int
    shots: int
    cuts: list[int]
    stage_seconds: dict[str, float]
    wall_seconds: float
    frames_per_second: float | None
    realtime_factor: float | None
    peak_rss_mb: float
    peak_gpu_memory_mb: float | None
    gpu_monitored: bool
    cluster_threshold: float = 0.0
    strict_threshold: float = 0.0
    identities: int = 0
    unidentified_tracks: int = 0
    identify_seconds: float = 0.0
    decoder_reason: str = ""
    executor: str = "local"
    node: dict[str, str] = field(default_factory=dict)
    full_passes: int | None = None
    detector: str = "mtcnn"
    embedder_precision: str = "float32"


@dataclass
class TrackSet:
    """The stored result of extraction for one video.

    Attributes:
        video: the probed input.
        frame_times: time of every decoded frame by number (NaN where a frame could not be decoded).
        cuts: first frame of each shot after the first.
        shot_samples: sampled (detected) frames per shot.
        faces: one row per detected face (``FACE_COLUMNS`` without ``identity``).
        tracks: the tracks, by id.
        space: the embedding space of every vector here.
        gallery: reference embeddings by name, when the run had a gallery.
        run: how extraction went.
        utilization: samples of the resource monitor.
    """

    video: VideoInfo
    frame_times: np.ndarray
    cuts: list[int]
    shot_samples: dict[int, int]
    faces: pd.DataFrame
    tracks: list[TrackRecord]
    space: EmbeddingSpace
    run: RunInfo
    utilization: pd.DataFrame
    gallery: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def stride(self) -> int:
        return self.run.stride
