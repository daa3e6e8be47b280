"""Drives a real ``LiveSession`` in tests: runs it, collects its events, and waits for the next one of a kind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tui.live import events as ev
from tui.live.session import LiveSession
from tui.live.state import ModelTurn


class Driver:
    """Runs a session and collects its events; helpers wait for the next event of a kind."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
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
        """The first event of ``kind`` at index >= ``after`` matching ``pred``."""

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
        """Send a text turn; return the model turn once its turnComplete arrived."""
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
