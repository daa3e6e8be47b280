"""Fakes at the device edge only (no tests here): a stand-in for the ``sounddevice`` module that tests drive."""

from __future__ import annotations

import threading
from typing import Any


class FakeStream:
    def __init__(self, sd: FakeSoundDevice, kind: str, **kwargs: Any) -> None:
        self.sd = sd
        self.kind = kind
        self.kwargs = kwargs
        self.callback = kwargs["callback"]
        self.samplerate = int(kwargs["samplerate"])
        self.blocksize = int(kwargs["blocksize"])
        self.started = False
        self.closed = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True

    def feed_input(self, block: bytes, status: int = 0) -> None:
        """Run the input callback on another thread, as PortAudio does."""
        t = threading.Thread(target=self.callback, args=(block, len(block) // 2, None, status))
        t.start()
        t.join()

    def pull_output(self, status: int = 0) -> bytes:
        out = bytearray(self.blocksize * 2 * int(self.kwargs["channels"]))
        t = threading.Thread(target=self.callback, args=(out, self.blocksize, None, status))
        t.start()
        t.join()
        return bytes(out)


class _Default:
    def __init__(self, device: tuple[int, int]) -> None:
        self.device = device


class FakeSoundDevice:
    """Two devices: 0 "USB Mic" (input, 48 kHz only) and 1 "Speakers" (output, any rate)."""

    def __init__(
        self,
        input_rates: set[int] | None = None,
        output_rates: set[int] | None = None,
        *,
        input_channels: set[int] | None = None,
        output_channels: set[int] | None = None,
    ) -> None:
        self.input_channels = input_channels or {1, 2}
        self.output_channels = output_channels or {1, 2}
        self.devices = [
            {
                "index": 0,
                "name": "USB Mic",
                "hostapi": 0,
                "max_input_channels": 1,
                "max_output_channels": 0,
                "default_samplerate": 48000.0,
            },
            {
                "index": 1,
                "name": "Speakers",
                "hostapi": 0,
                "max_input_channels": 0,
                "max_output_channels": 2,
                "default_samplerate": 44100.0,
            },
        ]
        self.default = _Default((0, 1))
        self.input_rates = input_rates if input_rates is not None else {48000}
        self.output_rates = output_rates
        self.streams: list[FakeStream] = []

    def query_hostapis(self) -> list[dict[str, Any]]:
        return [{"name": "ALSA"}]

    def query_devices(self, device: int | None = None, kind: str | None = None) -> Any:
        if device is None and kind is None:
            return self.devices
        if device is None:
            device = self.default.device[0 if kind == "input" else 1]
        return self.devices[device]

    def check_input_settings(self, *, device: int | None, samplerate: int, channels: int, **_: Any) -> None:
        if samplerate not in self.input_rates:
            raise ValueError("Invalid sample rate")
        if channels not in self.input_channels:
            raise ValueError("Invalid number of channels [PaErrorCode -9998]")

    def check_output_settings(self, *, device: int | None, samplerate: int, channels: int, **_: Any) -> None:
        if self.output_rates is not None and samplerate not in self.output_rates:
            raise ValueError("Invalid sample rate")
        if channels not in self.output_channels:
            raise ValueError("Invalid number of channels [PaErrorCode -9998]")

    def RawInputStream(self, **kwargs: Any) -> FakeStream:
        s = FakeStream(self, "input", **kwargs)
        self.streams.append(s)
        return s

    def RawOutputStream(self, **kwargs: Any) -> FakeStream:
        s = FakeStream(self, "output", **kwargs)
        self.streams.append(s)
        return s

    def stream(self, kind: str) -> FakeStream:
        return next(s for s in reversed(self.streams) if s.kind == kind)
