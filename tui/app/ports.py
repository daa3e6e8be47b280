"""What the UI needs from the session, the media bridge and the recorder: small protocols, null parts and adapters.

The app factory takes factories for these, so tests inject fakes at the device edge and the real session runs
against the demo mock. Nothing here imports Textual.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tui.app.widgets.level_meter import MeterReading

if TYPE_CHECKING:
    from tui.config import Settings
    from tui.live.events import SessionEvent
    from tui.live.tap import FrameTap


async def maybe_await(value: Any) -> Any:
    """Await ``value`` if it is awaitable (the core's intents may be sync or async)."""
    if inspect.isawaitable(value):
        return await value
    return value


class SessionPort(Protocol):
    """The live session as the UI uses it (``tui.live.session.LiveSession`` satisfies it)."""

    def run(self) -> Any: ...

    def events(self) -> AsyncIterator[SessionEvent]: ...

    def send_text(self, text: str) -> Any: ...

    def note_action(self, name: str, **data: Any) -> Any: ...

    def close(self) -> Any: ...


class MediaPort(Protocol):
    """Microphone, speaker and video as the UI uses them. Levels are pulled at display rate."""

    @property
    def audio_problem(self) -> str | None:
        """Why there is no audio (no PortAudio, no device…), or None when audio works."""

    @property
    def muted(self) -> bool: ...

    def set_muted(self, muted: bool) -> Any: ...

    def readings(self, now: float) -> tuple[MeterReading, MeterReading]:
        """(mic, model) levels at ``now``."""

    def played_ms(self, generation: int) -> float | None:
        """How much of a generation's audio was actually played, if known."""

    def handle_event(self, event: SessionEvent) -> None:
        """Feed a session event (model audio to the speaker, interruptions flush it)."""

    def interrupt(self) -> None:
        """Stop the model's audio now (local barge-in)."""

    def toggle_video(self, source: str) -> bool | None:
        """Start or stop sending ``camera``/``screen`` frames; returns the new state, None if unsupported."""

    def set_devices(self, *, input_device: str | None, output_device: str | None) -> Any:
        """Switch the mic and speaker without touching the session (the device picker)."""

    def start(self, session: SessionPort) -> Any: ...

    def stop(self) -> Any: ...


class RecorderPort(Protocol):
    """A recorder the UI can toggle: a ``FrameTap`` with a path and a size."""

    path: Path

    @property
    def bytes_written(self) -> int: ...

    def close(self) -> Any: ...


class NullMedia:
    """No audio, no video: the text-only fallback (and what tests use when media does not matter)."""

    def __init__(self, problem: str | None = "audio disabled (--no-audio): text only") -> None:
        self._problem = problem
        self._muted = True

    @property
    def audio_problem(self) -> str | None:
        return self._problem

    @property
    def muted(self) -> bool:
        return self._muted

    def set_muted(self, muted: bool) -> None:
        self._muted = muted

    def readings(self, now: float) -> tuple[MeterReading, MeterReading]:
        off = MeterReading(level_db=None, available=False)
        return off, off

    def played_ms(self, generation: int) -> float | None:
        return None

    def handle_event(self, event: SessionEvent) -> None:
        return None

    def interrupt(self) -> None:
        return None

    def toggle_video(self, source: str) -> bool | None:
        return None

    def set_devices(self, *, input_device: str | None, output_device: str | None) -> None:
        return None

    def start(self, session: SessionPort) -> None:
        return None

    def stop(self) -> None:
        return None


class TeeTap:
    """A ``FrameTap`` forwarding to several taps; the recorder slot can be filled and emptied while live.

    A recorder switched on in the middle of a connection (F5) first gets that connection's start, as it happened:
    the open, the ``setup`` the client sent and the ``setupComplete`` it got. Without them the file could not be
    replayed (replay starts a session the way the recorded one started); with them it replays from the moment
    recording began. Only the current connection's start is kept (three frames), and only until it closes.
    """

    def __init__(self, *taps: Any) -> None:
        self.taps: list[Any] = list(taps)
        self._recorder: Any | None = None
        self._start: list[tuple[str, tuple[Any, ...]]] = []
        """The live connection's open, setup and setupComplete, as tap calls (empty when not connected)."""
        self._start_done = True

    @property
    def recorder(self) -> Any | None:
        return self._recorder

    @recorder.setter
    def recorder(self, recorder: Any | None) -> None:
        if recorder is not None and recorder is not self._recorder and self._start:
            for method, args in self._start:
                getattr(recorder, method)(*args)
        self._recorder = recorder

    def _each(self) -> list[Any]:
        return [*self.taps, self._recorder] if self._recorder is not None else list(self.taps)

    def on_open(self, t_ns: int, url: str, headers: dict[str, str]) -> None:
        self._start = [("on_open", (t_ns, url, dict(headers)))]
        self._start_done = False
        for tap in self._each():
            tap.on_open(t_ns, url, headers)

    def on_send(self, t_ns: int, data: str | bytes) -> None:
        if not self._start_done and len(self._start) == 1:
            self._start.append(("on_send", (t_ns, data)))  # the setup: the first frame of a connection
        for tap in self._each():
            tap.on_send(t_ns, data)

    def on_recv(self, t_ns: int, data: bytes) -> None:
        if not self._start_done:
            if len(self._start) == 2 and b"setupComplete" in data[:64]:
                self._start.append(("on_recv", (t_ns, data)))
            self._start_done = True  # the start is the first exchange only, whatever it held
        for tap in self._each():
            tap.on_recv(t_ns, data)

    def on_close(self, t_ns: int, code: int | None, reason: str) -> None:
        self._start = []
        self._start_done = True
        for tap in self._each():
            tap.on_close(t_ns, code, reason)

    def on_input(self, t_ns: int, kind: str, data: dict[str, Any]) -> None:
        for tap in self._each():
            hook = getattr(tap, "on_input", None)
            if hook is not None:
                hook(t_ns, kind, data)


SessionFactory = Callable[["Settings", "FrameTap"], SessionPort]
MediaFactory = Callable[["Settings", Callable[["SessionEvent"], None]], MediaPort]
"""``(settings, on_notice)``: the media part calls ``on_notice`` with ``Notice`` events for the user."""
RecorderFactory = Callable[["Settings"], RecorderPort]
EndpointFactory = Callable[["Settings"], AbstractAsyncContextManager[tuple["Settings", bool]]]
