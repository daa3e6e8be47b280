"""The mock's parsing, validation and normalisation of client frames, routing, fault specs and TLS material."""

from __future__ import annotations

import base64
import json
import os
import ssl
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from tui.errors import UserError
from tui.mock.faults import FaultPlan, FaultSpecError
from tui.mock.server import InvalidFrame, normalise, parse_client_frame, parse_setup, resolve_backend, route
from tui.mock.tls import generate_certificate

PCM = bytes(range(256)) * 4  # 1024 bytes with every byte value: URL-safe and standard base64 differ


def frame(obj: dict[str, Any]) -> str:
    return json.dumps(obj)


# ------------------------------------------------------------------------------------------------ routing


@pytest.mark.parametrize(
    ("path", "version", "mode"),
    [
        ("/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent", "v1beta", "gemini"),
        ("//ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent", "v1", "gemini"),
        ("/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent?key=k", "v1alpha", "gemini"),
        (
            "/some/prefix//ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained",
            "v1alpha",
            "constrained",
        ),
        ("/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent", "v1beta1", "vertex"),
        ("///ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent", "v1", "vertex"),
    ],
)
def test_route_accepts_live_paths(path: str, version: str, mode: str) -> None:
    routed = route(path)
    assert routed is not None
    assert "//" not in routed[0]
    assert routed[1:] == (version, mode)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/ws/google.ai.generativelanguage.v2.GenerativeService.BidiGenerateContent",
        "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContentX",
        "/ws/google.cloud.aiplatform.v1beta.LlmBidiService/BidiGenerateContent",
        "/v1beta/models/m:generateContent",
    ],
)
def test_route_rejects_other_paths(path: str) -> None:
    assert route(path) is None


# ------------------------------------------------------------------------------------------------ setup


def test_setup_minimal_defaults_to_audio() -> None:
    setup = parse_setup(frame({"setup": {"model": "models/m"}}))
    assert setup.model == "models/m"
    assert setup.response_modalities == ("AUDIO",)
    assert setup.automatic_activity_detection
    assert not setup.resumption_requested and setup.resume_handle is None


def test_setup_both_casings_at_every_level() -> None:
    snake = {
        "setup": {
            "model": "models/m",
            "generation_config": {"response_modalities": ["TEXT"], "max_output_tokens": 5},
            "session_resumption": {"handle": "h1"},
            "input_audio_transcription": {},
            "output_audio_transcription": {},
            "realtime_input_config": {
                "automatic_activity_detection": {"disabled": True, "silence_duration_ms": 300},
                "activity_handling": "NO_INTERRUPTION",
            },
            "system_instruction": {"parts": [{"text": "be terse"}]},
            "tools": [{"function_declarations": [{"name": "get_weather", "parameters_json_schema": {}}]}],
        }
    }
    camel = {
        "setup": {
            "model": "models/m",
            "generationConfig": {"responseModalities": ["TEXT"], "maxOutputTokens": 5},
            "sessionResumption": {"handle": "h1"},
            "inputAudioTranscription": {},
            "outputAudioTranscription": {},
            "realtimeInputConfig": {
                "automaticActivityDetection": {"disabled": True, "silenceDurationMs": 300},
                "activityHandling": "NO_INTERRUPTION",
            },
            "systemInstruction": {"parts": [{"text": "be terse"}]},
            "tools": [{"functionDeclarations": [{"name": "get_weather", "parametersJsonSchema": {}}]}],
        }
    }
    a, b = parse_setup(frame(snake)), parse_setup(frame(camel))
    assert a.data == b.data
    for s in (a, b):
        assert s.response_modalities == ("TEXT",)
        assert s.resume_handle == "h1"
        assert s.input_transcription and s.output_transcription
        assert not s.automatic_activity_detection and not s.activity_interrupts
        assert s.silence_duration_ms == 300
        assert s.function_names == ("get_weather",)
        assert s.system_instruction == "be terse"


