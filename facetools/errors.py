"""Errors raised by facetools: each carries a one-line reason a user can act on."""

from __future__ import annotations


class FacetoolsError(Exception):
    """Base class of every error facetools raises on purpose."""


class InputValidationError(FacetoolsError):
    """The input file is missing, unreadable, or not a usable video."""


class RunDirectoryBusyError(InputValidationError):
    """Another facetools process is writing the folder this one was asked to write."""


class OutputWriteError(FacetoolsError):
    """Results could not be written (a full disk, no permission); what was there before is left as it was."""


class VideoDecodeError(FacetoolsError):
    """Decoding failed part-way through a video that looked valid."""


class ModelLoadError(FacetoolsError):
    """Model weights or the library that runs them could not be loaded."""


class GPUMemoryError(FacetoolsError):
    """Not even a single frame fits in the GPU's free memory."""


class FFmpegError(FacetoolsError):
    """An ffmpeg or ffprobe command failed; the message holds the command and stderr tail."""

    def __init__(self, command: list[str], stderr: str, what: str = "ffmpeg failed") -> None:
        tail = "\n".join(stderr.strip().splitlines()[-8:])
        super().__init__(f"{what}: {' '.join(command)}\n{tail}")
        self.command = command
        self.stderr = stderr
