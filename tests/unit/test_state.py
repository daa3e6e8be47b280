"""The pure turn state machine: exact changes and exact state for each transition."""

from __future__ import annotations

import json
import warnings

import pytest

from tests.conftest import real_captures_dir
from tui.live import events as ev
from tui.live.convert import Converter, parse_server_frame
from tui.live.state import ConversationState, ModelTurn, TurnChange, UserTurn

PCM_100MS = b"\x00\x00" * 2400  # 100 ms at 24 kHz s16le mono


def test_typed_turn_then_streamed_text_reply_with_latency_and_usage() -> None:
    s = ConversationState()
    assert not s.awaiting_reply
    assert s.apply(ev.UserText(text="hello"), at=10.0) == [TurnChange("started", 1, "user")]
    assert s.awaiting_reply
    assert s.apply(ev.ModelText(text="Hi ", generation=0), at=10.25) == [TurnChange("started", 2, "model")]
    assert not s.awaiting_reply
    assert s.apply(ev.ModelText(text="there.", generation=0), at=10.5) == [TurnChange("updated", 2, "model")]
    assert s.model_busy
    assert s.apply(ev.GenerationComplete(generation=0), at=10.6) == [TurnChange("updated", 2, "model")]
    assert s.apply(ev.TurnComplete(generation=0), at=10.7) == [TurnChange("ended", 2, "model")]
    usage = ev.Usage(prompt_tokens=5, response_tokens=4, total_tokens=9)
    assert s.apply(usage, at=10.7) == [TurnChange("updated", 2, "model")]
    assert not s.model_busy

    user, model = s.turns
    assert isinstance(user, UserTurn) and isinstance(model, ModelTurn)
    assert (user.text, user.started_at, user.input_ended_at) == ("hello", 10.0, 10.0)
    assert (model.text, model.generation, model.status, model.ended_at) == ("Hi there.", 0, "complete", 10.7)
    assert model.latency_ms == pytest.approx(250.0)
    assert model.usage == usage
    assert (s.usage_totals.prompt_tokens, s.usage_totals.response_tokens, s.usage_totals.total_tokens) == (5, 4, 9)


def test_spoken_turn_with_transcripts_audio_and_interruption_records_what_was_generated() -> None:
    s = ConversationState()
    s.apply(ev.InputTranscript(text=" Hello,"), at=1.0)
    s.apply(ev.InputTranscript(text=" my name is Ann."), at=1.4)
    s.apply(ev.ModelText(text="**thinking**", generation=0, thought=True), at=1.9)
    for i in range(3):
        s.apply(ev.ModelAudio(pcm=PCM_100MS, rate=24_000, generation=0), at=2.0 + i / 10)
    s.apply(ev.OutputTranscript(text="Hello Ann", generation=0), at=2.05)
    changes = s.apply(ev.Interrupted(generation=0), at=2.3)
    assert changes == [TurnChange("ended", 2, "model")]
    s.apply(ev.TurnComplete(generation=0), at=2.4)

    user, model = s.turns
    assert isinstance(user, UserTurn) and isinstance(model, ModelTurn)
    assert user.transcript == " Hello, my name is Ann."
    assert model.thoughts == "**thinking**" and model.text == ""
    assert model.latency_ms == pytest.approx(500.0)  # first output (the thought) 1.9 − last transcript 1.4
    assert model.audio_chunks == 3 and model.audio_ms == pytest.approx(300.0)
    assert model.interrupted and model.status == "interrupted"
    assert model.interrupted_audio_ms == pytest.approx(300.0)
    assert model.interrupted_text_chars == len("Hello Ann")
    assert model.ended_at == 2.3  # the interruption, not the later turnComplete
    assert model.complete


