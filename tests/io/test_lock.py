"""One writer per folder: a second process is refused at once, and a killed holder frees the folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from facetools.errors import InputValidationError, RunDirectoryBusyError
from facetools.io.lock import LOCK_FILE, folder_lock

HOLD = """import sys
from facetools.io.lock import folder_lock
with folder_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


def hold(folder: Path) -> subprocess.Popen[str]:
    """Another process holding ``folder`` until its stdin closes (or it is killed)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def test_a_second_process_is_refused_naming_the_folder_and_the_holder(tmp_path: Path) -> None:
    holder = hold(tmp_path)
    try:
        busy = f"{tmp_path} is being written by process {holder.pid};"
        with pytest.raises(RunDirectoryBusyError, match=busy) as caught, folder_lock(tmp_path):
            pytest.fail("the lock was taken twice")
        assert "\n" not in str(caught.value)
    finally:
        holder.communicate("")
    with folder_lock(tmp_path):  # released when the holder ended
        assert (tmp_path / LOCK_FILE).read_text() == str(os.getpid())


def test_a_killed_holder_leaves_the_folder_free(tmp_path: Path) -> None:
    holder = hold(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with folder_lock(tmp_path):
        pass


def test_the_holding_process_may_take_it_again_and_others_wait_for_the_outer_release(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    with folder_lock(tmp_path):
        with folder_lock(tmp_path / "sub" / ".."):
            pass
        probe = subprocess.run([sys.executable, "-c", HOLD, str(tmp_path)], input="", capture_output=True, text=True)
        assert probe.returncode != 0 and "RunDirectoryBusyError" in probe.stderr, "still held after the inner release"
    assert hold(tmp_path).communicate("")[0] == ""


def test_a_missing_folder_is_an_input_error_and_not_created(tmp_path: Path) -> None:
    with pytest.raises(InputValidationError, match="no such folder"), folder_lock(tmp_path / "missing"):
        pass
    assert not (tmp_path / "missing").exists()
