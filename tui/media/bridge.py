"""``MediaBridge``: the one place the TUI and ``--headless`` connect media to a live session.

It pumps mic chunks to ``session.send_audio`` (respecting mute and the half-duplex gate) and frames to
``session.send_frame``; ``handle(event)`` feeds model audio to the speaker, flushes it on ``Interrupted``, ends a
generation's playback on ``GenerationComplete``/``TurnComplete`` and feeds transcripts to the echo detector.
The UI polls ``levels()`` at display rate and reads ``latest_frame`` (the exact bytes sent).

Invariants:
- Works without audio (``--no-audio``, no PortAudio, no device: one ``Notice`` says why and what to do) and
  with frames only; a missing part never stops the others.
- Event-loop only. The audio threads live inside ``Microphone``/``Speaker``; this class reads their plain
  counters and levels.
- Notices go to ``on_notice`` and are kept (bounded) in ``notices``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from tui.errors import UserError
from tui.live.events import (
    GenerationComplete,
    InputTranscript,
    Interrupted,
    ModelAudio,
    Notice,
    OutputTranscript,
    SessionEvent,
    TurnComplete,
)
from tui.media.audio import Microphone, Speaker
from tui.media.devices import AudioUnavailable, list_devices, load_sounddevice, remote_audio, resolve_device
from tui.media.echo import EchoDetector, HalfDuplexGate
from tui.media.levels import SILENCE_DBFS, LevelMeter
from tui.media.playback import TurnPlayback
from tui.media.video import Frame, FrameSource, source_from_settings, stream_frames

if TYPE_CHECKING:
    from tui.config import AudioSettings, VideoSettings

MAX_NOTICES = 20


class MediaSession(Protocol):
    """What the bridge needs from ``tui.live.session.LiveSession`` (methods may be sync or async)."""

    def send_audio(self, pcm16k: bytes) -> Any: ...

    def send_frame(self, jpeg: bytes, *, width: int, height: int, source: str) -> Any: ...

    def audio_stream_end(self) -> Any: ...

    def note_action(self, name: str, **data: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class ChannelLevels:
    """One meter's values at one instant."""

    available: bool
    """False when there is no device for this channel (text-only)."""
    level_dbfs: float = SILENCE_DBFS
    peak_dbfs: float = SILENCE_DBFS
    speaking: bool = False
    muted: bool = False
    gated: bool = False
    """Mic only: withheld by the half-duplex gate right now."""
    underruns: int = 0
    """Speaker only: playback ran dry mid-turn."""
    overruns: int = 0
    """Mic only: chunks dropped because sending fell behind."""
    device: str = ""


@dataclass(frozen=True, slots=True)
class MediaLevels:
    mic: ChannelLevels
    speaker: ChannelLevels
    half_duplex: bool
    frames_sent: int


async def _maybe_await(value: Any) -> None:
    if inspect.isawaitable(value):
        await value


