"""Shared harness for the reliability suite: a mock with a fault plan, a recorded LiveSession, event waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tui.config import Settings
from tui.live import events as ev
from tui.live.session import LiveSession
from tui.live.state import ModelTurn
from tui.mock.faults import FaultPlan
from tui.mock.server import MockOptions, MockServer, serve_mock
from tui.recording.writer import Recorder

KEY = "AIza" + "ReliabilitySuiteKey0123456789abcdefXY"
"""Shaped like a real Gemini key, so the recorder's credential patterns would also catch it."""


@asynccontextmanager
async def mock_server(faults: str = "", **options: Any) -> AsyncIterator[MockServer]:
    opts = MockOptions(faults=FaultPlan.parse(faults), **{"pace": 0.0, **options})
    async with serve_mock(opts) as mock:
        yield mock


def settings_for(
    mock: MockServer, *, session: dict[str, Any] | None = None, record: Path | None = None, **conn: Any
) -> Settings:
    connection = {
        "base_url": mock.base_url,
        "ca_file": mock.ca_file,
        "api_version": "v1beta",
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.2,
        "connect_timeout_s": 5.0,
        **conn,
    }
    recording = {"enabled": True, "path": record} if record is not None else {}
    return Settings(
        api_key=KEY,
        connection=connection,
        session={"modality": "TEXT", **(session or {})},
        recording=recording,
        audio={"enabled": False},
    )


class Driver:
    """Runs a session (with a recorder when the settings ask for one) and collects its events."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.recorder = (
            Recorder.for_settings(settings, path=settings.recording.path) if settings.recording.enabled else None
        )
        self.session = LiveSession(settings, tap=self.recorder)
        self.events: list[ev.SessionEvent] = []
        self._cond = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._consumer: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Driver:
        self._task = asyncio.create_task(self.session.run())
        self._consumer = asyncio.create_task(self._consume())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()
        await self.run_to_end()

    async def _consume(self) -> None:
        async for e in self.session.events():
            async with self._cond:
                self.events.append(e)
                self._cond.notify_all()

    async def wait_for(
        self, kind: type[Any], pred: Callable[[Any], bool] = lambda e: True, *, after: int = 0, timeout: float = 5
    ) -> Any:
        async def find() -> Any:
            async with self._cond:
                while True:
                    for e in self.events[after:]:
                        if isinstance(e, kind) and pred(e):
                            return e
                    await self._cond.wait()

        return await asyncio.wait_for(find(), timeout)

    def mark(self) -> int:
        return len(self.events)

    def of(self, kind: type[Any], after: int = 0) -> list[Any]:
        return [e for e in self.events[after:] if isinstance(e, kind)]

    async def turn(self, text: str, *, timeout: float = 5) -> ModelTurn:
        m = self.mark()
        await self.session.send_text(text)
        done = await self.wait_for(ev.TurnComplete, after=m, timeout=timeout)
        turn = self.session.state.model_turn(done.generation)
        assert isinstance(turn, ModelTurn)
        return turn

    async def run_to_end(self, timeout: float = 10) -> None:
        assert self._task is not None and self._consumer is not None
        await asyncio.wait_for(self._task, timeout)
        await asyncio.wait_for(self._consumer, timeout)
        if self.recorder is not None and not self.recorder.closed:
            await self.recorder.aclose()
