"""The recorder as the UI toggles it: ``tui.recording.writer.Recorder`` with a cheap size read-out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.config import Settings
    from tui.recording.writer import Recorder


class UIRecorder:
    """Wraps a ``Recorder``: forwards the tap calls, exposes ``path`` and ``bytes_written`` for the REC indicator."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self.path: Path = recorder.path

    @property
    def bytes_written(self) -> int:
        return self._recorder.stats().bytes_written

    def on_open(self, t_ns: int, url: str, headers: dict[str, str]) -> None:
        self._recorder.on_open(t_ns, url, headers)

    def on_send(self, t_ns: int, data: str | bytes) -> None:
        self._recorder.on_send(t_ns, data)

    def on_recv(self, t_ns: int, data: bytes) -> None:
        self._recorder.on_recv(t_ns, data)

    def on_close(self, t_ns: int, code: int | None, reason: str) -> None:
        self._recorder.on_close(t_ns, code, reason)

    def on_input(self, t_ns: int, kind: str, data: dict[str, Any]) -> None:
        self._recorder.on_input(t_ns, kind, data)

    def close(self) -> None:
        """Drain, fsync and close (blocks: the app calls it from a thread)."""
        self._recorder.close(timeout=10)


def open_recorder(settings: Settings) -> UIRecorder:
    """Start a recorder for ``settings`` (the default path when none is configured)."""
    from tui.recording.writer import Recorder

    return UIRecorder(Recorder.for_settings(settings))
