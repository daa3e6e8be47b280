"""Terminal output of the frame preview at 1 fps: half blocks vs kitty graphics, the real CLI on an 80×24 pty.

Runs ``python -m tui --demo --no-audio --frames DIR --fps 1`` (bench_tui.py's frames: 640×480 blurred-noise JPEGs,
looping) alternately with TERM=xterm-256color and TERM=xterm-kitty (both COLORTERM=truecolor, so only the picture
path differs), and prints bytes/s written over a window after warm-up, and how much of it is graphics escapes
(transmit + delete) and placeholder cells. No audio, so the totals are below bench_tui.py's streaming figure; the
difference between the two rows is what kitty graphics cost.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib.util
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRAPHICS = re.compile(rb"\x1b_G[^\x1b]*\x1b\\")
PLACEHOLDER = "\U0010eeee".encode()


def _make_frames(folder: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_tui", ROOT / "tools" / "bench_tui.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._make_frames(folder)


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def _run(term: str, frames: Path, args: argparse.Namespace) -> dict[str, float]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", args.rows, args.cols, 0, 0))
    hints = ("TMUX", "STY", "KITTY_WINDOW_ID", "TERM_PROGRAM", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_")) and k not in hints}
    env.update(
        TERM=term,
        COLORTERM="truecolor",
        GEMINI_TUI_HOME=tempfile.mkdtemp(prefix="bench-graphics-"),
        PYTHONPATH=str(ROOT),
        GEMINI_TUI_VIDEO__FRAMES_LOOP="true",
    )
    cmd = [sys.executable, "-m", "tui", "--demo", "--no-audio", "--frames", str(frames), "--fps", "1"]
    child = subprocess.Popen(
        cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, start_new_session=True, close_fds=True
    )
    os.close(slave)
    started = time.monotonic()
    first_frame: float | None = None
    window: bytes = b""
    window_start: float | None = None
    seen = b""
    ticks0 = ticks = 0
    try:
        while True:
            now = time.monotonic()
            if first_frame is None and now - started > 30:
                raise SystemExit(f"{term}: no frame shown within 30 s")
            if window_start is None and first_frame is not None and now - first_frame >= args.warmup:
                window_start, ticks0 = now, _cpu_ticks(child.pid)
            if window_start is not None and now - window_start >= args.window:
                ticks = _cpu_ticks(child.pid) - ticks0
                break
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            data = os.read(master, 65536)
            if not data:
                break
            if window_start is not None:
                window += data
            elif first_frame is None:
                seen = (seen + data)[-100_000:]
                if b"tok/frame" in seen:
                    first_frame = time.monotonic()
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        os.close(master)
    span = args.window
    escapes = sum(len(m) for m in GRAPHICS.findall(window))
    return {
        "total": len(window) / span,
        "escapes": escapes / span,
        "placeholders": window.count(PLACEHOLDER) * 8 / span,  # 4-byte placeholder + two 2-byte diacritics
        "transmits": window.count(b"\x1b_Ga=T") / span,
        "cpu": 100.0 * ticks / os.sysconf("SC_CLK_TCK") / span,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3, help="runs of each, alternating")
    p.add_argument("--window", type=float, default=15.0)
    p.add_argument("--warmup", type=float, default=4.0)
    p.add_argument("--cols", type=int, default=80)
    p.add_argument("--rows", type=int, default=24)
    args = p.parse_args()
    frames = Path(tempfile.mkdtemp(prefix="bench-graphics-frames-"))
    _make_frames(frames)
    results: dict[str, list[dict[str, float]]] = {"xterm-256color": [], "xterm-kitty": []}
    for _ in range(args.runs):
        for term in results:
            results[term].append(_run(term, frames, args))
    print(f"{args.cols}x{args.rows}, 1 fps, {args.runs} runs each, {args.window:.0f} s windows (median)")
    for term, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(
            f"  {term:15} total {med['total'] / 1000:6.1f} KB/s   graphics escapes {med['escapes'] / 1000:5.1f} KB/s"
            f"   placeholder cells {med['placeholders'] / 1000:4.1f} KB/s   transmits {med['transmits']:.2f}/s"
            f"   CPU {med['cpu']:.1f} % of a core"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
