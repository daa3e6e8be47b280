"""The unmodified google-genai SDK (no LiveSession) against the mock: every message kind both ways, auth forms, and
a raw websockets client beside it."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest
import websockets
from google import genai
from google.genai import errors, types

from tui.live.tap import tapped_connection_class
from tui.live.wire import message_kind
from tui.mock.faults import FaultPlan
from tui.mock.server import MockOptions, MockServer, serve_mock

MODEL = "gemini-live-2.5-flash-preview"
RAW_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


@asynccontextmanager
async def mock_server(**options: Any) -> AsyncIterator[MockServer]:
    async with serve_mock(MockOptions(pace=0, **options)) as mock:
        yield mock


class KindTap:
    """Counts wire message kinds both ways, with serverContent and realtime_input broken down by field."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.received: Counter[str] = Counter()

    def on_open(self, t_ns: int, url: str, headers: dict[str, str]) -> None:
        pass

    def on_send(self, t_ns: int, data: str | bytes) -> None:
        frame = json.loads(data)
        kind = message_kind(frame)
        self.sent[kind] += 1
        body = frame.get("realtime_input") or frame.get("realtimeInput")
        if body:
            for key in body:
                self.sent[f"realtimeInput.{key}"] += 1

    def on_recv(self, t_ns: int, data: bytes) -> None:
        frame = json.loads(data)
        for key in frame:
            self.received[key] += 1
        sc = frame.get("serverContent") or {}
        for key, value in sc.items():
            if key == "modelTurn":
                for part in value.get("parts", []):
                    for pkey in part:
                        self.received[f"modelTurn.{pkey}"] += 1
            else:
                self.received[f"serverContent.{key}"] += 1

    def on_close(self, t_ns: int, code: int | None, reason: str) -> None:
        pass

    def on_input(self, t_ns: int, kind: str, data: dict[str, Any]) -> None:
        pass


def sdk_client(mock: MockServer, tap: KindTap | None = None, key: str = "k") -> genai.Client:
    args: dict[str, Any] = {"ssl": mock.client_ssl_context()}
    if tap is not None:
        args["create_connection"] = tapped_connection_class(tap)
    return genai.Client(
        api_key=key,
        http_options=types.HttpOptions(base_url=mock.base_url, api_version="v1beta", async_client_args=args),
    )


def speech(seconds: float) -> bytes:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return (0.4 * np.sin(2 * np.pi * 200 * t) * 32767).astype("<i2").tobytes()


async def next_turn(session: Any, *, until: str = "turn_complete") -> list[types.LiveServerMessage]:
    """Messages up to and including the one that carries ``until`` (a serverContent flag or a top-level field)."""
    out: list[types.LiveServerMessage] = []

    async def collect() -> None:
        while True:
            async for msg in session.receive():
                out.append(msg)
                sc = msg.server_content
                if until == "turn_complete" and sc is not None and sc.turn_complete:
                    return
                if until != "turn_complete" and getattr(msg, until, None) is not None:
                    return

    await asyncio.wait_for(collect(), 5)
    return out


