"""``run_videos`` on a real two-node Ray cluster on loopback: spreading, failures, resuming, a node lost mid-task."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from facetools.errors import InputValidationError
from facetools.run.batch import extract_work
from facetools.run.executors import VideoOutcome, run_videos
from facetools.run.recluster import identify_stored

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).with_name("ray")
# Ray rewrites 127.0.0.1 to the host's routable address; any other loopback address is kept, so
# every address the nodes advertise and connect to stays on the loopback interface.
NODE_IP = "127.0.0.2"
SLOT = {"facetools_slot": 1}


_work = extract_work({"device": "cpu", "embedder": "sface"})
"""The production work: extraction on the CPU, stored tracks and run.json (identification runs on the driver)."""


def _marked_work(video: str, out_dir: Path, markers: str) -> None:
    """``_work``, after leaving a file with the process group of the raylet that runs it (Ray workers lead their own)."""
    (Path(markers) / f"{Path(video).stem}.{os.getpid()}").write_text(str(os.getpgid(os.getppid())))
    time.sleep(3)  # the task is still running when the test kills its node (the analysis of a 4 s clip can take less)
    _work(video, out_dir)


def _complete(folder: Path) -> bool:
    return (folder / "run.json").is_file()


def _quick_work(video: str, out_dir: Path) -> None:
    """Work without analysis: a nested file, ``run.json`` and ``identities.json``; a ``bad*`` video fails."""
    if Path(video).name.startswith("bad"):
        raise InputValidationError(f"{video}: not a recognised video container")
    (out_dir / "sub").mkdir()
    (out_dir / "sub" / "video.txt").write_text(video)
    (out_dir / "run.json").write_text(json.dumps({"pid": os.getpid()}))
    (out_dir / "identities.json").write_text("{}")


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_outcomes_skips_force_and_failures_without_a_cluster(executor: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``local`` in this process; ``ray`` without an address starts a Ray instance for the call and stops it."""
    if executor == "ray":
        ray = pytest.importorskip("ray")
        # a new local Ray turns token auth on by default: it writes ~/.ray/auth_token (shared by every
        # Ray on this machine: a later `ray start --head` would require it) and sets RAY_AUTH_MODE here
        monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    out = tmp_path / "out"
    (out / "bad").mkdir(parents=True)
    (out / "bad" / "earlier.txt").write_text("kept")
    videos = [tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "bad.mp4"]
    calls: list[tuple[int, ...]] = []

    def run(force: bool = False) -> list[str]:
        hook = lambda *c: calls.append(c)  # noqa: E731
        outcomes = run_videos(videos, out, _quick_work, executor=executor, is_complete=_complete, force=force, progress=hook)
        return [o.status for o in outcomes]

    assert run() == ["ok", "ok", "failed"]
    assert (out / "a" / "sub" / "video.txt").read_text() == str(videos[0])
    run_json = json.loads((out / "b" / "run.json").read_text())
    assert run_json["executor"] == executor and run_json["node"]["hostname"]
    assert (out / "bad" / "earlier.txt").read_text() == "kept", "a failure leaves the earlier folder alone"
    assert sorted(p.name for p in out.iterdir()) == ["a", "b", "bad"]
    assert calls[0] == (0, 0, 0, 3) and calls[-1] == (2, 1, 0, 3)
    if executor == "ray":
        assert not ray.is_initialized(), "the Ray instance started for the call is stopped"
        return  # the rest is the executors' shared bookkeeping; a Ray start costs ~15 s here
    assert run() == ["skipped", "skipped", "failed"]
    (out / "a" / "stale").write_text("")
    assert run(force=True) == ["ok", "ok", "failed"]
    assert not (out / "a" / "stale").exists(), "a forced run replaces the folder"