class MediaBridge:
    """Media I/O for one session; see the module docstring."""

    def __init__(
        self,
        audio: AudioSettings,
        video: VideoSettings,
        *,
        on_notice: Callable[[Notice], None] | None = None,
        mic: Microphone | None = None,
        speaker: Speaker | None = None,
        frame_source: FrameSource | None = None,
        sounddevice: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``audio``/``video`` are ``tui.config.AudioSettings``/``VideoSettings``. ``mic``/``speaker``/
        ``frame_source``/``sounddevice`` replace the real ones (tests inject fakes at the device edge)."""
        self.audio_settings = audio
        self.video_settings = video
        self._on_notice = on_notice
        self._clock = clock
        self._sd = sounddevice
        self.mic = mic
        self.speaker = speaker
        self.frame_source = frame_source
        self._injected_devices = mic is not None or speaker is not None
        self.muted = bool(getattr(audio, "start_muted", False))
        self.gate = HalfDuplexGate(
            enabled=bool(getattr(audio, "half_duplex", False)),
            tail_s=getattr(audio, "half_duplex_tail_ms", 300) / 1000.0,
        )
        self.echo = EchoDetector()
        self.mic_meter = LevelMeter()
        self.speaker_meter = LevelMeter()
        self.notices: deque[Notice] = deque(maxlen=MAX_NOTICES)
        self.latest_frame: Frame | None = None
        self.frames_sent = 0
        self.chunks_sent = 0
        self.send_errors = 0
        self._session: MediaSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._mic_task: asyncio.Task[None] | None = None
        self._frames_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Future[Any]] = set()
        self._stream_open = False
        self.frames_done = asyncio.Event()
        """Set when the frame source has ended (or there is none)."""

    # ------------------------------------------------------------------------------------------ lifecycle

    def notice(self, level: Literal["info", "warning", "error"], message: str) -> Notice:
        """Raise a notice for a person (kept in ``notices`` and passed to ``on_notice``)."""
        n = Notice(level, message)
        self.notices.append(n)
        if self._on_notice is not None:
            self._on_notice(n)
        return n

    @property
    def audio_available(self) -> bool:
        return (self.mic is not None and self.mic.running) or (self.speaker is not None and self.speaker.running)

    def open_audio(self) -> None:
        """Open the mic and speaker the settings ask for; on failure say why once and carry on text-only."""
        settings = self.audio_settings
        if self._injected_devices:
            return
        if not settings.enabled:
            return
        try:
            sd = self._sd if self._sd is not None else load_sounddevice()
            devices = list_devices(sd)
        except AudioUnavailable as exc:
            self.notice("warning", f"{exc}. Text input still works.")
            return
        remote = remote_audio()
        problems: list[str] = []
        for kind in ("input", "output"):
            spec = settings.input_device if kind == "input" else settings.output_device
            try:
                index = resolve_device(spec, kind, devices, prefer_pulse=remote.over_ssh and remote.reachable)
                if kind == "input":
                    mic = Microphone(
                        device=index,
                        chunk_ms=settings.mic_chunk_ms,
                        queue_chunks=settings.mic_queue_chunks,
                        clock=self._clock,
                    )
                    mic.muted = self.muted
                    mic.start(sd)
                    self.mic = mic
                else:
                    speaker = Speaker(
                        device=index,
                        block_ms=settings.speaker_block_ms,
                        prebuffer_ms=settings.jitter_ms,
                        max_prebuffer_ms=settings.max_jitter_ms,
                    )
                    speaker.start(sd)
                    self.speaker = speaker
            except AudioUnavailable as exc:
                problems.append(str(exc))
            except UserError:
                # A device the user named that does not exist: close what was opened, then let them fix the flag.
                self._close_devices()
                raise
        if len(problems) == 2 and all(p.startswith("no audio ") and "device found" in p for p in problems):
            problems = ["no audio devices found (no microphone, no speaker); connect one, or run with --no-audio"]
        if problems:
            if remote.message:
                problems.append(remote.message)
            still = "speaker only" if self.speaker else "mic only" if self.mic else "text-only"
            self.notice("warning", f"{'; '.join(problems)}. Continuing {still}.")
        elif remote.message:
            self.notice("info", remote.message)

    async def start(self, session: MediaSession) -> None:
        """Open devices and start the mic and frame pumps for ``session``.

        What the user named explicitly and cannot work (a device or ``--frames`` path that does not exist, a camera
        without OpenCV) raises ``UserError`` before anything is opened or sent; a missing PortAudio or sound card
        only costs audio (one notice)."""
        self._session = session
        if self.frame_source is None:
            self.frame_source = source_from_settings(self.video_settings)
        if self.audio_settings.enabled or self._injected_devices:
            self.open_audio()
        self._start_mic_pump()
        if self.frame_source is not None:
            self._start_frame_pump(self.frame_source)
        else:
            self.frames_done.set()

    def _start_frame_pump(self, source: FrameSource) -> None:
        self.frames_done.clear()
        self._frames_task = asyncio.create_task(self._pump_frames(source), name=f"media-frames-{source.source}")
        self._tasks.append(self._frames_task)

    async def set_video(self, source: str | None) -> bool:
        """Switch what is streamed (the UI's camera/screen toggles): ``camera``, ``screen``, ``file`` or None/"none"
        to stop. The new source uses the other ``VideoSettings`` as given at start. Returns True when streaming.

        A source that cannot work (no OpenCV, no such monitor or path) raises ``UserError``; the old one is
        stopped either way, so the user never keeps sending a view they asked to switch away from."""
        task, self._frames_task = self._frames_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            self._tasks.remove(task)
        self.frame_source = None
        self.frames_done.set()
        if source is None or source == "none":
            return False
        new = source_from_settings(self.video_settings.model_copy(update={"source": source}))
        if new is None or self._session is None:
            return False
        self.frame_source = new
        self._start_frame_pump(new)
        return True

    @property
    def video_source(self) -> str | None:
        """What is being streamed now (``camera``, ``screen``, ``file``), or None."""
        task = self._frames_task
        if task is None or task.done() or self.frame_source is None:
            return None
        return self.frame_source.source

    def _start_mic_pump(self) -> None:
        if self.mic is not None and self._session is not None:
            self._mic_task = asyncio.create_task(self._pump_mic(), name="media-mic")
            self._tasks.append(self._mic_task)

    async def run(self, session: MediaSession) -> None:
        """``start``, then run until cancelled, then ``stop`` (for ``run_headless(media=...)``)."""
        try:
            await self.start(session)
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def set_devices(self, *, input_device: str | None, output_device: str | None) -> None:
        """Switch to other devices (the UI's picker): close both, reopen with the new choice, resume the mic pump.

        A name that matches nothing raises ``UserError`` (audio stays closed until a good choice is made)."""
        if self._mic_task is not None:
            self._mic_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._mic_task
            self._tasks.remove(self._mic_task)
            self._mic_task = None
        self._close_devices()
        self._injected_devices = False
        self.audio_settings = self.audio_settings.model_copy(
            update={"input_device": input_device, "output_device": output_device, "enabled": True}
        )
        self.open_audio()
        self._start_mic_pump()

    def _close_devices(self) -> None:
        for device in (self.mic, self.speaker):
            if device is not None:
                with contextlib.suppress(Exception):
                    device.stop()
        self.mic = self.speaker = None

    async def stop(self) -> None:
        """Stop the pumps and close the devices."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for device in (self.mic, self.speaker):
            if device is not None:
                with contextlib.suppress(Exception):
                    device.stop()

    # ------------------------------------------------------------------------------------------ controls

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute the mic (the level meter keeps showing the room)."""
        if muted == self.muted:
            return
        self.muted = muted
        if self.mic is not None:
            self.mic.muted = muted
        if self._session is not None:
            self._fire(self._send(self._session.note_action, "mute" if muted else "unmute"))
            if muted and self._stream_open:
                # Tell server VAD the user stopped, so a muted mic does not leave a turn hanging open.
                self._stream_open = False
                self._fire(self._send(self._session.audio_stream_end))

    def toggle_mute(self) -> bool:
        self.set_muted(not self.muted)
        return self.muted

    def set_half_duplex(self, enabled: bool) -> None:
        self.gate.enabled = enabled
        if self._session is not None:
            self._fire(self._send(self._session.note_action, "half_duplex", enabled=enabled))

    def _fire(self, value: Any) -> None:
        """Run a session call from sync code; the set holds a reference until it is done (bounded by the work)."""
        if inspect.isawaitable(value):
            task = asyncio.ensure_future(value)
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def gated(self, now: float | None = None) -> bool:
        now = self._clock() if now is None else now
        if self.speaker is None:
            return False
        playing = self.speaker.buffer.playing or self.speaker.buffer.buffered_ms() > 0
        return self.gate.closed(playing=playing, last_audible_at=self.speaker.last_audible_at, now=now)

    # ------------------------------------------------------------------------------------------ pumps

    async def _pump_mic(self) -> None:
        mic, session = self.mic, self._session
        assert mic is not None and session is not None
        while True:
            try:
                chunk = await mic.read()
            except AudioUnavailable as exc:  # the device turned out unusable (not clocked in real time)
                self.notice("warning", f"{exc}. Text input still works.")
                return
            if self.muted:
                continue  # a chunk that was in flight when the mic was muted
            if self.gated():
                self.gate.gated_chunks += 1
                continue
            self._stream_open = True
            if await self._send(session.send_audio, chunk):
                self.chunks_sent += 1

    async def _send(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        try:
            await _maybe_await(fn(*args, **kwargs))
            return True
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:  # the session reports its own state; media keeps going
            self.send_errors += 1
            if self.send_errors == 1:
                self.notice("warning", f"media could not be sent ({exc.__class__.__name__}: {exc})")
            return False

    async def _pump_frames(self, source: FrameSource) -> None:
        session = self._session
        assert session is not None
        try:
            async for frame in stream_frames(source, self.video_settings.fps):
                if await self._send(
                    session.send_frame, frame.jpeg, width=frame.width, height=frame.height, source=frame.source
                ):
                    self.latest_frame = frame
                    self.frames_sent += 1
        except UserError as exc:
            self.notice("error", str(exc))
        except Exception as exc:  # a capture library failing in a way we did not foresee: say so, keep the session
            self.notice("error", f"{source.source} frames stopped: {exc.__class__.__name__}: {exc}")
        finally:
            self.frames_done.set()

    # ------------------------------------------------------------------------------------------ events

    def handle(self, event: SessionEvent) -> Notice | None:
        """Feed one session event to the speaker and the echo detector; returns an echo warning when one fires."""
        now = self._clock()
        speaker = self.speaker
        if isinstance(event, ModelAudio):
            if speaker is not None:
                speaker.play(event.pcm, event.rate, event.generation)
        elif isinstance(event, Interrupted):
            if speaker is not None:
                speaker.interrupt(event.generation)
        elif isinstance(event, GenerationComplete | TurnComplete):
            if speaker is not None:
                speaker.end(event.generation)
        elif isinstance(event, OutputTranscript):
            self.echo.model_said(event.text, now)
        elif isinstance(event, InputTranscript):
            warning = self.echo.user_said(event.text, now, finished=event.finished)
            if warning is not None:
                self.notices.append(warning)
                if self._on_notice is not None:
                    self._on_notice(warning)
                return warning
        return None

    def finished_turns(self) -> list[TurnPlayback]:
        """Heard-vs-generated figures of turns that finished playing (or were cut) since the last call; the
        transcript polls this to mark turns spoken / interrupted at N ms."""
        return [] if self.speaker is None else self.speaker.buffer.take_finished()

    def turn_playback(self, generation: int) -> TurnPlayback | None:
        """How much of ``generation`` was heard (None without a speaker)."""
        return None if self.speaker is None else self.speaker.buffer.turn_playback(generation)

    # ------------------------------------------------------------------------------------------ meters

    def levels(self, now: float | None = None) -> MediaLevels:
        """Meter values for the UI's display-rate poll."""
        now = self._clock() if now is None else now
        mic, speaker = self.mic, self.speaker
        if mic is not None and mic.running:
            self.mic_meter.update(mic.levels.rms_dbfs, mic.levels.take_peak(), now)
            r = self.mic_meter.read(now)
            mic_levels = ChannelLevels(
                True,
                r.level_dbfs,
                r.peak_dbfs,
                r.speaking and not self.muted,
                self.muted,
                self.gated(now),
                overruns=mic.overruns,
                device=mic.device_name,
            )
        else:
            mic_levels = ChannelLevels(False, muted=self.muted)
        if speaker is not None and speaker.running:
            self.speaker_meter.update(speaker.levels.rms_dbfs, speaker.levels.take_peak(), now)
            r = self.speaker_meter.read(now)
            speaker_levels = ChannelLevels(
                True, r.level_dbfs, r.peak_dbfs, r.speaking, underruns=speaker.underruns, device=speaker.device_name
            )
        else:
            speaker_levels = ChannelLevels(False)
        return MediaLevels(mic_levels, speaker_levels, self.gate.enabled, self.frames_sent)
