#!/usr/bin/env python3
"""Replay benchmarks: speed (× real time), the recorder's overhead on it, and recording size ÷ wire bytes.

    .venv/bin/python tools/bench_replay.py               # bundled recordings + one long real-time session
    .venv/bin/python tools/bench_replay.py --runs 7      # more repetitions (medians are printed)
    .venv/bin/python tools/bench_replay.py --no-long     # skip recording the long session (saves ~15 s)
    .venv/bin/python tools/bench_replay.py recordings/barge-in.glrec

What is measured. One replay = ``tui.replay.check.check(path)``, i.e. ``replay --check``: read the file, start the
in-process TLS mock with the replay backend, run the real ``LiveSession`` (unmodified google-genai SDK) against it,
feed the recorded inputs causally, compare every client frame, apply the completeness gate, tear down. Its wall time
is taken in this process after start-up as ``replay --check`` does it (imports, then ``check.settle_heap``); that
start-up and the first replay, which pays one-off costs such as the shared mock certificate, are reported apart.

* **Speed** = recorded duration ÷ replay wall time, per file (median of ``--runs``) and in aggregate (sum of durations
  ÷ sum of median wall times). Two durations are shown: the recording's own **clock** (first to last record) and its
  **audio** time (the longer of the model audio it carries and the mic audio sent, what a person needs to hear or say
  it). The bundled files were made by the demo at pace 0, so their clock says how fast the recorder ran, not how long
  the conversation lasts; the long session is recorded here in real time, so its clock is real time.
* **Recorder overhead** = the same replays with the replaying client recorded too (``CheckOptions.record_to``: the
  real ``Recorder``, its writer thread, redaction and fsync), alternating with plain ones; ratio of the medians - 1.
* **Size ÷ wire** = file bytes ÷ the wire bytes of the frames it holds.

``measure()`` and ``sizes()`` return the figures for other scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_t_import = time.perf_counter()
from tui.recording.format import Input  # noqa: E402
from tui.recording.reader import Recording, read_recording  # noqa: E402
from tui.replay.check import CheckOptions, check, settle_heap  # noqa: E402

settle_heap()  # as ``replay --check`` and the ``regress`` workers do at start-up (imports the SDK)
IMPORT_S = time.perf_counter() - _t_import
"""Importing the replay machinery and the SDK, and freezing the heap (``settle_heap``)."""


def audio_parts(rec: Recording) -> tuple[float, float]:
    """(model audio s, mic audio s) a recording carries."""
    model = 0.0
    for f in rec.frames:
        if f.direction != "s2c" or not isinstance(f.msg, dict):
            continue
        sc = f.msg.get("serverContent") or f.msg.get("server_content") or {}
        turn = sc.get("modelTurn") or sc.get("model_turn") or {}
        for part in turn.get("parts") or []:
            blob = part.get("inlineData") or part.get("inline_data") or {}
            mime = str(blob.get("mimeType") or blob.get("mime_type") or "")
            data = blob.get("data")
            if not mime.startswith("audio/pcm") or not isinstance(data, str):
                continue
            raw = base64.b64decode(
                data + "=" * (-len(data) % 4), altchars=b"-_" if "-" in data or "_" in data else None
            )
            rate = int(mime.split("rate=")[1]) if "rate=" in mime else 24000
            model += len(raw) / 2 / rate
    mic = sum(
        len(r.data["pcm"]) / 2 / int(r.data.get("rate", 16000))
        for r in rec.records
        if isinstance(r, Input) and r.kind == "audio" and isinstance(r.data.get("pcm"), bytes)
    )
    return model, mic


def audio_seconds(rec: Recording) -> float:
    """The longer of the model audio and the mic audio a recording carries (0 for a text-only one)."""
    return max(audio_parts(rec))


@dataclass
class FileFigures:
    name: str
    frames: int
    clock_s: float
    audio_s: float
    plain_s: list[float]
    """Wall times of the plain replays."""
    recorded_s: list[float]
    """Wall times of the replays with the replaying client recorded."""
    ok: bool

    @property
    def wall_s(self) -> float:
        return statistics.median(self.plain_s)

    @property
    def wall_recorded_s(self) -> float:
        return statistics.median(self.recorded_s) if self.recorded_s else float("nan")

    @property
    def overhead(self) -> float:
        return self.wall_recorded_s / self.wall_s - 1


@dataclass
class Figures:
    import_s: float
    first_s: float
    first_name: str
    files: list[FileFigures]

    def aggregate(self, which: str) -> float:
        """Sum of durations (``clock`` or ``audio``) ÷ sum of median wall times, over the files that have any."""
        rows = [f for f in self.files if (f.clock_s if which == "clock" else f.audio_s) > 0]
        total = sum(f.clock_s if which == "clock" else f.audio_s for f in rows)
        return total / sum(f.wall_s for f in rows) if rows else float("nan")

    def aggregate_overhead(self) -> float:
        """Sum of median recorded wall times ÷ sum of median plain wall times - 1."""
        rows = [f for f in self.files if f.recorded_s]
        return sum(f.wall_recorded_s for f in rows) / sum(f.wall_s for f in rows) - 1 if rows else float("nan")


async def _timed(path: Path, record_to: Path | None = None) -> tuple[float, bool]:
    started = time.perf_counter()
    result = await check(path, CheckOptions(record_to=record_to))
    return time.perf_counter() - started, result.ok


async def measure_async(files: list[Path], runs: int, tmp: Path, *, recorder: bool = True) -> Figures:
    """Replay each file ``runs`` times plain (and as often recorded, alternating); see the module docstring."""
    first_s, _ = await _timed(files[0])  # pays the SDK import and the one-off costs
    out: list[FileFigures] = []
    for path in files:
        rec = read_recording(path)
        await _timed(path)  # warm this file (page cache, its tools module)
        plain: list[float] = []
        recorded: list[float] = []
        ok = True
        for i in range(runs):
            wall, ok1 = await _timed(path)
            plain.append(wall)
            ok = ok and ok1
            if recorder:
                wall2, ok2 = await _timed(path, tmp / f"rerecord-{path.stem}-{i}.glrec")
                recorded.append(wall2)
                ok = ok and ok2
        out.append(FileFigures(path.stem, len(rec.frames), rec.duration_s, audio_seconds(rec), plain, recorded, ok))
    return Figures(IMPORT_S, first_s, files[0].stem, out)


def measure(files: list[Path], runs: int = 5, *, recorder: bool = True) -> Figures:
    """Synchronous :func:`measure_async` (its own event loop and scratch folder)."""
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as d:
        return asyncio.run(measure_async(files, runs, Path(d), recorder=recorder))


def sizes(paths: list[Path]) -> list[tuple[str, int, int]]:
    """(name, file bytes, wire bytes) per file."""
    return [(p.stem, p.stat().st_size, read_recording(p).wire_bytes) for p in paths]


def make_long(tmp: Path) -> Path:
    """A longer session recorded in real time from the demo (coffee-maker scenario at pace 1)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import make_recordings as mr

    desc, overrides, scenario, _pace = mr.SCENARIOS["coffee-maker"]
    mr.SCENARIOS["coffee-maker-realtime"] = (desc + " (real time, for benchmarks)", overrides, scenario, 1.0)
    path: Path = asyncio.run(mr.make_one("coffee-maker-realtime", tmp))
    return path


