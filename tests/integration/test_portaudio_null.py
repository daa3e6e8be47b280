"""The real sounddevice/PortAudio path on ALSA's null device: streams open, callbacks run, chunks flow, flush works.

Each case runs in a fresh interpreter whose HOME holds an ``.asoundrc`` making ALSA's ``null`` PCM the default, so
PortAudio gets a real device on any machine (CI has no sound card) and a developer's speakers never play. The
null device is not paced: its callbacks run back to back, faster than real time. So these tests check formats,
hand-over, bounds and flushing, never timing (timing is measured by ``tools/bench_audio.py``), and that the
microphone refuses such a device (it would send audio to the server many times faster than anyone speaks).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.needs_portaudio

ROOT = Path(__file__).resolve().parents[2]
ASOUNDRC = "pcm.!default { type null }\nctl.!default { type hw card 0 }\n"


def run_case(tmp_path: Path, case: str) -> dict[str, object]:
    home = tmp_path / "alsa-home"
    home.mkdir(exist_ok=True)
    (home / ".asoundrc").write_text(ASOUNDRC)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    probe = subprocess.run(
        [sys.executable, "-c", "import sounddevice as sd; print(sd.default.device[1])"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if probe.returncode != 0:
        if "PortAudio library not found" in probe.stderr or "OSError" in probe.stderr:
            pytest.skip("PortAudio is not installed here (apt-get install libportaudio2; .ci/run installs it)")
        pytest.skip(f"sounddevice cannot be imported: {probe.stderr.strip().splitlines()[-1:]}")
    if probe.stdout.strip() == "-1":
        pytest.skip("ALSA's null PCM gave PortAudio no default device (is libasound2 installed?)")
    out = subprocess.run(
        [sys.executable, __file__, case], capture_output=True, text=True, env=env, timeout=90, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_list_devices_shows_the_default_device(tmp_path: Path) -> None:
    home = tmp_path / "alsa-home"
    run_case(tmp_path, "noop")  # skips with a reason when PortAudio is missing
    out = subprocess.run(
        [sys.executable, "-m", "tui", "--list-devices"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert "default" in out.stdout and "><" in out.stdout  # the null default is both input and output


def test_real_mic_stream_gives_bounded_16k_chunks_and_refuses_a_device_not_clocked_in_real_time(
    tmp_path: Path,
) -> None:
    r = run_case(tmp_path, "mic")
    assert r["device_rate"] == 16000
    sizes = r["sizes"]
    assert isinstance(sizes, list) and sizes  # 40 ms at 16 kHz s16le (the null PCM takes 16 kHz: no resampling)
    assert set(sizes) <= {1280, 0}  # (0: the wake-up left for a waiting reader when the mic turned itself off)
    assert r["callback_errors"] == 0
    assert r["pending_max"] in (8, 9)  # the queue bound held while the reader stalled (+ that wake-up)
    assert r["overruns"] > 0  # and the excess was dropped and counted
    # The meter reads what the device gave, in dBFS. (Not necessarily silence: CI once read -10.5 dBFS from ALSA's
    # null PCM, -120 in every other run; nothing promises that its capture buffer holds zeros.)
    level = r["level"]
    assert isinstance(level, float) and -120.0 <= level <= 0.0
    # The null PCM runs back to back: the microphone notices within its first second and a half of audio and
    # turns itself off with a message, instead of sending minutes of audio per second to the server.
    assert "not clocked in real time" in str(r["error"]) and "--input-device" in str(r["error"])
    assert r["running"] is False


def test_real_speaker_plays_a_turn_and_flushes_on_interrupt(tmp_path: Path) -> None:
    r = run_case(tmp_path, "speaker")
    assert r["callback_errors"] == 0
    assert r["blocksize"] == 240  # 10 ms device blocks
    assert r["turn0"] == [1000.0, 1000.0, False]  # generated ms, played ms, interrupted
    generated, played, interrupted = r["turn1"]  # type: ignore[misc]
    # Everything generated was either handed to the device before the interruption or dropped by it, nothing
    # after (the free-running null PCM may get through much of a minute in the meantime; the paced PulseAudio
    # test shows the cut in the middle of a turn).
    assert generated == 60000.0 and interrupted and played > 0
    assert played + r["dropped"] == pytest.approx(generated)  # type: ignore[operator]
    assert r["buffered_after_interrupt"] == 0.0
    assert r["late_accepted"] is False
    assert r["peak_seen"] == pytest.approx(20 * __import__("math").log10(10000 / 32768), abs=0.01)


# ------------------------------------------------------------------------------------- run inside the child


async def _mic() -> dict[str, object]:
    import asyncio

    from tui.media.audio import Microphone
    from tui.media.devices import AudioUnavailable

    mic = Microphone(chunk_ms=40, queue_chunks=8)
    mic.start()
    # Stop reading for 0.6 s: 15 chunks arrive even from a device paced in real time (the null PCM is faster),
    # so the 8-chunk queue must overflow, whatever the pacing.
    await asyncio.sleep(0.6)
    pending_max = mic.pending()
    sizes = [len(b) for b in list(mic._queue._queue)]  # type: ignore[attr-defined]  # what was handed over
    error = ""
    try:
        await mic.read()
    except AudioUnavailable as exc:
        error = str(exc)
    running = mic.running
    mic.stop()
    return {
        "device_rate": mic.device_rate,
        "sizes": sizes,
        "overruns": mic.overruns,
        "pending_max": pending_max,
        "callback_errors": mic.callback_errors,
        "level": mic.levels.rms_dbfs,
        "error": error,
        "running": running,
    }


async def _speaker() -> dict[str, object]:
    import asyncio

    from tui.media.audio import Speaker

    sp = Speaker(prebuffer_ms=0)
    sp.start()
    blocksize = int(sp._stream.blocksize)  # what PortAudio was really asked for
    peak = -120.0
    sp.play(b"\x10\x27" * 24000, 24000, 0)  # 1 s at 10000
    sp.end(0)
    async with asyncio.timeout(10):  # instant on the free-running null PCM; 1 s on a device paced in real time
        while (tp := sp.buffer.turn_playback(0)) is None or tp.played_ms < 1000:
            await asyncio.sleep(0.002)
            peak = max(peak, sp.levels.take_peak())
    sp.play(b"\x10\x27" * 24000 * 60, 24000, 1)  # a minute: still playing when interrupted
    async with asyncio.timeout(10):
        while (tp := sp.buffer.turn_playback(1)) is None or tp.played_ms == 0:
            await asyncio.sleep(0.002)
    dropped = sp.interrupt(1)
    buffered = sp.buffer.buffered_ms()
    late = sp.play(b"\x10\x27" * 2400, 24000, 1)
    await asyncio.sleep(0.05)
    sp.stop()
    t0, t1 = sp.buffer.turn_playback(0), sp.buffer.turn_playback(1)
    assert t0 is not None and t1 is not None
    return {
        "blocksize": blocksize,
        "turn0": [t0.generated_ms, t0.played_ms, t0.interrupted],
        "turn1": [t1.generated_ms, t1.played_ms, t1.interrupted],
        "dropped": dropped,
        "buffered_after_interrupt": buffered,
        "late_accepted": late,
        "callback_errors": sp.callback_errors,
        "peak_seen": peak,
    }


def _child(case: str) -> None:
    import asyncio

    result: dict[str, object] = {}
    if case == "mic":
        result = asyncio.run(_mic())
    elif case == "speaker":
        result = asyncio.run(_speaker())
    print(json.dumps(result))


if __name__ == "__main__":
    _child(sys.argv[1])
