"""Regression: after a plugin test (pytester, in process), an AUDIO session in the same process still gets its reply.

This module must not import numpy or ``tui.mock.demo`` at import time: the bug needs them to be imported first
*inside* a pytester test (see ``conftest.py``), as happens when the plugin tests run before any other audio test.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_CASE = "tests/plugin/test_pytest_plugin.py::test_record_once_then_replay_passes_without_a_key"


async def _audio_reply_bytes() -> int:
    from google import genai

    from tui.mock.server import MockOptions, serve_mock

    async with serve_mock(MockOptions(pace=0)) as mock:
        client = genai.Client(api_key="test-key", http_options=mock.sdk_http_options())
        config: dict[str, object] = {"response_modalities": ["AUDIO"]}
        async with client.aio.live.connect(model="gemini-live-2.5-flash-preview", config=config) as session:
            await session.send_client_content(
                turns={"role": "user", "parts": [{"text": "hello there"}]}, turn_complete=True
            )
            audio = 0
            async for msg in session.receive():
                audio += len(msg.data or b"")
                if msg.server_content and msg.server_content.turn_complete:
                    break
    return audio


def test_an_audio_session_gets_its_reply() -> None:
    """The second half of the regression below; also a plain check when run on its own."""
    assert asyncio.run(asyncio.wait_for(_audio_reply_bytes(), 15)) > 24_000  # over half a second of 24 kHz s16le


def test_a_plugin_test_then_an_audio_session_in_one_process() -> None:
    """A fresh process runs a plugin case (the demo mock first imported inside the pytester test), then the audio
    session. Before conftest.py's fix the audio reply never came: the demo's voice synthesis hit numpy's "cannot load
    module more than once per process" and the turn never completed."""
    proc = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
            "-o", "faulthandler_timeout=60", PLUGIN_CASE, f"{Path(__file__).relative_to(ROOT)}::"
            "test_an_audio_session_gets_its_reply",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=100, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 passed" in proc.stdout, proc.stdout[-3000:]