async def test_every_message_kind_both_ways() -> None:
    tap = KindTap()
    async with mock_server() as mock:
        client = sdk_client(mock, tap)
        config = types.LiveConnectConfig(
            response_modalities=[types.Modality.AUDIO],
            input_audio_transcription=types.AudioTranscriptionConfig(),
            output_audio_transcription=types.AudioTranscriptionConfig(),
            session_resumption=types.SessionResumptionConfig(),
            tools=[types.Tool(function_declarations=[types.FunctionDeclaration(name="get_weather", description="w")])],
        )
        async with client.aio.live.connect(model=MODEL, config=config) as session:
            # client_content → audio reply with transcription, generationComplete, turnComplete, usage, handle
            await session.send_client_content(turns=types.Content(role="user", parts=[types.Part(text="hello")]))
            msgs = await next_turn(session)
            assert any(m.data for m in msgs)
            # realtime text → inputTranscription echo and a reply
            await session.send_realtime_input(text="typed realtime text")
            await next_turn(session)
            # mic audio with server VAD, then audioStreamEnd
            await session.send_realtime_input(audio=types.Blob(data=speech(0.5), mime_type="audio/pcm;rate=16000"))
            await session.send_realtime_input(audio_stream_end=True)
            await next_turn(session)
            # a video frame, then a question about it (legacy media chunk too)
            await session.send_realtime_input(video=types.Blob(data=_jpeg(), mime_type="image/jpeg"))
            await session.send_realtime_input(media=types.Blob(data=_jpeg(), mime_type="image/jpeg"))
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text="what do you see")])
            )
            await next_turn(session)
            # toolCall → tool_response → continuation
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text="weather in Rome")])
            )
            call_msg = (await next_turn(session, until="tool_call"))[-1]
            assert call_msg.tool_call is not None and call_msg.tool_call.function_calls
            fc = call_msg.tool_call.function_calls[0]
            await session.send_tool_response(
                function_responses=[types.FunctionResponse(id=fc.id, name=fc.name, response={"result": "sunny"})]
            )
            assert "sunny" in "".join(
                (m.server_content.output_transcription.text or "")
                for m in await next_turn(session)
                if m.server_content and m.server_content.output_transcription
            )
            # toolCall then a barge-in: toolCallCancellation
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text="weather in Oslo")])
            )
            await next_turn(session, until="tool_call")
            await session.send_client_content(turns=types.Content(role="user", parts=[types.Part(text="forget it")]))
            await next_turn(session, until="tool_call_cancellation")
            await next_turn(session)
            # interrupted: a long reply cut by new text
            await session.send_client_content(turns=types.Content(role="user", parts=[types.Part(text="mock:long")]))
            await next_turn(session, until="server_content")
            await session.send_client_content(turns=types.Content(role="user", parts=[types.Part(text="stop")]))
            cut = await next_turn(session)  # the interrupted generation ends with its own turnComplete
            assert any(m.server_content and m.server_content.interrupted for m in cut)
            await next_turn(session)  # the reply to "stop"
            # goAway
            await session.send_client_content(turns=types.Content(role="user", parts=[types.Part(text="goaway")]))
            await next_turn(session)
            # contextUpdate is accepted (the session goes on)
            await session.send_context_update(system_instruction="Be brief.")
            await session.send_client_content(turns=types.Content(role="user", parts=[types.Part(text="still there?")]))
            await next_turn(session)
        manual = types.LiveConnectConfig(
            response_modalities=[types.Modality.TEXT],
            realtime_input_config=types.RealtimeInputConfig(
                automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)
            ),
        )
        async with client.aio.live.connect(model=MODEL, config=manual) as session:
            await session.send_realtime_input(activity_start=types.ActivityStart())
            await session.send_realtime_input(audio=types.Blob(data=speech(0.3), mime_type="audio/pcm;rate=16000"))
            await session.send_realtime_input(activity_end=types.ActivityEnd())
            msgs = await next_turn(session)
            assert "0.3 seconds" in "".join(m.text or "" for m in msgs)

    assert {
        "setup",
        "clientContent",
        "toolResponse",
        "contextUpdate",
        "realtimeInput.audio",
        "realtimeInput.video",
        "realtimeInput.mediaChunks",
        "realtimeInput.text",
        "realtimeInput.audioStreamEnd",
        "realtimeInput.activityStart",
        "realtimeInput.activityEnd",
    } <= set(tap.sent)
    # voiceActivity / voiceActivityDetectionSignal are opt-in in the demo: test_voice_activity_and_vad_signals_*.
    assert {
        "setupComplete",
        "serverContent",
        "toolCall",
        "toolCallCancellation",
        "usageMetadata",
        "goAway",
        "sessionResumptionUpdate",
        "modelTurn.inlineData",
        "modelTurn.text",
        "serverContent.outputTranscription",
        "serverContent.inputTranscription",
        "serverContent.generationComplete",
        "serverContent.turnComplete",
        "serverContent.interrupted",
    } <= set(tap.received), sorted(tap.received)


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 10)).save(buf, format="JPEG")
    return buf.getvalue()


async def test_header_key_is_checked() -> None:
    async with mock_server(require_key="secret-1") as mock:
        async with sdk_client(mock, key="secret-1").aio.live.connect(model=MODEL) as session:
            assert session.setup_complete is not None
        with pytest.raises(errors.APIError) as info:
            async with sdk_client(mock, key="wrong").aio.live.connect(model=MODEL) as session:
                await next_turn(session)
        assert info.value.code == 1008


