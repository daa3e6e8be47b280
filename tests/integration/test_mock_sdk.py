"""The unmodified google-genai SDK against the mock over real TLS on 127.0.0.1: handshake, paths, auth, and every
message kind the demo backend sends, as the SDK parses them."""

from __future__ import annotations

import asyncio
import io
import json
import math
from collections.abc import AsyncIterator
from typing import Any

import google.oauth2.credentials
import numpy as np
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image
from websockets.asyncio.client import ClientConnection

from tui.live import wire
from tui.mock.server import MockOptions, MockServer, serve_mock

MODEL = "gemini-live-2.5-flash-preview"
WEATHER = {
    "function_declarations": [
        {
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]},
        },
        {"name": "get_time", "description": "The time.", "parameters": {"type": "OBJECT", "properties": {}}},
    ]
}


@pytest.fixture
async def mock() -> AsyncIterator[MockServer]:
    async with serve_mock(MockOptions(pace=0)) as server:
        yield server


def client_for(mock: MockServer, api_key: str = "test-key", **http: Any) -> genai.Client:
    return genai.Client(api_key=api_key, http_options=mock.sdk_http_options(**http))


async def one_turn(session: Any, limit: float = 4.0) -> list[types.LiveServerMessage]:
    out: list[types.LiveServerMessage] = []
    async with asyncio.timeout(limit):
        async for message in session.receive():
            out.append(message)
    return out


def text_of(messages: list[types.LiveServerMessage]) -> str:
    parts: list[str] = []
    for m in messages:
        sc = m.server_content
        if sc and sc.model_turn and sc.model_turn.parts:
            parts.extend(p.text for p in sc.model_turn.parts if p.text and not p.thought)
        if sc and sc.output_transcription and sc.output_transcription.text:
            parts.append(sc.output_transcription.text)
    return "".join(parts)


