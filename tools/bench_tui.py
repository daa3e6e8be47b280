#!/usr/bin/env python3
"""Benchmark the TUI under a real pty: launch → first paint, terminal bytes/s and CPU while a session streams.

The app runs in a child process on a pty sized 80×24 (TIOCSWINSZ), TERM=xterm-256color (COLORTERM=truecolor only
with --truecolor). The session is the offline demo; a fake sounddevice (tests/ui/fakes.py) feeds the REAL
Microphone/Speaker/MediaBridge a scripted voice (1.2 s of tone every 8 s) so audio streams both ways, the model
answers with audio + output transcription deltas, and --frames sends 1 fps JPEGs (generated photos with noise, so
thumbnails are not flat colours). The parent counts bytes read from the pty master and the child's CPU
(utime+stime from /proc/PID/stat, all threads) over a window that opens --warmup seconds after the first paint.
The child also counts Textual's compositor passes (screen repaints) and layout refreshes, the UI's main cost per
second, and writes the totals to a small file when the parent asks (SIGUSR1) at both ends of the window.

By default the demo mock runs in a second process (``gemini-live mock``) so the figures are the client's alone;
--in-process measures what ``gemini-live --demo`` costs as a whole (mock included).

    .venv/bin/python tools/bench_tui.py                 # 3 runs, 20 s windows
    .venv/bin/python tools/bench_tui.py --runs 1 --window 10 --in-process
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAINT_MARK = b"Type a message"
"""Text of the prompt's placeholder: on screen in the first frame."""
STREAM_MARK = b"speaking"
"""Shown by the model meter once model audio plays."""


def _child(args: argparse.Namespace) -> int:
    """Run the app (in the pty) with the fake sound device and frames."""
    sys.path.insert(0, str(ROOT))
    from tests.ui.fakes import FakeSoundDevice, fake_bridge_media, scripted_voice
    from tui.app.main import create_app
    from tui.config import Settings

    overrides: dict[str, object] = {
        "video": {"source": "file", "frames_path": args.frames_dir, "fps": 1.0},
        "ui": {"meter_hz": args.meter_hz},
    }
    if args.mic_chunk_ms:
        overrides["audio"] = {"mic_chunk_ms": args.mic_chunk_ms}
    if args.base_url:
        overrides.update(
            demo=False,
            api_key="bench-key",
            connection={"base_url": args.base_url, "ca_file": args.ca_file, "api_version": "v1beta"},
        )
    else:
        overrides["demo"] = True
    settings = Settings(**overrides)  # type: ignore[arg-type]

    def media(settings: Settings, on_notice: object) -> object:
        # Built after the first paint (the app calls this from its session worker), like the real media.
        sd = FakeSoundDevice(scripted_voice(16000, period_s=8.0))
        return fake_bridge_media(sd)(settings, on_notice)

    app = create_app(settings, media_factory=media)  # type: ignore[arg-type]
    if args.counts_file:
        _count_repaints(Path(args.counts_file))
    app.run()
    return 0


def _count_repaints(path: Path) -> None:
    """Count compositor passes and layout refreshes (wrapping Textual's Screen methods) and the main thread's CPU
    inside them; SIGUSR1 writes the totals, with the main thread's own CPU time, to ``path``."""
    from textual.screen import Screen

    counts = [0, 0]
    cpu = [0.0, 0.0]
    refresh, layout = Screen._compositor_refresh, Screen._refresh_layout
    thread_time = time.thread_time

    def counted_refresh(self: Screen[object]) -> None:
        counts[0] += 1
        t0 = thread_time()
        try:
            refresh(self)
        finally:
            cpu[0] += thread_time() - t0

    def counted_layout(self: Screen[object], *a: object, **kw: object) -> None:
        counts[1] += 1
        t0 = thread_time()
        try:
            layout(self, *a, **kw)  # type: ignore[arg-type]
        finally:
            cpu[1] += thread_time() - t0

    Screen._compositor_refresh = counted_refresh  # type: ignore[method-assign, assignment]
    Screen._refresh_layout = counted_layout  # type: ignore[method-assign, assignment]

    profile_to = os.environ.get("BENCH_TUI_PROFILE")  # a cProfile of the main thread over the window (slows it)
    profiler: list[object] = []

    def publish(signum: int, frame: object) -> None:
        # Asked by the parent at both ends of the window (SIGUSR1): no thread polling inside the measured process.
        # A signal handler runs on the main thread, so thread_time() here is the event loop's (Textual's) CPU.
        if profile_to:
            import cProfile

            if not profiler:
                profiler.append(cProfile.Profile())
                profiler[0].enable()  # type: ignore[attr-defined]
            else:
                profiler[0].disable()  # type: ignore[attr-defined]
                profiler[0].dump_stats(profile_to)  # type: ignore[attr-defined]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{counts[0]} {counts[1]} {cpu[0]:.6f} {cpu[1]:.6f} {thread_time():.6f}")
        tmp.replace(path)

    signal.signal(signal.SIGUSR1, publish)


