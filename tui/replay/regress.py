"""``gemini-live regress [PATH ...]``: replay every recording with the real client; exit 1 on any divergence.

Each recording runs ``replay --check`` in its own worker process (``-j``), so a hung or crashing replay cannot take
the others down and the run uses every core. Progress goes to stderr as files finish, the summary table to stdout;
``--junit FILE`` writes one test case per recording for CI.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from tui.errors import UserError

SUFFIXES = (".glrec",)


@dataclass(frozen=True)
class Outcome:
    """One recording's result, as plain data (it crosses a process boundary)."""

    path: str
    ok: bool
    status: str
    """PASS, FAIL or ERROR (could not be replayed at all)."""
    summary: str
    report: str
    frames: str
    seconds: float


def find_recordings(paths: Sequence[Path]) -> list[Path]:
    """Every recording under ``paths`` (files as given, folders searched recursively), sorted, no duplicates."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(q for q in p.rglob("*") if q.suffix in SUFFIXES and q.is_file()))
        elif p.is_file():
            found.append(p)
        else:
            raise UserError(f"no such file or folder: {p}")
    seen: set[Path] = set()
    out: list[Path] = []
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _settle_worker() -> None:
    """Worker start-up: the replay machinery imported and out of the collector's way (``check.settle_heap``)."""
    from tui.replay.check import settle_heap

    settle_heap()


def run_one(path: str, strict: bool = True) -> Outcome:
    """Replay one file (in a worker process)."""
    from tui.errors import RecordingError
    from tui.replay.check import CheckOptions, run_check
    from tui.replay.report import format_report

    started = time.monotonic()
    try:
        result = run_check(path, CheckOptions(strict=strict))
    except RecordingError as exc:
        return Outcome(path, False, "ERROR", str(exc), str(exc), "-", time.monotonic() - started)
    except Exception as exc:  # a crash in one replay is that file's failure, not the run's
        msg = f"replay crashed: {type(exc).__name__}: {exc}"
        return Outcome(path, False, "ERROR", msg, msg, "-", time.monotonic() - started)
    report = format_report(result)
    if result.ok:
        summary = "ok"
    elif result.divergences:
        d = result.divergences[0]
        summary = f"frame #{d.index} {d.direction} {d.kind}: {d.what}"
    elif result.problems:
        summary = result.problems[0]
    else:
        u = result.unconsumed[0]
        summary = f"{len(result.unconsumed)} recorded item(s) never replayed, first #{u.index} {u.kind}"
    return Outcome(
        path,
        result.ok,
        "PASS" if result.ok else "FAIL",
        summary,
        report,
        f"{result.frames_replayed}/{result.frames_total}",
        time.monotonic() - started,
    )


def write_junit(outcomes: list[Outcome], path: Path, wall_s: float) -> None:
    suite = ET.Element(
        "testsuite",
        name="gemini-live regress",
        tests=str(len(outcomes)),
        failures=str(sum(o.status == "FAIL" for o in outcomes)),
        errors=str(sum(o.status == "ERROR" for o in outcomes)),
        time=f"{wall_s:.3f}",
    )
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", classname="recordings", name=o.path, time=f"{o.seconds:.3f}")
        if o.status == "FAIL":
            ET.SubElement(case, "failure", message=o.summary[:500]).text = o.report
        elif o.status == "ERROR":
            ET.SubElement(case, "error", message=o.summary[:500]).text = o.report
        else:
            ET.SubElement(case, "system-out").text = o.report
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def _progress(done: int, total: int, o: Outcome, tty: bool) -> str:
    width = 20
    filled = width * done // max(total, 1)
    bar = f"[{'#' * filled}{'.' * (width - filled)}] " if tty else ""
    return f"{bar}{done}/{total} {o.status} {o.path} ({o.seconds:.1f} s)"


def table(outcomes: list[Outcome]) -> str:
    name_w = min(60, max((len(o.path) for o in outcomes), default=4))
    lines = [f"{'recording':<{name_w}}  {'result':<6}  {'frames':>9}  {'time':>7}  detail"]
    for o in outcomes:
        name = o.path if len(o.path) <= name_w else "…" + o.path[-(name_w - 1) :]
        detail = o.summary if len(o.summary) <= 100 else o.summary[:97] + "..."
        lines.append(f"{name:<{name_w}}  {o.status:<6}  {o.frames:>9}  {o.seconds:>6.1f}s  {detail}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gemini-live regress", description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="*", type=Path, help="recordings or folders (default: recordings/)")
    p.add_argument("-j", "--jobs", type=int, default=0, help="worker processes (default: one per core)")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    p.add_argument("--lenient", action="store_true", help="collect every divergence per file")
    p.add_argument("-v", "--verbose", action="store_true", help="print the full report of every failure")
    return p


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    try:
        paths = args.paths or [Path("recordings")]
        files = find_recordings(paths)
        if not files:
            raise UserError(f"no recordings (*.glrec) under {', '.join(map(str, paths))}")
        jobs = args.jobs if args.jobs > 0 else min(len(files), os.cpu_count() or 1)
    except UserError as exc:
        print(f"gemini-live regress: {exc}", file=sys.stderr)
        return exc.exit_code
    tty = sys.stderr.isatty()
    started = time.monotonic()
    outcomes: dict[str, Outcome] = {}
    print(f"replaying {len(files)} recording(s) with {jobs} worker(s)", file=sys.stderr)
    with cf.ProcessPoolExecutor(max_workers=jobs, initializer=_settle_worker) as pool:
        futures = {pool.submit(run_one, str(f), not args.lenient): str(f) for f in files}
        for fut in cf.as_completed(futures):
            name = futures[fut]
            try:
                o = fut.result()
            except Exception as exc:  # the worker process died
                o = Outcome(name, False, "ERROR", f"worker died: {exc}", f"worker died: {exc}", "-", 0.0)
            outcomes[name] = o
            print(_progress(len(outcomes), len(files), o, tty), file=sys.stderr)
    ordered = [outcomes[str(f)] for f in files]
    wall = time.monotonic() - started
    print(table(ordered))
    failed = [o for o in ordered if not o.ok]
    for o in failed if args.verbose else failed[:3]:
        print()
        print(o.report)
    print(f"\n{len(ordered) - len(failed)} passed, {len(failed)} failed in {wall:.1f} s")
    if args.junit is not None:
        write_junit(ordered, args.junit, wall)
    return 1 if failed else 0
