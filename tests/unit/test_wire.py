"""Wire helpers: both spellings, both base64 alphabets, kinds and durations."""

from __future__ import annotations

import base64

import pytest

from tui.live import wire


def test_pick_reads_either_spelling() -> None:
    assert wire.pick({"turn_complete": True}, "turnComplete") is True
    assert wire.pick({"turnComplete": False}, "turnComplete") is False
    assert wire.pick({}, "turnComplete", "dflt") == "dflt"


def test_b64decode_any_round_trips_urlsafe_and_standard() -> None:
    payload = bytes(range(256)) * 3
    assert wire.b64decode_any(base64.urlsafe_b64encode(payload).decode()) == payload
    assert wire.b64decode_any(base64.b64encode(payload).decode()) == payload
    assert wire.b64decode_any(base64.b64encode(payload).decode().rstrip("=")) == payload


def test_b64decode_any_rejects_garbage_instead_of_decoding_noise() -> None:
    with pytest.raises(ValueError, match="base64"):
        wire.b64decode_any("not base64 at all!!")


def test_message_kind_on_sdk_and_server_frames() -> None:
    assert wire.message_kind({"realtime_input": {"audio": {}}}) == "realtimeInput"
    assert wire.message_kind({"serverContent": {}, "usageMetadata": {}}) == "serverContent"
    assert wire.message_kind({"brandNew": {}}) == "unknown"


def test_camelize_nested() -> None:
    assert wire.camelize({"tool_response": {"function_responses": [{"will_continue": 1}]}}) == {
        "toolResponse": {"functionResponses": [{"willContinue": 1}]}
    }


@pytest.mark.parametrize(("raw", "expected"), [("10s", 10.0), ("1.5s", 1.5), (3, 3.0), ("x", None), (None, None)])
def test_parse_duration(raw: object, expected: float | None) -> None:
    assert wire.parse_duration_s(raw) == expected
