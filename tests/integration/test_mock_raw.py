"""A raw websockets client against the mock: both casings of every client kind, HTTP routing, auth sources, 1007 on
bad input with the field named, limits, plain ws, and pong behaviour."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tui.mock.server import MockOptions, MockServer, serve_mock

GEMINI = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
SETUP_TEXT = {"setup": {"model": "models/m", "generationConfig": {"responseModalities": ["TEXT"]}}}


@pytest.fixture
async def mock() -> AsyncIterator[MockServer]:
    async with serve_mock(MockOptions(pace=0)) as server:
        yield server


def open_ws(mock: MockServer, path: str = GEMINI, **kwargs: Any) -> Any:
    ssl_ctx = mock.client_ssl_context() if mock.ca_file else None
    return connect(mock.ws_url(path), ssl=ssl_ctx, compression=None, open_timeout=3, **kwargs)


async def start(ws: ClientConnection, setup: dict[str, Any] | None = None) -> dict[str, Any]:
    await ws.send(json.dumps(setup or SETUP_TEXT))
    return json.loads(await asyncio.wait_for(ws.recv(), 3))  # type: ignore[no-any-return]


async def until_turn_complete(ws: ClientConnection) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(3):
        while True:
            frames.append(json.loads(await ws.recv()))
            if frames[-1].get("serverContent", {}).get("turnComplete"):
                return frames


def reply_text(frames: list[dict[str, Any]]) -> str:
    return "".join(
        p.get("text", "") for f in frames for p in f.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
    )


async def close_of(ws: ClientConnection) -> tuple[int | None, str]:
    async def read_until_closed() -> None:
        while True:
            await ws.recv()

    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(read_until_closed(), 3)
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason or ""


async def test_both_casings_of_every_client_kind_are_accepted(mock: MockServer) -> None:
    pcm = base64.urlsafe_b64encode(b"\x00\x01" * 800).decode()
    async with open_ws(mock) as ws:
        assert await start(ws) == {"setupComplete": {}}
        frames = [
            {"client_content": {"turns": [{"role": "user", "parts": [{"text": "snake"}]}], "turn_complete": True}},
            {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "camel"}]}], "turnComplete": True}},
            {"realtime_input": {"text": "rt snake"}},
            {"realtimeInput": {"text": "rt camel"}},
        ]
        replies = []
        for f in frames:
            await ws.send(json.dumps(f))
            replies.append(reply_text(await until_turn_complete(ws)))
        assert [r.split('"')[1] for r in replies] == ["snake", "camel", "rt snake", "rt camel"]
        quiet = [
            {"realtime_input": {"audio": {"data": pcm, "mime_type": "audio/pcm;rate=16000"}}},
            {"realtimeInput": {"audio": {"data": pcm.replace("-", "+").replace("_", "/"), "mimeType": "audio/pcm"}}},
            {"realtime_input": {"media_chunks": [{"data": pcm, "mime_type": "audio/pcm;rate=16000"}]}},
            {"realtimeInput": {"mediaChunks": [{"data": pcm, "mimeType": "audio/pcm;rate=16000"}]}},
            {"realtime_input": {"audio_stream_end": True}},
            {"realtimeInput": {"audioStreamEnd": True}},
            {"realtime_input": {"activity_start": {}}},
            {"realtimeInput": {"activityEnd": {}}},
            {"tool_response": {"function_responses": [{"id": "x", "name": "f", "response": {"a_b": 1}}]}},
            {"toolResponse": {"functionResponses": [{"id": "y", "name": "f", "response": {}}]}},
            {"contextUpdate": {"systemInstruction": {"parts": [{"text": "x"}]}}},
            {"context_update": {"system_instruction": {"parts": [{"text": "y"}]}}},
            {"client_content": {"turns": [{"role": "user", "parts": [{"text": "ctx"}]}], "turn_complete": False}},
        ]
        for f in quiet:
            await ws.send(json.dumps(f))
        # Still open and still answering: a final turn sees the accumulated (turn_complete=false) context.
        await ws.send(json.dumps({"clientContent": {"turnComplete": True}}))
        final = reply_text(await until_turn_complete(ws))
    assert '"ctx"' in final
    assert mock.stats.frames_in >= 1 + len(frames) + len(quiet) + 1


async def test_unknown_path_is_http_404(mock: MockServer) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with open_ws(mock, "/ws/google.ai.generativelanguage.v1beta.Nope"):
            pass
    assert info.value.response.status_code == 404
    assert mock.stats.sessions_rejected[404] == 1


@pytest.mark.parametrize(
    ("first", "named"),
    [
        ({"clientContent": {"turnComplete": True}}, "setup"),
        ({"setup": {"model": "m", "notAField": {}}}, "notAField"),
        ({"setup": {"model": "m", "generation_config": {"response_modalities": ["VIDEO"]}}}, "responseModalities"),
    ],
)
async def test_bad_first_message_closes_1007_naming_the_field(
    mock: MockServer, first: dict[str, Any], named: str
) -> None:
    async with open_ws(mock) as ws:
        await ws.send(json.dumps(first))
        code, reason = await close_of(ws)
    assert code == 1007 and named in reason
    assert len(reason.encode()) <= 123


@pytest.mark.parametrize(
    ("frame", "named"),
    [
        ({"realtime_input": {"audio": {"data": "AAAA", "mime_type": "audio/mp3"}}}, "mimeType"),
        ({"realtime_input": {"audio": {"data": "AAAA", "mime_type": "audio/pcm;rate=16000"}}}, "audio.data"),
        ({"realtime_input": {"audio": {"data": "!!!!", "mime_type": "audio/pcm;rate=16000"}}}, "audio.data"),
        ({"realtime_input": {"video": {"data": "AAAA", "mime_type": "text/plain"}}}, "mimeType"),
        ({"realtime_input": {"surprise": True}}, "surprise"),
        ({"unknownKind": {}}, "unknownKind"),
    ],
)
async def test_bad_client_frame_closes_1007_naming_the_field(
    mock: MockServer, frame: dict[str, Any], named: str
) -> None:
    async with open_ws(mock) as ws:
        await start(ws)
        await ws.send(json.dumps(frame))
        code, reason = await close_of(ws)
    assert code == 1007 and named in reason
    await mock.idle()  # the close is counted when the server's handler finishes
    assert mock.stats.closes[1007] == 1


async def test_query_key_and_bearer_token_auth() -> None:
    async with serve_mock(MockOptions(pace=0, require_key="sekret")) as mock:
        async with open_ws(mock, GEMINI + "?key=sekret") as ws:
            assert await start(ws) == {"setupComplete": {}}
        async with open_ws(mock, GEMINI, additional_headers={"Authorization": "Bearer sekret"}) as ws:
            assert await start(ws) == {"setupComplete": {}}
        async with open_ws(mock, GEMINI, additional_headers={"Authorization": "Token sekret"}) as ws:
            assert await start(ws) == {"setupComplete": {}}
        async with open_ws(mock, GEMINI + "?key=wrong") as ws:
            await ws.send(json.dumps(SETUP_TEXT))
            code, reason = await close_of(ws)
        async with open_ws(mock) as ws:  # no key at all
            await ws.send(json.dumps(SETUP_TEXT))
            missing = await close_of(ws)
    assert code == 1008 and reason.startswith("API key not valid")
    assert missing[0] == 1008


async def test_plain_ws_without_tls() -> None:
    async with serve_mock(MockOptions(pace=0, tls=False)) as mock:
        assert mock.base_url.startswith("http://") and mock.ca_file is None
        async with open_ws(mock) as ws:
            assert await start(ws) == {"setupComplete": {}}
            await ws.send(json.dumps({"realtimeInput": {"text": "plain"}}))
            assert '"plain"' in reply_text(await until_turn_complete(ws))


async def test_max_sessions_is_http_503() -> None:
    async with serve_mock(MockOptions(pace=0, max_sessions=1)) as mock, open_ws(mock) as first:
        await start(first)
        with pytest.raises(InvalidStatus) as info:
            async with open_ws(mock):
                pass
    assert info.value.response.status_code == 503


async def test_bad_fault_header_is_http_400(mock: MockServer) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with open_ws(mock, additional_headers={"x-mock-fault": "explode"}):
            pass
    assert info.value.response.status_code == 400


async def test_pings_are_answered_promptly(mock: MockServer) -> None:
    async with open_ws(mock, ping_interval=None) as ws:
        await start(ws)
        latency = await asyncio.wait_for(await ws.ping(), 2)
    assert latency < 0.5


async def test_slow_pongs_fault_delays_the_pong(mock: MockServer) -> None:
    async with open_ws(mock, ping_interval=None, additional_headers={"x-mock-fault": "slow-pongs:0.6"}) as ws:
        await start(ws)
        latency = await asyncio.wait_for(await ws.ping(), 3)
    assert latency >= 0.55


async def test_no_pongs_fault_suppresses_the_pong_but_keeps_serving(mock: MockServer) -> None:
    async with open_ws(mock, ping_interval=None, additional_headers={"x-mock-fault": "no-pongs"}) as ws:
        await start(ws)
        waiter = await ws.ping()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), 0.5)
        await ws.send(json.dumps({"realtimeInput": {"text": "still there?"}}))
        assert "still there?" in reply_text(await until_turn_complete(ws))


async def test_server_declines_permessage_deflate(mock: MockServer) -> None:
    ssl_ctx = mock.client_ssl_context()
    async with connect(mock.ws_url(GEMINI), ssl=ssl_ctx, compression="deflate") as ws:
        assert ws.response is not None
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        await start(ws)
