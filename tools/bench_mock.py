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

The throughput cases run twice: with the mock in the client's process and loop (how the app's offline demo runs),
and with the mock in a child process (the mock's own capacity, the client no longer sharing its CPU time).

Usage: ``.venv/bin/python tools/bench_mock.py [--reps 5] [--messages 5000]``. Figures are medians over reps.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from google import genai
from google.genai import types
from websockets.asyncio.client import connect as ws_connect

from tui.live import wire
from tui.mock.demo import DemoBackend
from tui.mock.server import MockConnection, MockOptions, SessionClosed, serve_mock
from tui.mock.tls import client_ssl_context

MODEL = "gemini-live-2.5-flash-preview"


class BenchBackend:
    """Text "flood N" → N 40 ms audio chunks then turnComplete; sessions with ``x-bench: demo`` get the demo."""

    def __init__(self, options: MockOptions) -> None:
        self.options = options

    async def run(self, conn: MockConnection) -> None:
        if conn.request.headers.get("x-bench") == "demo":
            await DemoBackend(self.options).run(conn)
            return
        chunk = wire.b64encode_std(bytes(range(256)) * 7 + bytes(128))  # 1920 bytes = 40 ms at 24 kHz
        part = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": chunk}}
        frame = {"serverContent": {"modelTurn": {"parts": [part]}}}
        try:
            while True:
                msg = await conn.recv()
                if msg.kind != "clientContent":
                    continue
                text = msg.data["turns"][0]["parts"][0]["text"]
                for _ in range(int(text.split()[1])):
                    await conn.send(frame)
                await conn.send({"serverContent": {"turnComplete": True}})
        except SessionClosed:
            return


def _serve_in_child(conn: Any) -> None:
    """Child process: run the mock with the bench backend until terminated; report where it listens."""

    async def run() -> None:
        async with serve_mock(MockOptions(pace=0), backend_factory=BenchBackend) as mock:
            conn.send((mock.base_url, str(mock.ca_file)))
            await asyncio.Event().wait()

    asyncio.run(run())


@contextlib.asynccontextmanager
async def mock_endpoint(split: bool) -> AsyncIterator[tuple[str, str]]:
    """(base_url, ca_file) of a mock with the bench backend: in this process, or in a child process."""
    if not split:
        async with serve_mock(MockOptions(pace=0), backend_factory=BenchBackend) as mock:
            yield mock.base_url, str(mock.ca_file)
        return
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve_in_child, args=(child,), daemon=True)
    proc.start()
    try:
        base_url, ca_file = await asyncio.to_thread(parent.recv)
        yield base_url, ca_file
    finally:
        proc.terminate()
        proc.join(5)


def _client(endpoint: tuple[str, str], demo: bool = False) -> genai.Client:
    base_url, ca_file = endpoint
    http = types.HttpOptions(
        base_url=base_url,
        api_version="v1beta",
        headers={"x-bench": "demo"} if demo else {},
        async_client_args={"ssl": client_ssl_context(ca_file)},
    )
    return genai.Client(api_key="bench", http_options=http)