def _read_counts(pid: int, path: Path) -> tuple[float, ...]:
    """``(repaints, layouts, repaint CPU s, layout CPU s, main-thread CPU s)`` so far in the child."""
    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 1.0
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    try:
        values = tuple(float(v) for v in path.read_text().split())
    except (OSError, ValueError):
        values = ()
    return values if len(values) == 5 else (0.0,) * 5


def _make_frames(folder: Path, n: int = 6) -> None:
    import random

    from PIL import Image, ImageFilter

    rng = random.Random(7)
    for i in range(n):
        im = Image.effect_noise((640, 480), 60 + 10 * i).convert("RGB")
        tint = Image.new("RGB", (640, 480), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        im = Image.blend(im, tint, 0.55).filter(ImageFilter.GaussianBlur(3))
        im.save(folder / f"frame{i}.jpg", "JPEG", quality=75)


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 counting from 1)


def _start_mock() -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "mock"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    text = ""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        text += line
        m = re.search(r"--base-url (\S+) --ca-file (\S+)", text)
        if m:
            return proc, m.group(1), m.group(2).strip("'")
    proc.kill()
    raise SystemExit(f"mock did not start: {text!r}")


def _pty_env(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
    env.update(TERM="xterm-256color", GEMINI_TUI_HOME=tempfile.mkdtemp(prefix="bench-tui-"), PYTHONPATH=str(ROOT))
    env.pop("COLORTERM", None)
    if args.truecolor:
        env["COLORTERM"] = "truecolor"
    return env


def _process_cpu_ms(pid: int) -> float:
    """CPU time of every thread of ``pid`` so far, in ms (``/proc/PID/task/*/schedstat``: ns, not 10 ms ticks)."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
    except OSError:
        return float("nan")
    return total / 1e6


STARTUP_CPU_MS: list[float] = []
"""CPU time of the app at its first frame, one entry per ``_startup_once`` (less sensitive than wall time to what
else the machine runs: the wall figure swings by ±50 ms on this shared VM between minutes, the CPU figure not)."""


REFERENCE_APP = """
from textual.app import App
from textual.widgets import Static

class Reference(App):
    def compose(self):
        yield Static("reference app painted")

Reference().run()
"""
"""The minimal Textual app of ``research/perf-baselines.md`` §6 (one ``Static``): 151 ms to first paint there."""
REFERENCE_MARK = b"reference app painted"
REFERENCE_BASELINE_MS = 151.0
"""Its launch → first paint on the project's standard machine (perf-baselines.md), where the 300 ms budget was set."""


@contextlib.contextmanager
def _pty_child(
    args: argparse.Namespace, argv: list[str], env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``argv`` started on a new pty sized ``args.cols``×``args.rows`` (its own session); yields (process, the pty
    master) and stops the process group and closes the master on the way out."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", args.rows, args.cols, 0, 0))
    child = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env or _pty_env(args),
        cwd=ROOT,
        start_new_session=True,
        close_fds=True,
    )
    os.close(slave)
    try:
        yield child, master
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        os.close(master)


def _read(master: int, timeout: float = 0.05) -> bytes | None:
    """What the pty has within ``timeout`` (b"" if nothing yet); None once the child is gone."""
    ready, _, _ = select.select([master], [], [], timeout)
    if not ready:
        return b""
    try:
        return os.read(master, 65536) or None
    except OSError:
        return None


