"""Pilot tests of the replay viewer on the curated recordings: step, next turn, seek, play, and the inspector."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import ContentSwitcher

from tui.app.replay_viewer import ReplayModel, ReplayViewer, run_viewer
from tui.errors import UserError
from tui.live.state import ConversationState

pytestmark = pytest.mark.timeout(60)

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
WEATHER = RECORDINGS / "weather-tool.glrec"
BARGE_IN = RECORDINGS / "barge-in.glrec"


async def _loaded(pilot: Any) -> None:
    app = pilot.app
    for _ in range(300):
        if app.model is not None:
            break
        await pilot.pause(0.02)
    assert app.model is not None, "the recording did not load"
    await pilot.pause(0.05)


def _lines(app: ReplayViewer) -> str:
    return "\n".join(app.replay_screen.transcript.plain_lines())


async def test_step_next_turn_and_seek_move_through_the_recording() -> None:
    app = ReplayViewer(WEATHER)
    async with app.run_test(size=(80, 24)) as pilot:
        await _loaded(pilot)
        model = app.model
        assert model is not None
        assert app.index == -1 and _lines(app) == ""
        await pilot.press("n")
        assert app.index == 0
        await pilot.press("t")
        first_turn = app.index
        assert model.steps[first_turn].starts_turn
        assert "What's the weather in Paris?" in _lines(app)
        assert "gemini" not in _lines(app), "the reply comes after the turn's first record"
        await pilot.press("t")
        assert app.index > first_turn
        assert "⚙ ✓ get_weather(city='Paris')" in _lines(app)
        assert "Thanks. And what time" in _lines(app)
        await pilot.press("end")
        assert app.index == len(model.steps) - 1
        assert "get_time" in _lines(app)
        await pilot.press("left")  # one back rebuilds from record 0
        assert app.index == len(model.steps) - 2
        await pilot.press("home")
        assert app.index == -1 and _lines(app) == ""
        middle = model.steps[len(model.steps) // 2].t
        app.seek_to(middle)
        assert app.index == model.index_at(middle)
        assert (
            model.steps[app.index].t
            <= middle
            < (model.steps[app.index + 1].t if app.index + 1 < len(model.steps) else 1e9)
        )
        timeline = app.replay_screen.timeline
        assert timeline.index == app.index and timeline.position == pytest.approx(model.steps[app.index].t)


async def test_inspector_shows_the_record_and_the_state_rebuilt_from_records_0_to_n() -> None:
    app = ReplayViewer(BARGE_IN)
    async with app.run_test(size=(80, 24)) as pilot:
        await _loaded(pilot)
        model = app.model
        assert model is not None
        audio_step = next(i for i, s in enumerate(model.steps) if s.kind == "s2c" and s.levels is not None)
        app.goto(audio_step)
        await pilot.press("i")
        assert app.replay_screen.query_one("#panes", ContentSwitcher).current == "inspector"
        text = app.inspector_text()
        assert f"#{audio_step} s2c" in text
        assert "bytes audio/pcm" in text, "audio payloads are summarised, not dumped"
        assert "AAAA" not in text
        # The state shown is the pure state machine fed every event up to here.
        fresh = ConversationState(max_turns=500)
        for step in model.steps[: audio_step + 1]:
            for event in step.events:
                fresh.apply(event, at=step.t)
        state = app.replay_screen.transcript.state
        assert [type(t).__name__ for t in state.turns] == [type(t).__name__ for t in fresh.turns]
        assert state.usage_totals == fresh.usage_totals
        assert f"turns kept: {len(fresh.turns)}" in text
        await pilot.press("i")
        assert app.replay_screen.query_one("#panes", ContentSwitcher).current == "transcript"


async def test_play_at_max_speed_reaches_the_end_and_shows_the_interruption() -> None:
    app = ReplayViewer(BARGE_IN)
    async with app.run_test(size=(80, 24)) as pilot:
        await _loaded(pilot)
        model = app.model
        assert model is not None
        await pilot.press("s", "s", "s")  # 1× → 2× → 10× → max
        assert app.speed == 0
        await pilot.press("space")
        for _ in range(400):
            if not app.playing:
                break
            await pilot.pause(0.02)
        assert app.index == len(model.steps) - 1
        assert "interrupted" in _lines(app)
        model_meter = app.replay_screen.query_one("#model-meter")
        assert model_meter.reading.level_db is not None, "model audio in the recording drives the meter"  # type: ignore[attr-defined]


def test_model_reads_every_curated_recording() -> None:
    for path in sorted(RECORDINGS.glob("*.glrec")):
        model = ReplayModel(path)
        assert model.steps, path
        assert model.duration_s >= 0
        assert all(a.t <= b.t for a, b in zip(model.steps, model.steps[1:], strict=False)), path


def test_run_viewer_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such recording"):
        run_viewer(tmp_path / "nope.glrec")


async def test_a_recording_cut_short_is_flagged(tmp_path: Path) -> None:
    cut = tmp_path / "cut.glrec"
    data = WEATHER.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    app = ReplayViewer(cut)
    app.seen = []  # type: ignore[attr-defined]
    notify = app.notify

    def record(message: str, **kw: Any) -> None:
        app.seen.append(message)  # type: ignore[attr-defined]
        notify(message, **kw)

    app.notify = record  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await _loaded(pilot)
        await asyncio.sleep(0)
        assert any("truncated" in m or "end" in m for m in app.seen)  # type: ignore[attr-defined]
        await pilot.press("end")
        assert "What's the weather in Paris?" in _lines(app)


async def test_a_cancelled_tool_call_shows_as_cancelled() -> None:
    app = ReplayViewer(RECORDINGS / "tool-cancelled.glrec")
    async with app.run_test(size=(80, 24)) as pilot:
        await _loaded(pilot)
        await pilot.press("end", "f7")
        calls = app.replay_screen.tool_calls
        assert any(row.status == "cancelled" for row in calls.calls.values())
        assert any("⊘ cancelled" in line for line in calls.plain_lines())
        assert app.replay_screen.status_bar.info.state != "connected", "a replay never claims to be live"


@pytest.mark.parametrize(("name", "cut_by"), [("drop-reconnect", "drop"), ("goaway-resume", None)])
def test_a_reply_lost_with_its_connection_is_cut_as_in_the_live_session(name: str, cut_by: str | None) -> None:
    from tui.live.state import ModelTurn

    model = ReplayModel(RECORDINGS / f"{name}.glrec")
    state = ConversationState(max_turns=500)
    for step in model.steps:
        for event in step.events:
            state.apply(event, at=step.t)
    turns = [t for t in state.turns if isinstance(t, ModelTurn)]
    assert not state.model_busy
    # goaway-resume's turns all finished before the client resumed: nothing to cut there.
    assert [t.cut_by for t in turns if t.status == "cut"] == ([cut_by] if cut_by else [])
    assert all(t.status in ("complete", "cut") for t in turns)
    assert "Ada" in turns[-1].text  # the answer after reconnecting is its own turn, not merged into the lost one
