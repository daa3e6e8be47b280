"""The unmodified google-genai SDK against the mock over real TLS on 127.0.0.1: handshake, every message kind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google import genai
from google.genai import types

from tui.mock.server import MockOptions, MockServer, serve_mock

MODEL = "gemini-live-2.5-flash-preview"


@pytest.fixture
async def mock() -> AsyncIterator[MockServer]:
    async with serve_mock(MockOptions(pace=0)) as server:
        yield server


def client_for(mock: MockServer, **http: Any) -> genai.Client:
    return genai.Client(api_key="test-key", http_options=mock.sdk_http_options(**http))


async def one_turn(session: Any) -> list[types.LiveServerMessage]:
    out: list[types.LiveServerMessage] = []
    async with asyncio.timeout(5):
        async for message in session.receive():
            out.append(message)
    return out


async def test_text_turn_over_tls(mock: MockServer) -> None:
    client = client_for(mock, api_version="v1beta")
    async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
        assert session.setup_complete is not None
        await session.send_client_content(turns={"role": "user", "parts": [{"text": "hello there"}]})
        messages = await one_turn(session)
    text = "".join(m.text or "" for m in messages if m.server_content and m.server_content.model_turn)
    assert text.startswith("(offline demo)")
    assert '"hello there"' in text
    assert messages[-1].server_content is not None and messages[-1].server_content.turn_complete
    assert any(m.server_content and m.server_content.generation_complete for m in messages)
    usage = messages[-1].usage_metadata
    assert usage is not None and usage.response_token_count and usage.total_token_count
    assert usage.total_token_count == (usage.prompt_token_count or 0) + usage.response_token_count
    assert mock.ca_file is not None and mock.ca_file.exists()
    assert mock.base_url.startswith("https://127.0.0.1:")
