#!/usr/bin/env python3
"""Speaker benchmark with a fake device clock: audio heard after ``interrupted``, and underruns under bursty arrival.

Drives ``tui.media.playback.PlaybackBuffer`` (the speaker's real core; the sounddevice shell only calls ``pull``
from its callback) with a simulated device that pulls one block every ``block_ms`` of simulated time.

(a) Interruption: a long generation plays; ``interrupted`` arrives at a random instant; late chunks of the same
    generation keep arriving after it. Measured: ms of the model's audio that reach the device after the
    instant ``interrupted`` is received (the rest of the block already handed over, plus any audio in blocks
    pulled later). Device/driver latency is excluded (it is the same for every client; anchors-clients §4.2).
(b) Bursty arrival (anchors-clients §3.6 and §4.2: 100–240 ms chunks, 150–180 ms gaps). Models:
    - ``paced+gaps``: the server generates at real-time speed (the harshest speed that can work at all) and
      delivers each 100–240 ms chunk when it is ready, except that half of all deliveries stall for a 150–180 ms
      gap after the previous one; chunks held up by a stall then arrive back to back.
    - ``bursts``: bursts of 1–3 back-to-back 100–240 ms chunks, each burst followed by a 150–180 ms gap.
    - ``fast+gaps``: the same as ``paced+gaps`` with generation at 1.5× real time (what the server usually manages).
    - ``iid``: each message 100–240 ms of audio, each gap 150–180 ms, independent: on average barely faster than
      real time (1.03×), a random walk that no fixed pre-buffer can cover on long turns; shown for honesty, and
      to show the adaptive pre-buffer.
    Measured: underruns (playback ran dry mid-turn), added latency (first chunk's arrival → first sample
    handed to the device), per pre-buffer setting.

(c) What resampling costs on the event loop, for devices that cannot open at 16/24 kHz.
(d) With ``--real``: the real ``Speaker`` (sounddevice shell and all) on a private PulseAudio server's null sink,
    which PortAudio reaches through the ALSA pulse plugin and which consumes audio in real time: the time from
    ``interrupt()`` to the next device callback, the audio pulled after it, and underruns under real-time bursts.

Usage: ``.venv/bin/python tools/bench_audio.py [--turns N] [--seed S] [--real]``. Prints figures; exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.media.playback import PlaybackBuffer

RATE = 24_000
SPEAKER_RATE = RATE


def tone(ms: float) -> bytes:
    """Non-silent PCM (every sample non-zero) so heard audio can be counted exactly."""
    frames = int(ms * RATE / 1000)
    return b"\x10\x27" * frames  # 10000, constant: any non-zero sample is model audio


def count_audio_frames(block: bytes) -> int:
    return int(np.count_nonzero(np.frombuffer(block, dtype="<i2")))


# ------------------------------------------------------------------------------------------- (a) interruption


@dataclass
class InterruptResult:
    heard_after_ms: list[float]
    pulled_after_ms: list[float]
    late_dropped: int


def bench_interrupt(trials: int, block_ms: float, rng: random.Random) -> InterruptResult:
    block_frames = int(block_ms * RATE / 1000)
    heard: list[float] = []
    pulled_after: list[float] = []
    late_dropped = 0
    for _ in range(trials):
        buf = PlaybackBuffer(rate=RATE, prebuffer_ms=120)
        t = 0.0
        # 2 s of audio in 200 ms chunks, arriving at 1.5x real time.
        arrivals = [(i * 0.2 / 1.5, tone(200)) for i in range(10)]
        interrupt_at = rng.uniform(0.3, 1.2)
        # Late chunks of the interrupted generation keep arriving after the interruption.
        late = [(interrupt_at + rng.uniform(0.0, 0.05) + k * 0.02, tone(200)) for k in range(3)]
        # Loop-thread events in time order: chunk arrivals and the interruption (None marks it).
        pending: list[tuple[float, bytes | None]] = sorted([*arrivals, *late, (interrupt_at, None)], key=lambda a: a[0])
        interrupted = False
        last_block_start = 0.0
        last_block_audio = 0
        heard_ms = 0.0
        pulled_ms = 0.0
        while t < 2.5:
            while pending and pending[0][0] <= t:
                at, pcm = pending.pop(0)
                if pcm is None:
                    # The rest of the block already handed to the device plays after the interruption.
                    block_end = last_block_start + block_ms / 1000
                    if last_block_audio and block_end > at:
                        heard_ms += min(block_end - at, last_block_audio / RATE) * 1000
                    buf.interrupt(0)
                    interrupted = True
                elif not buf.push(pcm, 0, at):
                    late_dropped += 1
            block = buf.pull(block_frames, t)
            audio = count_audio_frames(block)
            if interrupted:
                heard_ms += audio * 1000 / RATE
                pulled_ms += audio * 1000 / RATE
            last_block_start, last_block_audio = t, audio
            t += block_ms / 1000
        heard.append(heard_ms)
        pulled_after.append(pulled_ms)
    return InterruptResult(heard, pulled_after, late_dropped)


# ------------------------------------------------------------------------------------------- (b) bursty arrival


def arrivals_paced_gaps(rng: random.Random, turn_s: float, speed: float) -> list[tuple[float, int]]:
    """(arrival s, chunk ms) for one turn: ready at real time / speed; half the deliveries stall 150–180 ms."""
    out: list[tuple[float, int]] = []
    nominal = 0.0
    prev = 0.0
    while nominal < turn_s:
        ms = rng.randint(100, 240)
        ready = nominal / speed
        at = max(ready, prev + rng.uniform(0.0, 0.01))
        if out and rng.random() < 0.5:
            at = max(ready, prev + rng.uniform(0.150, 0.180))
        out.append((at, ms))
        prev = at
        nominal += ms / 1000
    return out


_BESIDE = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-live-captures" / "pydantic-ai"
CAPTURES = _BESIDE if _BESIDE.is_dir() else Path("/work/shared/data/real-live-captures/pydantic-ai")
"""The only real captures with per-frame timing (gemini-3.8-live); their audio was truncated upstream."""


def captured_turns() -> list[list[float]]:
    """Arrival offsets (s, from the first audio chunk) of every model turn in the timed real captures."""
    turns: list[list[float]] = []
    for path in sorted(CAPTURES.glob("*__*.jsonl")) if CAPTURES.is_dir() else []:
        rows = [json.loads(line) for line in path.read_text().splitlines()[1:]]
        current: list[float] = []
        for row in rows:
            frame = row.get("frame") or {}
            sc = frame.get("serverContent") or {}
            parts = (sc.get("modelTurn") or {}).get("parts") or []
            if row.get("dir") == "s2c" and row.get("t") is not None and any("inlineData" in p for p in parts):
                current.append(float(row["t"]))
            if sc.get("generationComplete") or sc.get("turnComplete"):
                if len(current) > 1:
                    turns.append([t - current[0] for t in current])
                current = []
    return turns


def arrivals_captured(rng: random.Random, timings: list[list[float]]) -> list[tuple[float, int]]:
    """A real turn's arrival times; chunk sizes drawn from 100–240 ms (the captures kept only 32 bytes of each)."""
    return [(at, rng.randint(100, 240)) for at in rng.choice(timings)]


