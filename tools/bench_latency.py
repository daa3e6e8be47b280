#!/usr/bin/env python3
"""Setup-to-first-token latency of LiveSession against the mock (in-process, TLS on 127.0.0.1), printed.

For each of N sessions: start ``LiveSession.run()``, and measure
  * connect: from the ``Connecting`` event to ``Connected`` (TLS + upgrade + setup + setupComplete, through the SDK),
  * first token: from ``send_text`` to the first model output event (ModelText / ModelAudio),
  * setup→first token: from ``Connecting`` to that first output (what a user waits for after launch, minus import).
The mock runs at pace 0, so the figures are the client's and the transport's cost, not the demo's pacing.

    .venv/bin/python tools/bench_latency.py [-n 50] [--modality TEXT|AUDIO]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.config import Settings
from tui.live import events as ev
from tui.live.session import LiveSession
from tui.mock.server import MockOptions, serve_mock


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def one(settings: Settings) -> tuple[float, float, float]:
    session = LiveSession(settings)
    runner = asyncio.create_task(session.run())
    t_connecting = t_connected = t_sent = t_first = 0.0
    async for event in session.events():
        now = time.perf_counter()
        if isinstance(event, ev.Connecting) and not t_connecting:
            t_connecting = now
        elif isinstance(event, ev.Connected):
            t_connected = now
            t_sent = time.perf_counter()
            await session.send_text("hello")
        elif isinstance(event, ev.ModelText | ev.ModelAudio | ev.OutputTranscript) and not t_first:
            t_first = now
        elif isinstance(event, ev.TurnComplete):
            await session.close()
        elif isinstance(event, ev.Fatal):
            raise SystemExit(f"session failed: {event.message}")
    await runner
    return (t_connected - t_connecting) * 1e3, (t_first - t_sent) * 1e3, (t_first - t_connecting) * 1e3


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="sessions (default 50)")
    parser.add_argument("--modality", choices=["TEXT", "AUDIO"], default="TEXT")
    args = parser.parse_args()
    async with serve_mock(MockOptions(pace=0)) as mock:
        settings = Settings(
            api_key="bench",
            connection={"base_url": mock.base_url, "ca_file": mock.ca_file, "api_version": "v1beta"},
            session={"modality": args.modality},
        )
        await one(settings)  # warm-up: imports the SDK, builds the first SSL context
        rows = [await one(settings) for _ in range(args.n)]
    print(f"LiveSession vs in-process mock, TLS loopback, pace 0, modality {args.modality}, {args.n} sessions")
    print(f"{'ms':<22}{'median':>9}{'p95':>9}{'min':>9}{'max':>9}")
    for i, name in enumerate(("connect (setup)", "send → first token", "setup → first token")):
        vals = [r[i] for r in rows]
        print(f"{name:<22}{statistics.median(vals):9.2f}{pct(vals, 95):9.2f}{min(vals):9.2f}{max(vals):9.2f}")


if __name__ == "__main__":
    asyncio.run(main())
