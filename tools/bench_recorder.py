#!/usr/bin/env python3
"""The recorder's own cost per frame: a recording's real traffic fed through ``Recorder`` as the frame tap sees it.

    .venv/bin/python tools/bench_recorder.py [FILE.glrec] [--reps 5] [--writer process|thread] [--profile]

Every record of FILE (default: the largest bundled recording) is handed to a fresh ``Recorder``'s tap methods in
file order (frames as the wire text/bytes, inputs as their dicts, opens/closes), then the recorder is closed (drained,
``end`` record, fsync). Printed per rep, as medians: the CPU time of the tap calls on the calling thread (what the
event loop pays), the CPU time of the writer (its thread, or its process: user + system when reaped), both per
frame, and the resulting file size ÷ wire bytes. The
output file is read back and compared frame by frame with the input, so a figure never comes from a broken write.
``--profile`` runs cProfile inside the writer thread and prints its top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.recording.format import Close, Frame, Input, Open  # noqa: E402
from tui.recording.reader import Recording, read_recording  # noqa: E402
from tui.recording.writer import Recorder  # noqa: E402

SECRETS: tuple[str, ...] = ("bench-secret-value-123",)
"""A configured key, as a real session has one (redaction then also searches the payloads for it)."""


def feed(
    rec: Recording, out: Path, *, profile: cProfile.Profile | None = None, writer: str = "process"
) -> tuple[float, float, int]:
    """(tap CPU s, writer CPU s, file size) for one pass of ``rec`` through a new recorder. The writer's CPU is its
    thread's, or its process's (user + system, taken when it is reaped)."""
    writer_cpu: list[float] = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    original = Recorder._run

    def timed_run(self: Recorder) -> None:
        c0 = time.thread_time()
        if profile is not None:
            profile.enable()
        try:
            original(self)
        finally:
            if profile is not None:
                profile.disable()
            writer_cpu.append(time.thread_time() - c0)

    Recorder._run = timed_run  # type: ignore[method-assign]
    try:
        r = Recorder(out, model=rec.header.model, config=rec.header.config, secrets=SECRETS, writer=writer)
    finally:
        Recorder._run = original  # type: ignore[method-assign]
    t = 0
    c0 = time.thread_time()
    for x in rec.records:
        t += 1000
        if isinstance(x, Frame):
            if x.direction == "c2s":
                r.on_send(t, x.data)
            else:
                r.on_recv(t, x.data if isinstance(x.data, bytes) else x.data.encode())
        elif isinstance(x, Input):
            r.on_input(t, x.kind, x.data)
        elif isinstance(x, Open):
            r.on_open(t, x.url, x.headers)
        elif isinstance(x, Close):
            r.on_close(t, x.code, x.reason)
    tap_cpu = time.thread_time() - c0
    stats = r.close()
    if stats.error or stats.dropped:
        raise SystemExit(f"recorder problem: {stats.error or f'{stats.dropped} dropped'}")
    if r.writer_pid is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        writer_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return tap_cpu, writer_cpu[0], stats.bytes_written


def verify(rec: Recording, out: Path) -> None:
    again = read_recording(out)
    a = [(f.direction, f.data) for f in rec.frames]
    b = [(f.direction, f.data) for f in again.frames]
    if a != b:
        raise SystemExit("the written recording does not give back the frames that went in")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("file", nargs="?", type=Path)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--profile", action="store_true", help="cProfile the writer thread (implies --writer thread)")
    p.add_argument("--writer", choices=["process", "thread"], default="process")
    args = p.parse_args(argv)
    path = args.file or max((ROOT / "recordings").glob("*.glrec"), key=lambda q: q.stat().st_size)
    rec = read_recording(path)
    frames = len(rec.frames)
    wire = rec.wire_bytes
    taps: list[float] = []
    writers: list[float] = []
    size = 0
    prof = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory(prefix="bench-recorder-") as tmp:
        for i in range(args.reps):
            out = Path(tmp) / f"r{i}.glrec"
            tap, wcpu, size = feed(rec, out, profile=prof, writer="thread" if prof else args.writer)
            if i == 0:
                verify(rec, out)
            taps.append(tap)
            writers.append(wcpu)
    tap_m, w_m = statistics.median(taps), statistics.median(writers)
    print(
        f"{path.name}: {frames} frames, {wire / 1e6:.1f} MB wire; per frame: tap {tap_m / frames * 1e6:.1f} µs CPU, "
        f"writer {'thread' if prof else args.writer} {w_m / frames * 1e6:.1f} µs CPU (median of {args.reps}); "
        f"size ÷ wire {size / wire:.3f}"
    )
    if prof is not None:
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