def _say(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


async def bench_latency(pace: float, reps: int) -> tuple[list[float], list[float]]:
    connects: list[float] = []
    firsts: list[float] = []
    async with serve_mock(MockOptions(pace=pace)) as mock:
        client = _client((mock.base_url, str(mock.ca_file)))
        for _ in range(reps + 1):
            t0 = time.perf_counter()
            async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
                t1 = time.perf_counter()
                await session.send_client_content(turns=_say("latency probe"))
                first = None
                async for m in session.receive():
                    if first is None and m.server_content and m.server_content.model_turn:
                        first = time.perf_counter()
                assert first is not None
            connects.append(t1 - t0)
            firsts.append(first - t1)
    return connects[1:], firsts[1:]  # the first round warms imports and TLS session setup


async def bench_c2s(endpoint: tuple[str, str], messages: int, reps: int) -> list[float]:
    """Mic chunks as fast as the SDK sends them; a final text turn's answer proves the mock validated them all."""
    rates: list[float] = []
    blob = types.Blob(data=bytes(1280), mime_type="audio/pcm;rate=16000")
    client = _client(endpoint)
    for _ in range(reps):
        async with client.aio.live.connect(model=MODEL) as session:
            t0 = time.perf_counter()
            for _ in range(messages):
                await session.send_realtime_input(audio=blob)
            await session.send_client_content(turns=_say("flood 0"))
            async for _m in session.receive():
                pass
            rates.append(messages / (time.perf_counter() - t0))
    return rates


async def bench_c2s_raw(endpoint: tuple[str, str], messages: int, reps: int) -> list[float]:
    """Pre-serialised mic frames from a raw websockets client: the mock's own parse/validate rate."""
    base_url, ca_file = endpoint
    url = base_url.replace("https://", "wss://") + "/ws/google.ai.generativelanguage.v1beta.GenerativeService."
    url += "BidiGenerateContent"
    audio = json.dumps(
        {
            "realtime_input": {
                "audio": {"data": wire.b64encode_urlsafe(bytes(1280)), "mime_type": "audio/pcm;rate=16000"}
            }
        }
    )
    done = json.dumps({"client_content": {"turns": [_say("flood 0")], "turnComplete": True}})
    rates: list[float] = []
    for _ in range(reps):
        async with ws_connect(url, ssl=client_ssl_context(ca_file), compression=None) as ws:
            await ws.send(json.dumps({"setup": {"model": "models/" + MODEL}}))
            await ws.recv()
            t0 = time.perf_counter()
            for _ in range(messages):
                await ws.send(audio)
            await ws.send(done)
            while "turnComplete" not in str(await ws.recv()):
                pass
            rates.append(messages / (time.perf_counter() - t0))
    return rates


async def bench_s2c(endpoint: tuple[str, str], messages: int, reps: int) -> list[float]:
    rates: list[float] = []
    client = _client(endpoint)
    for _ in range(reps):
        async with client.aio.live.connect(model=MODEL) as session:
            t0 = time.perf_counter()
            await session.send_client_content(turns=_say(f"flood {messages}"))
            n = 0
            async for m in session.receive():
                n += 1 if m.server_content and m.server_content.model_turn else 0
            rates.append(n / (time.perf_counter() - t0))
            assert n == messages
    return rates


async def bench_demo(endpoint: tuple[str, str], reps: int) -> tuple[list[float], float]:
    rates: list[float] = []
    audio_s = 0.0
    client = _client(endpoint, demo=True)
    for _ in range(reps):
        async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["AUDIO"]}) as session:
            t0 = time.perf_counter()
            await session.send_client_content(turns=_say("mock:long go"))
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
    for split in (False, True):
        where = "mock in a child process" if split else "mock in the client's process and loop"
        print(f"  -- {where}")
        async with mock_endpoint(split) as endpoint:
            c2s = await bench_c2s(endpoint, args.messages, args.reps)
            print(f"  client -> server, 40 ms mic chunks validated:  {_rate(c2s)}  ({args.messages} per rep)")
            raw = await bench_c2s_raw(endpoint, args.messages, args.reps)
            print(f"  raw websockets client -> server, same frames:  {_rate(raw)}  (the mock's own validation rate)")
            s2c = await bench_s2c(endpoint, args.messages, args.reps)
            print(f"  server -> client, 40 ms audio chunks parsed:   {_rate(s2c)}  ({args.messages} per rep)")
            demo, audio_s = await bench_demo(endpoint, args.reps)
            print(f"  demo reply stream at pace 0 (synth + send):    {_rate(demo)}  ({audio_s:.1f} s of audio/reply)")
    print("  (real time needs 25 msg/s of mic audio and ~5-25 msg/s of model audio)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--messages", type=int, default=5000)
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