def test_a_cut_by_the_connection_is_not_an_interruption_by_the_user() -> None:
    s = ConversationState()
    s.apply(ev.ModelText(text="Once upon", generation=0), at=0.0)
    assert s.model_busy
    assert s.apply(ev.Interrupted(generation=0, cause="drop"), at=0.5) == [TurnChange("ended", 1, "model")]
    (lost,) = s.turns
    assert isinstance(lost, ModelTurn)
    assert (lost.status, lost.cut_by, lost.interrupted_text_chars, lost.ended_at) == ("cut", "drop", 9, 0.5)
    assert not s.model_busy
    s.apply(ev.ModelText(text="Hi", generation=1), at=1.0)
    s.apply(ev.Interrupted(generation=1, cause="go_away"), at=1.1)
    s.apply(ev.ModelText(text="Hey", generation=2), at=2.0)
    s.apply(ev.Interrupted(generation=2), at=2.1)
    assert [(t.status, t.cut_by) for t in s.turns if isinstance(t, ModelTurn)] == [
        ("cut", "drop"),
        ("cut", "go_away"),
        ("interrupted", None),
    ]


def test_late_chunk_of_an_interrupted_generation_updates_only_that_turn() -> None:
    s = ConversationState()
    s.apply(ev.ModelAudio(pcm=PCM_100MS, rate=24_000, generation=0), at=0.0)
    s.apply(ev.Interrupted(generation=0), at=0.1)
    s.apply(ev.ModelAudio(pcm=PCM_100MS, rate=24_000, generation=1), at=0.2)
    late = s.apply(ev.ModelAudio(pcm=PCM_100MS, rate=24_000, generation=0), at=0.3)
    first, second = s.turns
    assert isinstance(first, ModelTurn) and isinstance(second, ModelTurn)
    assert late == [TurnChange("updated", first.turn_id, "model")]
    assert first.interrupted_audio_ms == pytest.approx(100.0)  # what was generated before the cut stays
    assert (first.audio_chunks, second.audio_chunks) == (2, 1)


def test_tool_calls_follow_runner_status_and_cancellation() -> None:
    s = ConversationState()
    s.apply(ev.UserText(text="weather in Paris and Rome?"), at=0.0)
    calls = (
        ev.FunctionCall(id="c1", name="get_weather", args={"city": "Paris"}),
        ev.FunctionCall(id="c2", name="get_weather", args={"city": "Rome"}),
    )
    s.apply(ev.ToolCall(calls=calls, generation=0), at=0.5)
    assert s.model_busy
    s.apply(ev.ToolStatusChanged(id="c1", name="get_weather", status="running"), at=0.5)
    s.apply(ev.ToolStatusChanged(id="c1", name="get_weather", status="ok", result={"t": 1}, duration_ms=12.0), at=0.6)
    s.apply(ev.ToolCallCancelled(ids=("c2", "unknown")), at=0.7)
    # A status for a call already cancelled does not resurrect it... but the runner's own "cancelled" is kept.
    s.apply(ev.ToolStatusChanged(id="c2", name="get_weather", status="cancelled", duration_ms=3.0), at=0.7)
    s.apply(ev.TurnComplete(generation=0), at=1.0)
    model = s.turns[1]
    assert isinstance(model, ModelTurn)
    assert [(c.id, c.status, c.result, c.duration_ms) for c in model.tool_calls] == [
        ("c1", "ok", {"t": 1}, 12.0),
        ("c2", "cancelled", None, 3.0),
    ]
    assert model.latency_ms == pytest.approx(500.0)
    assert not s.model_busy


def test_continuation_after_a_tool_call_has_no_latency_of_its_own() -> None:
    s = ConversationState()
    s.apply(ev.UserText(text="q"), at=0.0)
    s.apply(ev.ToolCall(calls=(ev.FunctionCall(id="c", name="f"),), generation=0), at=0.2)
    s.apply(ev.TurnComplete(generation=0), at=0.3)
    s.apply(ev.ModelText(text="answer", generation=1), at=1.0)
    first, second = s.turns[1], s.turns[2]
    assert isinstance(first, ModelTurn) and isinstance(second, ModelTurn)
    assert first.latency_ms == pytest.approx(200.0)
    assert second.latency_ms is None


def test_code_execution_and_grounding_are_kept_per_turn() -> None:
    s = ConversationState()
    s.apply(ev.ExecutableCode(language="PYTHON", code="print(1)", generation=0), at=0.0)
    s.apply(ev.CodeExecutionResult(outcome="OUTCOME_OK", output="1\n", generation=0), at=0.1)
    s.apply(ev.Grounding(queries=("q1",), sources=(("T", "https://x"),), generation=0), at=0.2)
    s.apply(ev.Grounding(queries=("q1", "q2"), sources=(("T", "https://x"),), generation=0), at=0.3)
    (model,) = s.turns
    assert isinstance(model, ModelTurn)
    assert [(c.language, c.code, c.outcome, c.output) for c in model.code] == [
        ("PYTHON", "print(1)", "OUTCOME_OK", "1\n")
    ]
    assert model.grounding_queries == ("q1", "q2")
    assert model.grounding_sources == (("T", "https://x"),)


