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
    """A ``FrameTap`` forwarding to several taps; the recorder slot can be filled and emptied while live."""

    def __init__(self, *taps: Any) -> None:
        self.taps: list[Any] = list(taps)
        self.recorder: Any | None = None

    def _each(self) -> list[Any]:
        return [*self.taps, self.recorder] if self.recorder is not None else list(self.taps)

    def on_open(self, t_ns: int, url: str, headers: dict[str, str]) -> None:
        for tap in self._each():
            tap.on_open(t_ns, url, headers)

    def on_send(self, t_ns: int, data: str | bytes) -> None:
        for tap in self._each():
            tap.on_send(t_ns, data)

    def on_recv(self, t_ns: int, data: bytes) -> None:
        for tap in self._each():
            tap.on_recv(t_ns, data)

    def on_close(self, t_ns: int, code: int | None, reason: str) -> None:
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