def test_two_videos_with_one_stem_are_refused_and_a_repeated_one_runs_once(tmp_path: Path) -> None:
    with pytest.raises(InputValidationError, match="share the output folder"):
        run_videos([tmp_path / "x" / "a.mp4", tmp_path / "y" / "a.mp4"], tmp_path / "out", _quick_work, is_complete=_complete)
    video = tmp_path / "x" / "a.mp4"
    outcomes = run_videos([video, str(video), tmp_path / "x" / ".." / "x" / "a.mp4"], tmp_path / "out", _quick_work, is_complete=_complete)
    assert [o.status for o in outcomes] == ["ok"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackCluster:
    """A head and worker raylets started with ``ray start --block``, each in its own process group."""

    def __init__(self) -> None:
        self.temp = Path(tempfile.mkdtemp(prefix="ftray", dir="/tmp"))  # short: Unix socket paths
        self.port = _free_port()
        self.address = f"{NODE_IP}:{self.port}"
        self.env = {
            **os.environ,
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_AUTH_MODE": "disabled",  # else `ray start --head` turns token auth on if ~/.ray/auth_token exists, and the worker fails
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),  # workers import tests.run.test_ray
            "AUTOSCALER_METRIC_PORT": str(_free_port()),
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.head = self._start("head", ["--head", "--port", str(self.port), "--include-dashboard", "false", "--disable-usage-stats"])
        self.worker: subprocess.Popen[bytes] | None = None

    def _start(self, name: str, args: list[str], attempts: int = 2) -> subprocess.Popen[bytes]:
        """``ray start ... --block`` until it says it started; once more on failure (registration times out at 30 s under load)."""
        ports = ["--node-manager-port", "--object-manager-port", "--metrics-export-port", "--runtime-env-agent-port"]
        ports += ["--dashboard-agent-listen-port", "--dashboard-agent-grpc-port"]
        command = [str(RAY), "start", *args, "--node-ip-address", NODE_IP, "--num-cpus", "1", "--resources", json.dumps(SLOT)]
        command += ["--temp-dir", str(self.temp), "--min-worker-port", "0", "--max-worker-port", "0", "--include-log-monitor", "false"]
        command += ["--block", *[a for flag in ports for a in (flag, str(_free_port()))]]
        log = self.temp / f"{name}-{len(self.procs)}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True, env=self.env)
        self.procs.append(proc)
        deadline = time.monotonic() + 120
        while b"Ray runtime started" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                self.kill(proc)
                if attempts > 1:
                    return self._start(name, args, attempts - 1)
                raise RuntimeError(f"ray start {name} failed:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        return proc

    def ensure_worker(self) -> subprocess.Popen[bytes]:
        if self.worker is None or self.worker.poll() is not None:
            self.worker = self._start("worker", ["--address", self.address])
        return self.worker

    @staticmethod
    def kill(proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the process group this test started (``ray start`` and everything it spawned)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def close(self) -> None:
        for proc in reversed(self.procs):
            self.kill(proc)
        # the group is gone; wait for its members to be reaped before removing their sockets
        groups = {p.pid for p in self.procs}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_in_groups(groups)):
            time.sleep(0.2)
        shutil.rmtree(self.temp, ignore_errors=True)


def _in_groups(groups: set[int]) -> list[int]:
    """Live processes (not zombies) in any of ``groups``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) in groups:
                found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def cluster() -> Iterator[LoopbackCluster]:
    pytest.importorskip("ray")
    c = LoopbackCluster()
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def clips(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three 4 s cuts of the sample: the astronaut, the cameraman, both."""
    folder = tmp_path_factory.mktemp("clips")
    out = []
    for name, start in [("astronaut", 0), ("cameraman", 6), ("both", 10)]:
        path = folder / f"{name}.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-t", "4", "-i", str(sample), "-an"]
            + ["-c:v", "libx264", "-preset", "ultrafast", str(path)],
            check=True,
        )
        out.append(path)
    return out


def _by_name(outcomes: list[VideoOutcome]) -> dict[str, VideoOutcome]:
    return {Path(o.video).name: o for o in outcomes}


