"""MediaBridge on a real LiveSession: the unmodified SDK against the mock Live server over TLS on 127.0.0.1.

Only the sound card is faked (``FakeSoundDevice`` at the device edge); the resampler, mic queue, jitter buffer,
frame encoding, session, SDK and server are the real ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tests.unit.test_media_fakes import FakeSoundDevice
from tui.config import AudioSettings, Settings, VideoSettings
from tui.live import events as ev
from tui.live.session import LiveSession
from tui.media.bridge import MediaBridge
from tui.mock.server import MockOptions, serve_mock


@asynccontextmanager
async def live(
    modality: str, bridge: MediaBridge, after: Callable[[ev.SessionEvent], None] = lambda e: None
) -> AsyncIterator[tuple[LiveSession, list[ev.SessionEvent]]]:
    """A session on the mock with ``bridge`` handling its events; ``after(event)`` runs right after the bridge has
    handled each one, before the next event can arrive."""
    async with serve_mock(MockOptions(pace=0.0)) as mock:
        settings = Settings(
            api_key="test-key",
            connection={
                "base_url": mock.base_url,
                "ca_file": mock.ca_file,
                "api_version": "v1beta",
                "connect_timeout_s": 5.0,
            },
            session={"modality": modality},
        )
        session = LiveSession(settings)
        seen: list[ev.SessionEvent] = []

        async def consume() -> None:
            async for e in session.events():
                bridge.handle(e)  # what the TUI and --headless do with every event
                after(e)
                seen.append(e)

        runner = asyncio.create_task(session.run())
        consumer = asyncio.create_task(consume())
        await until(lambda: any(isinstance(e, ev.Connected) for e in seen))
        await bridge.start(session)
        try:
            yield session, seen
        finally:
            await bridge.stop()
            await session.close()
            await asyncio.wait_for(runner, 10)
            await asyncio.wait_for(consumer, 10)


async def until(cond: Callable[[], bool], timeout: float = 8.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.005)


def speech48k(seconds: float) -> bytes:
    t = np.arange(int(seconds * 48000)) / 48000
    wave = 0.3 * np.sin(2 * np.pi * 180 * t) + 0.2 * np.sin(2 * np.pi * 360 * t)
    return (wave * 32767).astype("<i2").tobytes()


def of(seen: list[ev.SessionEvent], kind: type[Any]) -> list[Any]:
    return [e for e in seen if isinstance(e, kind)]


async def test_spoken_turn_through_the_mic_and_played_back_in_full() -> None:
    sd = FakeSoundDevice(output_rates={24000})  # the mic does 48 kHz only: the bridge resamples to 16 kHz
    bridge = MediaBridge(AudioSettings(jitter_ms=0, mic_queue_chunks=100), VideoSettings(), sounddevice=sd)
    async with live("AUDIO", bridge) as (_session, seen):
        mic, out = sd.stream("input"), sd.stream("output")
        pcm = speech48k(1.2) + bytes(2 * int(0.8 * 48000))
        for i in range(0, len(pcm), 3840):  # 40 ms device blocks, at 2.5x real time (a microphone that hands
            mic.feed_input(pcm[i : i + 3840])  # over audio much faster than real time is turned off as broken)
            await asyncio.sleep(0.016)
        await until(lambda: bool(of(seen, ev.TurnComplete)), timeout=10)
        transcript = "".join(e.text for e in of(seen, ev.OutputTranscript))
        assert "I heard you speak for 1.2 seconds" in transcript
        assert bridge.chunks_sent >= 49  # 2 s in 40 ms chunks (the resampler holds back 1 ms)
        generated = sum(len(a.pcm) for a in of(seen, ev.ModelAudio)) / 48  # ms at 24 kHz
        blocks = [out.pull_output() for _ in range(int(generated) // 10 + 5)]
        heard = b"".join(blocks)
        assert heard.rstrip(b"\x00")  # the model's audio reached the device...
        [turn] = bridge.finished_turns()
        assert turn.played_ms == turn.generated_ms == generated and not turn.interrupted  # ...all of it
        assert bridge.levels().speaker.underruns == 0


async def test_barge_in_flushes_the_speaker_and_drops_the_rest_of_the_turn() -> None:
    sd = FakeSoundDevice(output_rates={24000})
    bridge = MediaBridge(AudioSettings(jitter_ms=0), VideoSettings(), sounddevice=sd)
    after_cut: list[bytes] = []

    def pull_at_cut(e: ev.SessionEvent) -> None:
        # The device's next block, pulled the moment the bridge has handled `interrupted`: the mock sends the answer
        # to "stop, hello" right behind it, so a block pulled any later may rightly hold that new turn's audio.
        if isinstance(e, ev.Interrupted):
            after_cut.append(sd.stream("output").pull_output())

    async with live("AUDIO", bridge, after=pull_at_cut) as (session, seen):
        out = sd.stream("output")
        await session.send_text("mock:long tell me everything")
        await until(lambda: bool(of(seen, ev.ModelAudio)))
        assert out.pull_output().strip(b"\x00")  # the long reply is playing
        await session.send_text("stop, hello")
        await until(lambda: bool(of(seen, ev.Interrupted)))
        cut = of(seen, ev.Interrupted)[0].generation
        assert after_cut == [bytes(480)]  # the block after `interrupted` is silent: the rest of the turn is gone
        [turn] = [t for t in bridge.finished_turns() if t.generation == cut]
        assert turn.interrupted and 0 < turn.played_ms < turn.generated_ms
        await until(lambda: any(isinstance(e, ev.TurnComplete) and e.generation > cut for e in seen))
        # The answer to "stop, hello" is a new generation and plays.
        heard = b"".join(out.pull_output() for _ in range(300))
        assert heard.strip(b"\x00")
        assert bridge.turn_playback(cut).played_ms == turn.played_ms  # type: ignore[union-attr]


async def test_frames_from_a_folder_reach_the_model_byte_for_byte(tmp_path: Path) -> None:
    Image.new("RGB", (1600, 1200), (220, 20, 20)).save(tmp_path / "a.png")
    Image.new("RGB", (1600, 1200), (20, 220, 20)).save(tmp_path / "b.png")
    video = VideoSettings(source="file", frames_path=tmp_path, fps=5.0)
    bridge = MediaBridge(AudioSettings(enabled=False), video)
    async with live("TEXT", bridge) as (session, seen):
        await until(lambda: len(of(seen, ev.FrameSent)) == 2)
        sent = of(seen, ev.FrameSent)
        assert [(f.width, f.height, f.source) for f in sent] == [(1024, 768, "file")] * 2
        assert bridge.latest_frame is not None and bridge.latest_frame.jpeg == sent[-1].jpeg
        await session.send_text("what do you see?")
        await until(lambda: bool(of(seen, ev.TurnComplete)))
        reply = "".join(e.text for e in of(seen, ev.ModelText))
        assert "1024" in reply and "green" in reply
