"""MediaBridge with the real Microphone/Speaker code over a fake sounddevice module (the device edge only)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.unit.test_media_fakes import FakeSoundDevice
from tui.config import AudioSettings, VideoSettings
from tui.live.events import GenerationComplete, InputTranscript, Interrupted, ModelAudio, Notice, OutputTranscript
from tui.media import bridge as bridge_mod
from tui.media.bridge import MediaBridge
from tui.media.devices import AudioUnavailable


@pytest.fixture(autouse=True)
def _local_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about a local machine: an SSH login running them must not add its audio-server notice."""
    for var in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "PULSE_SERVER", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(var, raising=False)


class FakeSession:
    def __init__(self) -> None:
        self.audio: list[bytes] = []
        self.frames: list[tuple[bytes, int, int, str]] = []
        self.stream_ends = 0
        self.actions: list[tuple[str, dict[str, Any]]] = []

    async def send_audio(self, pcm16k: bytes) -> None:
        self.audio.append(pcm16k)

    async def send_frame(self, jpeg: bytes, *, width: int, height: int, source: str) -> None:
        self.frames.append((jpeg, width, height, source))

    async def audio_stream_end(self) -> None:
        self.stream_ends += 1

    def note_action(self, name: str, **data: Any) -> None:
        self.actions.append((name, data))


