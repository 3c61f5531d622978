"""Reading a video's frames through ffmpeg: streamed in batches, or at random."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import torch

from facetools.errors import VideoDecodeError
from facetools.io import ffmpeg
from facetools.io.batches import THUMB_SIZE, FrameBatch, QueuedLoader, Thumbnails
from facetools.io.frame_table import frame_times, interval
from facetools.io.probe import VideoInfo


class FrameLoader(QueuedLoader):
    """Iterate over a video in :class:`FrameBatch` es streamed from an ``ffmpeg`` process.

    ffmpeg decodes (and downscales to ``max_side``) into a pipe; a thread reads whole batches
    into a queue bounded in bytes, and ffmpeg blocks when the pipe is full, so memory stays flat
    whatever the video's length. Timestamps are the decoder's (ffmpeg's ``showinfo``), not
    index/fps. Frames are moved to ``device`` (pinned memory and a non-blocking copy on CUDA).
    Decoder errors are listed in ``warnings``; no frame at all, more frames lost than decoded,
    or no frame for ``timeout_s`` seconds raises :class:`VideoDecodeError` (never a hang).

    decord streams the same frames but holds every frame it decodes ahead of the reader: its
    ``get_batch`` feeds packets in a busy loop until a frame comes out, so a decoding thread
    slowed by torch on the same cores falls further behind with each lag and the decoded
    frames pile up (measured: 2.9 GiB after the first batch of 1080p, 16 GiB in a decoding
    process beside an MTCNN process).

    With ``sample_every`` = S, ffmpeg also makes a 32×18 luma thumbnail of every frame (for the
    shot detector) and converts to RGB and sends only frames 0, S, 2S, …, sparing its RGB
    conversion and the pipe the other frames. Each comes with the thumbnails of itself and the
    S - 1 frames after it tiled in rows below it, so one pipe carries both in step (through two
    pipes, ffmpeg wrote a frame's thumbnail after the next RGB frame, and the reader waiting for
    it stalled). A stretch of ``batch_size`` × S frames makes one batch. From a frame ``first``
    > 0 the seek leaves ffmpeg's frame count unknown until frames arrive, so every frame is sent
    as RGB there, with its thumbnail. ffmpeg decodes on ``threads`` threads (default: the cores, at most 4).

    Example:
        >>> for batch in FrameLoader(probe("data/sample/sample.mp4"), batch_size=16):
        ...     print(batch.frames.shape)
    """

    backend = "ffmpeg-cpu"

    def __init__(
        self,
        info: VideoInfo,
        *,
        batch_size: int = 16,
        device: torch.device | str = "cpu",
        max_side: int = 3840,
        queue_bytes: int = 256 * 2**20,
        batch_bytes: int = 24 * 2**20,
        timeout_s: float = 120.0,
        first: int = 0,
        count: int | None = None,
        times: np.ndarray | None = None,
        sample_every: int | None = None,
        threads: int | None = None,
    ) -> None:
        # Random access: frames are found by their presentation time in this table of every frame's time.
        self._table = None if first == 0 and count is None else (frame_times(info) if times is None else np.asarray(times, np.float64))
        if self._table is not None and not 0 <= first < len(self._table):
            raise VideoDecodeError(f"{info.path}: frame {first} does not exist (the video has {len(self._table)} frames)")
        super().__init__(info, batch_size=batch_size, device=device, max_side=max_side, queue_bytes=queue_bytes,
                         batch_bytes=batch_bytes, timeout_s=timeout_s, first=first, count=count)  # fmt: skip
        self._log = _DecoderLog()
        # thumbnails are tiled below the frames: a frame narrower than one sends every frame as RGB, without them
        narrow = self.size[0] < THUMB_SIZE[0]
        self.sample_every = None if sample_every is None or narrow else (max(1, sample_every) if first == 0 else 1)
        self.threads = threads or min(4, os.cpu_count() or 1)

    def _seek_s(self, back_s: float = 0.0) -> float:
        """Where ffmpeg starts decoding: half a frame interval (plus ``back_s``) before frame ``first``'s time."""
        if self._table is None or self.first == 0:
            return 0.0
        return max(0.0, float(self._table[self.first]) - 0.5 * interval(self._table, self.first) - back_s)

    def command(self, seek_s: float = 0.0) -> list[str]:
        """The ffmpeg command line: first video stream (no cover art), RGB, every frame as decoded (or every
        ``sample_every``-th, each with the thumbnails of its stretch in rows below it)."""
        width, height = self.size
        resize = [f"scale={width}:{height}"] if self.size != (self.info.width, self.info.height) else []
        seek = ["-ss", f"{seek_s:.6f}"] if seek_s > 0 else []
        every_frame = ["-fps_mode", "passthrough"] if ffmpeg.at_least(5, 1) else ["-vsync", "passthrough"]
        if self.sample_every is None:
            graph = ["-map", "0:V:0", "-an", "-sn", "-dn", "-vf", ",".join(["showinfo=checksum=0", *resize])]
        else:
            pick = [f"select=not(mod(n\\,{self.sample_every}))"] if self.sample_every > 1 else []
            columns, rows = self._tile
            thumbs = "scale={}:{}:flags=area,format=gray".format(*THUMB_SIZE)
            tiles = f"tile={columns}x{rows},pad={width}:{rows * THUMB_SIZE[1]},format=rgb24"
            rgb = ",".join([*pick, *resize, "format=rgb24"])
            # the decoder's own format through split: else ffmpeg may convert before it, and the thumbnails then differ by a
            # few levels between a pass from the start and one after a seek (a resumed run's cuts did not match)
            native = f"format={self.info.pixel_format}," if self.info.pixel_format != "unknown" else ""
            graph = ["-filter_complex", f"[0:V:0]showinfo=checksum=0,{native}split[all][each];[all]{rgb}[rgb];"
                     f"[each]{thumbs},{tiles}[thumbs];[rgb][thumbs]vstack[out]", "-map", "[out]"]  # fmt: skip
        return [
            ffmpeg.binary("ffmpeg"), "-nostdin", "-hide_banner", "-nostats", "-loglevel", "level+info",
            "-threads", str(self.threads), *seek, "-i", self.info.path, *graph,
            *every_frame, "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1",
        ]  # fmt: skip

    @property
    def _tile(self) -> tuple[int, int]:
        """Columns and rows of the thumbnails below each sampled frame."""
        columns = max(1, min(self.sample_every or 1, self.size[0] // THUMB_SIZE[0]))
        return columns, -(-(self.sample_every or 1) // columns)

    def _number(self, done: int, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame numbers of decoded frames ``done, done+1, …`` with ``times``, and which to hand out.

        A sequential pass numbers frames as they come; after a seek each frame is numbered by
        finding its time in the table, so that frame N is the frame a sequential pass numbers N.
        """
        if self._table is None:
            return np.arange(done, done + len(times)), np.ones(len(times), dtype=bool)
        table = self._table
        pos = np.clip(np.searchsorted(table, times), 1, max(1, len(table) - 1))
        indices = np.where(np.abs(table[pos - 1] - times) <= np.abs(table[np.minimum(pos, len(table) - 1)] - times), pos - 1, pos)
        indices = np.minimum(indices, len(table) - 1)
        close = np.abs(table[indices] - times) < 0.5 * np.array([interval(table, i) for i in indices])
        return indices, close & (indices >= self.first) & (indices <= self._last)

    @property
    def _last(self) -> int:
        return self.first + self.count - 1 if self.count is not None else (len(self._table) - 1 if self._table is not None else 1 << 62)

    def _open(self, seek_s: float) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(self.command(seek_s), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            raise VideoDecodeError(f"{self.info.path}: cannot start ffmpeg ({exc})") from exc

    def _produce(self) -> None:
        try:
            # Containers without an index (MPEG-TS, …) can seek past the target: seek further back then.
            for back_s in (0.0, 3.0, 20.0, float("inf")):
                if self._decode(self._seek_s(back_s)) or self._seek_s(back_s) == 0.0:
                    break
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)
            return
        self._put(None)

    def _decode(self, seek_s: float) -> bool:
        """One ffmpeg run from ``seek_s``; False (nothing handed out) when it started after frame ``first``."""
        self._log = _DecoderLog()
        proc = self._open(seek_s)
        try:
            logger = threading.Thread(target=self._log.read, args=(proc.stderr,), name="facetools-ffmpeg-log", daemon=True)
            logger.start()
            done = 0
            while not self._stop.is_set():
                n, frames, rgb, luma = self._read_stretch(proc.stdout, done)  # type: ignore[arg-type]
                if n == 0:
                    break
                times = self._log.times(done, done + n, self.info.fps, self.timeout_s) + seek_s
                indices, keep = self._number(done, times)
                if done == 0 and seek_s > 0 and indices[0] > self.first:
                    return False
                done += n
                if keep.any():
                    pick = keep[rgb]
                    tensor = torch.from_numpy(frames if pick.all() else frames[pick])  # boolean indexing would copy
                    if self.device.type == "cuda":
                        tensor = tensor.pin_memory().to(self.device, non_blocking=True)
                    thumbs = None if luma is None else Thumbnails(torch.from_numpy(luma[keep]), indices[keep], np.round(times[keep], 6))
                    batch = FrameBatch(tensor, indices[rgb][pick], np.round(times[rgb][pick], 6), self.info.width / self.size[0], thumbs)
                    if not self._put(batch):
                        return True
                if indices[-1] >= self._last:
                    break
            if self._stop.is_set():
                return True
            self.frames_total = done
            if self.count is None:
                proc.wait(timeout=self.timeout_s)
                logger.join(timeout=self.timeout_s)
            if done == 0 and seek_s > 0:
                return False  # the seek landed past the end
            if done == 0:
                reason = self._log.errors[-1] if self._log.errors else f"ffmpeg exit status {proc.poll()}"
                raise VideoDecodeError(f"{self.info.path}: no frame could be decoded ({reason})")
            return True
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def _read_stretch(self, pipe: BinaryIO, done: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray | None]:
        """The next stretch of frames from frame ``done`` of this run (``batch_size`` RGB frames, or ``batch_size`` ×
        ``sample_every`` frames where ffmpeg samples; fewer at the end): its length, its RGB frames, their positions
        in it, and every frame's thumbnail where ffmpeg makes them."""
        width, height = self.size
        if self.sample_every is None:
            frames = np.empty((self.batch_size, height, width, 3), np.uint8)
            n = _read_frames(pipe, frames)
            return n, frames[:n], np.arange(n), None
        (columns, rows), (w, h), every = self._tile, THUMB_SIZE, self.sample_every
        stacked = np.empty((self.batch_size, height + rows * h, width, 3), np.uint8)
        got = _read_frames(pipe, stacked)
        n = min(got * every, self._log.wait(done + got * every, self.timeout_s) - done)  # the last stretch may end early
        grid = stacked[:got, height:, : columns * w, 0].reshape(got, rows, h, columns, w).transpose(0, 1, 3, 2, 4)
        luma = np.ascontiguousarray(grid.reshape(got, rows * columns, h, w)[:, :every].reshape(-1, h, w)[:n])
        rgb = np.arange(0, n, every)
        return n, stacked[: len(rgb), :height], rgb, luma

    @property
    def frames_produced(self) -> int:
        """Frames ffmpeg has decoded so far; ahead of ``frames_decoded`` by at most the queue and the pipe."""
        return self._log.count

    @property
    def warnings(self) -> list[str]:
        """Decoder errors, and frames the header announced but the decoder never gave."""
        out = []
        if self._log.errors:
            first = self._log.errors[0]
            out.append(f"the decoder reported {self._log.error_count} errors (first: {first}); damaged frames may be missing or concealed")
        if self.info.frame_count_exact and self.frames_total and self.frames_total < 0.9 * self._expected:
            out.append(f"the container announces {self._expected} frames but only {self.frames_total} could be read")
        return out

    def __iter__(self) -> Iterator[FrameBatch]:
        yield from self._stream("facetools-decode")
        lost = self._expected - self.frames_decoded
        if self._log.errors and lost > self.frames_decoded:
            why = self._log.errors[0]
            raise VideoDecodeError(f"{self.info.path}: {lost} of {self._expected} frames could not be decoded ({why})")


def _read_frames(pipe: BinaryIO, out: np.ndarray) -> int:
    """Fill ``out`` (N×H×W×3) from ``pipe``; the number of whole frames read (fewer at the end)."""
    view = memoryview(out).cast("B")
    got = 0
    while got < len(view):
        n = pipe.readinto(view[got:])
        if not n:
            break
        got += n
    return got // (out[0].nbytes)


_SHOWINFO = re.compile(rb"\] \[info\] n:\s*(\d+)\s+pts:\s*\S+\s+pts_time:(\S+)")
_ERROR = re.compile(rb"\[(?:error|fatal|panic)\] (.*)")


class _DecoderLog:
    """ffmpeg's stderr, read by a thread: each frame's presentation time, and the errors."""

    def __init__(self) -> None:
        self._times: list[float] = []
        self.errors: list[str] = []
        self.error_count = 0
        self._closed = False
        self._changed = threading.Condition()

    def read(self, stream: BinaryIO) -> None:
        for line in stream:
            if m := _SHOWINFO.search(line):
                with self._changed:
                    self._times.append(_float(m.group(2)))
                    self._changed.notify_all()
            elif m := _ERROR.search(line):
                self.error_count += 1
                if len(self.errors) < 5:
                    self.errors.append(m.group(1).decode(errors="replace").strip()[:160])
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    @property
    def count(self) -> int:
        return len(self._times)

    def wait(self, stop: int, timeout_s: float) -> int:
        """Wait until frames up to ``stop`` (exclusive) have passed, or ffmpeg has ended; the number of frames passed."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._times) >= stop or self._closed, timeout=timeout_s)
            return len(self._times)

    def times(self, start: int, stop: int, fps: float, timeout_s: float) -> np.ndarray:
        """Times of frames ``[start, stop)`` in seconds; index/fps where ffmpeg gave none."""
        self.wait(stop, timeout_s)
        with self._changed:
            known = self._times[start:stop]
        out = np.arange(start, stop, dtype=np.float64) / fps
        out[: len(known)] = [t if np.isfinite(t) else out[i] for i, t in enumerate(known)]
        return out


def _float(text: bytes) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")