def arrivals_bursts(rng: random.Random, turn_s: float) -> list[tuple[float, int]]:
    """Bursts of 1–3 back-to-back chunks of 100–240 ms, each burst followed by a 150–180 ms gap."""
    out: list[tuple[float, int]] = []
    at = 0.0
    total = 0.0
    while total < turn_s:
        for _ in range(rng.randint(1, 3)):
            ms = rng.randint(100, 240)
            out.append((at, ms))
            total += ms / 1000
            at += 0.002
        at += rng.uniform(0.150, 0.180)
    return out


def arrivals_iid(rng: random.Random, turn_s: float) -> list[tuple[float, int]]:
    out: list[tuple[float, int]] = []
    at = 0.0
    total = 0.0
    while total < turn_s:
        ms = rng.randint(100, 240)
        out.append((at, ms))
        total += ms / 1000
        at += rng.uniform(0.150, 0.180)
    return out


@dataclass
class BurstResult:
    turns: int
    underruns: int
    turns_with_underrun: int
    latency_ms: list[float]
    final_prebuffer_ms: float
    least_lead_ms: float = 0.0
    """The least fixed lead (first arrival → first sample) with which every one of these turns plays without running
    dry, whatever the client: what the arrivals themselves demand (device blocks aside)."""


def bench_bursty(
    model: str, prebuffer_ms: float, turns: int, block_ms: float, seed: int, *, adaptive: bool
) -> BurstResult:
    rng = random.Random(seed)
    block = block_ms / 1000
    block_frames = int(block_ms * RATE / 1000)
    buf = PlaybackBuffer(
        rate=RATE,
        prebuffer_ms=prebuffer_ms,
        max_prebuffer_ms=300 if adaptive else prebuffer_ms,
        adapt_step_ms=40 if adaptive else 0,
    )
    latencies: list[float] = []
    turns_bad = 0
    least_lead = 0.0
    t0 = 0.0
    for gen in range(turns):
        turn_s = rng.uniform(2.0, 10.0)
        if model == "captured":
            arr = arrivals_captured(rng, captured_turns())
        elif model == "bursts":
            arr = arrivals_bursts(rng, turn_s)
        elif model == "iid":
            arr = arrivals_iid(rng, turn_s)
        else:
            arr = arrivals_paced_gaps(rng, turn_s, 1.0 if model == "paced+gaps" else 1.5)
        nominal = 0.0  # where each chunk's audio starts in the turn: it must have arrived by lead + that
        for at, ms in arr:
            least_lead = max(least_lead, at - arr[0][0] - nominal)
            nominal += ms / 1000
        # Device clock: blocks on a fixed grid; the turn starts at an arbitrary phase of it.
        start = t0 + rng.uniform(0, block)
        events = [(start + at, 0, ms) for at, ms in arr]
        last_arrival = events[-1][0]
        heapq.heapify(events)
        before = buf.underruns
        first_arrival = events[0][0]
        first_sample_at: float | None = None
        t = (int(t0 / block) + 1) * block
        ended = False
        while True:
            while events and events[0][0] <= t:
                at, _, ms = heapq.heappop(events)
                buf.push(tone(ms), gen, at)
            if not events and not ended and t >= last_arrival:
                buf.mark_end(gen)  # generationComplete rides right behind the last chunk
                ended = True
            out = buf.pull(block_frames, t)
            if first_sample_at is None and any(out):
                first_sample_at = t
            t += block
            if ended and buf.buffered_ms() == 0 and not buf.playing:
                break
        assert first_sample_at is not None
        latencies.append((first_sample_at - first_arrival) * 1000)
        if buf.underruns > before:
            turns_bad += 1
        t0 = t + rng.uniform(0.5, 2.0)  # the user speaks between turns
    return BurstResult(turns, buf.underruns, turns_bad, latencies, buf.prebuffer_ms, least_lead * 1000)