def tone48k(ms: int, amp: float = 8000.0) -> bytes:
    t = np.arange(48 * ms) / 48000
    return np.round(amp * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()


async def settle(cond: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.005)


async def test_mic_is_resampled_sent_muted_and_gated() -> None:
    sd = FakeSoundDevice()  # the mic only does 48 kHz
    notices: list[Notice] = []
    b = MediaBridge(AudioSettings(mic_chunk_ms=40), VideoSettings(), sounddevice=sd, on_notice=notices.append)
    session = FakeSession()
    await b.start(session)
    try:
        mic = sd.stream("input")
        assert (mic.samplerate, mic.blocksize) == (48000, 1920)  # 40 ms at the device rate
        for _ in range(5):
            mic.feed_input(tone48k(40))
        await settle(lambda: b.chunks_sent == 5)
        sent = b"".join(session.audio)
        assert abs(len(sent) // 2 - 5 * 640) <= 32  # 200 ms at 16 kHz, less the resampler's 1 ms of lookahead
        levels = b.levels()
        assert levels.mic.available and levels.mic.level_dbfs == pytest.approx(-15.25, abs=0.1)  # 8000/32768 sine

        b.set_muted(True)
        mic.feed_input(tone48k(40))
        await asyncio.sleep(0.05)
        assert b.chunks_sent == 5 and session.actions[-1] == ("mute", {})
        b.set_muted(False)

        # Half-duplex: while the model's audio plays, the mic is withheld.
        b.set_half_duplex(True)
        b.handle(ModelAudio(b"\x10\x27" * 2400, 24000, 0))
        mic.feed_input(tone48k(40))
        await settle(lambda: b.gate.gated_chunks == 1)
        assert b.chunks_sent == 5 and b.levels().mic.gated
        b.handle(Interrupted(0))
        b.speaker.last_audible_at = None  # type: ignore[union-attr]
        mic.feed_input(tone48k(40))
        await settle(lambda: b.chunks_sent == 6)
        assert notices == []
    finally:
        await b.stop()
    assert all(s.closed for s in sd.streams)


async def test_mute_ends_the_audio_stream_once_and_drops_chunks_in_flight() -> None:
    sd = FakeSoundDevice()
    b = MediaBridge(AudioSettings(), VideoSettings(), sounddevice=sd)
    session = FakeSession()
    await b.start(session)
    try:
        mic = sd.stream("input")
        mic.feed_input(tone48k(40))
        await settle(lambda: b.chunks_sent == 1)
        b.mic.muted = True  # type: ignore[union-attr]
        mic.feed_input(tone48k(40))  # the device stops handing chunks over at once...
        b.mic.muted = False  # type: ignore[union-attr]
        mic.feed_input(tone48k(40))  # ...and one already on its way when the bridge mutes is dropped
        b.set_muted(True)
        b.set_muted(True)
        await settle(lambda: session.stream_ends == 1)
        await asyncio.sleep(0.05)
        assert session.stream_ends == 1 and b.chunks_sent == 1
        assert [a for a, _ in session.actions] == ["mute"]
        b.set_muted(False)
        mic.feed_input(tone48k(40))
        await settle(lambda: b.chunks_sent == 2)
        b.set_muted(True)
        await settle(lambda: session.stream_ends == 2)  # a new stretch of speech, a new stream end
    finally:
        await b.stop()


async def test_speaker_plays_flushes_on_interrupt_and_reports_played_ms() -> None:
    sd = FakeSoundDevice(output_rates={24000})
    b = MediaBridge(AudioSettings(jitter_ms=0), VideoSettings(), sounddevice=sd)
    await b.start(FakeSession())
    try:
        out = sd.stream("output")
        assert (out.samplerate, out.blocksize) == (24000, 240)  # 10 ms blocks
        b.handle(ModelAudio(b"\x10\x27" * 24000, 24000, 2))  # one second
        blocks = [out.pull_output() for _ in range(3)]
        assert all(blk == b"\x10\x27" * 240 for blk in blocks)
        b.handle(Interrupted(2))
        assert out.pull_output() == bytes(480)  # the very next block is silent
        b.handle(ModelAudio(b"\x10\x27" * 2400, 24000, 2))  # late chunk of the interrupted turn
        assert out.pull_output() == bytes(480)
        played = b.turn_playback(2)
        assert played is not None and played.played_ms == 30.0 and played.interrupted
        assert [(t.generation, t.played_ms, t.interrupted) for t in b.finished_turns()] == [(2, 30.0, True)]
        b.handle(ModelAudio(b"\x01\x00" * 480, 24000, 3))
        b.handle(GenerationComplete(3))
        assert out.pull_output() == b"\x01\x00" * 240
        assert b.levels().speaker.underruns == 0
    finally:
        await b.stop()


async def test_model_audio_is_resampled_for_a_44k1_only_device() -> None:
    sd = FakeSoundDevice(output_rates={44100})
    b = MediaBridge(AudioSettings(jitter_ms=0), VideoSettings(), sounddevice=sd)
    await b.start(FakeSession())
    try:
        out = sd.stream("output")
        assert out.samplerate == 44100
        b.handle(ModelAudio(b"\x10\x27" * 2400, 24000, 0))
        b.handle(GenerationComplete(0))
        got = np.frombuffer(b"".join(out.pull_output() for _ in range(12)), dtype="<i2")
        assert np.count_nonzero(got) == 4410  # exactly 100 ms at 44.1 kHz, the resampler's tail included
        assert np.all(got[100:4300] == 10000)
    finally:
        await b.stop()


async def test_echo_warning_is_a_notice() -> None:
    notices: list[Notice] = []
    b = MediaBridge(AudioSettings(enabled=False), VideoSettings(), on_notice=notices.append)
    await b.start(FakeSession())
    b.handle(OutputTranscript("Sure, the capital of France is Paris, a city of light.", 0))
    warning = b.handle(InputTranscript("the capital of france is paris a city"))
    assert warning is not None and notices == [warning] and "echo" in warning.message
    await b.stop()


async def test_no_portaudio_runs_text_only_with_one_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> Any:
        raise AudioUnavailable("no audio: the PortAudio library could not be loaded; install libportaudio2")

    monkeypatch.setattr(bridge_mod, "load_sounddevice", missing)
    notices: list[Notice] = []
    b = MediaBridge(AudioSettings(), VideoSettings(), on_notice=notices.append)
    await b.start(FakeSession())
    assert [n.level for n in notices] == ["warning"]
    assert "libportaudio2" in notices[0].message and "Text input still works" in notices[0].message
    levels = b.levels()
    assert not levels.mic.available and not levels.speaker.available
    b.handle(ModelAudio(b"\x00\x01" * 100, 24000, 0))  # ignored, not a crash
    b.handle(Interrupted(0))
    await b.stop()


async def test_bad_explicit_device_is_a_user_error_and_unopenable_device_a_notice() -> None:
    from tui.errors import UserError

    b = MediaBridge(AudioSettings(input_device="bluetooth"), VideoSettings(), sounddevice=FakeSoundDevice())
    with pytest.raises(UserError, match="no input device matches; candidates: 0: 'USB Mic'"):
        await b.start(FakeSession())
    await b.stop()
    sd = FakeSoundDevice()
    b = MediaBridge(AudioSettings(output_device="hdmi"), VideoSettings(), sounddevice=sd)
    with pytest.raises(UserError, match="--output-device 'hdmi': no output device matches; candidates: 1: 'Speakers'"):
        await b.start(FakeSession())
    assert sd.stream("input").closed and b.mic is None  # the mic opened first is not left running

    class Refusing(FakeSoundDevice):
        def RawOutputStream(self, **kwargs: Any) -> Any:
            raise RuntimeError("Device unavailable [PaErrorCode -9985]")

    notices: list[Notice] = []
    b = MediaBridge(AudioSettings(), VideoSettings(), sounddevice=Refusing(), on_notice=notices.append)
    await b.start(FakeSession())
    try:
        assert b.mic is not None and b.speaker is None
        assert len(notices) == 1 and "-9985" in notices[0].message and "Continuing mic only" in notices[0].message
    finally:
        await b.stop()


async def test_frames_only_sends_each_frame_once_and_exposes_the_same_bytes(tmp_path: Path) -> None:
    for i, colour in enumerate(((255, 0, 0), (0, 255, 0))):
        Image.new("RGB", (2048, 1024), colour).save(tmp_path / f"{i}.png")
    video = VideoSettings(source="file", frames_path=tmp_path, fps=5.0)
    b = MediaBridge(AudioSettings(enabled=False), video)
    session = FakeSession()
    await b.start(session)
    async with asyncio.timeout(5):
        await b.frames_done.wait()
    await b.stop()
    assert [(w, h, s) for _, w, h, s in session.frames] == [(1024, 512, "file")] * 2
    assert b.latest_frame is not None and b.latest_frame.jpeg is session.frames[-1][0]
    assert b.frames_sent == 2 and b.levels().frames_sent == 2


async def test_device_picker_switches_devices_and_keeps_sending() -> None:
    sd = FakeSoundDevice()
    sd.devices.append(
        {
            "index": 2,
            "name": "Headset Mic",
            "hostapi": 0,
            "max_input_channels": 1,
            "max_output_channels": 0,
            "default_samplerate": 16000.0,
        }
    )
    sd.input_rates = {48000, 16000}
    b = MediaBridge(AudioSettings(), VideoSettings(), sounddevice=sd)
    session = FakeSession()
    await b.start(session)
    try:
        first = sd.stream("input")
        await b.set_devices(input_device="headset", output_device=None)
        assert first.closed
        mic = sd.stream("input")
        assert mic.kwargs["device"] == 2 and mic.samplerate == 16000
        mic.feed_input(b"\x01\x00" * 640)
        await settle(lambda: b.chunks_sent == 1)
        assert session.audio == [b"\x01\x00" * 640]  # 16 kHz device: passed through untouched
        from tui.errors import UserError

        with pytest.raises(UserError, match="no input device matches"):
            await b.set_devices(input_device="nothing", output_device=None)
        assert b.mic is None
    finally:
        await b.stop()


async def test_run_starts_and_stops_with_its_task() -> None:
    sd = FakeSoundDevice()
    b = MediaBridge(AudioSettings(), VideoSettings(), sounddevice=sd)
    task = asyncio.create_task(b.run(FakeSession()))
    await settle(lambda: len(sd.streams) == 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert all(s.closed for s in sd.streams)


async def test_audio_settings_reach_the_devices() -> None:
    sd = FakeSoundDevice(output_rates={24000})
    settings = AudioSettings(
        speaker_block_ms=5, jitter_ms=80, max_jitter_ms=200, half_duplex=True, half_duplex_tail_ms=500, mic_chunk_ms=20
    )
    b = MediaBridge(settings, VideoSettings(), sounddevice=sd)
    await b.start(FakeSession())
    try:
        assert sd.stream("output").blocksize == 120 and sd.stream("input").blocksize == 960
        assert b.speaker is not None
        assert (b.speaker.buffer.prebuffer_ms, b.speaker.buffer.max_prebuffer_ms) == (80, 200)
        assert b.gate.enabled and b.gate.tail_s == 0.5
    finally:
        await b.stop()


async def test_a_machine_without_sound_devices_gets_one_short_notice() -> None:
    sd = FakeSoundDevice()
    sd.devices = []
    sd.default.device = (-1, -1)
    notices: list[Notice] = []
    b = MediaBridge(AudioSettings(), VideoSettings(), sounddevice=sd, on_notice=notices.append)
    await b.start(FakeSession())
    await b.stop()
    assert [n.message for n in notices] == [
        "no audio devices found (no microphone, no speaker); connect one, or run with --no-audio. Continuing text-only."
    ]


async def test_a_frames_path_that_does_not_exist_fails_before_any_device_opens(tmp_path: Path) -> None:
    from tui.errors import UserError

    sd = FakeSoundDevice()
    video = VideoSettings(source="file", frames_path=tmp_path / "nope")
    b = MediaBridge(AudioSettings(), video, sounddevice=sd)
    with pytest.raises(UserError, match=r"--frames: .*nope does not exist"):
        await b.start(FakeSession())
    assert sd.streams == []


async def test_a_failing_frame_source_stops_with_a_notice_and_audio_goes_on() -> None:
    from tui.media.video import Frame, FrameSource

    class Flaky(FrameSource):
        source = "camera"

        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def grab(self) -> Frame | None:
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("VIDIOC_DQBUF: No such device")
            return Frame(b"\xff\xd8jpeg", 4, 4, "camera")

    notices: list[Notice] = []
    sd = FakeSoundDevice()
    b = MediaBridge(
        AudioSettings(), VideoSettings(fps=5.0), frame_source=Flaky(), sounddevice=sd, on_notice=notices.append
    )
    session = FakeSession()
    await b.start(session)
    try:
        async with asyncio.timeout(5):
            await b.frames_done.wait()
        assert b.frames_sent == 1
        assert [n.message for n in notices] == ["camera frames stopped: RuntimeError: VIDIOC_DQBUF: No such device"]
        sd.stream("input").feed_input(tone48k(40))
        await settle(lambda: b.chunks_sent == 1)
    finally:
        await b.stop()


async def test_video_can_be_switched_on_and_off_at_run_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.errors import UserError

    Image.new("RGB", (64, 48), (0, 0, 255)).save(tmp_path / "blue.png")
    video = VideoSettings(frames_path=tmp_path, frames_loop=True, fps=5.0)  # nothing streams at start
    b = MediaBridge(AudioSettings(enabled=False), video)
    session = FakeSession()
    await b.start(session)
    try:
        assert b.video_source is None and b.frames_done.is_set()
        assert await b.set_video("file") is True
        assert b.video_source == "file"
        await settle(lambda: len(session.frames) >= 2)
        assert await b.set_video(None) is False
        stopped_at = len(session.frames)
        await asyncio.sleep(0.5)
        assert len(session.frames) == stopped_at and b.video_source is None  # no frame after "stop"
        assert await b.set_video("file") is True
        monkeypatch.setitem(sys.modules, "cv2", None)  # no OpenCV: the camera cannot work
        with pytest.raises(UserError, match="camera and video files need OpenCV"):
            await b.set_video("camera")
        assert b.video_source is None  # the file stream was stopped anyway
    finally:
        await b.stop()


async def test_stereo_only_devices_are_down_and_up_mixed() -> None:
    sd = FakeSoundDevice(input_rates={16000}, output_rates={24000}, input_channels={2}, output_channels={2})
    b = MediaBridge(AudioSettings(jitter_ms=0), VideoSettings(), sounddevice=sd)
    session = FakeSession()
    await b.start(session)
    try:
        mic, out = sd.stream("input"), sd.stream("output")
        assert mic.kwargs["channels"] == 2 and out.kwargs["channels"] == 2
        left, right = (1000).to_bytes(2, "little"), (3000).to_bytes(2, "little")
        mic.feed_input((left + right) * 640)  # 40 ms of stereo
        await settle(lambda: b.chunks_sent == 1)
        assert session.audio == [(2000).to_bytes(2, "little") * 640]  # mono for the API: the mean of L and R
        b.handle(ModelAudio(b"\x10\x27" * 240, 24000, 0))
        b.handle(GenerationComplete(0))
        assert out.pull_output() == b"\x10\x27" * 480  # the model on both channels
        assert b.levels().speaker.available
    finally:
        await b.stop()


async def test_a_mic_device_not_clocked_in_real_time_is_turned_off_with_a_notice() -> None:
    """ALSA's null PCM (a misconfigured default over SSH) hands over audio as fast as the CPU allows; sent on, it
    would be minutes of audio per second to the server. The bridge sends at most about a second's worth, then
    turns the mic off and says why; text input goes on."""
    sd = FakeSoundDevice()
    notices: list[Notice] = []
    # The clock stands still: "at once" however long a loaded machine takes to feed the 100 blocks.
    b = MediaBridge(
        AudioSettings(mic_chunk_ms=40), VideoSettings(), sounddevice=sd, on_notice=notices.append, clock=lambda: 100.0
    )
    session = FakeSession()
    await b.start(session)
    try:
        mic = sd.stream("input")
        for _ in range(100):  # 4 s of audio, delivered at once
            mic.feed_input(tone48k(40))
        await settle(lambda: bool(notices))
        assert len(notices) == 1 and notices[0].level == "warning"
        assert "not clocked in real time" in notices[0].message and "Text input still works" in notices[0].message
        sent = b.chunks_sent
        assert 0 < sent <= 40  # at most the 1 s of slack plus what the first moments allow, never the 4 s
        for _ in range(10):
            mic.feed_input(tone48k(40))
        await asyncio.sleep(0.05)
        assert b.chunks_sent == sent and mic.closed  # nothing more is sent; the device is closed
    finally:
        await b.stop()
