"""Audio over SSH: a private PulseAudio server (null sink and source) reached through ``PULSE_SERVER``, the way a
forwarded one is. Real PortAudio, real ALSA pulse plugin, real server; the server's null devices are paced in
real time, unlike ALSA's null PCM.

The case runs in a fresh interpreter (PortAudio reads its device list once per process) with a private HOME, no
``.asoundrc`` and an ``SSH_CONNECTION``, so the only usable device is the forwarded server's.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.needs_portaudio

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PA = """
load-module module-null-sink sink_name=nullsink
load-module module-null-source source_name=nullsrc
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
set-default-sink nullsink
set-default-source nullsrc
"""


@pytest.fixture
def pulse_server() -> Iterator[str]:
    if shutil.which("pulseaudio") is None:
        pytest.skip("PulseAudio is not installed (apt-get install pulseaudio; .ci/run installs it)")
    # A short path: unix socket names are limited to 108 bytes, and pytest's tmp_path can be longer.
    base = Path(tempfile.mkdtemp(prefix="pa-", dir="/tmp"))
    run, home = base / "run", base / "home"
    run.mkdir(mode=0o700)
    home.mkdir()
    sock = run / "native"
    (base / "default.pa").write_text(DEFAULT_PA.format(socket=sock))
    log = (base / "log").open("w")
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
            "--log-target=stderr",
        ],
        env={"HOME": str(home), "XDG_RUNTIME_DIR": str(run), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(str(sock))
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    last = (base / "log").read_text().strip().splitlines()[-1:]
                    pytest.skip(f"PulseAudio did not start here: {last}")
                time.sleep(0.05)
        yield str(sock)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def test_over_ssh_the_forwarded_server_is_found_and_used(pulse_server: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "PULSE_SERVER": f"unix:{pulse_server}",
        "SSH_CONNECTION": "10.0.0.1 50000 10.0.0.2 22",
    }
    probe = subprocess.run(
        [sys.executable, "-c", "import sounddevice"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    if probe.returncode != 0:
        pytest.skip("PortAudio is not installed here (apt-get install libportaudio2; .ci/run installs it)")
    out = subprocess.run([sys.executable, __file__], capture_output=True, text=True, env=env, timeout=90, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["notices"] == [["info", f"over SSH: using the forwarded audio server at unix:{pulse_server}"]]
    assert r["mic_device"] == "pulse" and r["speaker_device"] == "pulse"
    assert r["chunk_sizes"] == [3200] * 5  # the default 100 ms at 16 kHz from the server's (silent) null source
    assert r["mic_level"] == -120.0
    assert r["turn"] == [300.0, 300.0, False]  # generated ms, heard ms, interrupted
    assert r["underruns"] == 0 and r["callback_errors"] == 0
    generated, played_at_cut, played_later, interrupted = r["cut"]
    assert generated == 5000.0 and interrupted and 200 <= played_at_cut < 5000
    assert played_later == played_at_cut  # not one more frame of the cut turn left the buffer


def test_alsa_lib_does_not_print_over_the_screen_on_an_xrun(pulse_server: str, tmp_path: Path) -> None:
    env = {
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "PULSE_SERVER": f"unix:{pulse_server}",
    }

    # Both at once (they are independent clients of the server): the control, plain sounddevice with a callback far
    # too slow for its device, and the same through tui.media.devices.load_sounddevice.
    procs = {
        mode: subprocess.Popen(
            [sys.executable, __file__, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for mode in ("xrun-plain", "xrun-quiet")
    }
    errs = {}
    for mode, proc in procs.items():
        _, errs[mode] = proc.communicate(timeout=90)
        if "PortAudio library not found" in errs[mode]:
            pytest.skip("PortAudio is not installed here (apt-get install libportaudio2; .ci/run installs it)")
        assert proc.returncode == 0, errs[mode][-3000:]
    if "ALSA lib" not in errs["xrun-plain"]:
        pytest.skip("this alsa-lib printed nothing on an xrun, so there is nothing to silence here")
    assert "ALSA lib" not in errs["xrun-quiet"]


def _xrun(quiet: bool) -> None:
    import time

    if quiet:
        from tui.media.devices import load_sounddevice

        sd = load_sounddevice()
    else:
        import sounddevice as sd

    def slow(outdata: object, frames: int, time_info: object, status: object) -> None:
        outdata[:] = bytes(len(outdata))  # type: ignore[index, arg-type]
        time.sleep(0.05)  # 5x longer than the block: the device runs dry

    with sd.RawOutputStream(samplerate=24000, channels=1, dtype="int16", blocksize=240, device="pulse", callback=slow):
        time.sleep(4)


# ------------------------------------------------------------------------------------- run inside the child


async def _child() -> dict[str, object]:
    import asyncio

    from tui.config import AudioSettings, VideoSettings
    from tui.live.events import GenerationComplete, Interrupted, ModelAudio, Notice
    from tui.media.bridge import MediaBridge

    class Session:
        def __init__(self) -> None:
            self.audio: list[bytes] = []

        async def send_audio(self, pcm16k: bytes) -> None:
            self.audio.append(pcm16k)

        async def send_frame(self, jpeg: bytes, *, width: int, height: int, source: str) -> None: ...

        async def audio_stream_end(self) -> None: ...

        def note_action(self, name: str, **data: object) -> None: ...

    notices: list[Notice] = []
    session = Session()
    bridge = MediaBridge(AudioSettings(), VideoSettings(), on_notice=notices.append)
    await bridge.start(session)
    try:
        assert bridge.mic is not None and bridge.speaker is not None, notices
        bridge.handle(ModelAudio(b"\x10\x27" * 7200, 24000, 0))  # 300 ms
        bridge.handle(GenerationComplete(0))
        finished = []
        async with asyncio.timeout(20):
            while not finished or len(session.audio) < 5:
                await asyncio.sleep(0.02)
                finished += bridge.finished_turns()
        # A barge-in on a device paced in real time: cut mid-turn, and nothing of it is pulled afterwards.
        bridge.handle(ModelAudio(b"\x10\x27" * 24000 * 5, 24000, 1))  # 5 s
        async with asyncio.timeout(20):
            while (p := bridge.turn_playback(1)) is None or p.played_ms < 200:
                await asyncio.sleep(0.01)
        bridge.handle(Interrupted(1))
        at_cut = bridge.turn_playback(1)
        bridge.handle(ModelAudio(b"\x10\x27" * 2400, 24000, 1))  # a late chunk of the cut turn
        await asyncio.sleep(0.3)
        after = bridge.turn_playback(1)
        assert at_cut is not None and after is not None
        levels = bridge.levels()
        return {
            "cut": [at_cut.generated_ms, at_cut.played_ms, after.played_ms, after.interrupted],
            "notices": [[n.level, n.message] for n in notices],
            "mic_device": bridge.mic.device_name,
            "speaker_device": bridge.speaker.device_name,
            "chunk_sizes": [len(c) for c in session.audio[:5]],
            "mic_level": bridge.mic.levels.rms_dbfs,
            "turn": [finished[0].generated_ms, finished[0].played_ms, finished[0].interrupted],
            "underruns": levels.speaker.underruns,
            "callback_errors": bridge.mic.callback_errors + bridge.speaker.callback_errors,
        }
    finally:
        await bridge.stop()


if __name__ == "__main__":
    import asyncio

    os.environ.pop("XDG_RUNTIME_DIR", None)
    if sys.argv[1:] == ["xrun-plain"]:
        _xrun(quiet=False)
    elif sys.argv[1:] == ["xrun-quiet"]:
        _xrun(quiet=True)
    else:
        print(json.dumps(asyncio.run(_child())))
