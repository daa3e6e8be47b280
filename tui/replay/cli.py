"""``gemini-live replay FILE [--check]``: the replay viewer, or a headless regression check of one recording."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from tui.errors import UserError


def parse_pacing(text: str) -> float | None:
    """``causal`` → None, ``realtime`` → 1.0, ``x4``/``4`` → 4.0."""
    low = text.strip().lower()
    if low in ("causal", "fast", ""):
        return None
    if low in ("realtime", "real-time", "real"):
        return 1.0
    try:
        value = float(low.removeprefix("x").removesuffix("x"))
    except ValueError:
        raise UserError(f"--pacing wants causal, realtime or a speed such as x4, not {text!r}") from None
    if value <= 0:
        raise UserError("--pacing speed must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gemini-live replay",
        description=(
            "Replay a recording. With --check: run the real client headless against a mock that plays the "
            "recording's server side, feed it the recorded inputs, and report any divergence (exit 1). Without "
            "--check: open the replay viewer."
        ),
    )
    p.add_argument("file", type=Path, help="a .glrec recording")
    p.add_argument("--check", action="store_true", help="headless regression check (exit 1 on divergence)")
    p.add_argument("--lenient", action="store_true", help="collect every divergence instead of stopping at the first")
    p.add_argument("--pacing", default="causal", help="causal (default, fast), realtime, or a speed like x4")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--events", type=Path, metavar="FILE", help="write the normalised client event log (JSON)")
    p.add_argument("--record", type=Path, metavar="FILE", help="also record the replaying client to FILE")
    return p


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    try:
        if not args.check:
            return _viewer(args.file)
        from tui.replay.check import CheckOptions, run_check, settle_heap
        from tui.replay.report import format_report

        if not args.file.is_file():
            raise UserError(f"no such recording: {args.file}")
        settle_heap()
        result = run_check(
            args.file,
            CheckOptions(strict=not args.lenient, pacing=parse_pacing(args.pacing), record_to=args.record),
        )
        if args.events is not None:
            args.events.write_text(json.dumps(result.events, indent=1, default=str) + "\n")
        if args.json:
            print(json.dumps(result.as_dict(), indent=2, default=str))
        else:
            print(format_report(result))
        return 0 if result.ok else 1
    except UserError as exc:
        print(f"gemini-live replay: {exc}", file=sys.stderr)
        return exc.exit_code


def _viewer(path: Path) -> int:
    try:
        viewer = importlib.import_module("tui.app.replay_viewer")
    except ModuleNotFoundError as exc:
        if exc.name not in ("tui.app.replay_viewer", "tui.app"):
            raise
        raise UserError(
            "the replay viewer is not available in this build; use `gemini-live replay FILE --check` "
            "for a headless check"
        ) from None
    run = getattr(viewer, "run_viewer", None)
    if run is None:
        raise UserError("the replay viewer is not available in this build (no run_viewer)")
    return int(run(path))