async def test_query_string_key_from_a_raw_websockets_client() -> None:
    # SDK 3.4.0 only sends the key as a header (and a base_url with ?key= would end up before the path), so the
    # ?key= form is what older SDKs and hand-written clients use: spoken here with raw websockets.
    async with mock_server(require_key="secret-2") as mock:
        ctx = mock.client_ssl_context()
        async with websockets.connect(mock.ws_url(RAW_PATH) + "?key=secret-2", ssl=ctx) as ws:
            await ws.send(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
            assert json.loads(await ws.recv()) == {"setupComplete": {}}
        async with websockets.connect(mock.ws_url(RAW_PATH) + "?key=nope", ssl=ctx) as ws:
            await ws.send(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_raw_websockets_client_beside_an_sdk_session() -> None:
    async with mock_server() as mock:
        config = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT])
        async with (
            sdk_client(mock).aio.live.connect(model=MODEL, config=config) as session,
            websockets.connect(mock.ws_url(RAW_PATH), ssl=mock.client_ssl_context()) as ws,
        ):
            await ws.send(
                json.dumps(
                    {"setup": {"model": f"models/{MODEL}", "generationConfig": {"responseModalities": ["TEXT"]}}}
                )
            )
            assert json.loads(await ws.recv()) == {"setupComplete": {}}
            await ws.send(
                json.dumps(
                    {
                        "clientContent": {
                            "turns": [{"role": "user", "parts": [{"text": "raw hi"}]}],
                            "turnComplete": True,
                        }
                    }
                )
            )
            await session.send_client_content(turns=types.Content(role="user", parts=[types.Part(text="sdk hi")]))
            raw_text = ""
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                sc = frame.get("serverContent", {})
                raw_text += "".join(p.get("text", "") for p in sc.get("modelTurn", {}).get("parts", []))
                if sc.get("turnComplete"):
                    break
            sdk_text = "".join(m.text or "" for m in await next_turn(session))
        assert '"raw hi"' in raw_text and '"sdk hi"' in sdk_text
        assert mock.stats.sessions_started == 2


async def test_bad_first_message_is_closed_1007_naming_the_field() -> None:
    async with mock_server() as mock:
        async with websockets.connect(mock.ws_url(RAW_PATH), ssl=mock.client_ssl_context()) as ws:
            await ws.send(json.dumps({"setup": {"model": "models/m", "bogusField": 1}}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
        assert "bogusField" in closed.value.rcvd.reason


async def test_fault_plan_from_options_reaches_the_sdk_as_a_close_code() -> None:
    async with mock_server(faults=FaultPlan.parse("close:1011@0s")) as mock:
        with pytest.raises(errors.APIError) as info:
            async with sdk_client(mock).aio.live.connect(model=MODEL) as session:
                await next_turn(session)
        assert info.value.code == 1011


async def test_voice_activity_and_vad_signals_reach_events() -> None:
    from tui.live import events as ev
    from tui.live.convert import Converter

    async with mock_server() as mock:
        url = (
            mock.base_url.replace("https://", "wss://")
            + "/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent"
        )
        client = genai.Client(
            vertexai=True,
            http_options=types.HttpOptions(
                base_url=url,
                headers={"x-mock-voice-activity": "1"},
                async_client_args={"ssl": mock.client_ssl_context()},
            ),
        )
        config = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT], explicit_vad_signal=True)
        conv = Converter()
        got: list[ev.SessionEvent] = []
        async with client.aio.live.connect(model=MODEL, config=config) as session:
            pcm = speech(0.6) + b"\x00\x00" * 16_000  # speech, then a second of silence ends it
            for i in range(0, len(pcm), 3200):
                await session.send_realtime_input(
                    audio=types.Blob(data=pcm[i : i + 3200], mime_type="audio/pcm;rate=16000")
                )
            for msg in await next_turn(session):
                got.extend(conv.convert(msg))
    kinds = [e.kind for e in got if isinstance(e, ev.VoiceActivity)]
    assert kinds == ["ACTIVITY_START", "VAD_SIGNAL_TYPE_SOS", "ACTIVITY_END", "VAD_SIGNAL_TYPE_EOS"]
