"""Imported before torch, facetools makes OpenMP threads sleep between operations, unless the user chose otherwise."""

from __future__ import annotations

import os
import subprocess
import sys


def _policy(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | env
    out = subprocess.run([sys.executable, "-c", f"{code}; import os; print(os.environ.get('OMP_WAIT_POLICY'))"], env=environ,
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.split()[-1]


def test_openmp_threads_sleep_unless_the_user_chose() -> None:
    assert _policy("import facetools, torch") == "PASSIVE"
    assert _policy("import facetools, torch", OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"
    assert _policy("import torch, facetools") == "None", "too late once torch has loaded OpenMP: left alone"