def report(fig: Figures, size_rows: list[tuple[str, int, int]], runs: int) -> None:
    print(f"start-up (imports incl. the SDK, settle_heap): {fig.import_s * 1000:.0f} ms; first replay in the process "
          f"({fig.first_name}: shared mock certificate, first connection): {fig.first_s * 1000:.0f} ms")  # fmt: skip
    print()
    print(f"replay --check in-process, median of {runs} (wall ms); speed = duration ÷ wall; recorder overhead = "
          "median wall with the replaying client recorded ÷ without - 1")  # fmt: skip
    print(f"  {'recording':<24} {'frames':>6} {'clock s':>8} {'audio s':>8} {'wall ms':>8} {'min ms':>7} "
          f"{'× clock':>8} {'× audio':>8} {'rec ms':>7} {'overhead':>8}  pass")  # fmt: skip
    for f in fig.files:
        audio = f"{f.audio_s / f.wall_s:8.0f}" if f.audio_s > 0 else f"{'-':>8}"
        print(f"  {f.name:<24} {f.frames:>6} {f.clock_s:>8.2f} {f.audio_s:>8.2f} {f.wall_s * 1000:>8.1f} "
              f"{min(f.plain_s) * 1000:>7.1f} {f.clock_s / f.wall_s:>8.1f} {audio} "
              f"{f.wall_recorded_s * 1000:>7.1f} {f.overhead * 100:>+7.1f}%  {'yes' if f.ok else 'NO'}")  # fmt: skip
    walls = sum(f.wall_s for f in fig.files)
    print(f"  {'aggregate':<24} {sum(f.frames for f in fig.files):>6} {sum(f.clock_s for f in fig.files):>8.2f} "
          f"{sum(f.audio_s for f in fig.files):>8.2f} {walls * 1000:>8.1f} {'':>7} {fig.aggregate('clock'):>8.1f} "
          f"{fig.aggregate('audio'):>8.0f} {sum(f.wall_recorded_s for f in fig.files) * 1000:>7.1f} "
          f"{fig.aggregate_overhead() * 100:>+7.1f}%")  # fmt: skip
    print("  (× audio aggregates the files with audio only; target ≥ 300× real time, recorder overhead ≤ 5 %)")
    print()
    print("recording size ÷ wire bytes of its frames (target ≤ 0.76):")
    for name, size, wire in size_rows:
        print(f"  {name:<28} {size / 1024:8.1f} KiB  wire {wire / 1024:8.1f} KiB  ratio {size / max(wire, 1):.3f}")
    total, wire = sum(r[1] for r in size_rows), sum(r[2] for r in size_rows)
    print(f"  {'all':<28} {total / 1024:8.1f} KiB  wire {wire / 1024:8.1f} KiB  ratio {total / max(wire, 1):.3f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--no-long", action="store_true", help="do not record the long real-time session")
    p.add_argument("--no-recorder", action="store_true", help="skip the recorder-overhead replays")
    p.add_argument("recordings", nargs="*", type=Path, help="default: recordings/*.glrec")
    args = p.parse_args(argv)
    files = list(args.recordings) or sorted((ROOT / "recordings").glob("*.glrec"))
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as d:
        tmp = Path(d)
        if not args.no_long:
            files.append(make_long(tmp))
        fig = asyncio.run(measure_async(files, args.runs, tmp, recorder=not args.no_recorder))
        report(fig, sizes(files), args.runs)
    return 0 if all(f.ok for f in fig.files) else 1


if __name__ == "__main__":
    raise SystemExit(main())