@pytest.mark.parametrize(
    ("obj", "named"),
    [
        ({"client_content": {"turnComplete": True}}, "clientContent"),
        ({"setup": {"model": "m", "bogusField": 1}}, "bogusField"),
        ({"setup": {"model": "m", "generationConfig": {"voice": "x"}}}, "voice"),
        (
            {"setup": {"model": "m", "generationConfig": {"responseModalities": ["TEXT", "AUDIO"]}}},
            "responseModalities",
        ),
        ({"setup": {}}, "setup.model"),
        ({"setup": {"model": "m"}, "clientContent": {}}, "setup"),
    ],
)
def test_bad_setup_is_1007_naming_the_field(obj: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidFrame) as info:
        parse_setup(frame(obj))
    assert info.value.code == 1007
    assert named in str(info.value)
    assert len(str(info.value).encode()) <= 200


def test_setup_not_json_is_1007() -> None:
    with pytest.raises(InvalidFrame, match="JSON"):
        parse_setup("not json")


# ------------------------------------------------------------------------------------------------ client frames


def test_realtime_audio_both_base64_alphabets_and_casings() -> None:
    std = base64.b64encode(PCM).decode()
    url = base64.urlsafe_b64encode(PCM).decode()
    assert std != url
    variants = [
        {"realtime_input": {"audio": {"data": url, "mime_type": "audio/pcm;rate=16000"}}},
        {"realtimeInput": {"audio": {"data": std, "mimeType": "audio/pcm;rate=16000"}}},
        {"realtime_input": {"media_chunks": [{"data": url.rstrip("="), "mime_type": "audio/pcm"}]}},
    ]
    for v in variants:
        msg = parse_client_frame(frame(v), index=1)
        assert msg.kind == "realtimeInput"
        blob = msg.data["audio"] if "audio" in msg.data else msg.data["mediaChunks"][0]
        assert blob["data"] == PCM
        assert "mimeType" in blob


@pytest.mark.parametrize(
    "obj",
    [
        {"client_content": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}], "turn_complete": True}},
        {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}], "turnComplete": True}},
    ],
)
def test_client_content_both_casings(obj: dict[str, Any]) -> None:
    msg = parse_client_frame(frame(obj), index=3)
    assert msg.kind == "clientContent" and msg.index == 3
    assert msg.data == {"turns": [{"role": "user", "parts": [{"text": "hi"}]}], "turnComplete": True}


def test_tool_response_keeps_user_data_verbatim() -> None:
    obj = {
        "tool_response": {
            "function_responses": [{"id": "c1", "name": "f", "response": {"temp_c": 3, "nested_key": {"a_b": 1}}}]
        }
    }
    msg = parse_client_frame(frame(obj), index=1)
    assert msg.kind == "toolResponse"
    assert msg.data["functionResponses"][0]["response"] == {"temp_c": 3, "nested_key": {"a_b": 1}}


def test_normalise_leaves_schemas_and_args_alone() -> None:
    value = {"function_declarations": [{"name": "f", "parameters": {"properties": {"city_name": {"type": "string"}}}}]}
    out = normalise(value)
    assert out["functionDeclarations"][0]["parameters"]["properties"] == {"city_name": {"type": "string"}}


@pytest.mark.parametrize(
    "obj",
    [
        {"realtime_input": {"text": "typed"}},
        {"realtimeInput": {"activity_start": {}}},
        {"realtime_input": {"activityEnd": {}}},
        {"realtime_input": {"audio_stream_end": True}},
        {"realtime_input": {"video": {"data": "_9j_4A==", "mime_type": "image/jpeg"}}},
        {"contextUpdate": {"systemInstruction": {"parts": [{"text": "x"}]}, "tools": {"tools": []}}},
        {"context_update": {"system_instruction": {"parts": [{"text": "x"}]}}},
        {"clientContent": {"turnComplete": True}},
    ],
)
def test_every_client_kind_is_accepted(obj: dict[str, Any]) -> None:
    msg = parse_client_frame(frame(obj), index=1)
    assert msg.kind in ("clientContent", "realtimeInput", "toolResponse", "contextUpdate")


