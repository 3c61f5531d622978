"""Two runs, one folder: a command writing a folder another process holds stops with one line and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from facetools.cli import main

from ..io.test_lock import hold


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "command", [pytest.param("analyze", marks=pytest.mark.slow), "recluster", pytest.param("report", marks=pytest.mark.slow)]
)
def test_a_second_writer_is_refused_in_one_line_and_writes_nothing(
    command: str, sample: Path, sample_analysis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = sample_analysis.save(tmp_path / "run")
    args = {"analyze": ["analyze", str(sample), "--out", str(run), "--device", "cpu"],
            "recluster": ["recluster", str(run), "--threshold", "0.1"],
            "report": ["report", str(sample), "--out", str(run), "--device", "cpu"]}[command]  # fmt: skip
    holder = hold(run)
    before = snapshot(run)
    try:
        code = main(args)
    finally:
        holder.communicate("")
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and f"{run} is being written by process {holder.pid};" in err, err
    assert snapshot(run) == before, "nothing written"
    if command == "recluster":  # the holder has gone: the same command runs
        assert main(args) == 0 and snapshot(run) != before
