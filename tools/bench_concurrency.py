#!/usr/bin/env python3
"""Replay benchmarks with the real client: speed, recorder overhead, size ÷ wire, and 100 concurrent replays.

Every replay here is ``replay --check``'s machinery: the real ``LiveSession`` on the unmodified google-genai SDK,
over TLS on 127.0.0.1, against the mock's replay backend, fed the recorded inputs causally, with the divergence and
completeness checks on (a replay "passes" when ``ReplayResult.ok``).

* **Replay speed** (× real time): a recording's *real time* is the longer of the model audio it carries and the
  mic audio the user sent (what a person needs to hear or say it). The bundled recordings were made at the demo's
  pace 0, so their own clock (seconds between first and last record) says how fast the recorder ran, not how long
  the conversation lasts; it is shown beside, but the audio time is the honest denominator. Text-only recordings
  have no audio: their clock is all there is (marked).
* **Long session**: a voice session of many long demo replies is recorded in this run (pace 0, the real recorder)
  and replayed, to show the steady-state speed without the per-session start (TLS certificate, connect).
* **The SDK's floor** (``sdk_floor``): for each bundled voice recording, the least any client on the unmodified
  SDK must do to replay it (build a client, connect over TLS, send the recorded audio and text with the SDK's own
  calls, parse every recorded server message), against a bare TLS websockets server and with nothing of ours on the
  client: the speed no replay through the SDK can beat on this host at this moment. Measured in the same rounds as
  the replays (each replay followed by a floor), so the ratio replay ÷ floor is what our code adds.
* **Host factor** (``sdk_message_cost``): the SDK's own per-message steps (receive a 40 ms model-audio message,
  send a 40 ms mic chunk; a real ``AsyncSession`` on a socket stand-in, no network), timed right after each replay
  and divided by the same figure in perf-baselines.md §1, taken on the machine the ≥ 300× target was set on: how
  much slower this host is, at that moment, at the work that dominates a replay. A replay's speed × that factor
  estimates its speed there.
* **Recorder overhead**: the same recording replayed in rounds of: without recording, with the replaying client
  recording itself (``CheckOptions.record_to``; the recorder's writer process), and with a writer thread instead
  (for comparison). The figure is the median over rounds of with ÷ without: the two ran back to back, so the host's
  speed, which drifts by tens of per cent from one second to the next on this VM, mostly cancels.
* **Size ÷ wire**: file bytes ÷ the wire bytes of the frames it holds (the recorder's own accounting).
* **Concurrency**: one mock (in its own process: one core) serves N replay sessions at once for N concurrent
  clients (in this process: the other core). Each client replays one of the bundled recordings (round robin) and
  talks to its own ``ReplayState``, routed by a base-path prefix (the mock accepts any prefix before ``/ws/…``).

Usage: ``.venv/bin/python tools/bench_concurrency.py [--sessions 100] [--long-turns 12] [--overhead-reps 5]
[--rounds 5]``.
``figures()`` returns the numbers for ``tools/bench.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.recording.reader import Recording, read_recording  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
from bench_replay import audio_parts  # noqa: E402

RECORDINGS = ROOT / "recordings"


@dataclass
class ReplayRow:
    name: str
    ok: bool
    clock_s: float
    audio_s: float
    wall_s: float
    size: int
    wire: int
    frames: int
    problems: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    """CPU time of this process (all threads: the client, the mock, a recorder's writer thread) during the replay."""
    child_cpu_s: float = 0.0
    """CPU time of child processes reaped during the replay (the recorder's writer process)."""
    floor_s: float = 0.0
    """The unmodified SDK's floor for this file (``sdk_floor``, median of the same rounds); 0: not measured."""
    host_factor: float = 0.0
    """How much slower this host ran the SDK's own per-message work than the baseline machine did, measured right
    after each replay (``sdk_message_cost`` ÷ ``SDK_BASELINE_US``; median over the rounds); 0: not measured."""
    baseline_speed: float = 0.0
    """The speed scaled to the baseline machine's: median over the rounds of each replay's speed × the factor
    measured right after it (the host's speed drifts within seconds); 0: not measured."""
    by_clock: bool = False
    """The recording was made at real time: its clock is the real time it stands for, audio or not."""

    @property
    def real_s(self) -> float:
        """The real time this recording stands for: its audio, or its clock when it has none (or ``by_clock``)."""
        return self.audio_s if self.audio_s > 0 and not self.by_clock else self.clock_s

    @property
    def speed(self) -> float:
        return self.real_s / self.wall_s if self.wall_s > 0 else float("nan")


async def replay_one(path: Path, record_to: Path | None = None, writer: str = "auto") -> ReplayRow:
    """One ``check`` replay of ``path``; ``record_to``: the replaying client records itself there, with the
    recorder's ``writer`` ("auto": its process where supported; "thread")."""
    from tui.replay.check import CheckOptions, check

    rec = read_recording(path)
    model, mic = audio_parts(rec)
    t0 = time.perf_counter()
    c0 = time.process_time()
    k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = await check(path, CheckOptions(record_to=record_to, record_writer=writer))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = k1.ru_utime + k1.ru_stime - k0.ru_utime - k0.ru_stime
    problems = [str(d) for d in result.divergences][:2] + list(result.problems)[:2]
    problems += [f"unconsumed: {u}" for u in result.unconsumed][:2]
    return ReplayRow(
        path.stem,
        result.ok,
        rec.duration_s,
        max(model, mic),
        wall,
        rec.size,
        rec.wire_bytes,
        len(rec.frames),
        problems,
        cpu,
        child_cpu,
    )


def bundled() -> list[Path]:
    return sorted(RECORDINGS.glob("*.glrec"))


# ------------------------------------------------------------------------------------------------ the SDK's floor


async def sdk_floor(path: Path) -> float:
    """Wall time of the least any client on the unmodified SDK must do to replay ``path``'s first connection.

    Only the SDK's own parts, nothing of ours on the client: a ``genai.Client`` is built, connects over TLS (setup →
    setupComplete) and parses every recorded server message of the first connection with ``session.receive()``.
    The recorded mic audio and typed text of that connection are sent with the SDK's own calls, all at once and
    alongside the receiving (not causally: nothing waits). The server is a bare ``websockets`` TLS server (no mock:
    no routing, no checks, no replay state), which sends the recorded server frames verbatim right after the setup
    and discards what the client sends; the file is read beforehand. A replay does all of this and more (it reads
    the file, runs the mock's checks, waits for each input's causal point, runs ``LiveSession`` and its event
    log), so no replay of ``path`` through the unmodified SDK on this host can beat ``audio time ÷ this``.
    """
    import ssl

    import websockets
    from google import genai
    from google.genai import types

    from tui.mock.tls import shared_certificate
    from tui.recording.format import Close, Frame, Input, Open

    rec = read_recording(path)
    first = next((r.seg for r in rec.records if isinstance(r, Open)), 0)
    frames = [r.data for r in rec.records if isinstance(r, Frame) and r.direction == "s2c" and r.seg == first]
    closed = next((i for i, r in enumerate(rec.records) if isinstance(r, Close)), len(rec.records))
    inputs = [r for r in rec.records[:closed] if isinstance(r, Input) and r.kind in ("audio", "text")]
    cert, server_ctx = shared_certificate()

    async def handler(ws: Any) -> None:
        await ws.recv()  # the setup
        for data in frames:
            await ws.send(data)
        async for _ in ws:  # what the client sends next is discarded
            pass

    async with websockets.serve(handler, "127.0.0.1", 0, ssl=server_ctx, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        client_ctx = ssl.create_default_context(cafile=str(cert.ca_file))
        t0 = time.perf_counter()
        client = genai.Client(
            api_key="floor-key",
            http_options=types.HttpOptions(
                base_url=f"https://127.0.0.1:{port}",
                api_version="v1beta",
                async_client_args={"ssl": client_ctx, "compression": None},
                client_args={"verify": client_ctx},
            ),
        )
        config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
        async with client.aio.live.connect(model="gemini-live-2.5-flash-preview", config=config) as session:

            async def send() -> None:
                for item in inputs:
                    if item.kind == "audio":
                        blob = types.Blob(data=bytes(item.data["pcm"]), mime_type="audio/pcm;rate=16000")
                        await session.send_realtime_input(audio=blob)
                    else:
                        await session.send_realtime_input(text=str(item.data.get("text", "")))

            sender = asyncio.create_task(send())
            left = len(frames) - 1  # connect() parsed the setupComplete
            while left > 0:
                async for _ in session.receive():
                    left -= 1
                    if left == 0:
                        break
            await sender
        wall = time.perf_counter() - t0
    return wall


SDK_BASELINE_US = (55.1, 37.3)
"""perf-baselines.md §1, "SDK overhead per message" (google-genai 3.4.0, on the machine the 300× target was set on):
the SDK's own steps to receive a 40 ms model-audio message and to send a 40 ms mic chunk, without a network."""


async def sdk_message_cost(n: int = 100, loops: int = 3) -> tuple[float, float]:
    """The same measure here: µs per message for ``AsyncSession._receive`` of a 40 ms 24 kHz model-audio message
    (2671 B of JSON, the size perf-baselines.md used) and ``send_realtime_input`` of a 40 ms 16 kHz mic chunk, on a
    real ``AsyncSession`` whose websocket hands over a ready message and discards what is sent (medians of ``loops``
    loops of ``n``; ~0.1 s in all here)."""
    import base64
    import json
    import math

    from google import genai
    from google.genai import live, types

    def tone(samples: int, rate: int) -> bytes:  # a 140 Hz tone with a little noise: base64 of audio-like bytes
        wave = (6000 * math.sin(2 * math.pi * 140 * i / rate) + 300 * math.sin(i * 12.9898) for i in range(samples))
        values = (int(v) for v in wave)
        return b"".join(v.to_bytes(2, "little", signed=True) for v in values)

    message = json.dumps(
        {"serverContent": {"modelTurn": {"parts": [{"inlineData": {
            "mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(tone(960, 24000)).decode()}}]}}}
    ).encode()  # fmt: skip

    class Socket:
        async def recv(self, decode: bool | None = None) -> bytes:
            return message

        async def send(self, data: str) -> None:
            pass

    client = genai.Client(api_key="reference-key")
    session = live.AsyncSession(api_client=client._api_client, websocket=Socket())  # type: ignore[arg-type]
    mic = types.Blob(data=tone(640, 16000), mime_type="audio/pcm;rate=16000")
    for _ in range(20):
        await session._receive()
        await session.send_realtime_input(audio=mic)
    rx: list[float] = []
    tx: list[float] = []
    for _ in range(loops):
        t0 = time.perf_counter()
        for _ in range(n):
            await session._receive()
        t1 = time.perf_counter()
        for _ in range(n):
            await session.send_realtime_input(audio=mic)
        t2 = time.perf_counter()
        rx.append((t1 - t0) / n * 1e6)
        tx.append((t2 - t1) / n * 1e6)
    return statistics.median(rx), statistics.median(tx)


def host_factor(receive_us: float, send_us: float) -> float:
    """This host's SDK cost per message ÷ the baseline machine's (both directions together)."""
    return (receive_us + send_us) / sum(SDK_BASELINE_US)


# ------------------------------------------------------------------------------------------------ long session


async def record_long_session(path: Path, turns: int) -> Path:
    """A voice session recorded with the real recorder: ``turns`` long demo replies (audio + transcripts) at pace 0,
    each preceded by 2 s of mic audio (a spoken turn, as the app would send it)."""
    from tui.config import Settings
    from tui.live import events as ev
    from tui.live.session import LiveSession
    from tui.mock.server import MockOptions, serve_mock
    from tui.recording.writer import Recorder

    async with serve_mock(MockOptions(pace=0)) as mock:
        settings = Settings(
            api_key="bench-key",
            connection={"base_url": mock.base_url, "ca_file": mock.ca_file, "api_version": "v1beta"},
            session={"modality": "AUDIO", "demo_tools": False},
            audio={"enabled": False},
        )
        recorder = Recorder.for_settings(settings, path=path, description="bench: long voice session")
        session = LiveSession(settings, tap=recorder)
        runner = asyncio.create_task(session.run())
        done = asyncio.Queue[Any]()

        async def consume() -> None:
            async for e in session.events():
                if isinstance(e, ev.Connected | ev.TurnComplete | ev.Fatal):
                    await done.put(e)

        consumer = asyncio.create_task(consume())
        first = await asyncio.wait_for(done.get(), 30)
        if not isinstance(first, ev.Connected):
            raise RuntimeError(f"long-session recording: {first}")
        quiet = bytes(1280)  # 40 ms of 16 kHz silence: mic traffic without triggering the demo's VAD
        for i in range(turns):
            for _ in range(50):
                await session.send_audio(quiet)
            await session.send_text(f"mock:long part {i}: tell me more about the weather")
            e = await asyncio.wait_for(done.get(), 60)
            if not isinstance(e, ev.TurnComplete):
                raise RuntimeError(f"long-session recording: {e}")
        await session.close()
        await runner
        consumer.cancel()
        await recorder.aclose()
    return path


# ------------------------------------------------------------------------------------------------ concurrency


def _serve_replays(paths: list[str], conn: Any) -> None:
    """Child process: one mock, a ReplayState per ``/rN`` prefix; report where it listens, then results on request."""
    sys.path.insert(0, str(ROOT))
    from tui.mock.replay import ReplayBackend, ReplayOptions, ReplayState
    from tui.mock.server import MockConnection, MockOptions, serve_mock

    recs = [read_recording(p) for p in paths]
    states: dict[int, ReplayState] = {}

    class Dispatch:
        def __init__(self, _options: MockOptions) -> None:
            pass

        async def run(self, c: MockConnection) -> None:
            n = int(c.request.path.strip("/").split("/", 1)[0].removeprefix("r"))
            if n not in states:
                states[n] = ReplayState(recs[n % len(recs)], ReplayOptions(frame_timeout_s=60, close_wait_s=60))
            await ReplayBackend(states[n]).run(c)

    async def run() -> None:
        async with serve_mock(MockOptions(pace=0, max_sessions=1000), backend_factory=Dispatch) as mock:
            conn.send((mock.base_url, str(mock.ca_file)))
            await asyncio.to_thread(conn.recv)  # the clients are done
            # Their last closes may still be in flight here: let every session finish its bookkeeping first.
            for _ in range(500):
                if mock.stats.sessions_active == 0:
                    break
                await asyncio.sleep(0.02)
            for st in states.values():
                st.finish()
            out = {}
            for n, st in states.items():
                r = st.result()
                out[n] = (r.ok, [str(d) for d in r.divergences][:2] + [str(u) for u in r.unconsumed][:2])
            conn.send((out, mock.stats.sessions_started, dict(mock.stats.closes)))

    asyncio.run(run())


async def _client_replay(n: int, path: Path, base_url: str, ca_file: str, wait_s: float) -> tuple[bool, str]:
    """The client half of ``replay --check`` against a shared mock (see ``tui.replay.check.check``)."""
    from tui.live import events as ev
    from tui.live.session import LiveSession
    from tui.live.tools import ToolRegistry
    from tui.replay.check import CheckOptions, CountingTap, _drive, replay_settings, schedule

    rec = read_recording(path)
    planned, totals = schedule(rec)
    settings, _notes = replay_settings(rec.header.config, f"{base_url}/r{n}", Path(ca_file), recording=path)
    tap = CountingTap(None)
    received_t = [f.t_us for f in rec.frames if f.direction == "s2c"]
    created = rec.header.extra.get("created_unix")
    base_wall = float(created) if isinstance(created, int | float) else 0.0

    def wall_clock() -> float:
        k = tap.counts.received
        return base_wall + (received_t[min(k, len(received_t)) - 1] / 1e6 if k else 0.0)

    session = LiveSession(settings, tap=tap, registry=ToolRegistry.from_settings(settings, wall_clock=wall_clock))
    runner = asyncio.create_task(session.run())
    fatal: list[str] = []

    async def consume() -> None:
        async for e in session.events():
            if isinstance(e, ev.Fatal):
                fatal.append(e.message)

    consumer = asyncio.create_task(consume())

    class _Remote:  # the ReplayState lives in the mock's process; a divergence there closes the socket (strict)
        failed = asyncio.Event()

    problems: list[str] = []
    try:
        await _drive(session, tap, _Remote(), planned, totals, runner, CheckOptions(wait_s=wait_s), problems, 0.0)
    finally:
        await session.close()
        await asyncio.gather(runner, return_exceptions=True)
        await asyncio.wait({consumer}, timeout=5)
        consumer.cancel()
    if fatal and not _ends_fatal(rec):
        problems.append(f"client error: {fatal[0]}")
    return (not problems, "; ".join(problems))


def _ends_fatal(rec: Recording) -> bool:
    from tui.replay.check import _recorded_fatal

    return _recorded_fatal(rec)


@dataclass
class ConcurrencyResult:
    sessions: int
    passed: int
    wall_s: float
    connections: int
    failures: list[str]
    audio_s: float


async def concurrency(sessions: int, wait_s: float = 60.0) -> ConcurrencyResult:
    paths = bundled()
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve_replays, args=([str(p) for p in paths], child), daemon=True)
    proc.start()
    try:
        base_url, ca_file = await asyncio.to_thread(parent.recv)
        t0 = time.perf_counter()
        results = await asyncio.gather(
            *(_client_replay(n, paths[n % len(paths)], base_url, ca_file, wait_s) for n in range(sessions)),
            return_exceptions=True,
        )
        wall = time.perf_counter() - t0
        parent.send("done")
        server, started, _closes = await asyncio.to_thread(parent.recv)
    finally:
        proc.terminate()
        proc.join(5)
    failures: list[str] = []
    passed = 0
    for n, r in enumerate(results):
        s_ok, s_why = server.get(n, (False, ["the mock never saw this session"]))
        if isinstance(r, BaseException):
            failures.append(f"r{n} {paths[n % len(paths)].stem}: client raised {type(r).__name__}: {r}")
        elif not (r[0] and s_ok):
            failures.append(f"r{n} {paths[n % len(paths)].stem}: {r[1]} {'; '.join(s_why)}".strip())
        else:
            passed += 1
    audio = sum(audio_parts(read_recording(paths[n % len(paths)]))[0] for n in range(sessions))
    return ConcurrencyResult(sessions, passed, wall, started, failures, audio)


# ------------------------------------------------------------------------------------------------ figures


async def figures_async(
    sessions: int = 100, long_turns: int = 12, overhead_reps: int = 5, rounds: int = 5
) -> dict[str, Any]:
    try:  # start up as ``replay --check`` and the ``regress`` workers do (imports, then the heap frozen)
        from tui.replay.check import settle_heap
    except ImportError:
        pass
    else:
        settle_heap()
    out: dict[str, Any] = {}
    for p in bundled():  # a first pass: imports, model schemas and the first TLS costs paid
        await replay_one(p)
    out["bundled"] = [await bundled_row(p, rounds) for p in bundled()]
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        long_path = await record_long_session(Path(tmp) / "long.glrec", long_turns)
        out["long"] = await replay_one(long_path)
        # Recorder overhead: the long voice session (the most frames per second), alternating off/on.
        # The writer thread is measured in the same runs (a third of each round) for comparison.
        off: list[ReplayRow] = []
        on: list[ReplayRow] = []
        thread: list[ReplayRow] = []
        for i in range(overhead_reps):
            off.append(await replay_one(long_path))
            on.append(await replay_one(long_path, record_to=Path(tmp) / f"again{i}.glrec"))
            thread.append(await replay_one(long_path, record_to=Path(tmp) / f"thread{i}.glrec", writer="thread"))
        for r in on + thread:
            if not r.ok:
                raise SystemExit(f"a recording replay failed: {r.problems}")
        out["overhead"] = ([r.wall_s for r in off], [r.wall_s for r in on])
        out["overhead_cpu"] = ([r.cpu_s for r in off], [r.cpu_s for r in on])
        out["overhead_child_cpu"] = [r.child_cpu_s for r in on]
        out["overhead_thread"] = [r.wall_s for r in thread]
        out["overhead_thread_cpu"] = [r.cpu_s for r in thread]
    out["concurrency"] = await concurrency(sessions)
    return out


async def bundled_row(path: Path, rounds: int, by_clock: bool = False) -> ReplayRow:
    """``path`` replayed ``rounds`` times; for a file with audio (or ``by_clock``: recorded at real time) each
    replay is followed by ``sdk_message_cost`` and ``sdk_floor``. The row of the median replay, with the median
    floor, host factor and scaled speed."""
    runs: list[ReplayRow] = []
    floors: list[float] = []
    factors: list[float] = []
    for _ in range(rounds):
        runs.append(await replay_one(path))
        runs[-1].by_clock = by_clock
        if runs[-1].audio_s <= 0 and not by_clock:
            break  # no real-time ratio to put beside a floor: one replay says what it costs
        factors.append(host_factor(*await sdk_message_cost()))
        floors.append(await sdk_floor(path))
    row = sorted(runs, key=lambda r: r.wall_s)[len(runs) // 2]
    if floors:
        row.floor_s = statistics.median(floors)
        row.host_factor = statistics.median(factors)
        row.baseline_speed = statistics.median(r.speed * f for r, f in zip(runs, factors, strict=True))
    if not all(r.ok for r in runs):
        row.ok = False
        row.problems = next(r.problems for r in runs if not r.ok)
    return row


def figures(sessions: int = 100, long_turns: int = 12, overhead_reps: int = 5, rounds: int = 5) -> dict[str, Any]:
    """Run everything (see the module docstring); returns raw results for ``tools/bench.py``."""
    return asyncio.run(figures_async(sessions, long_turns, overhead_reps, rounds))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--sessions", type=int, default=100)
    p.add_argument("--long-turns", type=int, default=12)
    p.add_argument("--overhead-reps", type=int, default=5)
    p.add_argument("--rounds", type=int, default=5, help="replays (and SDK floors) per bundled voice recording")
    args = p.parse_args()
    f = figures(args.sessions, args.long_turns, args.overhead_reps, args.rounds)
    print(
        f"{'recording':<22}{'ok':>4}{'clock s':>9}{'audio s':>9}{'wall s':>8}{'× real':>8}{'size/wire':>10}"
        f"{'SDK floor s':>12}{'floor ×':>8}"
    )
    for r in [*f["bundled"], f["long"]]:
        floor = f"{r.floor_s:12.4f}{r.real_s / r.floor_s:8.0f}" if r.floor_s else ""
        print(
            f"{r.name:<22}{'yes' if r.ok else 'NO':>4}{r.clock_s:9.2f}{r.audio_s:9.2f}{r.wall_s:8.3f}"
            f"{r.speed:8.0f}{r.size / r.wire:10.3f}{floor}  {'; '.join(r.problems)}"
        )
    off, on = f["overhead"]
    coff, con = f["overhead_cpu"]

    def paired(a: list[float], b: list[float]) -> float:
        return statistics.median(y / x for x, y in zip(a, b, strict=True)) - 1

    print(
        f"recorder overhead (median over rounds of with ÷ without): wall {paired(off, on):+.1%} "
        f"(median {statistics.median(off):.3f} s off, {statistics.median(on):.3f} s on), CPU {paired(coff, con):+.1%}, "
        f"writer process {statistics.median(f['overhead_child_cpu']):.3f} s CPU; with a writer thread instead: wall "
        f"{paired(off, f['overhead_thread']):+.1%}, CPU {paired(coff, f['overhead_thread_cpu']):+.1%}"
    )
    c: ConcurrencyResult = f["concurrency"]
    print(
        f"{c.sessions} concurrent replays: {c.passed} passed in {c.wall_s:.1f} s "
        f"({c.connections} connections; {c.audio_s:.0f} s of model audio → {c.audio_s / c.wall_s:.0f}× real time)"
    )
    for why in c.failures[:10]:
        print("  FAIL", why)
    return 0 if c.passed == c.sessions else 1


if __name__ == "__main__":
    raise SystemExit(main())