@pytest.mark.parametrize(
    ("obj", "named"),
    [
        ({"realtime_input": {"audio": {"data": "AAAA", "mime_type": "audio/wav"}}}, "mimeType"),
        ({"realtime_input": {"audio": {"data": "AAAA"}}}, "mimeType"),
        ({"realtime_input": {"audio": {"data": "AA!A", "mime_type": "audio/pcm"}}}, "data"),
        ({"realtime_input": {"audio": {"data": "AAAA", "mime_type": "audio/pcm;rate=16000"}}}, "data"),
        ({"realtime_input": {"video": {"data": "AAAA", "mime_type": "audio/pcm"}}}, "mimeType"),
        ({"realtime_input": {"bogus": 1}}, "bogus"),
        ({"realtime_input": {"text": "a", "audio_stream_end": True}}, "realtimeInput"),
        ({"tool_response": {"function_responses": ["not an object"]}}, "functionResponses[0]"),
        ({"setup": {"model": "m"}}, "setup"),
        ({"somethingNew": {}}, "somethingNew"),
        ({"client_content": {"turns": "nope"}}, "turns"),
    ],
)
def test_bad_client_frames_are_1007_naming_the_field(obj: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidFrame) as info:
        parse_client_frame(frame(obj), index=1)
    assert info.value.code == 1007
    assert named in str(info.value)


@pytest.mark.parametrize("mode", ["gemini", "vertex"])
def test_tool_response_may_omit_id(mode: str) -> None:
    # A real client (dotnet-genai) sent this to the real Gemini API; the mock must not be stricter than the server.
    obj = {"toolResponse": {"functionResponses": [{"name": "getStatus", "response": {"mood": "happy"}}]}}
    assert parse_client_frame(frame(obj), index=1, mode=mode).kind == "toolResponse"  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ faults


def test_fault_spec_round_trips() -> None:
    spec = "goaway:2@5,drop-mid-turn:3,close:1011#4,slow-pongs:1.5,silence:2,bursty-audio,oversized:1100000"
    plan = FaultPlan.parse(spec)
    assert plan.go_away_after_s == 2 and plan.go_away_time_left_s == 5
    assert plan.drop_after_chunks == 3
    assert plan.close_code == 1011 and plan.close_on_message == 4
    assert plan.pong_delay_s == 1.5 and plan.silence_after_s == 2
    assert plan.bursty_audio and plan.oversized_bytes == 1_100_000
    assert FaultPlan.parse(plan.describe()) == plan
    assert plan.active and not FaultPlan().active and not FaultPlan.parse("repeat").active


def test_fault_merge_header_wins() -> None:
    base = FaultPlan.parse("drop-mid-turn:5,no-pongs")
    merged = base.merged(FaultPlan.parse("drop-mid-turn:1"))
    assert merged.drop_after_chunks == 1 and merged.no_pongs


@pytest.mark.parametrize("spec", ["nonsense", "close:999", "oversized:10", "drop-mid-turn:x", "goaway:-1"])
def test_bad_fault_spec_is_a_user_error(spec: str) -> None:
    with pytest.raises(FaultSpecError) as info:
        FaultPlan.parse(spec)
    assert isinstance(info.value, UserError)
    assert spec.split(":")[0] in str(info.value)


def test_replay_backend_absent_is_a_clear_user_error() -> None:
    try:
        import tui.replay.backend  # noqa: F401
    except ModuleNotFoundError:
        with pytest.raises(UserError, match="not available yet"):
            resolve_backend("replay")
    else:
        assert resolve_backend("replay") is not None
    with pytest.raises(UserError, match="unknown mock backend"):
        resolve_backend("nope")


# ------------------------------------------------------------------------------------------------ TLS


def test_certificate_has_loopback_sans_and_private_key(tmp_path: Path) -> None:
    cert = generate_certificate(tmp_path / "tls")
    try:
        assert stat.S_IMODE(os.stat(cert.key_file).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(cert.directory).st_mode) == 0o700
        leaf = x509.load_pem_x509_certificates(cert.cert_file.read_bytes())[0]
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "localhost" in sans.get_values_for_type(x509.DNSName)
        assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)][:1] == ["127.0.0.1"]
        ca = x509.load_pem_x509_certificate(cert.ca_file.read_bytes())
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert isinstance(cert.server_context(), ssl.SSLContext)
        assert cert.client_context().verify_mode == ssl.CERT_REQUIRED
        assert b"PRIVATE" not in cert.ca_file.read_bytes()
    finally:
        cert.remove()
    assert not cert.directory.exists()