def say(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def tone(seconds: float, amplitude: float, rate: int = 16000) -> bytes:
    n = int(seconds * rate)
    t = np.arange(n) / rate
    return (amplitude * 32767 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="JPEG")
    return buf.getvalue()


async def send_pcm(session: Any, pcm: bytes, chunk_s: float = 0.1, rate: int = 16000) -> None:
    step = int(chunk_s * rate) * 2
    for i in range(0, len(pcm), step):
        await session.send_realtime_input(audio=types.Blob(data=pcm[i : i + step], mime_type=f"audio/pcm;rate={rate}"))


# ------------------------------------------------------------------------------------------------ text and audio


async def test_text_turn_over_tls(mock: MockServer) -> None:
    client = client_for(mock, api_version="v1beta")
    async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
        assert session.setup_complete is not None
        await session.send_client_content(turns=say("hello there"))
        messages = await one_turn(session)
    text = text_of(messages)
    assert text.startswith("(offline demo)")
    assert '"hello there"' in text
    assert len([m for m in messages if m.server_content and m.server_content.model_turn]) >= 3  # streamed in pieces
    assert messages[-1].server_content is not None and messages[-1].server_content.turn_complete
    assert any(m.server_content and m.server_content.generation_complete for m in messages)
    usage = messages[-1].usage_metadata
    assert usage is not None and usage.response_token_count and usage.total_token_count
    assert usage.total_token_count == (usage.prompt_token_count or 0) + usage.response_token_count
    assert usage.response_token_count == pytest.approx(len(text) / 4, rel=0.5)
    assert mock.base_url.startswith("https://127.0.0.1:")


async def test_audio_turn_chunks_transcription_and_usage(mock: MockServer) -> None:
    client = client_for(mock)
    config = {"response_modalities": ["AUDIO"], "output_audio_transcription": {}}
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(turns=say("please say something"))
        messages = await one_turn(session)
    chunks = [m for m in messages if m.data]
    assert len(chunks) >= 5
    for m in chunks:
        assert m.server_content and m.server_content.model_turn and m.server_content.model_turn.parts
        assert m.server_content.model_turn.parts[0].inline_data.mime_type == "audio/pcm;rate=24000"  # type: ignore[union-attr]
    ms = [len(m.data or b"") / 2 / 24 for m in chunks]
    assert all(ms_ <= 240 for ms_ in ms) and all(ms_ >= 40 for ms_ in ms[:-1])
    pcm = b"".join(m.data or b"" for m in chunks)
    seconds = len(pcm) / 2 / 24000
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    # Meters must move: loud syllables and quiet gaps, not a constant tone or silence.
    rms_20ms = np.sqrt(np.mean(samples[: len(samples) // 480 * 480].reshape(-1, 480) ** 2, axis=1))
    assert rms_20ms.max() > 3000 and rms_20ms.min() < 300
    transcript = text_of(messages)
    expected = (
        '(offline demo) You said: "please say something". I am a local mock, not Gemini, so this is all I can do.'
    )
    assert transcript.split() == expected.split(" ")
    usage = messages[-1].usage_metadata
    assert usage is not None and usage.response_token_count == math.ceil(seconds * 32)
    assert usage.response_tokens_details and usage.response_tokens_details[0].modality == types.MediaModality.AUDIO


async def test_same_input_gives_same_audio(mock: MockServer) -> None:
    client = client_for(mock)
    captured: list[bytes] = []
    for _ in range(2):
        async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["AUDIO"]}) as session:
            await session.send_client_content(turns=say("determinism"))
            captured.append(b"".join(m.data or b"" for m in await one_turn(session)))
    assert captured[0] and captured[0] == captured[1]


async def test_realtime_text_gets_input_transcription_and_reply(mock: MockServer) -> None:
    client = client_for(mock)
    config = {"response_modalities": ["TEXT"], "input_audio_transcription": {}}
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await session.send_realtime_input(text="typed realtime text")
        messages = await one_turn(session)
    heard = [
        m.server_content.input_transcription.text
        for m in messages
        if m.server_content and m.server_content.input_transcription
    ]
    assert heard == ["typed realtime text"]
    assert "typed realtime text" in text_of(messages)


async def test_thought_part_is_marked(mock: MockServer) -> None:
    async with client_for(mock).aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
        await session.send_client_content(turns=say("mock:thinking hi"))
        messages = await one_turn(session)
    thoughts = [
        p
        for m in messages
        if m.server_content and m.server_content.model_turn
        for p in m.server_content.model_turn.parts or []
        if p.thought
    ]
    assert len(thoughts) == 1
    assert "Thinking" not in text_of(messages)


# ------------------------------------------------------------------------------------------------ hearing and seeing


async def test_hears_mic_speech_by_energy_and_replies_after_silence(mock: MockServer) -> None:
    config = {"response_modalities": ["TEXT"], "input_audio_transcription": {}}
    async with client_for(mock).aio.live.connect(model=MODEL, config=config) as session:
        await send_pcm(session, tone(0.5, 0.0005))  # a quiet room: below the threshold, no turn
        await send_pcm(session, tone(1.2, 0.3))
        await send_pcm(session, tone(0.7, 0.0))
        messages = await one_turn(session)
    assert "I heard you speak for 1.2 seconds" in text_of(messages)
    heard = [
        m.server_content.input_transcription.text
        for m in messages
        if m.server_content and m.server_content.input_transcription
    ]
    assert heard == ["[1.2 s of speech]"]


async def test_audio_stream_end_ends_speech(mock: MockServer) -> None:
    async with client_for(mock).aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
        await send_pcm(session, tone(0.8, 0.3))
        await session.send_realtime_input(audio_stream_end=True)
        messages = await one_turn(session)
    assert "I heard you speak for 0.8 seconds" in text_of(messages)


async def test_manual_activity_markers_bound_the_turn(mock: MockServer) -> None:
    config = {
        "response_modalities": ["TEXT"],
        "realtime_input_config": {"automatic_activity_detection": {"disabled": True}},
    }
    async with client_for(mock).aio.live.connect(model=MODEL, config=config) as session:
        await session.send_realtime_input(activity_start=types.ActivityStart())
        await send_pcm(session, tone(0.6, 0.3))
        await send_pcm(session, tone(1.0, 0.0))  # silence does not end a manual turn
        await asyncio.sleep(0.05)
        await session.send_realtime_input(activity_end=types.ActivityEnd())
        messages = await one_turn(session)
    assert "I heard you speak for 0.6 seconds" in text_of(messages)


async def test_sees_frames_and_names_the_colour(mock: MockServer) -> None:
    async with client_for(mock).aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
        await session.send_client_content(turns=say("what do you see?"))
        assert "haven't received any video frame" in text_of(await one_turn(session))
        await session.send_realtime_input(video=types.Blob(data=jpeg((230, 20, 20)), mime_type="image/jpeg"))
        await session.send_client_content(turns=say("what do you see?"))
        red = text_of(await one_turn(session))
        await session.send_realtime_input(
            media=types.Blob(data=jpeg((20, 40, 230), (320, 240)), mime_type="image/jpeg")
        )
        await session.send_client_content(turns=say("look at the camera"))
        blue = text_of(await one_turn(session))
    assert "64 by 48" in red and "red" in red
    assert "320 by 240" in blue and "blue" in blue


# ------------------------------------------------------------------------------------------------ memory and resumption


async def test_memory_within_a_session_and_after_resumption(mock: MockServer) -> None:
    client = client_for(mock)
    config: dict[str, Any] = {"response_modalities": ["TEXT"], "session_resumption": {}}
    handle = None
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(turns=say("Hi, my name is Ada Lovelace."))
        assert "Nice to meet you, Ada Lovelace" in text_of(await one_turn(session))
        await session.send_client_content(turns=say("What is my name?"))
        assert "Your name is Ada Lovelace." in text_of(await one_turn(session))
        async with asyncio.timeout(2):
            async for m in session.receive():
                if m.session_resumption_update:
                    assert m.session_resumption_update.resumable
                    handle = m.session_resumption_update.new_handle
                    break
    assert handle
    config["session_resumption"] = {"handle": handle}
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(turns=say("what's my name?"))
        messages = await one_turn(session)
    assert "Your name is Ada Lovelace." in text_of(messages)
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(turns=say("Remember that the key is under the mat."))
        assert "Noted: the key is under the mat." in text_of(await one_turn(session))
        await session.send_client_content(turns=say("What do you remember?"))
        recalled = text_of(await one_turn(session))
    assert "your name is Ada Lovelace; the key is under the mat" in recalled
    fresh = {"response_modalities": ["TEXT"]}
    async with client.aio.live.connect(model=MODEL, config=fresh) as session:
        await session.send_client_content(turns=say("what's my name?"))
        assert "haven't told me your name" in text_of(await one_turn(session))


async def test_unknown_resumption_handle_is_rejected(mock: MockServer) -> None:
    config = {"session_resumption": {"handle": "never-issued"}}
    with pytest.raises(errors.APIError) as info:
        async with client_for(mock).aio.live.connect(model=MODEL, config=config):
            pass
    assert info.value.code == 1007
    assert "sessionResumption.handle" in str(info.value)


# ------------------------------------------------------------------------------------------------ tools


async def test_tool_call_round_trip(mock: MockServer) -> None:
    config = {"response_modalities": ["TEXT"], "tools": [WEATHER]}
    async with client_for(mock).aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(turns=say("What's the weather in Paris today?"))
        call = None
        async with asyncio.timeout(3):
            async for m in session.receive():
                if m.tool_call:
                    call = m.tool_call.function_calls[0]  # type: ignore[index]
                    break
        assert call is not None and call.name == "get_weather" and call.args == {"city": "Paris"} and call.id
        await session.send_tool_response(
            function_responses=types.FunctionResponse(id=call.id, name=call.name, response={"result": "sunny, 21 C"})
        )
        reply = text_of(await one_turn(session))
        await session.send_client_content(turns=say("what time is it in Asia/Tokyo?"))
        async with asyncio.timeout(3):
            async for m in session.receive():
                if m.tool_call:
                    clock = m.tool_call.function_calls[0]  # type: ignore[index]
                    break
    assert "The get_weather tool says: sunny, 21 C." in reply
    assert clock.name == "get_time" and clock.args == {"timezone": "Asia/Tokyo"}


async def test_a_user_function_named_in_the_text_is_called(mock: MockServer) -> None:
    def lights_on(room: str) -> str:
        """Switch the lights on."""
        return room

    config = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT], tools=[lights_on])
    async with client_for(mock).aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(turns=say("please run lights on for me"))
        async with asyncio.timeout(3):
            async for m in session.receive():
                if m.tool_call:
                    call = m.tool_call.function_calls[0]  # type: ignore[index]
                    break
        await session.send_tool_response(
            function_responses=types.FunctionResponse(id=call.id, name=call.name, response={"ok": True, "room": "hall"})
        )
        reply = text_of(await one_turn(session))
    assert call.name == "lights_on" and call.args == {}
    assert 'The lights_on tool says: {"ok": true, "room": "hall"}.' in reply


