#!/usr/bin/env python3
"""Regenerate the curated recordings in ``recordings/`` from the offline demo backend.

Each scenario runs the real client (``LiveSession`` on the unmodified google-genai SDK) against the demo mock over
TLS on 127.0.0.1 with the recorder attached, feeding it synthetic input: typed text, synthetic "speech" (a voiced
signal loud enough for the demo's VAD, no words in it), synthetic camera/screen JPEGs (drawn with Pillow). The
demo's replies are canned and deterministic for a given seed. Nothing here is a real person or the real model.

    .venv/bin/python tools/make_recordings.py            # all scenarios into recordings/
    .venv/bin/python tools/make_recordings.py weather    # one scenario
    .venv/bin/python tools/make_recordings.py --out DIR  # elsewhere
"""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from tui.config import Settings  # noqa: E402
from tui.live import events as ev  # noqa: E402
from tui.live.session import LiveSession  # noqa: E402
from tui.live.tools import ToolRegistry  # noqa: E402
from tui.mock.server import MockOptions, serve_mock  # noqa: E402
from tui.recording.writer import Recorder  # noqa: E402

FIXED_WALL_CLOCK = 1_767_225_600.0
"""2026-01-01T00:00:00Z: the demo clock tool answers the same in every regeneration."""
MIC_RATE = 16_000
CHUNK_MS = 40


def speech(seconds: float, pitch: float = 150.0, seed: int = 0) -> list[bytes]:
    """Synthetic voiced audio (harmonics + syllable envelope), 16 kHz s16le, in 40 ms chunks. Not words."""
    import numpy as np

    n = int(seconds * MIC_RATE)
    t = np.arange(n) / MIC_RATE
    voice = sum(np.sin(2 * math.pi * pitch * k * t) / k for k in range(1, 6))
    envelope = 0.55 + 0.45 * np.sin(2 * math.pi * 3.0 * t + seed)
    pcm = (voice * envelope * 6000).astype("<i2").tobytes()
    step = MIC_RATE * CHUNK_MS // 1000 * 2
    return [pcm[i : i + step] for i in range(0, len(pcm), step)]


def silence(seconds: float) -> list[bytes]:
    step = MIC_RATE * CHUNK_MS // 1000 * 2
    return [bytes(step)] * int(seconds * 1000 / CHUNK_MS)


def jpeg(color: tuple[int, int, int], label: str, size: tuple[int, int] = (160, 120)) -> bytes:
    """A small synthetic camera/screen frame."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(img)
    draw.rectangle((10, 10, size[0] - 10, size[1] // 3), outline=(255, 255, 255), width=2)
    draw.text((14, size[1] // 2), label, fill=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=60)
    return buf.getvalue()


class Driver:
    """Feeds a live session and waits for what the model does."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self.events: list[Any] = []
        self._changed = asyncio.Event()
        self.turns_done = 0
        self.connected = 0

    async def consume(self) -> None:
        async for e in self.session.events():
            self.events.append(e)
            if isinstance(e, ev.TurnComplete | ev.Interrupted):
                self.turns_done += 1
            if isinstance(e, ev.Connected):
                self.connected += 1
            self._changed.set()

    async def until(self, pred: Callable[[], bool], timeout: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not pred():
            left = end - loop.time()
            if left <= 0:
                raise TimeoutError("scenario timed out")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.1))
            except TimeoutError:
                pass

    async def settle(self) -> None:
        """Wait until the model is idle (turn over, tools answered)."""
        await self.until(lambda: not self.session.state.model_busy)
        await asyncio.sleep(0.05)

    async def say(self, text: str) -> None:
        before = self.turns_done
        await self.session.send_text(text)
        await self.until(lambda: self.turns_done > before)
        await self.settle()

    async def speak(self, chunks: list[bytes], *, realtime: bool = False) -> None:
        for c in chunks:
            await self.session.send_audio(c)
            await asyncio.sleep(CHUNK_MS / 1000 if realtime else 0)


Scenario = Callable[[Driver], Awaitable[None]]


async def text_chat_memory(d: Driver) -> None:
    await d.say("Hi! My name is Ada.")
    await d.say("Can you tell me a fun fact?")
    await d.say("What is my name?")


async def coffee_maker(d: Driver) -> None:
    s = d.session
    await s.send_frame(jpeg((60, 40, 30), "coffee maker"), width=160, height=120, source="camera")
    before = d.turns_done
    await d.speak(speech(1.2, pitch=140) + silence(0.7))  # "my coffee maker won't brew" (synthetic voice)
    await d.until(lambda: d.turns_done > before)
    await d.settle()
    await s.send_frame(jpeg((200, 20, 20), "blinking light"), width=160, height=120, source="camera")
    await d.say("The light on it is blinking red. What do you see?")


