"""Microphone and speaker: thin PortAudio (sounddevice) shells over pure cores (``Resampler``, ``PlaybackBuffer``).

Threading rules (house-style "Audio callbacks never touch Textual"):
- A PortAudio callback copies its block, updates plain float levels and counters, and hands data over with
  ``loop.call_soon_threadsafe`` (mic) or takes it from the lock-guarded ``PlaybackBuffer`` (speaker). It never
  blocks, logs, prints or touches the UI, and no exception escapes it (sounddevice silently stops calling a
  callback that raised): failures are counted in ``callback_errors``.
- Everything else (``start``/``stop``/``read``/``play``/``interrupt``) runs on the asyncio event loop.
- The mic queue is bounded: when the consumer falls behind the oldest chunk is dropped and ``overruns`` counts it.

Formats: the API side is always s16le mono (16 kHz up, 24 kHz down). A device that cannot take that rate is
opened at its default rate and resampled on the loop; one that refuses mono is opened in stereo (the mic is
down-mixed on the loop, the speaker's mono block is duplicated in the callback).

``sounddevice`` is imported lazily by ``tui.media.devices.load_sounddevice`` when a stream is opened.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tui.media.devices import AudioUnavailable, load_sounddevice
from tui.media.levels import SILENCE_DBFS, block_levels
from tui.media.playback import PlaybackBuffer
from tui.media.resample import Resampler

MIC_RATE = 16_000
_PACE_SLACK_S = 1.0
"""A microphone that has delivered more than twice the wall time since it started plus this much audio is not
clocked in real time (a real device delivers what it records, plus at most a start-up burst of its buffer)."""
"""What the Live API takes: s16le mono at 16 kHz (``audio/pcm;rate=16000``)."""
SPEAKER_RATE = 24_000
"""What the Live API sends: s16le mono at 24 kHz."""


def _pick_format(sd: Any, device: int | None, kind: str, wanted: int) -> tuple[int, int]:
    """``(rate, channels)`` to open: ``wanted`` Hz mono when the device takes it, else its default rate (we
    resample), else stereo (we down-mix or duplicate: many ``hw:`` devices refuse mono, PaErrorCode -9998)."""
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    default = int(sd.query_devices(device, kind)["default_samplerate"])
    for channels in (1, 2):
        for rate in dict.fromkeys((wanted, default)):
            try:
                check(device=device, samplerate=rate, channels=channels, dtype="int16")
                return rate, channels
            except Exception:  # PortAudioError or ValueError: not this combination
                continue
    return default, 1  # nothing checked out: opening will fail with PortAudio's own words


def _downmix(pcm: bytes) -> bytes:
    """Interleaved s16le stereo to mono (the mean of both channels)."""
    frames = np.frombuffer(pcm[: len(pcm) // 4 * 4], dtype="<i2").reshape(-1, 2).astype(np.int32)
    out: bytes = ((frames[:, 0] + frames[:, 1]) // 2).astype("<i2").tobytes()
    return out


def _upmix(pcm: bytes) -> bytes:
    """Mono s16le to interleaved stereo (the same signal on both channels)."""
    out: bytes = np.repeat(np.frombuffer(pcm, dtype="<i2"), 2).tobytes()
    return out


def _start_or_close(stream: Any) -> None:
    """Start a freshly made stream; close it if it will not start (so a failed open leaks no PortAudio stream)."""
    try:
        stream.start()
    except BaseException:
        stream.close()
        raise


def _stop_and_close(stream: Any) -> None:
    """Stop a running stream and always close it, even when stopping fails (a device that vanished)."""
    if stream is not None:
        try:
            stream.stop()
        finally:
            stream.close()


class _Levels:
    """Plain floats written by the audio thread, read by the loop (a torn read costs one stale frame, no more)."""

    def __init__(self) -> None:
        self.rms_dbfs = SILENCE_DBFS
        self.peak_dbfs = SILENCE_DBFS
        self._peak_since_read = SILENCE_DBFS
        self.blocks = 0

    def feed(self, data: bytes) -> None:
        rms, peak = block_levels(data)
        self.rms_dbfs = rms
        self.peak_dbfs = peak
        if peak > self._peak_since_read:
            self._peak_since_read = peak
        self.blocks += 1

    def take_peak(self) -> float:
        """The highest block peak since the last call (so a display poll never misses a transient)."""
        peak, self._peak_since_read = self._peak_since_read, SILENCE_DBFS
        return peak


class Microphone:
    """16 kHz s16le mono chunks of ``chunk_ms`` from a PortAudio input, resampled when the device needs it."""

    def __init__(
        self,
        *,
        device: int | None = None,
        chunk_ms: int = 100,
        queue_chunks: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 10 <= chunk_ms <= 100:
            raise ValueError("chunk_ms must be in [10, 100]")
        self.device = device
        self.chunk_ms = chunk_ms
        self.queue_chunks = max(1, queue_chunks)
        self.muted = False
        """While muted the callback still measures the level but hands no audio over."""
        self.levels = _Levels()
        self.overruns = 0
        """Chunks dropped because the consumer fell behind (oldest first)."""
        self.device_overflows = 0
        """Blocks PortAudio flagged as input overflow (audio lost inside the driver)."""
        self.callback_errors = 0
        self.device_rate = MIC_RATE
        self.device_channels = 1
        self.device_name = "?"
        self._stream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._resampler = Resampler(MIC_RATE, MIC_RATE)
        self._clock = clock
        self._started_at = 0.0
        self._captured_frames = 0
        self.unpaced: str | None = None
        """Why the microphone stopped itself: the device delivered audio much faster than real time."""

    @property
    def running(self) -> bool:
        return self._stream is not None

    def start(self, sd: Any | None = None) -> None:
        """Open and start the input stream (call on the event loop). Raises ``AudioUnavailable``."""
        sd = sd if sd is not None else load_sounddevice()
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._started_at = self._clock()
        self._captured_frames = 0
        self.unpaced = None
        try:
            self.device_rate, self.device_channels = _pick_format(sd, self.device, "input", MIC_RATE)
            self.device_name = str(sd.query_devices(self.device, "input")["name"])
            self._resampler = Resampler(self.device_rate, MIC_RATE)
            stream = sd.RawInputStream(
                samplerate=self.device_rate,
                blocksize=self.device_rate * self.chunk_ms // 1000,
                device=self.device,
                channels=self.device_channels,
                dtype="int16",
                latency="low",
                callback=self._callback,
            )
            _start_or_close(stream)
        except AudioUnavailable:
            raise
        except Exception as exc:  # PortAudioError, ValueError: a device that is busy, gone or refuses the format
            raise AudioUnavailable(f"the microphone would not open ({exc}); pick another with --input-device") from None
        self._stream = stream

    def stop(self) -> None:
        """Stop and close the stream; pending chunks stay readable with ``read_nowait``."""
        stream, self._stream = self._stream, None
        _stop_and_close(stream)

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        # Runs on PortAudio's thread: copy, measure, hand over. Nothing here may block, log or raise.
        try:
            if status:
                self.device_overflows += 1
            data = bytes(indata)
            self.levels.feed(data)
            if self.muted:
                return
            loop = self._loop
            if loop is not None:
                loop.call_soon_threadsafe(self._deliver, data)
        except Exception:  # includes RuntimeError from a loop that closed under us
            self.callback_errors += 1

    def _deliver(self, data: bytes) -> None:
        # On the loop: a bounded queue that drops the oldest chunk, so a stalled consumer loses old audio, not new.
        if self.unpaced is not None:
            return
        self._captured_frames += len(data) // (2 * self.device_channels)
        elapsed = self._clock() - self._started_at
        captured = self._captured_frames / self.device_rate
        if captured > 2 * elapsed + _PACE_SLACK_S:
            # A capture device is clocked by its hardware: this one is not (ALSA's null PCM runs back to back,
            # as a misconfigured default over SSH can be), and every second of it would go to the server.
            self.unpaced = (
                f"the input device {self.device_name!r} delivered {captured:.0f} s of audio in {elapsed:.1f} s "
                "(it is not clocked in real time, like ALSA's null device); the microphone is off: pick a real "
                "one with --input-device"
            )
            self.stop()
            self._queue.put_nowait(b"")  # wakes a waiting read(), which then raises
            return
        while self._queue.qsize() >= self.queue_chunks:
            self._queue.get_nowait()
            self.overruns += 1
        self._queue.put_nowait(data)

    def _convert(self, block: bytes) -> bytes:
        if self.device_channels == 2:
            block = _downmix(block)
        return self._resampler.process(block)

    async def read(self) -> bytes:
        """The next chunk, 16 kHz s16le mono (about ``chunk_ms`` long). Raises ``AudioUnavailable`` once the
        device has shown it is not clocked in real time (``unpaced``)."""
        while True:
            if self.unpaced is not None:
                raise AudioUnavailable(self.unpaced)
            out = self._convert(await self._queue.get())
            if out:
                return out

    def read_nowait(self) -> bytes | None:
        """The next chunk if one is waiting, else None."""
        while not self._queue.empty():
            out = self._convert(self._queue.get_nowait())
            if out:
                return out
        return None

    def pending(self) -> int:
        return self._queue.qsize()


class Speaker:
    """24 kHz model audio to a PortAudio output through a ``PlaybackBuffer``, in small (``block_ms``) device blocks.

    ``play`` / ``interrupt`` / ``end`` run on the event loop; the callback pulls ``block_ms`` at a time, so a flush
    is heard within one block. Model audio at another rate, or a device that cannot do 24 kHz, is resampled
    on the loop before it enters the buffer.
    """

    def __init__(
        self,
        *,
        device: int | None = None,
        block_ms: int = 10,
        prebuffer_ms: float = 140.0,
        max_prebuffer_ms: float = 300.0,
    ) -> None:
        if not 2 <= block_ms <= 40:
            raise ValueError("block_ms must be in [2, 40]")
        self.device = device
        self.block_ms = block_ms
        self.prebuffer_ms = prebuffer_ms
        self.max_prebuffer_ms = max_prebuffer_ms
        self.device_rate = SPEAKER_RATE
        self.device_channels = 1
        self.device_name = "?"
        self.buffer = PlaybackBuffer(rate=SPEAKER_RATE, prebuffer_ms=prebuffer_ms, max_prebuffer_ms=max_prebuffer_ms)
        self.levels = _Levels()
        self.device_underflows = 0
        """Blocks PortAudio flagged as output underflow (the callback was late)."""
        self.callback_errors = 0
        self.last_audible_at: float | None = None
        """``time.monotonic()`` of the last block that carried audio (half-duplex uses it for its tail)."""
        self._stream: Any = None
        self._resamplers: dict[int, Resampler] = {}

    @property
    def running(self) -> bool:
        return self._stream is not None

    @property
    def underruns(self) -> int:
        return self.buffer.underruns

    def start(self, sd: Any | None = None) -> None:
        """Open and start the output stream. Raises ``AudioUnavailable``."""
        sd = sd if sd is not None else load_sounddevice()
        try:
            self.device_rate, self.device_channels = _pick_format(sd, self.device, "output", SPEAKER_RATE)
            self.device_name = str(sd.query_devices(self.device, "output")["name"])
            self.buffer = PlaybackBuffer(
                rate=self.device_rate, prebuffer_ms=self.prebuffer_ms, max_prebuffer_ms=self.max_prebuffer_ms
            )
            self._resamplers.clear()
            stream = sd.RawOutputStream(
                samplerate=self.device_rate,
                blocksize=max(1, self.device_rate * self.block_ms // 1000),
                device=self.device,
                channels=self.device_channels,
                dtype="int16",
                latency="low",
                callback=self._callback,
            )
            _start_or_close(stream)
        except AudioUnavailable:
            raise
        except Exception as exc:
            raise AudioUnavailable(f"the speaker would not open ({exc}); pick another with --output-device") from None
        self._stream = stream

    def stop(self) -> None:
        """Stop and close the stream."""
        stream, self._stream = self._stream, None
        _stop_and_close(stream)

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        # Runs on PortAudio's thread: pull one small block; never block, log or raise.
        try:
            if status:
                self.device_underflows += 1
            block = self.buffer.pull(frames, time.monotonic())
            outdata[:] = _upmix(block) if self.device_channels == 2 else block
            self.levels.feed(block)
            if self.levels.rms_dbfs > SILENCE_DBFS:
                self.last_audible_at = time.monotonic()
        except Exception:
            self.callback_errors += 1
            try:
                outdata[:] = bytes(len(outdata))
            except Exception:
                self.callback_errors += 1

    def play(self, pcm: bytes, rate: int, generation: int) -> bool:
        """Queue a chunk of model audio; False when it belonged to an interrupted generation and was dropped."""
        if rate != self.device_rate:
            resampler = self._resamplers.get(rate)
            if resampler is None:
                resampler = self._resamplers[rate] = Resampler(rate, self.device_rate)
            pcm = resampler.process(pcm)
        return self.buffer.push(pcm, generation, time.monotonic())

    def interrupt(self, generation: int) -> float:
        """Drop all buffered audio now (heard within one device block); returns the ms dropped."""
        for resampler in self._resamplers.values():
            resampler.reset()
        return self.buffer.interrupt(generation)

    def end(self, generation: int) -> None:
        """The generation is complete: play out what is buffered (and the resampler's tail) without waiting."""
        for resampler in self._resamplers.values():
            tail = resampler.flush()
            if tail:
                self.buffer.push(tail, generation, time.monotonic())
        self.buffer.mark_end(generation)