async def test_undeclared_tool_is_not_called(mock: MockServer) -> None:
    async with client_for(mock).aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
        await session.send_client_content(turns=say("What's the weather in Paris?"))
        messages = await one_turn(session)
    assert not any(m.tool_call for m in messages)


async def test_interrupting_a_pending_tool_call_cancels_it(mock: MockServer) -> None:
    config = {"response_modalities": ["TEXT"], "tools": [WEATHER]}
    async with client_for(mock).aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(turns=say("weather in Oslo?"))
        async with asyncio.timeout(3):
            async for m in session.receive():
                if m.tool_call:
                    call_id = m.tool_call.function_calls[0].id  # type: ignore[index]
                    break
        await session.send_client_content(turns=say("never mind, hello"))
        first = await one_turn(session)
        second = await one_turn(session)
    assert first[0].tool_call_cancellation is not None and first[0].tool_call_cancellation.ids == [call_id]
    assert first[1].server_content is not None and first[1].server_content.interrupted
    assert first[-1].server_content is not None and first[-1].server_content.turn_complete
    assert "never mind, hello" in text_of(second)


# ------------------------------------------------------------------------------------------------ barge-in


async def test_barge_in_interrupts_the_model_audio(mock: MockServer) -> None:
    # A slow pace for this session only (x-mock-pace), so there is playing audio to talk over.
    client = client_for(mock, headers={"x-mock-pace": "0.25"})
    async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["AUDIO"]}) as session:
        await session.send_client_content(turns=say("mock:long tell me a story"))
        got: list[types.LiveServerMessage] = []
        async with asyncio.timeout(4):
            async for m in session.receive():
                got.append(m)
                if len([x for x in got if x.data]) == 2:
                    await send_pcm(session, tone(0.3, 0.3))
        audio = sum(len(m.data or b"") for m in got) / 2 / 24000
    kinds = [
        (
            "interrupted"
            if m.server_content and m.server_content.interrupted
            else "turnComplete"
            if m.server_content and m.server_content.turn_complete
            else "other"
        )
        for m in got
    ]
    assert kinds[-2:] == ["interrupted", "turnComplete"]
    assert audio < 6.0  # the full reply is about 12 s of audio; the interruption stopped it
    assert got[-1].usage_metadata is not None


