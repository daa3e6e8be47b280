#!/usr/bin/env python3
"""Replay benchmarks: speed (× real time), recording size ÷ wire bytes, and the recorder's overhead.

    .venv/bin/python tools/bench_replay.py               # curated recordings + one long real-time demo session
    .venv/bin/python tools/bench_replay.py --runs 7      # more repetitions (medians are printed)
    .venv/bin/python tools/bench_replay.py --no-long     # skip generating the long session (saves ~20 s)

Speed: ``replay --check`` of a recording (the real google-genai client, TLS mock on 127.0.0.1, causal pacing),
recorded duration ÷ wall time of the replay; the first run in a process also pays for importing the SDK and
making the mock's certificate, so it is reported apart. Overhead: the same replay with the replaying client
recorded too (``--record``), median against median. Sizes: file bytes ÷ the wire bytes of the frames.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.recording.reader import read_recording  # noqa: E402
from tui.replay.check import CheckOptions, check  # noqa: E402


async def _timed(path: Path, record_to: Path | None = None) -> tuple[float, bool]:
    started = time.perf_counter()
    result = await check(path, CheckOptions(record_to=record_to))
    return time.perf_counter() - started, result.ok


async def bench_speed(path: Path, runs: int, tmp: Path) -> None:
    rec = read_recording(path)
    recorded = rec.duration_s
    first, ok = await _timed(path)
    plain: list[float] = []
    recorded_runs: list[float] = []
    for i in range(runs):
        wall, ok1 = await _timed(path)
        plain.append(wall)
        out = tmp / f"rerecord-{path.stem}-{i}.glrec"
        wall2, ok2 = await _timed(path, out)
        recorded_runs.append(wall2)
        ok = ok and ok1 and ok2
    p, r = statistics.median(plain), statistics.median(recorded_runs)
    print(f"{path.name}: {recorded:.2f} s recorded, {len(rec.frames)} frames, replay {'PASS' if ok else 'FAIL'}")
    print(f"  first replay in the process (SDK import, certificate): {first:.3f} s = {recorded / first:.1f}x real time")
    print(f"  replay, median of {runs}: {p:.3f} s = {recorded / p:.1f}x real time "
          f"(min {min(plain):.3f}, max {max(plain):.3f})")  # fmt: skip
    print(f"  replay while recording the replaying client: {r:.3f} s = {recorded / r:.1f}x real time; "
          f"recorder overhead {100 * (r - p) / p:+.1f}% of the replay's wall time, "
          f"{1000 * (r - p) / max(len(rec.frames), 1):+.2f} ms per frame")  # fmt: skip


def sizes(paths: list[Path]) -> None:
    total_file = total_wire = 0
    print("recording sizes (file bytes ÷ wire bytes of its frames):")
    for p in paths:
        rec = read_recording(p)
        wire = rec.wire_bytes
        size = p.stat().st_size
        total_file += size
        total_wire += wire
        print(f"  {p.name:<28} {size / 1024:8.1f} KiB  wire {wire / 1024:8.1f} KiB  ratio {size / max(wire, 1):.3f}")
    print(f"  {'all':<28} {total_file / 1024:8.1f} KiB  wire {total_wire / 1024:8.1f} KiB  "
          f"ratio {total_file / max(total_wire, 1):.3f}")  # fmt: skip


def make_long(tmp: Path) -> Path:
    """A longer session recorded in real time from the demo (coffee-maker scenario at pace 1)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import make_recordings as mr

    desc, overrides, scenario, _pace = mr.SCENARIOS["coffee-maker"]
    mr.SCENARIOS["coffee-maker-realtime"] = (desc + " (real time, for benchmarks)", overrides, scenario, 1.0)
    return asyncio.run(mr.make_one("coffee-maker-realtime", tmp))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--no-long", action="store_true", help="do not generate the long real-time session")
    p.add_argument("recordings", nargs="*", type=Path, help="default: recordings/*.glrec")
    args = p.parse_args(argv)
    files = args.recordings or sorted((ROOT / "recordings").glob("*.glrec"))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        targets = [max(files, key=lambda f: read_recording(f).duration_s)]
        if not args.no_long:
            targets.append(make_long(tmp))
            files = [*files, targets[-1]]
        sizes(files)
        print()

        async def run_all() -> None:
            for t in targets:
                await bench_speed(t, args.runs, tmp)
                print()

        asyncio.run(run_all())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
