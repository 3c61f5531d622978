"""Where a batch's videos run: in this process, or as one Ray task per video on a cluster.

The executor knows nothing of the work itself: ``work(video, out_dir)`` writes a complete run
directory into ``out_dir`` or raises ``FacetoolsError``. Every result lands in ``out_root/<stem>``
through a hidden ``out_root/.<stem>.partial`` folder and one ``os.replace``, written by this
process only, so a video is never half-written, lost, or written twice.

With Ray no shared filesystem is needed for outputs: a task runs ``work`` into a temporary folder
on its own node and returns the files through Ray. Inputs are read by the workers at the path
given here (made absolute), so they must be on storage every node sees at that path.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from facetools.errors import FacetoolsError, InputValidationError

Work = Callable[[str, Path], None]
"""``work(video_path, out_dir)``: writes a complete run directory into ``out_dir`` or raises ``FacetoolsError``."""
Progress = Callable[[int, int, int, int], None]
"""``progress(done, failed, running, total)``; ``done`` counts skipped videos too."""
Status = Literal["ok", "failed", "skipped"]
Executor = Literal["local", "ray"]


@dataclass
class VideoOutcome:
    """What became of one video: its folder, status, seconds of work, one-line error, Ray node id."""

    video: str
    folder: Path
    status: Status
    seconds: float
    error: str = ""
    node: str = ""


@dataclass
class _Packed:
    """A task's answer: the run directory's files (relative POSIX path -> bytes; folders end in ``/``)."""

    files: dict[str, bytes] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    node_id: str = ""
    hostname: str = ""


def one_line(exc: BaseException) -> str:
    """A ``FacetoolsError`` as one line: its first line, and its last when they differ (ffmpeg's tail)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"


def run_videos(
    videos: Sequence[str | os.PathLike[str]],
    out_root: str | os.PathLike[str],
    work: Work,
    *,
    is_complete: Callable[[Path], bool],
    executor: Executor = "local",
    address: str | None = None,
    cpus_per_task: float = 1,
    gpus_per_task: float = 0,
    resources: Mapping[str, float] | None = None,
    max_retries: int = 3,
    force: bool = False,
    progress: Progress | None = None,
) -> list[VideoOutcome]:
    """Run ``work`` once per video into ``out_root/<video stem>/``; outcomes in input order (duplicates dropped).

    Args:
        videos: input files; with Ray each worker reads them at this path (made absolute).
        out_root: where the run directories go.
        work: a top-level (picklable) function, see ``Work``.
        is_complete: whether a folder holds a finished run; such videos are skipped unless ``force``.
        executor: ``"local"`` (in this process, one after another) or ``"ray"`` (one task per video).
        address: Ray only: ``"auto"`` or ``HOST:PORT`` of a running cluster; ``None`` starts a local
            Ray instance for this call and stops it after. An already connected Ray is reused as is.
        cpus_per_task: Ray CPUs per task; torch in the task uses as many threads.
        gpus_per_task: Ray GPUs per task, requested only when the cluster has GPUs.
        resources: extra Ray resources per task, e.g. ``{"facetools_slot": 1}``.
        max_retries: Ray only: times a task lost with its worker or node is run again elsewhere.
            A ``FacetoolsError`` is never retried (it would fail again).
        force: run videos whose folder is already complete.
        progress: called as ``progress(done, failed, running, total)`` after every change.

    A ``FacetoolsError`` fails its video only (status ``failed``, one-line ``error``; its previous
    folder is left as it was) and the batch goes on; any other exception is a bug and is raised.
    ``run.json`` (when the work writes one) gets ``"executor"`` and ``"node"`` added: ``{"id", "hostname"}``
    with Ray, ``{"hostname"}`` locally.
    """
    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be 'local' or 'ray', not {executor!r}")
    if executor == "local" and address is not None:
        raise ValueError("address is for executor='ray'")
    paths = list(dict.fromkeys(os.path.abspath(os.fspath(v)) for v in videos))  # a video given twice runs once
    stems: dict[str, str] = {}
    for path in paths:
        stem = Path(path).stem
        if stem in stems:
            raise InputValidationError(f"{stems[stem]} and {path} would share the output folder {stem}/; rename one")
        stems[stem] = path
    root = Path(out_root).absolute()
    root.mkdir(parents=True, exist_ok=True)
    outcomes: list[VideoOutcome | None] = [None] * len(paths)
    todo: list[int] = []
    for i, path in enumerate(paths):
        folder = root / Path(path).stem
        if not force and folder.is_dir() and is_complete(folder):
            outcomes[i] = VideoOutcome(path, folder, "skipped", 0.0)
        else:
            todo.append(i)
    tally = _Tally(len(paths), sum(o is not None for o in outcomes), progress)
    tally.report()
    if todo and executor == "local":
        _run_local(paths, todo, root, work, outcomes, tally)
    elif todo:
        _run_ray(paths, todo, root, work, outcomes, tally, address, cpus_per_task, gpus_per_task, dict(resources or {}), max_retries)
    return [o for o in outcomes if o is not None]


@dataclass
class _Tally:
    total: int
    done: int = 0
    hook: Progress | None = None
    failed: int = 0
    running: int = 0

    def finish(self, outcome: VideoOutcome) -> None:
        if outcome.status == "failed":
            self.failed += 1
        else:
            self.done += 1
        self.report()

    def report(self) -> None:
        if self.hook is not None:
            self.hook(self.done, self.failed, self.running, self.total)


def _partial(root: Path, stem: str) -> Path:
    tmp = root / f".{stem}.partial"
    shutil.rmtree(tmp, ignore_errors=True)  # left by an interrupted run
    tmp.mkdir()
    return tmp


def _place(tmp: Path, folder: Path, executor: str, node: dict[str, str]) -> None:
    """Record the executor in ``run.json`` and move ``tmp`` to ``folder`` (replacing an older run)."""
    run_json = tmp / "run.json"
    if run_json.is_file():
        run = json.loads(run_json.read_text())
        run.update(executor=executor, node=node)
        run_json.write_text(json.dumps(run, indent=2, default=str))
    old = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)


