"""Real captured Live API traffic, converted to recordings and replayed: the mock accepts every real client frame,
plays the real server side causally, and google-genai plus our converter read every real server frame."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import real_captures_dir
from tui.recording.capture import convert_capture, read_capture
from tui.recording.reader import read_recording
from tui.replay.capture_check import replay_capture
from tui.replay.report import format_report

CAPTURES = real_captures_dir()
PICKS = [
    "kotlin-genai/testFunctionCalling.mldev.jsonl",
    "kotlin-genai/testMultiTurnConversation.vertex.jsonl",
    "kotlin-genai/testAudioInputAndOutputTranscriptions.mldev.jsonl",
    "js-genai/2026-07-08__live_ML_Dev_should_send_tool_response.jsonl",
    "js-genai/2025-07-29__live_Vertex_should_receive_transcription_in_async_session_with_transcription_enabled.jsonl",
    "dotnet-genai/SendToolResponseTest.SendToolResponseFunctionResponseGeminiTest.jsonl",
    "pydantic-ai/test_handle_barge_in_over_live_speech__b8743e48.jsonl",
    "pydantic-ai/test_audio_in_server_vad_turn.gemini-3.8-live__8bfb414b.jsonl",
    "pydantic-ai/test_tool_with_recursive_map_values__fcd4a26a.jsonl",
]

pytestmark = pytest.mark.skipif(
    not CAPTURES.is_dir(), reason="the shared real-capture folder is not on this machine (it is not in the repo)"
)


@pytest.mark.parametrize("name", PICKS, ids=[Path(p).stem[:60] for p in PICKS])
async def test_a_real_capture_replays_cleanly(name: str, tmp_path: Path) -> None:
    src = CAPTURES / name
    rec_path = convert_capture(src, tmp_path / "capture.glrec")
    _header, frames = read_capture(src)
    rec = read_recording(rec_path)
    # The conversion keeps every frame, in order, with the same content.
    assert len(rec.frames) == len(frames)
    for got, want in zip(rec.frames, frames, strict=True):
        assert got.direction == want["dir"]
        if "client_audio_trimmed" not in rec.header.extra:
            assert got.msg == want["frame"]
    result = await replay_capture(rec_path)
    assert result.ok, format_report(result.replay) + "\n" + "\n".join(result.client.problems + result.parse_problems)
    assert result.replay.frames_replayed == result.replay.frames_total
    assert result.events > 0
    server = [json.loads(f.data) for f in rec.frames if f.direction == "s2c"]
    assert len(result.client.received) == len(server)  # every real server frame reached the raw client


def test_a_non_capture_is_a_clear_error(tmp_path: Path) -> None:
    from tui.errors import RecordingError

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"dir": "c2s", "frame": {}}\n')
    with pytest.raises(RecordingError, match="no capture header"):
        convert_capture(bad, tmp_path / "x.glrec")