# ------------------------------------------------------------------------------------------------ paths, versions, auth


@pytest.mark.parametrize(
    ("http", "version"),
    [({}, "v1"), ({"api_version": "v1beta"}, "v1beta"), ({"api_version": "v1alpha"}, "v1alpha")],
)
async def test_api_versions(mock: MockServer, http: dict[str, Any], version: str) -> None:
    async with client_for(mock, **http).aio.live.connect(model=MODEL) as session:
        assert session.setup_complete is not None
    summary = await _last_session(mock)
    assert summary.request is not None
    assert (summary.request.version, summary.request.mode, summary.request.key_source) == (version, "gemini", "header")
    assert summary.request.api_key == "test-key"


async def test_trailing_slash_and_base_path_prefix(mock: MockServer) -> None:
    for base in (mock.base_url + "/", mock.base_url + "/some/prefix/"):
        async with client_for(mock, base_url=base, api_version="v1beta").aio.live.connect(model=MODEL) as session:
            assert session.setup_complete is not None
    summary = await _last_session(mock)
    assert summary.request is not None and summary.request.path.startswith("/some/prefix/ws/")


async def test_ephemeral_token_uses_constrained_path(mock: MockServer) -> None:
    client = client_for(mock, api_key="auth_tokens/fake123", api_version="v1alpha")
    async with client.aio.live.connect(model=MODEL) as session:
        assert session.setup_complete is not None
    summary = await _last_session(mock)
    assert summary.request is not None and summary.request.mode == "constrained"


