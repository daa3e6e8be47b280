#!/usr/bin/env python3
"""Benchmark the mock Live server with the unmodified google-genai SDK over TLS on loopback; prints figures.

Measures, for one session (mock and client in the same process and event loop, like the app's offline demo):

* connect: TLS handshake + ``setup`` → ``setupComplete`` (``client.aio.live.connect`` returning);
* first token: a text turn sent → the first model chunk received, at pace 0 (mock overhead only) and pace 1 (the
  demo's realistic 350 ms "thinking" delay included);
* client → server messages/s: 40 ms mic chunks (16 kHz s16le, 1280 bytes) sent with ``send_realtime_input``, each
  parsed, base64-decoded and validated by the mock, until the mock has counted them all;
* server → client messages/s: 40 ms model audio chunks (24 kHz, 1920 bytes) sent by a flood backend through the
  mock's connection layer and parsed by the SDK's ``receive()``;
* demo → client: the demo backend's own reply stream at pace 0 (audio frames per second).

Usage: ``.venv/bin/python tools/bench_mock.py [--reps 5] [--messages 5000]``. Figures are medians over reps.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from google import genai
from google.genai import types

from tui.live import wire
from tui.mock.server import MockConnection, MockOptions, SessionClosed, serve_mock

MODEL = "gemini-live-2.5-flash-preview"


class FloodBackend:
    """Sends ``count`` 40 ms audio chunks and a turnComplete for every text turn."""

    def __init__(self, count: int) -> None:
        self.count = count

    async def run(self, conn: MockConnection) -> None:
        chunk = wire.b64encode_std(bytes(range(256)) * 7 + bytes(128))  # 1920 bytes = 40 ms at 24 kHz
        frame = {
            "serverContent": {
                "modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": chunk}}]}
            }
        }
        try:
            while True:
                msg = await conn.recv()
                if msg.kind != "clientContent":
                    continue
                for _ in range(self.count):
                    await conn.send(frame)
                await conn.send({"serverContent": {"turnComplete": True}})
        except SessionClosed:
            return


def _client(mock: Any) -> genai.Client:
    return genai.Client(api_key="bench", http_options=mock.sdk_http_options(api_version="v1beta"))


async def bench_latency(pace: float, reps: int) -> tuple[list[float], list[float]]:
    connects: list[float] = []
    firsts: list[float] = []
    async with serve_mock(MockOptions(pace=pace)) as mock:
        client = _client(mock)
        for _ in range(reps + 1):
            t0 = time.perf_counter()
            async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
                t1 = time.perf_counter()
                await session.send_client_content(turns={"role": "user", "parts": [{"text": "latency probe"}]})
                first = None
                async for m in session.receive():
                    if first is None and m.server_content and m.server_content.model_turn:
                        first = time.perf_counter()
                assert first is not None
            connects.append(t1 - t0)
            firsts.append(first - t1)
    return connects[1:], firsts[1:]  # the first round warms imports and TLS session setup


async def bench_c2s(messages: int, reps: int) -> list[float]:
    rates: list[float] = []
    pcm = bytes(1280)
    async with serve_mock(MockOptions(pace=0)) as mock:
        client = _client(mock)
        for _ in range(reps):
            async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
                base = mock.stats.frames_in
                blob = types.Blob(data=pcm, mime_type="audio/pcm;rate=16000")
                t0 = time.perf_counter()
                for _ in range(messages):
                    await session.send_realtime_input(audio=blob)
                while mock.stats.frames_in - base < messages:
                    await asyncio.sleep(0.001)
                rates.append(messages / (time.perf_counter() - t0))
    return rates


async def bench_s2c(messages: int, reps: int) -> list[float]:
    rates: list[float] = []
    async with serve_mock(MockOptions(pace=0), backend_factory=lambda _o: FloodBackend(messages)) as mock:
        client = _client(mock)
        for _ in range(reps):
            async with client.aio.live.connect(model=MODEL) as session:
                t0 = time.perf_counter()
                await session.send_client_content(turns={"role": "user", "parts": [{"text": "flood"}]})
                n = 0
                async for m in session.receive():
                    n += 1 if m.server_content and m.server_content.model_turn else 0
                rates.append(n / (time.perf_counter() - t0))
                assert n == messages
    return rates


async def bench_demo(reps: int) -> tuple[list[float], float]:
    rates: list[float] = []
    audio_s = 0.0
    async with serve_mock(MockOptions(pace=0)) as mock:
        client = _client(mock)
        for _ in range(reps):
            async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["AUDIO"]}) as session:
                t0 = time.perf_counter()
                await session.send_client_content(turns={"role": "user", "parts": [{"text": "mock:long go"}]})
                n = 0
                pcm = 0
                async for m in session.receive():
                    if m.data:
                        n += 1
                        pcm += len(m.data)
                rates.append(n / (time.perf_counter() - t0))
                audio_s = pcm / 2 / 24000
    return rates, audio_s


def _ms(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:.1f} ms (min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})"
    )


def _rate(values: list[float]) -> str:
    return f"median {statistics.median(values):,.0f} msg/s (min {min(values):,.0f}, max {max(values):,.0f})"


async def main_async(args: argparse.Namespace) -> None:
    print(
        f"bench_mock: google-genai SDK over TLS on 127.0.0.1, one session, {args.reps} reps, "
        f"Python {sys.version.split()[0]}"
    )
    connect0, first0 = await bench_latency(0.0, args.reps)
    print(f"  connect (TLS + setup -> setupComplete):       {_ms(connect0)}")
    print(f"  turn sent -> first model chunk, pace 0:       {_ms(first0)}")
    _, first1 = await bench_latency(1.0, max(3, args.reps // 2))
    print(f"  turn sent -> first model chunk, pace 1:       {_ms(first1)}  (includes the demo's 350 ms think time)")
    c2s = await bench_c2s(args.messages, args.reps)
    print(f"  client -> server, 40 ms mic chunks validated:  {_rate(c2s)}  ({args.messages} per rep)")
    s2c = await bench_s2c(args.messages, args.reps)
    print(f"  server -> client, 40 ms audio chunks parsed:   {_rate(s2c)}  ({args.messages} per rep)")
    demo, audio_s = await bench_demo(args.reps)
    print(f"  demo reply stream at pace 0 (synth + send):    {_rate(demo)}  ({audio_s:.1f} s of audio per reply)")
    print("  (real time needs 25 msg/s of mic audio and ~5-25 msg/s of model audio)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--messages", type=int, default=5000)
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