async def furniture_assembly(d: Driver) -> None:
    s = d.session
    await s.send_frame(jpeg((180, 140, 90), "shelf parts"), width=160, height=120, source="camera")
    await s.send_frame(jpeg((120, 120, 120), "screws and dowels"), width=160, height=120, source="camera")
    await s.send_frame(jpeg((90, 110, 200), "side panel"), width=160, height=120, source="camera")
    await d.say("I'm assembling a bookshelf. Which part goes on next? What do you see?")


async def weather_tool(d: Driver) -> None:
    await d.say("What's the weather in Paris?")
    await d.say("Thanks. And what time is it in Europe/Paris?")


async def tool_cancelled(d: Driver) -> None:
    s = d.session
    await s.send_text("Please run lookup_manual for the XR-7 espresso machine.")
    await d.until(lambda: any(isinstance(e, ev.ToolCall) for e in d.events))
    await asyncio.sleep(0.2)  # the slow tool is running
    before = d.turns_done
    await s.send_text("Never mind, cancel that. What is the weather in Oslo?")
    await d.until(lambda: any(isinstance(e, ev.ToolCallCancelled) for e in d.events))
    await d.until(lambda: d.turns_done >= before + 2)  # the cut turn, then the new one
    await d.settle()


async def barge_in(d: Driver) -> None:
    s = d.session
    await s.send_text("mock:long Tell me a long story about a lighthouse.")
    await d.until(lambda: sum(isinstance(e, ev.ModelAudio) for e in d.events) >= 3)
    before = d.turns_done
    await d.speak(speech(0.8, pitch=180, seed=2) + silence(0.7), realtime=True)
    await d.until(lambda: any(isinstance(e, ev.Interrupted) for e in d.events))
    await d.until(lambda: d.turns_done >= before + 2)  # the interrupted turn, then the answer to the speech
    await d.settle()


async def goaway_resume(d: Driver) -> None:
    await d.say("My name is Ada.")
    await d.session.send_text("goaway: please answer anyway")
    await d.until(lambda: d.connected >= 2)
    await d.settle()
    await d.say("What is my name?")


async def drop_reconnect(d: Driver) -> None:
    await d.say("My name is Ada.")
    await d.session.send_text("mock:drop Tell me a story.")
    await d.until(lambda: d.connected >= 2, timeout=30)
    await d.settle()  # the reply lost to the drop is marked cut, so the model is idle again
    await d.say("What is my name?")


async def screen_share(d: Driver) -> None:
    s = d.session
    await s.send_frame(jpeg((30, 30, 30), "terminal: make test", (240, 160)), width=240, height=160, source="screen")
    await d.say("I'm sharing my screen. What do you see?")
    await s.send_frame(jpeg((240, 240, 240), "browser: docs", (240, 160)), width=240, height=160, source="screen")
    await d.say("And now? What do you see?")


async def push_to_talk(d: Driver) -> None:
    s = d.session
    before = d.turns_done
    await s.activity_start()
    await d.speak(speech(1.0, pitch=120, seed=5))
    await s.activity_end()
    await d.until(lambda: d.turns_done > before)
    await d.settle()
    s.note_action("mute")
    await s.audio_stream_end()
    s.note_action("unmute")
    await d.say("Did you hear me?")


async def vertex_chat(d: Driver) -> None:
    await d.say("Hi, my name is Ada.")
    await d.say("What's the weather in Rome?")
    await d.say("What is my name?")


TEXT = {"session": {"modality": "TEXT"}}
AUDIO = {"session": {"modality": "AUDIO"}}