def test_a_batch_spreads_over_both_nodes_records_the_broken_file_and_resumes(
    cluster: LoopbackCluster, clips: list[Path], tmp_path: Path
) -> None:
    cluster.ensure_worker()
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video\n")
    videos = [*clips, broken]
    out = tmp_path / "out"
    calls: list[tuple[int, int, int, int]] = []

    def hook(*counts: int) -> None:
        calls.append(counts)  # type: ignore[arg-type]

    def run() -> list[VideoOutcome]:
        return run_videos(videos, out, _work, executor="ray", address=cluster.address, resources=SLOT, is_complete=_complete, progress=hook)

    outcomes = _by_name(run())
    assert [o.status for o in outcomes.values()] == ["ok", "ok", "ok", "failed"]
    failed = outcomes["broken.mp4"]
    assert "broken.mp4" in failed.error and "\n" not in failed.error and failed.node
    assert not (out / "broken").exists()
    runs = {name: json.loads((o.folder / "run.json").read_text()) for name, o in outcomes.items() if o.status == "ok"}
    assert all(r["executor"] == "ray" and r["node"]["id"] == outcomes[n].node for n, r in runs.items())
    assert len({r["node"]["id"] for r in runs.values()}) == 2, "the tasks ran on both nodes"
    assert sorted(p.name for p in out.iterdir()) == ["astronaut", "both", "cameraman"], "no partial folder left behind"
    for name, o in outcomes.items():
        if o.status == "ok":  # the driver identifies from the stored tracks; the node that extracted stays recorded
            analysis = identify_stored(o.folder, {})
            assert len(analysis.faces) and analysis.run.node["id"] == o.node and analysis.run.executor == "ray", name
            assert json.loads((o.folder / "run.json").read_text())["node"]["id"] == o.node
    assert calls[0] == (0, 0, 0, 4) and calls[-1] == (3, 1, 0, 4) and max(c[2] for c in calls) == 2

    written = {n: (o.folder / "run.json").stat().st_mtime_ns for n, o in outcomes.items() if o.status == "ok"}
    calls.clear()
    again = _by_name(run())
    assert [o.status for o in again.values()] == ["skipped", "skipped", "skipped", "failed"]
    assert written == {n: (o.folder / "run.json").stat().st_mtime_ns for n, o in again.items() if o.status == "skipped"}
    assert calls[0] == (3, 0, 0, 4) and calls[-1] == (3, 1, 0, 4)


def test_a_task_lost_with_its_node_runs_again_on_the_other(cluster: LoopbackCluster, clips: list[Path], tmp_path: Path) -> None:
    worker = cluster.ensure_worker()
    markers = tmp_path / "markers"
    markers.mkdir()
    work = functools.partial(_marked_work, markers=str(markers))
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["outcomes"] = run_videos(
                clips, tmp_path / "out", work, executor="ray", address=cluster.address, resources=SLOT, is_complete=_complete
            )
        except BaseException as exc:  # re-raised below, in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not any(m.read_text() == str(worker.pid) for m in markers.iterdir() if m.stat().st_size):
        seen = {m.name: m.read_text() for m in markers.iterdir()}
        assert time.monotonic() < deadline and thread.is_alive(), f"no task started on the worker node {worker.pid}: {seen} {result}"
        time.sleep(0.05)
    lost = next(m.name.split(".")[0] for m in markers.iterdir() if m.stat().st_size and m.read_text() == str(worker.pid))
    cluster.kill(worker)  # the worker raylet and its task die mid-run
    thread.join(timeout=300)
    assert not thread.is_alive(), "the batch did not finish after the worker node died"
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    outcomes = _by_name(result["outcomes"])  # type: ignore[arg-type]
    assert [o.status for o in outcomes.values()] == ["ok", "ok", "ok"]
    nodes = {json.loads((o.folder / "run.json").read_text())["node"]["id"] for o in outcomes.values()}
    assert len(nodes) == 1, "everything finished on the surviving head node"
    starts = sorted(m.name.split(".")[0] for m in markers.iterdir())
    assert starts.count(lost) == 2 and len(starts) == 4, starts  # the lost video ran twice, the others once
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["astronaut", "both", "cameraman"]
