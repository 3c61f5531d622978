"""The ``facetools`` command: analyze, recluster, review, report, export, people, find, sample."""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path
from typing import Any

import yaml

from facetools.config import Config, add_cli_options, chosen_options
from facetools.errors import FacetoolsError, InputValidationError
from facetools.extract.checkpoint import CHECKPOINT_FILE
from facetools.io.lock import folder_lock


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facetools", description="Who appears in a video, when, and for how long.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="analyze one video and write the result files")
    a.add_argument("video")
    a.add_argument("--out", required=True, help="output folder")
    a.add_argument("--quiet", action="store_true", help="no progress (a bar on a terminal, log lines elsewhere)")
    add_cli_options(a)

    r = sub.add_parser("report", help="run the analysis notebook per video and write an HTML index")
    r.add_argument("videos", nargs="+")
    r.add_argument("--out", default="reports", help="reports folder (default: reports)")
    r.add_argument("--force", action="store_true", help="redo videos whose report is complete")
    r.add_argument("--no-people", action="store_true", help="no people page across the videos (default: built for 2+ videos)")
    r.add_argument("--executor", default="local", choices=["local", "ray"], help="where videos are extracted (default: local)")
    r.add_argument("--address", help="Ray cluster: auto or HOST:PORT (default: a Ray instance started for this run)")
    r.add_argument("--cpus-per-task", type=int, default=1, help="Ray: CPUs (and torch threads) per video (default: 1)")
    r.add_argument("--gpus-per-task", type=int, default=0, help="Ray: GPUs per video where the cluster has GPUs (default: 0)")
    r.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"), help="notebook parameter")
    r.add_argument("--parameters-file", help="YAML file of notebook parameters")
    add_cli_options(r)

    c = sub.add_parser("recluster", help="identify a run directory's stored tracks again (seconds: no decoding)")
    c.add_argument("run_dir")
    c.add_argument(
        "--threshold", type=float, dest="cluster_threshold", help=Config.__dataclass_fields__["cluster_threshold"].metadata["help"]
    )
    c.add_argument("--gallery", help=Config.__dataclass_fields__["gallery"].metadata["help"])
    c.add_argument("--report", action="store_true", help="also re-render report.html (papermill; slower)")

    e = sub.add_parser("export", help="cut face-tracked clips of one person, with the source's audio")
    e.add_argument("video")
    e.add_argument("--analysis", required=True, help="folder written by analyze (or a report folder)")
    e.add_argument("--target", default="auto", help="auto | identity id | name | photo of the person (default: auto)")
    e.add_argument("--out", required=True, help="clips folder")
    e.add_argument("--aspect", default="9:16", choices=["9:16", "1:1", "16:9"])
    e.add_argument("--height", type=int, default=0, help="output height in pixels (default: the crop's own, at most 1280)")
    e.add_argument("--gap", type=float, default=1.0, help="bridge gaps shorter than this many seconds")
    e.add_argument("--min-length", type=float, default=1.0, help="drop appearances shorter than this many seconds")
    e.add_argument("--padding", type=float, default=0.0, help="seconds added around each appearance")
    e.add_argument("--segment", type=float, default=0.0, help="split clips into pieces of at most this many seconds")
    e.add_argument("--device", default="cpu", help="where crops are computed (default: cpu)")

    rv = sub.add_parser("review", help='answer the "same person?" suggestions of a run directory (y/n/s on stdin)')
    rv.add_argument("run_dir")
    rv.add_argument("--yes", action="append", default=[], metavar="A,B", help="identities A and B are one person (no questions asked)")
    rv.add_argument("--no", action="append", default=[], metavar="A,B", help="identities A and B are two people (no questions asked)")

    sub.add_parser("sample", help="build the bundled sample video (data/sample) and print its path")

    pe = sub.add_parser("people", help="cluster the identities of many run directories into people (people.json, people.html)")
    pe.add_argument("run_dirs", nargs="+", help="run directories, or folders of them (e.g. reports/)")
    pe.add_argument("--out", required=True, help="people folder")
    pe.add_argument("--gallery", help="folder of named reference photos (photos named after people, or a sub-folder per person)")
    pe.add_argument("--forget", metavar="NAME_OR_PERSON", help="delete this person's face data from every run and the index")
    pe.add_argument("--same", nargs=2, action="append", default=[], metavar=("A", "B"),
                    help="people A and B of the index in --out are one person (kept in answers.json for every rebuild)")  # fmt: skip
    pe.add_argument("--different", nargs=2, action="append", default=[], metavar=("A", "B"),
                    help="people A and B are two people: never joined nor suggested again")  # fmt: skip

    fi = sub.add_parser("find", help="list every video and time range where the person in a photo appears")
    fi.add_argument("photos", nargs="+", metavar="PHOTO", help="photo(s) of one person")
    fi.add_argument("--in", dest="in_dir", required=True, help="people folder (facetools people --out) or a folder of run directories")
    fi.add_argument("--face", type=int, help="which face, left to right from 1, in photos with several")
    fi.add_argument("--json", action="store_true", help="print the matches as JSON")
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.command == "sample":
        from facetools.devdata.sample import sample_video

        print(sample_video())
        return 0
    if args.command == "analyze":
        from facetools.run.pipeline import analyze
        from facetools.run.progress import TqdmProgress, console_bars

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with folder_lock(out):
            checkpoint = out / CHECKPOINT_FILE
            progress = TqdmProgress(disable=not console_bars(args.quiet))
            analysis = analyze(args.video, progress=progress, checkpoint=checkpoint, **chosen_options(args))
            analysis.save(out)
            checkpoint.unlink(missing_ok=True)
        names = ", ".join(f"{p.name} {p.screen_time_s:.1f} s" for p in analysis.identities) or "none"
        print(f"{len(analysis.identities)} identities ({names}); results in {out}")
        return 0
    if args.command == "export":
        return _export(args)
    if args.command == "recluster":
        return _recluster(args)
    if args.command == "people":
        return _people(args)
    if args.command == "find":
        return _find(args)
    if args.command == "review":
        return _review(args)
    from facetools.run.progress import VideoBar, console_bars
    from facetools.run.report import report

    params: dict[str, Any] = chosen_options(args)
    if args.parameters_file:
        loaded = yaml.safe_load(Path(args.parameters_file).read_text()) or {}
        if not isinstance(loaded, dict):
            raise InputValidationError(f"{args.parameters_file}: expected a mapping of parameter names to values")
        params.update(loaded)
    params.update({name: yaml.safe_load(value) for name, value in args.parameter})
    with VideoBar(disable=not console_bars()) as bar:
        results = report(args.videos, args.out, parameters=params, force=args.force, executor=args.executor, address=args.address,
                         cpus_per_task=args.cpus_per_task, gpus_per_task=args.gpus_per_task, progress=bar,
                         people=not args.no_people)  # fmt: skip
    for r in results:
        detail = f" ({r.error})" if r.error else ""
        print(f"{r.status:8s} {r.video} -> {r.folder}{detail}")
    print(f"index: {Path(args.out) / 'index.html'}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from facetools.io.probe import probe
    from facetools.outputs.analysis import Analysis
    from facetools.outputs.export import ExportOptions, export_clips

    analysis = Analysis.load(args.analysis)
    info = probe(args.video)
    if (info.width, info.height, round(info.duration_s, 1)) != (
        analysis.video.width,
        analysis.video.height,
        round(analysis.video.duration_s, 1),
    ):
        raise InputValidationError(f"{args.video} is not the video analysed in {args.analysis} ({analysis.video.path})")
    analysis.trackset.video = info
    options = ExportOptions(args.aspect, args.height, args.gap, args.min_length, args.padding, args.segment, device=args.device)
    clips = export_clips(analysis, args.target, args.out, options)
    for c in clips:
        print(f"{c.file}: {c.start_s:.2f}-{c.end_s:.2f} s, {c.width}x{c.height}{', with audio' if c.has_audio else ''}")
    print(f"{len(clips)} clips of {clips[0].target_name if clips else args.target} in {args.out} (manifest.json)")
    return 0


def _recluster(args: argparse.Namespace) -> int:
    from facetools.run.recluster import recluster

    options = {k: v for k, v in (("cluster_threshold", args.cluster_threshold), ("gallery", args.gallery)) if v is not None}
    with folder_lock(args.run_dir):  # both steps, with no other writer in between
        analysis = recluster(args.run_dir, **options)
        if args.report:
            from facetools.run.report import rerender

            rerender(args.run_dir)
    names = ", ".join(f"{p.name} {p.screen_time_s:.1f} s" for p in analysis.identities) or "none"
    loose = analysis.unidentified
    print(f"{len(analysis.identities)} identities ({names}); unidentified: {len(loose.tracks)} tracks, {loose.screen_time_s:.1f} s; "
          f"threshold {analysis.run.cluster_threshold}; {analysis.run.identify_seconds:.2f} s to identify")  # fmt: skip
    return 0


def _pair(text: str) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in text.split(","))
    except ValueError:
        raise InputValidationError(f"expected two identity ids as A,B, got {text!r}") from None
    return a, b


