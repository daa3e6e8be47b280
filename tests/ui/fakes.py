"""Fakes at the device edge for UI tests and ``tools/bench_tui.py``: a fake ``sounddevice`` module and frames.

``FakeSoundDevice`` stands in for the ``sounddevice`` module only: the real ``Microphone``, ``Speaker`` and
``MediaBridge`` run on top of it. Its streams call the real callbacks from a thread at the device's pace, like
PortAudio does: the input stream delivers a scripted "voice" (a tone burst every ``period_s`` seconds, silence in
between, loud enough for the demo's voice detection), the output stream pulls the speaker's buffer.
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from tui.app.ports import NullMedia
from tui.live.events import FrameSent

VOICE_DBFS = -18.0


def scripted_voice(rate: int, *, speak_s: float = 1.2, period_s: float = 8.0) -> Callable[[int, int], bytes]:
    """``signal(start_frame, frames)``: a 220 Hz tone at about -18 dBFS for ``speak_s`` every ``period_s``."""
    import numpy as np

    amp = 32767 * 10 ** (VOICE_DBFS / 20) * math.sqrt(2)
    n = int(rate * period_s)
    t = np.arange(n) / rate
    cycle = np.where(t < speak_s, amp * np.sin(2 * np.pi * 220 * t), 0).astype("<i2").tobytes()

    def signal(start: int, frames: int) -> bytes:
        # Precomputed once: the fake device must cost next to nothing (the benchmark measures the app's CPU).
        offset = (start % n) * 2
        out = cycle[offset : offset + frames * 2]
        while len(out) < frames * 2:
            out += cycle[: frames * 2 - len(out)]
        return out

    return signal


class _Stream:
    def __init__(self, sd: FakeSoundDevice, kind: str, samplerate: int, blocksize: int, callback: Any) -> None:
        self.sd = sd
        self.kind = kind
        self.rate = int(samplerate)
        self.blocksize = int(blocksize)
        self.callback = callback
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames_done = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"fake-{self.kind}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        period = self.blocksize / self.rate
        next_at = time.monotonic()
        while not self._stop.is_set():
            if self.kind == "input":
                block = (
                    self.sd.signal(self.frames_done, self.blocksize) if self.sd.signal else bytes(self.blocksize * 2)
                )
                self.callback(block, self.blocksize, None, None)
            else:
                out = bytearray(self.blocksize * 2)
                self.callback(out, self.blocksize, None, None)
                self.sd.played_bytes += len(out)
            self.frames_done += self.blocksize
            next_at += period
            # time.sleep, not self._stop.wait(timeout): Event.wait builds a Condition waiter (a lock allocated,
            # acquired, released) in Python on every block, which at the speaker's 100 blocks/s cost ~0.4 % of a
            # core that no PortAudio thread spends. stop() is seen within one block.
            time.sleep(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def close(self) -> None:
        self.stop()


class _Default:
    device = (0, 1)


class FakeSoundDevice:
    """Just enough of the ``sounddevice`` module for ``tui.media``: one mic (index 0) and one speaker (index 1)."""

    def __init__(self, signal: Callable[[int, int], bytes] | None = None) -> None:
        self.signal = signal
        self.default = _Default()
        self.played_bytes = 0
        self.streams: list[_Stream] = []
        self._devices = [
            {
                "index": 0,
                "name": "Fake Mic",
                "hostapi": 0,
                "max_input_channels": 1,
                "max_output_channels": 0,
                "default_samplerate": 16000.0,
            },
            {
                "index": 1,
                "name": "Fake Speaker",
                "hostapi": 0,
                "max_input_channels": 0,
                "max_output_channels": 2,
                "default_samplerate": 24000.0,
            },
        ]

    def query_hostapis(self) -> list[dict[str, Any]]:
        return [{"name": "Fake"}]

    def query_devices(self, device: int | None = None, kind: str | None = None) -> Any:
        if device is None and kind is None:
            return list(self._devices)
        if device is None:
            device = self.default.device[0 if kind == "input" else 1]
        return dict(self._devices[int(device)])

    def check_input_settings(self, **kwargs: Any) -> None:
        return None

    def check_output_settings(self, **kwargs: Any) -> None:
        return None

    def RawInputStream(self, *, samplerate: int, blocksize: int, callback: Any, **kwargs: Any) -> _Stream:
        stream = _Stream(self, "input", samplerate, blocksize, callback)
        self.streams.append(stream)
        return stream

    def RawOutputStream(self, *, samplerate: int, blocksize: int, callback: Any, **kwargs: Any) -> _Stream:
        stream = _Stream(self, "output", samplerate, blocksize, callback)
        self.streams.append(stream)
        return stream


def fake_bridge_media(sd: FakeSoundDevice) -> Callable[..., Any]:
    """A ``media_factory`` for ``create_app``: the real ``MediaBridge`` on the fake sounddevice."""

    def factory(settings: Any, on_notice: Any) -> Any:
        from tui.app.media_adapter import BridgeMedia
        from tui.media.bridge import MediaBridge

        bridge = MediaBridge(settings.audio, settings.video, on_notice=on_notice, sounddevice=sd)
        return BridgeMedia(bridge, settings)

    return factory


def jpeg(width: int, height: int, color: tuple[int, int, int], *, stripe: tuple[int, int, int] | None = None) -> bytes:
    """A small JPEG of one colour (with a horizontal stripe), for frame previews."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), color)
    if stripe is not None:
        ImageDraw.Draw(im).rectangle((0, height // 3, width, 2 * height // 3), fill=stripe)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def frame_event(width: int = 640, height: int = 480, color: tuple[int, int, int] = (200, 40, 40)) -> FrameSent:
    return FrameSent(jpeg=jpeg(width, height, color, stripe=(40, 40, 200)), width=width, height=height, source="file")


# ---------------------------------------------------------------------------------------------------------------
# Deterministic parts for snapshots (no sockets, no clocks): the real App and widgets, a scripted event source.
# ---------------------------------------------------------------------------------------------------------------


class ScriptedSession:
    """Emits a fixed list of events, then stays open until closed. Records what the UI sent."""

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.sent: list[str] = []
        self.actions: list[tuple[str, dict[str, Any]]] = []
        self.done = False
        self.connected = True
        self._closed: Any = None

    async def run(self) -> None:
        import asyncio

        self._closed = asyncio.Event()
        await self._closed.wait()

    async def events(self) -> Any:
        import asyncio

        for event in self.script:
            yield event
        self.done = True
        while self._closed is None or not self._closed.is_set():
            await asyncio.sleep(0.05)

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    def note_action(self, name: str, **data: Any) -> None:
        self.actions.append((name, data))

    async def close(self) -> None:
        if self._closed is not None:
            self._closed.set()


class FixedMedia(NullMedia):
    """Meters frozen at given readings, and a played-ms table: for pixel-stable snapshots."""

    def __init__(self, mic: Any, model: Any, played: dict[int, float] | None = None) -> None:
        super().__init__(problem=None)
        self.mic, self.model = mic, model
        self.played = played or {}
        self._muted = False

    def readings(self, now: float) -> tuple[Any, Any]:
        from dataclasses import replace

        return replace(self.mic, muted=self._muted), self.model

    def played_ms(self, generation: int) -> float | None:
        return self.played.get(generation)


def mock_endpoint(**options: Any) -> Callable[[Any], Any]:
    """An endpoint factory that serves the demo mock with ``MockOptions(**options)`` (pace 0 by default)."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def endpoint(settings: Any) -> Any:
        from tui.mock.server import MockOptions, serve_mock

        opts = {"backend": "demo", "tls": True, "pace": 0.0, **options}
        async with serve_mock(MockOptions(**opts)) as mock:
            connection = settings.connection.model_copy(
                update={"base_url": mock.base_url, "ca_file": mock.ca_file, "api_version": "v1beta"}
            )
            yield settings.model_copy(update={"connection": connection}), True

    return endpoint