REFERENCE_LOAD_APP = """
import math
import random
from rich.text import Text
from textual.app import App
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import RichLog, Static

WORDS = "the model answered about weather in paris with a sunny forecast and light wind".split()


class Meter(Widget):
    DEFAULT_CSS = "Meter { height: 1; }"
    level = reactive(-60.0)

    def render(self):
        width = max(self.size.width - 10, 1)
        filled = int((self.level + 60) / 60 * width)
        green, yellow = int(width * 0.7), int(width * 0.9)
        bar = Text()
        bar.append("█" * min(filled, green), style="green")
        bar.append("█" * max(0, min(filled, yellow) - green), style="yellow")
        bar.append("█" * max(0, filled - yellow), style="red")
        bar.append(" " * (width - filled) + f" {self.level:5.1f} dB")
        return bar


class ReferenceLoad(App):
    def compose(self):
        yield Static("reference load app")
        yield Meter()
        yield RichLog(markup=True, wrap=True, max_lines=1000)

    def on_mount(self):
        self.ticks = 0
        self.words = random.Random(0)
        self.set_interval(0.1, self.tick)
        self.set_interval(0.2, self.lines)

    def tick(self):
        self.ticks += 1
        self.query_one(Meter).level = -30 + 25 * math.sin(self.ticks / 3) + (self.ticks * 7 % 5)

    def lines(self):
        log = self.query_one(RichLog)
        for i in range(4):
            words = " ".join(self.words.choice(WORDS) for _ in range(9))
            log.write(f"[dim]12:00:{self.ticks % 60:02d}[/] [bold cyan]model[/] {words} [green]ok[/] [yellow]{i}[/]")


ReferenceLoad().run()
"""
"""The streaming scenario of ``research/perf-baselines.md`` §5 closest to the app's load, rebuilt from its description
(its script is not in the repository): a title, a level meter repainted at 10 Hz, and a ``RichLog(markup=True,
wrap=True, max_lines=1000)`` given 4 lines of ~70 characters with 3-4 colour spans every 200 ms. On the baseline
machine: 65.8 KB/s and 7.2 % of a core under a pty at 80×24; the rebuild writes ~68 KB/s here (about the same output, so
the same work for Textual), and the CPU it takes here ÷ 7.2 % says how much slower this host renders Textual."""
REFERENCE_LOAD_MARK = b"reference load app"
REFERENCE_LOAD_BASELINE_CPU = 7.2
"""``REFERENCE_LOAD_APP``'s CPU (% of a core) on the project's standard machine (perf-baselines.md §5, [7.0–7.9])."""


def reference_load_once(args: argparse.Namespace) -> dict[str, float]:
    """``REFERENCE_LOAD_APP`` on a pty like the app's: its CPU (% of a core, utime+stime) and terminal bytes/s over a
    window of ``args.window`` s that opens ``args.warmup`` s after its first paint; {} if it never painted."""
    hz = os.sysconf("SC_CLK_TCK")
    buf = b""
    painted: float | None = None
    with _pty_child(args, [sys.executable, "-c", REFERENCE_LOAD_APP]) as (child, master):
        started = time.monotonic()
        while painted is None and time.monotonic() - started < 15:
            data = _read(master)
            if data is None:
                return {}
            buf += data
            if REFERENCE_LOAD_MARK in buf:
                painted = time.monotonic()
        if painted is None:
            return {}
        while time.monotonic() - painted < args.warmup:
            if _read(master) is None:
                return {}
        ticks0, window0, count = _cpu_ticks(child.pid), time.monotonic(), 0
        while (span := time.monotonic() - window0) < args.window:
            data = _read(master)
            if data is None:
                return {}
            count += len(data)
        ticks = _cpu_ticks(child.pid) - ticks0
    return {"cpu_percent": 100.0 * ticks / hz / span, "bytes_per_s": count / span}


def _startup_once(args: argparse.Namespace, *, reference: bool = False) -> float:
    """Milliseconds from starting ``python -m tui --demo --no-audio`` (the real CLI) to its first frame.

    Also appends the app's CPU time at that frame to ``STARTUP_CPU_MS``. ``reference``: the same for the minimal
    Textual app instead (``REFERENCE_APP``; its CPU time is not recorded), the yardstick for this machine's speed."""
    started = time.monotonic()
    argv = [sys.executable, "-c", REFERENCE_APP] if reference else [sys.executable, "-m", "tui", "--demo", "--no-audio"]
    mark = REFERENCE_MARK if reference else PAINT_MARK
    buf = b""
    with _pty_child(args, argv) as (child, master):
        while time.monotonic() - started < 15:
            data = _read(master)
            if data is None:
                break
            buf += data
            if mark in buf:
                if not reference:
                    STARTUP_CPU_MS.append(_process_cpu_ms(child.pid))
                return (time.monotonic() - started) * 1000
    return float("nan")


