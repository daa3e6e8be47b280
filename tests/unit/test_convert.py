"""convert.py against real Live traffic (parsed by the SDK's own receive path) and hand-made frames for the rest."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import real_captures_dir
from tui.live import events as ev
from tui.live.convert import Converter, audio_rate, parse_server_frame
from tui.live.wire import b64decode_any

CAPTURES = real_captures_dir()
ALL_CAPTURES = sorted(CAPTURES.glob("*/*.jsonl")) if CAPTURES.is_dir() else []
needs_captures = pytest.mark.skipif(not ALL_CAPTURES, reason="real Live captures not present on this machine")


def _is_vertex(header: dict[str, Any]) -> bool:
    api = str(header.get("api", "")).lower()
    return "vertex" in api


def _load(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    lines = path.read_text().splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def _convert_capture(path: Path) -> list[tuple[dict[str, Any], list[ev.SessionEvent]]]:
    header, records = _load(path)
    conv = Converter()
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown enum values only warn in the SDK
        for rec in records:
            if rec["dir"] != "s2c":
                continue
            msg = parse_server_frame(json.dumps(rec["frame"]), vertexai=_is_vertex(header))
            out.append((rec["frame"], conv.convert(msg)))
    return out


def _of(events: list[ev.SessionEvent], kind: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


@needs_captures
@pytest.mark.parametrize("path", ALL_CAPTURES, ids=lambda p: f"{p.parent.name}/{p.stem[:60]}")
def test_every_real_frame_converts_to_the_events_it_carries(path: Path) -> None:
    for frame, events in _convert_capture(path):
        sc = frame.get("serverContent") or {}
        if "setupComplete" in frame:
            assert _of(events, ev.Connected) == [
                ev.Connected(session_id=frame["setupComplete"].get("sessionId"), resumed=False, setup_ms=0.0)
            ]
        if "toolCall" in frame:
            (call,) = _of(events, ev.ToolCall)
            assert [c.id for c in call.calls] == [fc.get("id", "") for fc in frame["toolCall"]["functionCalls"]]
            assert [c.args for c in call.calls] == [fc.get("args", {}) for fc in frame["toolCall"]["functionCalls"]]
        parts = (sc.get("modelTurn") or {}).get("parts") or []
        audio_parts = [p for p in parts if "inlineData" in p]
        audio = _of(events, ev.ModelAudio)
        assert len(audio) == len(audio_parts)
        for a, p in zip(audio, audio_parts, strict=True):
            assert a.pcm == b64decode_any(p["inlineData"]["data"])
            assert a.rate == 24_000
        texts = [p["text"] for p in parts if p.get("text")]
        assert [t.text for t in _of(events, ev.ModelText)] == texts
        assert [t.thought for t in _of(events, ev.ModelText)] == [
            bool(p.get("thought")) for p in parts if p.get("text")
        ]
        out_tx = sc.get("outputTranscription")
        if out_tx and (out_tx.get("text") or out_tx.get("finished")):
            assert [(t.text, t.finished) for t in _of(events, ev.OutputTranscript)] == [
                (out_tx.get("text", ""), bool(out_tx.get("finished")))
            ]
        assert len(_of(events, ev.TurnComplete)) == (1 if sc.get("turnComplete") else 0)
        assert len(_of(events, ev.GenerationComplete)) == (1 if sc.get("generationComplete") else 0)
        assert len(_of(events, ev.Interrupted)) == (1 if sc.get("interrupted") else 0)
        if "usageMetadata" in frame:
            (usage,) = _of(events, ev.Usage)
            assert usage.total_tokens == frame["usageMetadata"].get("totalTokenCount")
            assert usage.prompt_tokens == frame["usageMetadata"].get("promptTokenCount")
            wire_response = frame["usageMetadata"].get(
                "responseTokenCount", frame["usageMetadata"].get("candidatesTokenCount")
            )
            assert usage.response_tokens == wire_response
        if "sessionResumptionUpdate" in frame:
            (upd,) = _of(events, ev.ResumptionUpdate)
            assert upd.handle == (frame["sessionResumptionUpdate"].get("newHandle") or None)
        if "voiceActivity" in frame:
            assert [v.kind for v in _of(events, ev.VoiceActivity)] == [frame["voiceActivity"]["type"]]
        if frame in ({}, {"serverContent": {}}):
            assert events == []


@needs_captures
def test_barge_in_capture_numbers_generations_around_the_interruption() -> None:
    path = CAPTURES / "pydantic-ai/test_handle_barge_in_over_live_speech__b8743e48.jsonl"
    events = [e for _, evs in _convert_capture(path) for e in evs]
    markers = [
        (type(e).__name__, e.generation)
        for e in events
        if isinstance(e, ev.GenerationComplete | ev.Interrupted | ev.TurnComplete)
    ]
    assert markers == [
        ("GenerationComplete", 0),
        ("Interrupted", 0),
        ("TurnComplete", 0),
        ("GenerationComplete", 1),
        ("TurnComplete", 1),
    ]
    gen1_transcript = "".join(e.text for e in events if isinstance(e, ev.OutputTranscript) and e.generation == 1)
    assert gen1_transcript == "Hello again, Marcelo."
    thoughts = [e for e in events if isinstance(e, ev.ModelText)]
    assert thoughts and all(t.thought for t in thoughts)
    usage = _of(events, ev.Usage)
    assert [(u.prompt_tokens, u.response_tokens, u.thoughts_tokens) for u in usage] == [(1201, 109, 34), (1352, 44, 18)]


@needs_captures
def test_vertex_capture_session_id_usage_names_and_empty_grounding() -> None:
    path = CAPTURES / "pydantic-ai/test_gemini_connect_and_transcript__2026-02-20__051ecb93.jsonl"
    frames = _convert_capture(path)
    events = [e for _, evs in frames for e in evs]
    assert _of(events, ev.Connected)[0].session_id == "59181e20-0903-43d9-901a-e08c2ece07e3"
    # Vertex sends candidatesTokenCount; the SDK's Vertex converter maps it to response tokens.
    (usage,) = _of(events, ev.Usage)
    assert (usage.prompt_tokens, usage.response_tokens, usage.total_tokens) == (16, 28, 44)
    # The turnComplete frame carries groundingMetadata {}: no Grounding event for it.
    assert any("groundingMetadata" in (f.get("serverContent") or {}) for f, _ in frames)
    assert _of(events, ev.Grounding) == []
    assert _of(events, ev.OutputTranscript)[-1] == ev.OutputTranscript(text="", generation=0, finished=True)


@needs_captures
def test_google_search_capture_gives_grounding_queries() -> None:
    path = CAPTURES / "kotlin-genai/testGoogleSearchToolAndSystemInstruction.mldev.jsonl"
    frames = _convert_capture(path)
    wire_queries = {
        q
        for f, _ in frames
        for q in ((f.get("serverContent") or {}).get("groundingMetadata") or {}).get("webSearchQueries", [])
    }
    got = {q for _, evs in frames for g in _of(evs, ev.Grounding) for q in g.queries}
    assert wire_queries and got == wire_queries


@needs_captures
def test_code_then_tool_call_capture() -> None:
    path = CAPTURES / "dotnet-genai/SendClientContentTest.SendClientContentToolsGeminiTest.jsonl"
    events = [e for _, evs in _convert_capture(path) for e in evs]
    code = _of(events, ev.ExecutableCode)
    assert code == [
        ev.ExecutableCode(
            language="PYTHON", code="print(default_api.GetCurrentWeather(location='Redmond, WA'))", generation=0
        )
    ]
    (call,) = _of(events, ev.ToolCall)
    assert call.generation == 0 and call.calls[0].name == "GetCurrentWeather"


# ------------------------------------------------------------------------------------------------------------------
# Kinds no real capture has (goAway, toolCallCancellation, turnCompleteReason, VAD signal, code results): frames
# written from the SDK schema and parsed through the same SDK path.
# ------------------------------------------------------------------------------------------------------------------


def _conv(conv: Converter, frame: dict[str, Any], *, vertexai: bool = False) -> list[ev.SessionEvent]:
    return conv.convert(parse_server_frame(json.dumps(frame), vertexai=vertexai))


def test_go_away_cancellation_resumption_and_vad_signal() -> None:
    conv = Converter()
    assert _conv(conv, {"goAway": {"timeLeft": "12.5s"}}) == [ev.GoAway(time_left_s=12.5)]
    assert _conv(conv, {"toolCallCancellation": {"ids": ["a", "b"]}}) == [ev.ToolCallCancelled(ids=("a", "b"))]
    assert _conv(conv, {"sessionResumptionUpdate": {"resumable": False}}) == [
        ev.ResumptionUpdate(handle=None, resumable=False)
    ]
    assert _conv(conv, {"voiceActivityDetectionSignal": {"vadSignalType": "VAD_SIGNAL_TYPE_EOS"}}) == [
        ev.VoiceActivity(kind="VAD_SIGNAL_TYPE_EOS")
    ]


def test_turn_complete_reason_and_waiting_for_input_with_usage_details() -> None:
    conv = Converter()
    frame = {
        "serverContent": {"turnComplete": True, "turnCompleteReason": "NEED_MORE_INPUT", "waitingForInput": True},
        "usageMetadata": {
            "promptTokenCount": 7,
            "responseTokenCount": 50,
            "totalTokenCount": 57,
            "cachedContentTokenCount": 3,
            "toolUsePromptTokenCount": 2,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 5}, {"modality": "AUDIO", "tokenCount": 2}],
            "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 50}],
        },
    }
    assert _conv(conv, frame) == [
        ev.TurnComplete(generation=0, reason="NEED_MORE_INPUT", waiting_for_input=True),
        ev.Usage(
            prompt_tokens=7,
            response_tokens=50,
            total_tokens=57,
            thoughts_tokens=None,
            tool_use_prompt_tokens=2,
            cached_tokens=3,
            details={"prompt": {"TEXT": 5, "AUDIO": 2}, "response": {"AUDIO": 50}},
        ),
    ]


def test_code_execution_result_and_vertex_audio_without_rate() -> None:
    conv = Converter()
    frame = {
        "serverContent": {
            "modelTurn": {
                "parts": [
                    {"executableCode": {"language": "PYTHON", "code": "print(2+2)"}},
                    {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "4\n"}},
                    {"inlineData": {"mimeType": "audio/pcm", "data": "AAEC"}},
                    {"inlineData": {"mimeType": "image/png", "data": "AAEC"}},
                ]
            }
        }
    }
    assert _conv(conv, frame) == [
        ev.ExecutableCode(language="PYTHON", code="print(2+2)", generation=0),
        ev.CodeExecutionResult(outcome="OUTCOME_OK", output="4\n", generation=0),
        ev.ModelAudio(pcm=b"\x00\x01\x02", rate=24_000, generation=0),
    ]


def test_generation_numbering_rules() -> None:
    conv = Converter()
    text = {"serverContent": {"modelTurn": {"parts": [{"text": "hi"}]}}}
    assert _conv(conv, text) == [ev.ModelText(text="hi", generation=0)]
    assert _conv(conv, {"serverContent": {"turnComplete": True}}) == [ev.TurnComplete(generation=0)]
    # An interruption arriving alone after a finished turn (seen on Vertex) belongs to that turn.
    assert _conv(conv, {"serverContent": {"interrupted": True}}) == [ev.Interrupted(generation=0)]
    assert _conv(conv, {"serverContent": {"turnComplete": True}}) == [ev.TurnComplete(generation=0)]
    # A turnComplete with no output of its own is an empty turn: a new generation.
    assert _conv(conv, {"serverContent": {"turnComplete": True}}) == [ev.TurnComplete(generation=1)]
    assert _conv(conv, text) == [ev.ModelText(text="hi", generation=2)]
    # Output after an interruption (before any turnComplete) is a new generation: its audio must not be dropped.
    assert _conv(conv, {"serverContent": {"interrupted": True}}) == [ev.Interrupted(generation=2)]
    assert _conv(conv, text) == [ev.ModelText(text="hi", generation=3)]
    assert conv.cut() == 3
    assert conv.cut() is None
    assert _conv(conv, {"serverContent": {"turnComplete": True}}) == [ev.TurnComplete(generation=3)]
    assert conv.generation == 3


def test_empty_output_transcription_opener_is_not_an_event() -> None:
    conv = Converter()
    assert _conv(conv, {"serverContent": {"outputTranscription": {}}}) == []
    assert conv.generation == -1


def test_unreadable_frames_raise_value_error() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        parse_server_frame(b"{nope")
    with pytest.raises(ValueError, match="no recognised message kind"):
        parse_server_frame(b'{"brandNewKind": {}}')


@pytest.mark.parametrize(
    ("mime", "rate"),
    [("audio/pcm;rate=24000", 24000), ("audio/pcm; rate=16000", 16000), ("audio/pcm", 24000), ("image/png", None)],
)
def test_audio_rate(mime: str, rate: int | None) -> None:
    assert audio_rate(mime) == rate
