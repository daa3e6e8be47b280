"""Where the session connects: the configured endpoint, or the in-process offline demo (mock) when no key is set."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import SecretStr

from tui.config import Settings

DEMO_PACE_ENV = "GEMINI_TUI_DEMO_PACE"
"""Speeds the demo's replies up (0 = no delays) for tests and scripted demos; 1 (real time) by default."""

DEMO_KEY = "offline-demo"
"""The dummy key sent to the in-process mock (it checks none; a real server would reject it)."""


@asynccontextmanager
async def prepare_endpoint(settings: Settings) -> AsyncIterator[tuple[Settings, bool]]:
    """Yield ``(settings to connect with, is_demo)``.

    With ``settings.use_demo`` this starts the mock's demo backend on 127.0.0.1 over TLS (a fresh certificate,
    trusted through ``ca_file``) for the duration of the block, and yields settings pointing at it. Otherwise the
    settings come back unchanged.
    """
    if not settings.use_demo:
        yield settings, False
        return
    from tui.mock.server import MockOptions, serve_mock

    async with serve_mock(MockOptions(backend="demo", tls=True, pace=_demo_pace())) as mock:
        connection = settings.connection.model_copy(
            update={"base_url": mock.base_url, "ca_file": mock.ca_file, "api_version": "v1beta"}
        )
        demo_settings = settings.model_copy(
            update={
                "connection": connection,
                "api_key": SecretStr(DEMO_KEY),
                "ephemeral_token": None,
                "vertexai": False,
                "demo": False,
            }
        )
        yield demo_settings, True


def _demo_pace() -> float:
    raw = os.environ.get(DEMO_PACE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        pace = float(raw)
    except ValueError:
        from tui.errors import UserError

        raise UserError(f"{DEMO_PACE_ENV}={raw!r}: expected a number >= 0 (1 = real time)") from None
    return max(0.0, pace)