def startup_pairs(args: argparse.Namespace, n: int) -> tuple[list[float], list[float]]:
    """``n`` launches of the app to first paint, each followed by one of the reference app: (app ms, reference ms)."""
    apps: list[float] = []
    refs: list[float] = []
    for _ in range(n):
        apps.append(_startup_once(args))
        refs.append(_startup_once(args, reference=True))
    return apps, refs


def paired_ratio(apps: list[float], refs: list[float]) -> float:
    """Median over pairs of app ÷ reference (launched back to back, so the host's speed of the moment cancels)."""
    ratios = [a / r for a, r in zip(apps, refs, strict=True) if a == a and r == r and r > 0]
    return statistics.median(ratios) if ratios else float("nan")


def _run_once(
    args: argparse.Namespace, frames_dir: Path, base_url: str | None, ca_file: str | None
) -> dict[str, float]:
    env = _pty_env(args)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--frames-dir", str(frames_dir)]
    counts_file = Path(env["GEMINI_TUI_HOME"]) / "repaints.txt"
    cmd += ["--meter-hz", str(args.meter_hz), "--counts-file", str(counts_file)]
    if getattr(args, "mic_chunk_ms", None):
        cmd += ["--mic-chunk-ms", str(args.mic_chunk_ms)]
    if base_url:
        cmd += ["--base-url", base_url, "--ca-file", str(ca_file)]
    started = time.monotonic()
    buf = b""
    first_paint: float | None = None
    streaming_at: float | None = None
    window_bytes = 0
    window_start: float | None = None
    ticks0 = 0
    counts0: tuple[float, ...] = (0.0,) * 5
    result: dict[str, float] = {}
    hz = os.sysconf("SC_CLK_TCK")
    with _pty_child(args, cmd, env) as (child, master):
        while True:
            now = time.monotonic()
            if first_paint is None and now - started > 15:
                raise SystemExit("no first paint within 15 s")
            if window_start is None and first_paint is not None and now - first_paint >= args.warmup:
                if streaming_at is None and now - first_paint < args.warmup + 20:
                    pass  # wait for the model to start speaking before measuring
                else:
                    window_start, window_bytes, ticks0 = now, 0, _cpu_ticks(child.pid)
                    counts0 = _read_counts(child.pid, counts_file)
            if window_start is not None and now - window_start >= args.window:
                ticks = _cpu_ticks(child.pid) - ticks0
                span = now - window_start
                counts1 = _read_counts(child.pid, counts_file)
                result = {
                    "first_paint_ms": (first_paint - started) * 1000 if first_paint else float("nan"),
                    "bytes_per_s": window_bytes / span,
                    "cpu_percent": 100.0 * ticks / hz / span,
                    "streaming": 1.0 if streaming_at is not None else 0.0,
                    "repaints_per_s": (counts1[0] - counts0[0]) / span,
                    "layouts_per_s": (counts1[1] - counts0[1]) / span,
                    "repaint_cpu_percent": 100.0 * (counts1[2] - counts0[2]) / span,
                    "layout_cpu_percent": 100.0 * (counts1[3] - counts0[3]) / span,
                    "main_cpu_percent": 100.0 * (counts1[4] - counts0[4]) / span,
                }
                break
            data = _read(master)
            if data is None:
                break
            if window_start is not None:
                window_bytes += len(data)
            if first_paint is None or streaming_at is None:
                buf = (buf + data)[-200_000:]
                if first_paint is None and PAINT_MARK in buf:
                    first_paint = time.monotonic()
                if streaming_at is None and STREAM_MARK in buf and first_paint is not None:
                    streaming_at = time.monotonic()
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--window", type=float, default=20.0, help="seconds measured")
    p.add_argument("--warmup", type=float, default=4.0, help="seconds after first paint before measuring")
    p.add_argument("--cols", type=int, default=80)
    p.add_argument("--rows", type=int, default=24)
    p.add_argument("--meter-hz", type=float, default=10.0, help="display tick (the settings default is 10)")
    p.add_argument("--mic-chunk-ms", type=int, help="mic chunk length (default: the settings default)")
    p.add_argument("--startup-runs", type=int, default=5, help="launches of the real CLI timed to first paint")
    p.add_argument("--truecolor", action="store_true", help="COLORTERM=truecolor (default: 256 colours, as over SSH)")
    p.add_argument("--in-process", action="store_true", help="run the demo mock inside the app's process")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--frames-dir", help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    p.add_argument("--ca-file", help=argparse.SUPPRESS)
    p.add_argument("--counts-file", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return _child(args)

    startups, references = startup_pairs(args, args.startup_runs)
    if startups:
        print(
            "launch → first paint of `python -m tui --demo --no-audio`: "
            + ", ".join(f"{v:.0f}" for v in startups)
            + " ms (CPU at that frame: "
            + ", ".join(f"{v:.0f}" for v in STARTUP_CPU_MS)
            + " ms); the minimal Textual app launched alternately: "
            + ", ".join(f"{v:.0f}" for v in references)
            + f" ms; ratio (median of pairs) {paired_ratio(startups, references):.2f} "
            f"(budget 300 ms ÷ the reference's {REFERENCE_BASELINE_MS:.0f} ms there = "
            f"{300 / REFERENCE_BASELINE_MS:.2f})"
        )
    frames_dir = Path(tempfile.mkdtemp(prefix="bench-frames-"))
    _make_frames(frames_dir)
    mock = None
    base_url = ca_file = None
    if not args.in_process:
        mock, base_url, ca_file = _start_mock()
    results = []
    refs: list[dict[str, float]] = []
    try:
        for i in range(args.runs):
            r = _run_once(args, frames_dir, base_url, ca_file)
            results.append(r)
            refs.append(reference_load_once(args))
            print(
                f"run {i + 1}: first paint {r['first_paint_ms']:.0f} ms · {r['bytes_per_s'] / 1000:.1f} KB/s · "
                f"CPU {r['cpu_percent']:.1f} % · {r['repaints_per_s']:.1f} repaints/s "
                f"({r['layouts_per_s']:.1f} layouts/s) · main thread {r['main_cpu_percent']:.1f} %, of it repaints "
                f"{r['repaint_cpu_percent']:.1f} %, layouts {r['layout_cpu_percent']:.1f} % · "
                f"model audio seen: {'yes' if r['streaming'] else 'NO'} · the reference load app right after: "
                f"CPU {refs[-1].get('cpu_percent', float('nan')):.1f} %, "
                f"{refs[-1].get('bytes_per_s', float('nan')) / 1000:.1f} KB/s",
                flush=True,
            )
    finally:
        if mock is not None:
            mock.send_signal(signal.SIGINT)
            try:
                mock.wait(timeout=5)
            except subprocess.TimeoutExpired:
                mock.kill()
    colour = "truecolor" if args.truecolor else "256 colours"
    where = "mock in-process" if args.in_process else "mock in a separate process"
    print(f"\n{args.cols}×{args.rows}, {colour}, {where}, meters {args.meter_hz:g} Hz, {args.window:g} s windows:")
    if startups:
        med = statistics.median(startups)
        print(
            f"  {'launch → first paint':22} median {med:7.1f} ms   [{min(startups):.0f}–{max(startups):.0f}]"
            f"  budget 300 ms: {'OK' if med <= 300 else 'OVER'}  (the real CLI, {len(startups)} launches)"
        )
    for key, label, unit, budget in (
        ()
        if not results
        else (
            ("first_paint_ms", "first paint (bench app)", "ms", 300.0),
            ("bytes_per_s", "terminal output", "KB/s", 25_000.0),
            ("cpu_percent", "CPU (one core)", "%", 8.0),
        )
    ):
        values = [r[key] for r in results]
        scale = 1000.0 if unit == "KB/s" else 1.0
        med = statistics.median(values)
        print(
            f"  {label:22} median {med / scale:7.1f} {unit:4} [{min(values) / scale:.1f}–{max(values) / scale:.1f}]"
            f"  budget {budget / scale:g} {unit}: {'OK' if med <= budget else 'OVER'}"
        )
    ratio = cpu_ratio(results, refs)
    if ratio == ratio:
        base = REFERENCE_LOAD_BASELINE_CPU
        verdict = "OK" if ratio <= 8.0 / base else "OVER"
        print(
            f"  {'CPU ÷ reference load':22} median {ratio:7.2f} ×     (pairs; ≈ {ratio * base:.1f} % at the baseline "
            f"machine's speed)  budget {8.0 / base:.2f}× (8 % ÷ {base:g} %): {verdict}"
        )
    return 0


def cpu_ratio(results: list[dict[str, float]], refs: list[dict[str, float]]) -> float:
    """Median over pairs of the app's CPU ÷ the reference load app's, run right after it (NaN if no pair)."""
    pairs = zip(results, refs, strict=True)
    ratios = [r["cpu_percent"] / f["cpu_percent"] for r, f in pairs if r and f and f["cpu_percent"] > 0]
    return statistics.median(ratios) if ratios else float("nan")


if __name__ == "__main__":
    sys.exit(main())