def _review(args: argparse.Namespace) -> int:
    """Answer the run's suggestions: those given with --yes/--no, else each in turn from stdin (y, n, s to skip, q to stop)."""
    from facetools.outputs.analysis import Analysis, identity_thumbnail
    from facetools.outputs.explore import answer_suggestion

    folder = Path(args.run_dir)
    given = [(*_pair(t), True) for t in args.yes] + [(*_pair(t), False) for t in args.no]
    for a, b, same in given:
        answer_suggestion(folder, a, b, same)
        print(f"identities {a} and {b}: {'one person' if same else 'two people'} (saved in {folder / 'edits.json'})")
    if given:
        return 0
    skipped: set[frozenset[int]] = set()
    analysis = Analysis.load(folder)
    while True:
        names = {p.id: p for p in analysis.identities}
        pending = [s for s in analysis.suggestions if frozenset(names[s.a].tracks + names[s.b].tracks) not in skipped]
        if not pending:
            print(f"no more suggestions: {len(analysis.identities)} identities")
            return 0
        s = pending[0]
        for key in (s.a, s.b):
            p = names[key]
            print(f"  identity {key}: {p.name}, {p.faces} faces, {p.screen_time_s:.1f} s, {folder / identity_thumbnail(key)}")
        print(f"Same person? {s.evidence} [y/n/s/q] ", end="", flush=True)
        answer = sys.stdin.readline().strip().lower()[:1]
        if answer in ("y", "n"):
            analysis = answer_suggestion(folder, s.a, s.b, answer == "y")
        elif answer == "s":
            skipped.add(frozenset(names[s.a].tracks + names[s.b].tracks))
        else:
            print("stopped")
            return 0


