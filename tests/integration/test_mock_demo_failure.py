"""A demo reply that crashes closes the session with 1011 (as a failing backend does) instead of leaving it silent."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from google import genai
from google.genai import errors

import tui.mock.demo
from tui.mock.server import MockOptions, serve_mock

MODEL = "gemini-live-2.5-flash-preview"


async def _drain(session: Any) -> None:
    async for _ in session.receive():
        pass


async def test_a_crashing_audio_reply_closes_with_1011_and_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_voice(text: str, seed: int) -> np.ndarray:
        raise ImportError("cannot load module more than once per process")  # what the pytester bug looked like

    monkeypatch.setattr(tui.mock.demo, "synth_voice", broken_voice)
    async with serve_mock(MockOptions(pace=0)) as mock:
        client = genai.Client(api_key="k", http_options=mock.sdk_http_options())
        async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["AUDIO"]}) as session:
            await session.send_client_content(turns={"role": "user", "parts": [{"text": "hello"}]})
            with pytest.raises(errors.APIError) as caught:
                await asyncio.wait_for(_drain(session), 5)  # before the fix: no reply, no close, waiting forever
    assert caught.value.code == 1011
    assert "mock reply failed" in str(caught.value)
    assert any("mock demo reply failed" in r.getMessage() and r.exc_info for r in caplog.records)
