"""Shared harness for the reliability suite: a mock with a fault plan, a recorded LiveSession, event waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.live_driver import Driver as BaseDriver
from tui.config import Settings
from tui.live.session import LiveSession
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


class Driver(BaseDriver):
    """Runs a session (with a recorder when the settings ask for one) and collects its events."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.recorder = (
            Recorder.for_settings(settings, path=settings.recording.path) if settings.recording.enabled else None
        )
        super().__init__(LiveSession(settings, tap=self.recorder))

    async def run_to_end(self, timeout: float = 10) -> None:
        await super().run_to_end(timeout)
        if self.recorder is not None and not self.recorder.closed:
            await self.recorder.aclose()
