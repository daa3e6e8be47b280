"""What replay treats as the same client frame, and what it does not."""

from __future__ import annotations

import base64

from tui.recording.redact import Redactor
from tui.replay.normalize import Media, diff, frame_summary, media_summary, normalise

PCM = bytes(range(256)) * 10


def test_key_casing_and_base64_flavour_do_not_matter() -> None:
    sdk = {"realtime_input": {"audio": {"data": base64.urlsafe_b64encode(PCM).decode(), "mime_type": "audio/pcm"}}}
    other = {"realtimeInput": {"audio": {"mimeType": "audio/pcm", "data": base64.b64encode(PCM).decode().rstrip("=")}}}
    assert normalise(sdk) == normalise(other)
    changed = {"realtimeInput": {"audio": {"mimeType": "audio/pcm", "data": base64.b64encode(PCM[:-2]).decode()}}}
    assert normalise(sdk) != normalise(changed)


def test_user_data_keys_are_not_renamed() -> None:
    a = {"tool_response": {"function_responses": [{"id": "c1", "response": {"temp_c": 3}}]}}
    b = {"toolResponse": {"functionResponses": [{"id": "c1", "response": {"tempC": 3}}]}}
    assert normalise(a) != normalise(b)  # a tool result whose field was renamed is a real change
    assert [d.path for d in diff(normalise(a), normalise(b))] == [
        "toolResponse.functionResponses[0].response.temp_c",
        "toolResponse.functionResponses[0].response.tempC",
    ]


def test_echoed_ids_match_by_the_order_the_server_sent_them() -> None:
    recorded = {"toolResponse": {"functionResponses": [{"id": "call-1", "response": {}}]}}
    actual_same = {"toolResponse": {"functionResponses": [{"id": "fresh-9", "response": {}}]}}
    wrong = {"toolResponse": {"functionResponses": [{"id": "fresh-8", "response": {}}]}}
    assert normalise(recorded, ids={"call-1": 1}) == normalise(actual_same, ids={"fresh-9": 1, "fresh-8": 2})
    assert normalise(recorded, ids={"call-1": 1}) != normalise(wrong, ids={"fresh-9": 1, "fresh-8": 2})


def test_setup_differences_between_sdk_versions_are_tolerated_but_real_changes_are_not() -> None:
    old = {"setup": {"model": "models/m", "generationConfig": {"speechConfig": {"voiceConfig": {"name": "Kore"}}}}}
    new = {"setup": {"model": "m", "tools": [], "systemInstruction": None,
                     "generation_config": {"speech_config": {"voice_config": {"name": "Kore"}}}}}  # fmt: skip
    assert normalise(old) == normalise(new)
    other_voice = {"setup": {"model": "m", "generationConfig": {"speechConfig": {"voiceConfig": {"name": "Puck"}}}}}
    assert normalise(old) != normalise(other_voice)
    assert normalise({"setup": {"model": "m", "sessionResumption": {}}}) != normalise({"setup": {"model": "m"}})


def test_secrets_are_redacted_on_both_sides_before_comparing() -> None:
    red = Redactor(["sk-live-0123456789"])
    recorded = {"clientContent": {"turns": [{"parts": [{"text": "key REDACTED"}]}]}}
    actual = {"client_content": {"turns": [{"parts": [{"text": "key sk-live-0123456789"}]}]}}
    assert normalise(recorded, redactor=red) == normalise(actual, redactor=red)


def test_media_is_summarised_for_people() -> None:
    n = normalise({"audio": {"data": base64.b64encode(PCM).decode(), "mimeType": "audio/pcm;rate=16000"}})
    assert isinstance(n["audio"]["data"], Media)
    assert media_summary(bytes(3200), "audio/pcm;rate=16000").startswith("audio 3200 B (0.10 s, silence, sha ")
    line = frame_summary(
        {"realtimeInput": {"audio": {"data": base64.b64encode(PCM).decode(), "mimeType": "audio/pcm"}}}
    )
    assert "audio 2560 B" in line and base64.b64encode(PCM).decode()[:40] not in line
