"""SVG snapshots of the states people see, at 80×24 (the SSH budget size), with a frozen clock and scripted events.

The app, its screen and its widgets are the real ones; only the event source (a fixed script of
``tui.live.events``) and the meter readings are fixed, so the pictures are the same on every machine.
Update with ``.venv/bin/python -m pytest tests/snapshots --snapshot-update`` after checking the diff report.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from tests.ui.fakes import FixedMedia, ScriptedSession, frame_event
from tui.app.main import LiveApp, create_app, fixed_endpoint
from tui.app.widgets.level_meter import MeterReading
from tui.config import Settings
from tui.live import events as ev

SIZE = (80, 24)
QUIET = MeterReading(level_db=-75.0, peak_db=-70.0)
TALKING = MeterReading(level_db=-21.0, peak_db=-12.0, speaking=True)


def _tone(seconds: float, rate: int = 24000) -> bytes:
    n = int(seconds * rate)
    return b"".join(int(8000 * math.sin(i / 7)).to_bytes(2, "little", signed=True) for i in range(n))


def _app(script: list[Any], *, mic: MeterReading = QUIET, model: MeterReading = QUIET, **kw: Any) -> LiveApp:
    settings = Settings(api_key="snap-key", demo=False, session={"voice": "Kore"})
    session = ScriptedSession(script)
    media = FixedMedia(mic, model, played=kw.pop("played", None))
    app = create_app(
        settings,
        session_factory=lambda s, tap: session,
        media_factory=lambda s, notice: media,
        endpoint=lambda s: fixed_endpoint(s, demo=True),
        clock=lambda: 100.0,
    )
    app.scripted = session  # type: ignore[attr-defined]
    app.animation_level = "none"
    return app


async def _settle(pilot: Any, *keys: str) -> None:
    app = pilot.app
    for _ in range(200):
        if getattr(app, "scripted", None) is not None and app.scripted.done:
            break
        await pilot.pause(0.02)
    for key in keys:
        await pilot.press(key)
    screen = app.live_screen
    for pane in (screen.transcript, screen.tool_calls, screen.protocol_log):
        pane.flush(force=True)
    screen.poll_levels()
    screen.poll_status()
    await pilot.pause(0.2)
    await asyncio.sleep(0)


CONNECTED = [ev.Connecting(attempt=1, url="https://127.0.0.1:1"), ev.Connected(None, False, 120.0)]


def test_idle_on_the_demo(snap_compare: Any) -> None:
    """Idle on the offline demo: the banner says so, the status is live, meters are quiet."""
    assert snap_compare(_app(CONNECTED), terminal_size=SIZE, run_before=_settle)


def test_model_speaking_with_meters_moving(snap_compare: Any) -> None:
    """The model answers aloud: transcript streaming, model meter high with its peak, a frame preview."""
    script = [
        *CONNECTED,
        frame_event(),
        ev.UserText("what do you see?"),
        ev.ModelAudio(_tone(0.4), 24000, 0),
        ev.OutputTranscript("(offline demo) I see a red picture with a blue", 0),
    ]
    app = _app(script, mic=QUIET, model=TALKING)
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_tool_call_running(snap_compare: Any) -> None:
    """A tool call is running: inline in the transcript and in the tool calls pane (F7)."""
    call = ev.FunctionCall("mock-call-1", "get_weather", {"city": "Paris"})
    script = [
        *CONNECTED,
        ev.UserText("what is the weather in Paris?"),
        ev.ToolCall((call,), 0),
        ev.ToolStatusChanged("mock-call-1", "get_weather", "running", {"city": "Paris"}),
        ev.ToolCall((ev.FunctionCall("mock-call-0", "get_time", {"timezone": "UTC"}),), 0),
        ev.ToolStatusChanged("mock-call-0", "get_time", "ok", {"timezone": "UTC"}, {"time": "12:00"}, duration_ms=3.0),
    ]

    async def run_before(pilot: Any) -> None:
        await _settle(pilot, "f7")

    assert snap_compare(_app(script), terminal_size=SIZE, run_before=run_before)


def test_interrupted_turn(snap_compare: Any) -> None:
    """An interrupted turn says how much of the reply was heard (played vs generated)."""
    script = [
        *CONNECTED,
        ev.UserText("tell me a long story"),
        ev.ModelAudio(_tone(4.2), 24000, 0),
        ev.OutputTranscript("(offline demo) Once upon a time there was a", 0),
        ev.Interrupted(0),
        ev.TurnComplete(0),
        ev.Usage(prompt_tokens=12, response_tokens=134, total_tokens=146),
        ev.InputTranscript("stop, stop", finished=True),
    ]
    app = _app(script, mic=TALKING, played={0: 1800.0})
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_reconnecting(snap_compare: Any) -> None:
    """The connection dropped: a notification, and the status bar counts the reconnect attempt."""
    script = [
        *CONNECTED,
        ev.ResumptionUpdate("handle-1", True),
        ev.Disconnected(1006, "abnormal closure", will_retry=True),
        ev.Reconnecting(attempt=2, delay_s=0.5, cause="drop"),
        ev.Connecting(attempt=2, url="https://127.0.0.1:1", resuming=True),
    ]
    assert snap_compare(_app(script), terminal_size=SIZE, run_before=_settle)


def test_replay_viewer(snap_compare: Any) -> None:
    """The replay viewer on a curated recording, stopped after its first tool round trip."""
    from pathlib import Path

    from tui.app.replay_viewer import ReplayModel, ReplayViewer

    path = Path(__file__).resolve().parents[2] / "recordings" / "weather-tool.glrec"
    app = ReplayViewer(path, model=ReplayModel(path))
    app.animation_level = "none"

    async def run_before(pilot: Any) -> None:
        await pilot.pause(0.1)
        await pilot.press("t", "t")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