async def test_vertex_custom_url_mode(mock: MockServer) -> None:
    url = (
        mock.base_url.replace("https://", "wss://")
        + "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
    )
    client = genai.Client(
        vertexai=True,
        http_options=types.HttpOptions(base_url=url, async_client_args={"ssl": mock.client_ssl_context()}),
    )
    async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
        assert session.setup_complete is not None and session.session_id
        await session.send_client_content(turns=say("hello vertex"))
        assert "hello vertex" in text_of(await one_turn(session))
    summary = await _last_session(mock)
    assert summary.request is not None and summary.request.mode == "vertex" and summary.request.key_source is None


async def test_vertex_with_static_credentials_project_and_location(mock: MockServer) -> None:
    client = genai.Client(
        vertexai=True,
        project="p",
        location="us-central1",
        credentials=google.oauth2.credentials.Credentials(token="fake-token"),  # type: ignore[no-untyped-call]
        http_options=mock.sdk_http_options(),
    )
    async with client.aio.live.connect(model=MODEL) as session:
        assert session.setup_complete is not None
        await session.send_client_content(turns=say("hi"))
        messages = await one_turn(session)
    assert any(m.data for m in messages)  # Vertex forces AUDIO when no modality is set
    usage = messages[-1].usage_metadata  # sent as Vertex's candidatesTokenCount, mapped back by the SDK
    assert usage is not None and usage.response_token_count and usage.response_token_count > 10
    summary = await _last_session(mock)
    assert summary.request is not None
    assert (summary.request.mode, summary.request.version, summary.request.key_source) == (
        "vertex",
        "v1beta1",
        "bearer",
    )
    assert summary.request.api_key == "fake-token"
    assert summary.setup is not None and summary.setup.model.startswith("projects/p/locations/us-central1/")


async def test_vertex_express_mode_key(mock: MockServer) -> None:
    client = genai.Client(vertexai=True, api_key="vx-key", http_options=mock.sdk_http_options())
    async with client.aio.live.connect(model=MODEL) as session:
        assert session.setup_complete is not None
    summary = await _last_session(mock)
    assert summary.request is not None and (summary.request.mode, summary.request.key_source) == ("vertex", "header")


async def test_require_key_rejects_a_wrong_key_with_1008() -> None:
    async with serve_mock(MockOptions(pace=0, require_key="right")) as mock:
        async with client_for(mock, api_key="right").aio.live.connect(model=MODEL) as session:
            assert session.setup_complete is not None
        with pytest.raises(errors.APIError) as info:
            async with client_for(mock, api_key="wrong").aio.live.connect(model=MODEL):
                pass
    assert info.value.code == 1008
    assert "API key not valid" in str(info.value)