def _people(args: argparse.Namespace) -> int:
    from facetools.people import forget, people

    if args.forget:
        gone = forget(args.forget, args.run_dirs, args.out, gallery=args.gallery)
        total = sum(len(t) for t in gone.tracks.values())
        print(f"forgot {gone.person}: {total} tracks in {len(gone.tracks)} run(s)"
              + (f", gallery entries {', '.join(gone.gallery_names)}" if gone.gallery_names else "")
              + (f"; deleted {len(gone.reports_removed)} report file(s)" if gone.reports_removed else ""))  # fmt: skip
        return 0
    index = people(args.run_dirs, args.out, gallery=args.gallery, same=args.same, different=args.different)
    for p in index.people:
        where = ", ".join(f"{Path(a.video).name} ({a.screen_time_s:.1f} s)" for a in p.appearances)
        print(f"{p.name}: {p.screen_time_s:.1f} s in {len({a.video for a in p.appearances})} video(s): {where}")
    for s in index.suggestions:
        print(f"same person? {index.people[s.a].name} (person {s.a}) and {index.people[s.b].name} (person {s.b}): {s.evidence}")
    print(f"{len(index.people)} people in {len(index.runs)} runs; {Path(args.out) / 'people.html'}")
    return 0


def _find(args: argparse.Namespace) -> int:
    import json

    from facetools.people import find

    matches = find(args.photos, args.in_dir, face=args.face)
    if args.json:
        print(json.dumps([m.to_dict() for m in matches], indent=1))
        return 0
    for m in matches:
        spans = ", ".join(f"{s:.1f}-{e:.1f} s" for s, e in m.segments)
        print(f"{m.person}: {m.video} (identity {m.identity} of {m.run}), distance {m.distance:.3f} < {m.threshold:.3f}: {spans}")
    if not matches:
        print("no match: nobody in these videos is this person (by the calibrated threshold)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except FacetoolsError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"facetools: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("facetools: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
