#!/usr/bin/env python3
"""Convert real Live API captures (``real-live-captures/*.jsonl``) into recordings, and check they replay cleanly.

    .venv/bin/python tools/import_capture.py CAPTURE.jsonl [...] --out DIR     convert
    .venv/bin/python tools/import_capture.py CAPTURE.jsonl [...] --check       convert to a temp dir and replay

Replay here means: the mock plays the server side causally, a raw client plays the client side verbatim (the mock
validates every real client frame), and every real server frame is parsed by google-genai and our converter.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.errors import UserError  # noqa: E402
from tui.recording.capture import convert_capture  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("captures", nargs="+", type=Path, help="capture .jsonl files or folders of them")
    p.add_argument("--out", type=Path, help="folder for the recordings (default: a temporary one with --check)")
    p.add_argument("--check", action="store_true", help="replay each converted capture and report")
    args = p.parse_args(argv)
    files: list[Path] = []
    for c in args.captures:
        files.extend(sorted(c.rglob("*.jsonl")) if c.is_dir() else [c])
    if not args.out and not args.check:
        p.error("give --out DIR, --check, or both")
    out = args.out or Path(tempfile.mkdtemp(prefix="captures-"))
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for f in files:
        dst = out / f"{f.parent.name}__{f.stem}.glrec"
        try:
            convert_capture(f, dst, overwrite=True)
        except UserError as exc:
            print(f"ERROR {f}: {exc}")
            failed += 1
            continue
        if not args.check:
            print(f"wrote {dst}")
            continue
        from tui.replay.capture_check import replay_capture
        from tui.replay.report import format_report

        res = asyncio.run(replay_capture(dst))
        status = "PASS" if res.ok else "FAIL"
        failed += not res.ok
        print(
            f"{status} {f.parent.name}/{f.name}: {res.replay.frames_replayed}/{res.replay.frames_total} frames, "
            f"{res.events} events parsed"
        )
        if not res.ok:
            print(format_report(res.replay))
            for problem in res.client.problems + res.parse_problems:
                print(f"  problem: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