def test_turns_are_bounded_and_ids_never_reused() -> None:
    s = ConversationState(max_turns=3)
    dropped: list[TurnChange] = []
    for g in range(4):
        dropped += [c for c in s.apply(ev.UserText(text=f"u{g}"), at=g) if c.kind == "dropped"]
        dropped += [c for c in s.apply(ev.ModelText(text=f"m{g}", generation=g), at=g + 0.5) if c.kind == "dropped"]
    assert [t.turn_id for t in s.turns] == [6, 7, 8]
    assert [(c.turn_id, c.role) for c in dropped] == [(1, "user"), (2, "model"), (3, "user"), (4, "model"), (5, "user")]
    # A late event for a dropped generation is ignored rather than resurrecting the turn.
    assert s.apply(ev.ModelText(text="late", generation=0), at=9.0) == []
    assert s.model_turn(0) is None and s.model_turn(3) is not None


def test_lifecycle_fields() -> None:
    s = ConversationState()
    s.apply(ev.Connected(session_id="abc", resumed=False, setup_ms=12.0))
    assert s.connected and s.session_id == "abc"
    s.apply(ev.ResumptionUpdate(handle="h1", resumable=True))
    s.apply(ev.ResumptionUpdate(handle=None, resumable=False))  # not resumable right now: keep the last good handle
    assert s.resumption_handle == "h1"
    s.apply(ev.GoAway(time_left_s=10.0))
    assert s.go_away_time_left_s == 10.0
    s.apply(ev.Disconnected(code=1006, reason="x", will_retry=True))
    assert not s.connected
    s.apply(ev.Fatal(message="boom", code=1007))
    assert s.fatal == "boom"


def test_injected_clock_is_the_only_time_source() -> None:
    ticks = iter([5.0, 5.5])
    s = ConversationState(clock=lambda: next(ticks))
    s.apply(ev.UserText(text="x"))
    s.apply(ev.ModelText(text="y", generation=0))
    model = s.turns[1]
    assert isinstance(model, ModelTurn) and model.latency_ms == pytest.approx(500.0)
    assert ConversationState().apply(ev.UserText(text="z")) == [TurnChange("started", 1, "user")]


CAPTURE = real_captures_dir() / "pydantic-ai" / "test_handle_barge_in_over_live_speech__b8743e48.jsonl"


@pytest.mark.skipif(not CAPTURE.is_file(), reason="real Live captures not present on this machine")
def test_replaying_a_real_capture_twice_rebuilds_identical_state() -> None:
    def rebuild(upto: int) -> list[tuple[object, ...]]:
        conv, s = Converter(), ConversationState()
        lines = CAPTURE.read_text().splitlines()[1:]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, line in enumerate(lines[:upto]):
                rec = json.loads(line)
                if rec["dir"] == "s2c":
                    for e in conv.convert(parse_server_frame(json.dumps(rec["frame"]))):
                        s.apply(e, at=float(i))
        return [
            (t.turn_id, t.role, getattr(t, "transcript", None), getattr(t, "interrupted", None), t.started_at)
            for t in s.turns
        ]

    full = rebuild(10_000)
    assert full == rebuild(10_000)
    # user, model (interrupted), user (barge-in), model
    assert [(r[1], r[3]) for r in full] == [("user", None), ("model", True), ("user", None), ("model", False)]
    assert full[2][2] == " Hello, my name is Marcelo."
    # Part-way through the first reply: same turns so far, the reply not yet interrupted, its transcript a prefix.
    partial = rebuild(150)
    assert partial[0] == full[0]
    turn_id, role, transcript, interrupted, started = partial[1]
    assert (turn_id, role, interrupted, started) == (full[1][0], "model", False, full[1][4])
    assert isinstance(transcript, str) and full[1][2].startswith(transcript) and transcript != full[1][2]