async def test_env_only_recipe_from_the_banner(mock: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert mock.ca_file is not None
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", mock.base_url)
    monkeypatch.setenv("SSL_CERT_FILE", str(mock.ca_file))
    monkeypatch.setenv("GOOGLE_API_KEY", "anything")
    async with genai.Client().aio.live.connect(model=MODEL) as session:
        assert session.setup_complete is not None


async def _last_session(mock: MockServer) -> Any:
    """The summary of the newest finished session (the server records it just after the client leaves)."""
    await mock.idle(3)
    return mock.sessions[-1]


async def test_every_server_kind_the_demo_sends_is_parsed_by_the_sdk(mock: MockServer) -> None:
    raw: list[bytes] = []

    class Recording(ClientConnection):
        async def recv(self, decode: bool | None = None) -> Any:
            data = await super().recv(decode=decode)
            raw.append(data if isinstance(data, bytes) else data.encode())
            return data

    http = mock.sdk_http_options(async_client_args={"ssl": mock.client_ssl_context(), "create_connection": Recording})
    client = genai.Client(api_key="k", http_options=http)
    config = {
        "response_modalities": ["AUDIO"],
        "tools": [WEATHER],
        "session_resumption": {},
        "input_audio_transcription": {},
        "output_audio_transcription": {},
    }
    parsed: list[types.LiveServerMessage] = []
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await session.send_realtime_input(text="mock:thinking goaway hello")
        parsed += await one_turn(session)
        await session.send_client_content(turns=say("weather in Rome?"))
        async with asyncio.timeout(3):
            async for m in session.receive():
                parsed.append(m)
                if m.tool_call:
                    call = m.tool_call.function_calls[0]  # type: ignore[index]
                    break
        await session.send_tool_response(
            function_responses=types.FunctionResponse(id=call.id, name=call.name, response={"r": 1})
        )
        parsed += await one_turn(session)
        await session.send_client_content(turns=say("weather in Oslo?"))
        async with asyncio.timeout(3):
            async for m in session.receive():
                parsed.append(m)
                if m.tool_call:
                    break
        await session.send_client_content(turns=say("stop"))  # interrupts the pending call
        parsed += await one_turn(session)
        parsed += await one_turn(session)
    seen: set[str] = set()
    for data in raw:
        frame = json.loads(data)
        assert wire.message_kind(frame) in wire.SERVER_KINDS, frame
        for key, value in frame.items():
            seen.add(key)
            if key == "serverContent":
                seen.update(f"serverContent.{k}" for k in value)
    assert seen == {
        "setupComplete",
        "serverContent",
        "serverContent.modelTurn",
        "serverContent.outputTranscription",
        "serverContent.inputTranscription",
        "serverContent.generationComplete",
        "serverContent.turnComplete",
        "serverContent.interrupted",
        "usageMetadata",
        "toolCall",
        "toolCallCancellation",
        "goAway",
        "sessionResumptionUpdate",
    }
    # Every frame the SDK read after setupComplete came out of receive() as a message with content.
    assert len(parsed) == len(raw) - 1
    assert all(m.model_dump(exclude_none=True) for m in parsed)


async def test_voice_activity_frames_on_request(mock: MockServer) -> None:
    client = client_for(mock, headers={"x-mock-voice-activity": "1"})
    async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
        await send_pcm(session, tone(0.5, 0.0))
        await send_pcm(session, tone(1.0, 0.3))
        await send_pcm(session, tone(0.7, 0.0))
        messages = await one_turn(session)
    activity = [
        (m.voice_activity.voice_activity_type, m.voice_activity.audio_offset) for m in messages if m.voice_activity
    ]
    assert activity == [
        (types.VoiceActivityType.ACTIVITY_START, "0.500s"),
        (types.VoiceActivityType.ACTIVITY_END, "1.500s"),
    ]


async def test_explicit_vad_signal_on_vertex(mock: MockServer) -> None:
    url = mock.base_url.replace("https://", "wss://")
    url += "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
    http = types.HttpOptions(base_url=url, async_client_args={"ssl": mock.client_ssl_context()})
    client = genai.Client(vertexai=True, http_options=http)
    config = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT], explicit_vad_signal=True)
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await send_pcm(session, tone(0.6, 0.3))
        await send_pcm(session, tone(0.6, 0.0))
        messages = await one_turn(session)
    signals = [m.voice_activity_detection_signal.vad_signal_type for m in messages if m.voice_activity_detection_signal]
    assert signals == [types.VadSignalType.VAD_SIGNAL_TYPE_SOS, types.VadSignalType.VAD_SIGNAL_TYPE_EOS]


async def test_usage_bills_mic_audio_and_frames_of_the_turn(mock: MockServer) -> None:
    async with client_for(mock).aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
        for _ in range(2):
            await session.send_realtime_input(video=types.Blob(data=jpeg((0, 0, 0)), mime_type="image/jpeg"))
        await send_pcm(session, tone(1.0, 0.3))
        await send_pcm(session, tone(0.5, 0.0))
        first = (await one_turn(session))[-1].usage_metadata
        await session.send_client_content(turns=say("and again"))
        second = (await one_turn(session))[-1].usage_metadata
    assert first is not None and second is not None and first.prompt_tokens_details
    by_modality = {d.modality: d.token_count for d in first.prompt_tokens_details}
    assert by_modality == {types.MediaModality.AUDIO: 48, types.MediaModality.IMAGE: 516}  # 1.5 s x 32, 2 x 258
    assert first.prompt_token_count == 48 + 516
    # The next turn's prompt carries the history (the first turn's prompt and reply) plus its own text.
    assert second.prompt_token_count == first.total_token_count + 3


async def test_localhost_name_is_covered_by_the_certificate(mock: MockServer) -> None:
    base = mock.base_url.replace("127.0.0.1", "localhost")
    async with client_for(mock, base_url=base).aio.live.connect(model=MODEL) as session:
        assert session.setup_complete is not None