def bench_resampler() -> list[tuple[int, int, float, float]]:
    """(rate in, rate out, chunk ms, µs per chunk) for the resampling a device without 16/24 kHz needs."""
    from tui.media.resample import Resampler

    rows = []
    for rate_in, rate_out, ms in ((44100, 16000, 40), (48000, 16000, 40), (24000, 44100, 200), (24000, 48000, 200)):
        r = Resampler(rate_in, rate_out)
        block = np.random.default_rng(0).integers(-3000, 3000, int(rate_in * ms / 1000)).astype("<i2").tobytes()
        for _ in range(10):
            r.process(block)
        n = 100
        t0 = time.perf_counter()
        for _ in range(n):
            r.process(block)
        rows.append((rate_in, rate_out, float(ms), (time.perf_counter() - t0) / n * 1e6))
    return rows


# ------------------------------------------------------------------------------------------- (d) real device


@contextlib.contextmanager
def private_pulse_server() -> Iterator[str | None]:
    """A PulseAudio server with a null sink (paced in real time) on a private socket; None when unavailable."""
    if shutil.which("pulseaudio") is None:
        yield None
        return
    base = Path(tempfile.mkdtemp(prefix="pa-bench-", dir="/tmp"))
    (base / "run").mkdir(mode=0o700)
    (base / "home").mkdir()
    sock = base / "run" / "native"
    (base / "default.pa").write_text(
        "load-module module-null-sink sink_name=nullsink\n"
        f"load-module module-native-protocol-unix auth-anonymous=1 socket={sock}\n"
        "set-default-sink nullsink\n"
    )
    proc = subprocess.Popen(
        [
            "pulseaudio",
            "-n",
            "-F",
            str(base / "default.pa"),
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--use-pid-file=no",
            "--disallow-exit",
        ],
        env={"HOME": str(base / "home"), "XDG_RUNTIME_DIR": str(base / "run"), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while not sock.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        yield f"unix:{sock}" if sock.exists() else None
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)


async def bench_real_device(turns: int, trials: int, seed: int) -> None:
    """The real Speaker (sounddevice shell + core) on PortAudio → ALSA pulse plugin → a paced null sink."""
    import asyncio

    from tui.media.audio import Speaker
    from tui.media.devices import list_devices, resolve_device

    pulse = resolve_device("pulse", "output", list_devices())
    log: list[tuple[float, int]] = []  # (callback time, audible frames pulled)

    class Observed(Speaker):
        def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
            super()._callback(outdata, frames, time_info, status)
            log.append((time.monotonic(), count_audio_frames(bytes(outdata))))

    rng = random.Random(seed)
    sp = Observed(device=pulse, block_ms=10, prebuffer_ms=120)
    sp.start()
    try:
        # The pulse plugin's stream stalls for a second or two after it opens, then runs steadily: wait for that.
        async with asyncio.timeout(15):
            while sum(1 for t, _ in log if t > time.monotonic() - 0.5) < 40:
                await asyncio.sleep(0.1)
        underflows_at_start = sp.device_underflows
        print(
            f"    device: {sp.device_name} at {sp.device_rate} Hz, 10 ms blocks, "
            f"PortAudio output latency {sp._stream.latency * 1000:.0f} ms (excluded below)"
        )
        next_gap, pulled_after = [], []
        for trial in range(trials):
            sp.play(tone(3000), SPEAKER_RATE, trial)
            await asyncio.sleep(rng.uniform(0.3, 0.8))
            cut_at = time.monotonic()
            sp.interrupt(trial)
            await asyncio.sleep(0.1)
            async with asyncio.timeout(5):  # the pulse stream can stall now and then: wait for its next callback
                while not any(t > cut_at for t, _ in log):
                    await asyncio.sleep(0.01)
            after = [(t, n) for t, n in log if t > cut_at]
            next_gap.append((after[0][0] - cut_at) * 1000)
            pulled_after.append(sum(n for _, n in after) * 1000 / SPEAKER_RATE)
            sp.play(b"", SPEAKER_RATE, trial)  # nothing: keeps generations in step
        print(
            f"    after `interrupted` ({trials} trials): next device callback in p50 {pct(next_gap, 0.5):.1f} ms, "
            f"max {max(next_gap):.1f} ms"
            f"; model audio pulled from the buffer after it: max {max(pulled_after):.2f} ms. So only what was already "
            f"handed to the device plays on: <= one {sp.block_ms} ms block beyond PortAudio's output latency"
        )
        base_gen = trials + 1
        before = sp.underruns
        delays = []
        for k in range(turns):
            gen = base_gen + k
            t0 = time.monotonic()
            for at, ms in arrivals_bursts(rng, rng.uniform(1.5, 3.0)):
                await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
                sp.play(tone(ms), SPEAKER_RATE, gen)
            sp.end(gen)
            async with asyncio.timeout(30):
                while not any(p.generation == gen for p in sp.buffer.take_finished()):
                    await asyncio.sleep(0.01)
            tp = sp.buffer.turn_playback(gen)
            if tp is not None and tp.start_delay_ms is not None:
                delays.append(tp.start_delay_ms)
        print(
            f"    'bursts' arrivals in real time, {turns} turns: {sp.underruns - before} underruns, "
            f"{sp.device_underflows - underflows_at_start} device underflows, "
            f"added latency p50 {pct(delays, 0.5):.1f} ms "
            f"max {max(delays):.1f} ms, callback errors {sp.callback_errors}"
        )
    finally:
        sp.stop()


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--turns", type=int, default=300, help="turns per bursty scenario (2-10 s each)")
    p.add_argument("--trials", type=int, default=500, help="interruption trials")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--real", action="store_true", help="also (d): the real Speaker on a private PulseAudio null sink")
    p.add_argument("--real-turns", type=int, default=10)
    args = p.parse_args(argv)

    print("(a) audio reaching the device after `interrupted` (fake device clock; device latency excluded)")
    columns = f"{'block':>6}  {'max ms':>7}  {'mean ms':>7}  {'p99 ms':>7}  {'pulled after ms (max)':>21}"
    print(f"    {columns}  late chunks dropped")
    for block_ms in (5.0, 10.0, 20.0, 40.0):
        r = bench_interrupt(args.trials, block_ms, random.Random(args.seed))
        print(
            f"    {block_ms:>4.0f}ms  {max(r.heard_after_ms):7.2f}  {statistics.fmean(r.heard_after_ms):7.2f}  "
            f"{pct(r.heard_after_ms, 0.99):7.2f}  {max(r.pulled_after_ms):21.2f}  {r.late_dropped}"
        )
    print("    target: <= 12 ms at the Speaker's default 10 ms block")
    print()
    print(f"(b) bursty arrival, {args.turns} turns of 2-10 s per row, 10 ms device blocks")
    header = f"    {'model':<11} {'prebuffer':>9} {'mode':<8} {'underruns':>9} {'turns hit':>9} "
    header += f"{'lat p50':>8} {'lat max':>8} {'end prebuf':>10}"
    print(header)
    timed = captured_turns()
    models = (["captured"] if timed else []) + ["bursts", "fast+gaps", "paced+gaps", "iid"]
    if timed:
        spans = ", ".join(f"{len(t)} chunks in {t[-1] * 1000:.0f} ms" for t in timed)
        print(f"    captured = the {len(timed)} timed real gemini-3.8 turns: {spans}")
    else:
        print(f"    (no timed captures at {CAPTURES}: the 'captured' rows are skipped)")
    for model in models:
        settings = (
            (0.0, False),
            (60.0, False),
            (100.0, False),
            (120.0, False),
            (140.0, False),
            (120.0, True),
            (140.0, True),
        )
        for prebuffer, adaptive in settings:
            r = bench_bursty(model, prebuffer, args.turns, 10.0, args.seed, adaptive=adaptive)
            print(
                f"    {model:<11} {prebuffer:>7.0f}ms {'adaptive' if adaptive else 'fixed':<8} {r.underruns:>9} "
                f"{r.turns_with_underrun:>9} {pct(r.latency_ms, 0.5):>6.1f}ms {max(r.latency_ms):>6.1f}ms "
                f"{r.final_prebuffer_ms:>8.0f}ms"
            )
    print("    target: 0 underruns with <= 150 ms added latency (Speaker default: 140 ms, adaptive up to 300 ms)")
    print()
    print("(c) resampling cost on the event loop (wall clock, this machine)")
    for rate_in, rate_out, ms, us in bench_resampler():
        share = us / (ms * 1000) * 100
        print(
            f"    {rate_in:>5} -> {rate_out:>5} Hz, {ms:.0f} ms chunks: {us:7.0f} us per chunk ({share:.2f}% of a core)"
        )
    if args.real:
        import asyncio

        print()
        print(
            "(d) real device: sounddevice + PortAudio + ALSA pulse plugin + a private PulseAudio null sink (real time)"
        )
        with private_pulse_server() as server:
            if server is None:
                print("    skipped: pulseaudio is not installed or did not start (apt-get install pulseaudio)")
            else:
                os.environ["PULSE_SERVER"] = server  # read when PortAudio loads, which happens just below
                asyncio.run(bench_real_device(args.real_turns, 20, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