def _run_local(paths: list[str], todo: list[int], root: Path, work: Work, outcomes: list[VideoOutcome | None], tally: _Tally) -> None:
    for i in todo:
        path = paths[i]
        folder = root / Path(path).stem
        tmp = _partial(root, folder.name)
        tally.running = 1
        tally.report()
        started = time.perf_counter()
        try:
            work(path, tmp)
            _place(tmp, folder, "local", {"hostname": socket.gethostname()})
            outcome = VideoOutcome(path, folder, "ok", time.perf_counter() - started)
        except FacetoolsError as exc:
            outcome = VideoOutcome(path, folder, "failed", time.perf_counter() - started, one_line(exc))
        finally:
            tally.running = 0
            shutil.rmtree(tmp, ignore_errors=True)
        outcomes[i] = outcome
        tally.finish(outcome)


def _task(work: Work, video: str, threads: int) -> _Packed:
    """Body of a Ray task: run ``work`` in a node-local temporary folder and return its files."""
    import ray

    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    packed = _Packed(node_id=ray.get_runtime_context().get_node_id(), hostname=socket.gethostname())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="facetools-") as tmp:
        out = Path(tmp) / "run"
        out.mkdir()
        try:
            work(video, out)
        except FacetoolsError as exc:
            packed.error = one_line(exc)
        else:
            for p in sorted(out.rglob("*")):
                rel = p.relative_to(out).as_posix()
                if p.is_dir():
                    packed.files[rel + "/"] = b""
                elif p.is_file():
                    packed.files[rel] = p.read_bytes()
    packed.seconds = time.perf_counter() - started
    return packed


def _unpack(files: dict[str, bytes], tmp: Path) -> None:
    for rel, data in files.items():
        parts = PurePosixPath(rel).parts
        if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
            raise ValueError(f"refusing to write {rel!r} outside the run directory")
        target = tmp.joinpath(*parts)
        if rel.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def _slots(ray: Any, need: dict[str, float]) -> int:
    """How many tasks needing ``need`` the alive nodes can run at once."""
    need = {k: v for k, v in need.items() if v > 0}
    if not need:
        return 1 << 30
    total = 0
    for node in ray.nodes():
        if node.get("Alive"):
            have = node.get("Resources", {})
            total += int(min(have.get(k, 0.0) // v for k, v in need.items()))
    return total


def _run_ray(
    paths: list[str],
    todo: list[int],
    root: Path,
    work: Work,
    outcomes: list[VideoOutcome | None],
    tally: _Tally,
    address: str | None,
    cpus: float,
    gpus: float,
    resources: dict[str, float],
    max_retries: int,
) -> None:
    try:
        import ray
    except ImportError as exc:
        raise FacetoolsError("executor 'ray' needs Ray: pip install 'facetools[ray]'") from exc
    import logging

    owned = not ray.is_initialized()
    if owned:
        quiet: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
        if address is None:
            local = {k: v * max(1, len(todo)) for k, v in resources.items()}
            ray.init(num_cpus=os.cpu_count() or 1, resources=local, include_dashboard=False, **quiet)
        else:
            ray.init(address=address, **quiet)
    pending: dict[Any, int] = {}
    try:
        if gpus and not ray.cluster_resources().get("GPU", 0):
            gpus = 0
        need = {"CPU": cpus, "GPU": gpus, **resources}
        task = ray.remote(_task)
        options = {"num_cpus": cpus, "num_gpus": gpus, "resources": resources or None, "max_retries": max_retries}
        threads = max(1, int(cpus))
        for i in todo:
            ref = task.options(name=f"facetools:{Path(paths[i]).stem}", retry_exceptions=False, **options).remote(work, paths[i], threads)
            pending[ref] = i
        slots = _slots(ray, need)
        while pending:
            tally.running = min(len(pending), slots)
            tally.report()
            ready, _ = ray.wait(list(pending), num_returns=1)
            i = pending.pop(ready[0])
            path = paths[i]
            folder = root / Path(path).stem
            try:
                packed: _Packed = ray.get(ready[0])
            except ray.exceptions.RayTaskError as exc:  # a bug in work: raise it as the local executor would
                raise exc.as_instanceof_cause() from None
            except ray.exceptions.RayError as exc:  # lost with its worker or node more than max_retries times
                lost = f"lost on the cluster after {max_retries} retries ({type(exc).__name__})"
                outcome = VideoOutcome(path, folder, "failed", 0.0, lost)
            else:
                outcome = VideoOutcome(path, folder, "failed" if packed.error else "ok", packed.seconds, packed.error, packed.node_id)
                if not packed.error:
                    tmp = _partial(root, folder.name)
                    try:
                        _unpack(packed.files, tmp)
                        _place(tmp, folder, "ray", {"id": packed.node_id, "hostname": packed.hostname})
                    finally:
                        shutil.rmtree(tmp, ignore_errors=True)
            outcomes[i] = outcome
            slots = _slots(ray, need)
            tally.running = min(len(pending), slots)
            tally.finish(outcome)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if owned:
            ray.shutdown()