SCENARIOS: dict[str, tuple[str, dict[str, Any], Scenario, float]] = {
    "text-chat-memory": (
        "Text chat: the user says their name, chats, and the model recalls the name later.",
        TEXT,
        text_chat_memory,
        0.0,
    ),
    "coffee-maker": (
        "Coffee-maker troubleshooting: camera frames, the user speaks (synthetic voice), then types; spoken replies.",
        AUDIO,
        coffee_maker,
        0.0,
    ),
    "furniture-assembly": (
        "Furniture assembly: camera frames of the parts, questions, spoken guidance.",
        AUDIO,
        furniture_assembly,
        0.0,
    ),
    "weather-tool": (
        "A weather tool call round trip (get_weather with the demo data), then the clock tool.",
        TEXT,
        weather_tool,
        0.0,
    ),
    "tool-cancelled": (
        "A slow tool call (recordings/tools/slow_tools.py) cancelled by the user's next message.",
        {"session": {"modality": "TEXT", "tools_files": ("recordings/tools/slow_tools.py",)}},
        tool_cancelled,
        0.0,
    ),
    "barge-in": (
        "Barge-in: the user starts speaking while the model is still talking; the model is interrupted.",
        AUDIO,
        barge_in,
        0.1,
    ),
    "goaway-resume": (
        "goAway: the server warns it will close; the client resumes with the handle and the model remembers.",
        TEXT,
        goaway_resume,
        0.0,
    ),
    "drop-reconnect": (
        "A dropped connection (TCP abort mid-reply); the client reconnects with its handle and the model remembers.",
        TEXT,
        drop_reconnect,
        0.0,
    ),
    "push-to-talk": (
        "Manual turn-taking (no server VAD): activityStart, speech, activityEnd; a mute/unmute; a typed turn.",
        {"session": {"modality": "TEXT", "activity": {"disabled": True}}},
        push_to_talk,
        0.0,
    ),
    "vertex-chat": (
        "Vertex AI mode (custom URL, no credentials): a text chat with a tool call and memory.",
        {"session": {"modality": "TEXT"}, "vertex": True},
        vertex_chat,
        0.0,
    ),
    "screen-share": (
        "Screen sharing: two screen frames and questions about them.",
        TEXT,
        screen_share,
        0.0,
    ),
}


def _settings(base_url: str, ca_file: Path | None, overrides: dict[str, Any]) -> Settings:
    base = Settings(api_key=SecretStr("demo-recording-key"))
    sections: dict[str, Any] = {}
    for name in ("session", "connection", "audio", "video", "recording"):
        merged = getattr(base, name).model_dump()
        merged.update(overrides.get(name, {}))
        sections[name] = merged
    sections["connection"].update({"base_url": base_url, "ca_file": ca_file, "api_version": "v1beta"})
    sections["audio"]["enabled"] = False
    sections["video"]["source"] = "none"
    if overrides.get("vertex"):
        # Vertex with a custom URL and no project: the SDK uses the URL verbatim and fetches no credentials.
        host = base_url.split("://", 1)[1]
        path = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
        sections["connection"].update({"base_url": f"wss://{host}{path}", "api_version": None})
        return Settings(vertexai=True, demo=False, **sections)
    return Settings(api_key=SecretStr("demo-recording-key"), demo=False, **sections)


async def make_one(name: str, out: Path, seed: int = 0) -> Path:
    description, overrides, scenario, pace = SCENARIOS[name]
    path = out / f"{name}.glrec"
    path.unlink(missing_ok=True)
    async with serve_mock(MockOptions(backend="demo", pace=pace, seed=seed, **overrides.get("mock", {}))) as mock:
        settings = _settings(mock.base_url, mock.ca_file, overrides)
        recorder = Recorder(
            path,
            model=settings.session.model,
            config=_config(settings),
            description=f"{description} Generated by tools/make_recordings.py from the offline demo backend "
            "(synthetic input, canned replies).",
            secrets=("demo-recording-key",),
            created_unix=FIXED_WALL_CLOCK,
        )
        # The same rule replay uses: the header's time plus the recorded time of the last frame received.
        registry = ToolRegistry.from_settings(
            settings, wall_clock=lambda: FIXED_WALL_CLOCK + recorder.last_recv_us / 1e6
        )
        session = LiveSession(settings, tap=recorder, registry=registry)
        driver = Driver(session)
        runner = asyncio.create_task(session.run())
        consumer = asyncio.create_task(driver.consume())
        try:
            await driver.until(lambda: session.connected)
            await scenario(driver)
        finally:
            await session.close()
            await asyncio.gather(runner, return_exceptions=True)
            await asyncio.wait({consumer}, timeout=5)
            stats = await recorder.aclose()
    print(
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {stats.records} records, "
        f"{path.stat().st_size / 1024:.1f} KiB ({path.stat().st_size / max(stats.wire_bytes, 1):.2f} of wire)"
    )
    return path


def _config(settings: Settings) -> dict[str, Any]:
    from tui.recording.writer import settings_config

    cfg = settings_config(settings)
    # The mock's address and throwaway CA differ on every run; replay points the client at its own mock anyway.
    cfg["connection"]["base_url"] = None
    cfg["connection"]["ca_file"] = None
    return cfg


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help=f"scenarios (default all): {', '.join(SCENARIOS)}")
    p.add_argument("--out", type=Path, default=ROOT / "recordings")
    args = p.parse_args(argv)
    names = args.names or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        asyncio.run(make_one(name, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
