"""``gemini-live replay FILE`` in a terminal: the live panes driven by a recording, with a timeline and an inspector.

A recording's records become session events the same way the live client makes them: server frames go through
the SDK's parser and the core's pure ``Converter``, local inputs (typed text, frames sent, mic audio) become the
events the session echoes. Stepping forward feeds one record to the panes; any step back or seek rebuilds the
panes (and the pure ``ConversationState`` the inspector shows) by feeding records 0..N afresh, so the state shown
at a position is exactly the state a client had there.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer, Static

from tui.app.ports import NullMedia
from tui.app.screens.main import LiveScreen
from tui.app.widgets.frame_preview import FramePreview
from tui.app.widgets.level_meter import LevelMeter, MeterReading
from tui.app.widgets.protocol_log import ProtocolLog, ProtocolTap
from tui.app.widgets.status_bar import StatusBar
from tui.app.widgets.tool_calls import ToolCallsPane
from tui.app.widgets.transcript import Transcript
from tui.live import events as ev

SPEEDS: tuple[float, ...] = (1.0, 2.0, 10.0, 0.0)
"""Playback speeds; 0 means as fast as possible."""


# --------------------------------------------------------------------------------------------------------------
# The recording as steps (pure: no Textual)
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Step:
    """One record and what it means to the client."""

    t: float
    """Seconds since the recording started."""
    kind: str
    """``c2s``, ``s2c``, ``open``, ``close``, ``in:<kind>``, ``gap``, ``end``."""
    record: Any
    events: list[ev.SessionEvent] = field(default_factory=list)
    levels: tuple[float, float] | None = None
    """(rms, peak) dBFS of the audio this step carries (mic in, or model out)."""
    starts_turn: bool = False

    def label(self) -> str:
        msg = getattr(self.record, "msg", None)
        if isinstance(msg, dict) and msg:
            return f"{self.kind} {next(iter(msg))}"
        return self.kind


def _summarise_payloads(value: Any) -> Any:
    """The message with base64 payloads replaced by a size note (audio is summarised, never dumped)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        mime = value.get("mimeType") or value.get("mime_type")
        for k, v in value.items():
            if k == "data" and isinstance(v, str | bytes) and len(v) > 64:
                size = len(v) if isinstance(v, bytes) else len(v) * 3 // 4
                out[k] = f"<{size} bytes {mime or 'binary'}>"
            else:
                out[k] = _summarise_payloads(v)
        return out
    if isinstance(value, list):
        return [_summarise_payloads(v) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


class ReplayModel:
    """The recording turned into steps with events. Conversion uses the SDK parser: build it off the UI loop."""

    def __init__(self, path: Path) -> None:
        from tui.live.convert import Converter, parse_server_frame
        from tui.media.levels import block_levels
        from tui.recording import format as fmt
        from tui.recording.reader import read_recording

        self.recording = read_recording(path)
        self.path = path
        vertex = bool(self.recording.header.config.get("vertexai", False))
        converter = Converter()
        self.steps: list[Step] = []
        open_user = False
        called_at: dict[str, tuple[float, str]] = {}
        went_away = False  # this connection got a goAway (a cut at its close is then a goAway cut)
        for record in self.recording.records:
            t = record.t_us / 1e6
            if isinstance(record, fmt.Frame):
                step = Step(t, record.direction, record)
                if record.direction == "c2s":
                    step.events = self._tool_responses(record.msg, t, called_at)
                if record.direction == "s2c":
                    try:
                        step.events = converter.convert(parse_server_frame(record.data, vertexai=vertex))
                    except ValueError as exc:
                        step.events = [ev.Notice("warning", f"unreadable server frame: {exc}")]
                    for e in step.events:
                        if isinstance(e, ev.ToolCall):
                            for call in e.calls:
                                called_at[call.id] = (t, call.name)
                    went_away = went_away or any(isinstance(e, ev.GoAway) for e in step.events)
                    audio = [e.pcm for e in step.events if isinstance(e, ev.ModelAudio)]
                    if audio:
                        step.levels = block_levels(b"".join(audio))
            elif isinstance(record, fmt.Input):
                step = Step(t, f"in:{record.kind}", record)
                data = record.data
                if record.kind == "text":
                    step.events = [ev.UserText(str(data.get("text", "")))]
                elif record.kind == "frame":
                    step.events = [
                        ev.FrameSent(
                            jpeg=bytes(data.get("jpeg", b"")),
                            width=int(data.get("width", 0)),
                            height=int(data.get("height", 0)),
                            source=str(data.get("source", "file")),
                        )
                    ]
                elif record.kind == "audio":
                    step.levels = block_levels(bytes(data.get("pcm", b"")))
            elif isinstance(record, fmt.Open):
                step = Step(t, "open", record, [ev.Connecting(attempt=record.seg + 1, url=record.url)])
            elif isinstance(record, fmt.Close):
                step = Step(t, "close", record, [ev.Disconnected(record.code, record.reason, will_retry=False)])
                # A reply still streaming is lost with its connection, as in the live session (which leaves it be
                # only when the user quit: a client close without a goAway).
                cut = converter.cut() if went_away or record.by != "client" else None
                if cut is not None:
                    cause: Literal["go_away", "drop"] = "go_away" if went_away else "drop"
                    step.events.insert(0, ev.Interrupted(generation=cut, cause=cause))
                went_away = False
            elif isinstance(record, fmt.Gap):
                step = Step(t, "gap", record, [ev.Notice("warning", f"recording gap: {record.dropped} records lost")])
            else:
                step = Step(t, "end", record, [ev.SessionClosed()])
            for e in step.events:
                if isinstance(e, ev.UserText) or (isinstance(e, ev.InputTranscript) and not open_user):
                    step.starts_turn, open_user = True, True
                elif isinstance(e, ev.ModelText | ev.OutputTranscript | ev.ModelAudio | ev.ToolCall | ev.TurnComplete):
                    open_user = False
            self.steps.append(step)

    @staticmethod
    def _tool_responses(msg: Any, t: float, called_at: dict[str, tuple[float, str]]) -> list[ev.SessionEvent]:
        """The client's ``toolResponse`` as the status the live tool runner would have reported."""
        from tui.live.wire import pick

        body = pick(msg, "toolResponse") if isinstance(msg, dict) else None
        if not isinstance(body, dict):
            return []
        out: list[ev.SessionEvent] = []
        for response in pick(body, "functionResponses", []) or []:
            if not isinstance(response, dict):
                continue
            call_id = str(pick(response, "id", ""))
            result = pick(response, "response")
            started, name = called_at.get(call_id, (t, str(pick(response, "name", "?"))))
            failed = isinstance(result, dict) and "error" in result
            out.append(
                ev.ToolStatusChanged(
                    call_id, name, "error" if failed else "ok", result=result, duration_ms=(t - started) * 1000
                )
            )
        return out

    @property
    def duration_s(self) -> float:
        return self.steps[-1].t if self.steps else 0.0

    def index_at(self, t: float) -> int:
        """The last step at or before ``t`` seconds (-1 before the first)."""
        index = -1
        for i, step in enumerate(self.steps):
            if step.t > t:
                break
            index = i
        return index

    def next_turn(self, after: int) -> int:
        """The next step that starts a user turn, else the last step."""
        for i in range(after + 1, len(self.steps)):
            if self.steps[i].starts_turn:
                return i
        return len(self.steps) - 1

    def inspect(self, index: int) -> str:
        """The selected record as JSON, payloads summarised."""
        if not 0 <= index < len(self.steps):
            return "(before the first record)"
        step = self.steps[index]
        record = step.record
        body: Any
        msg = getattr(record, "msg", None)
        if msg is not None:
            body = _summarise_payloads(msg)
        elif hasattr(record, "data") and isinstance(record.data, dict):
            body = {"kind": getattr(record, "kind", ""), **_summarise_payloads(record.data)}
        else:
            body = {k: _summarise_payloads(getattr(record, k)) for k in getattr(record, "__dataclass_fields__", {})}
        head = f"#{index} {step.kind} at {step.t:.3f} s"
        if step.events:
            head += "\nevents: " + ", ".join(type(e).__name__ for e in step.events)
        return head + "\n" + json.dumps(body, indent=1, ensure_ascii=False, default=repr)[:4000]


# --------------------------------------------------------------------------------------------------------------
# Widgets
# --------------------------------------------------------------------------------------------------------------


class Timeline(Widget):
    """Position / duration, play state, speed and the current record."""

    DEFAULT_CSS = """
    Timeline { height: 1; background: $panel; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.position = 0.0
        self.duration = 0.0
        self.index = -1
        self.count = 0
        self.playing = False
        self.speed = 1.0
        self.label = ""

    def update_to(self, **values: Any) -> None:
        for key, value in values.items():
            setattr(self, key, value)
        self.refresh()

    def render(self) -> Text:
        speed = "max" if self.speed == 0 else f"{self.speed:g}×"
        head = f"{'▶' if self.playing else '‖'} {speed} {self.position:6.1f}/{self.duration:.1f} s "
        tail = f" {self.index + 1}/{self.count} {self.label}"
        width = max(4, self.size.width - len(head) - min(len(tail), 28))
        frac = 0.0 if self.duration <= 0 else min(1.0, self.position / self.duration)
        filled = round(frac * width)
        out = Text(head, no_wrap=True, overflow="ellipsis")
        out.append("█" * filled, "bold")
        out.append("░" * (width - filled), "dim")
        out.append(tail[:28])
        return out


class ReplayScreen(LiveScreen):
    """The live screen's panes, a timeline instead of the text box, and an inspector."""

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        with Horizontal(id="body"):
            with ContentSwitcher(initial="transcript", id="panes"):
                yield Transcript(clock=self.session_time, max_turns=self._max_turns, flush_hz=0, id="transcript")
                yield ToolCallsPane(flush_hz=0, id="tool-calls")
                yield ProtocolLog(clock=self.session_time, max_entries=self._log_max, flush_hz=0, id="protocol-log")
                yield Static(id="inspector", markup=False)
            with Vertical(id="sidebar"):
                yield LevelMeter("mic", id="mic-meter")
                yield LevelMeter("model", id="model-meter")
                yield FramePreview(clock=self.session_time, id="frame-preview")
        yield Timeline(id="timeline")
        yield Footer()

    timeline: Timeline

    def on_mount(self) -> None:
        self.timeline = self.query_one("#timeline", Timeline)
        self.query_one("#inspector", Static).border_title = "inspector"

    def session_time(self) -> float:
        return self._clock()  # the replay clock is the recording's own time

    def show_event(self, event: ev.SessionEvent) -> None:
        super().show_event(event)
        if self.status_bar.info.state == "connected":
            # Never "live" in a replay: the recorded connection was up at this point.
            self.status_bar.update_info(state="replay")


class ReplayMedia(NullMedia):
    """Meters for replay: levels of the recorded mic and model audio at the replay position (nothing to play or
    capture: the rest is ``NullMedia``)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(problem=None)
        self._muted = False  # a recording has no mute: show the levels as recorded
        from tui.media.levels import LevelMeter as CoreMeter

        self._clock = clock
        self.mic = CoreMeter()
        self.model = CoreMeter()
        self.seen_mic = False
        self.seen_model = False

    def feed(self, step: Step) -> None:
        if step.levels is None:
            return
        meter = self.mic if step.kind.startswith("in:") else self.model
        if meter is self.mic:
            self.seen_mic = True
        else:
            self.seen_model = True
        meter.update(step.levels[0], step.levels[1], step.t)

    def reset(self) -> None:
        self.mic.reset()
        self.model.reset()

    def readings(self, now: float) -> tuple[MeterReading, MeterReading]:
        out = []
        for meter, seen in ((self.mic, self.seen_mic), (self.model, self.seen_model)):
            r = meter.read(now)
            out.append(MeterReading(r.level_dbfs, r.peak_dbfs, r.speaking, available=True) if seen else None)
        quiet = MeterReading(level_db=None)
        return out[0] or quiet, out[1] or quiet


# --------------------------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------------------------


class ReplayViewer(App[int]):
    """Plays a recording into the live panes."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "gemini-live replay"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_play", "Play/Pause", id="play-pause"),
        Binding("s", "speed", "Speed", id="speed"),
        Binding("right,n", "step", "Step", id="step-frame"),
        Binding("t", "next_turn", "Next turn", id="next-turn"),
        Binding("left,p", "step_back", "Back", id="step-back", show=False),
        Binding("home", "seek_start", "Start", id="seek-start", show=False),
        Binding("end", "seek_end", "End", id="seek-end", show=False),
        Binding("left_square_bracket", "seek(-10)", "-10 s", id="seek-back", show=False),
        Binding("right_square_bracket", "seek(10)", "+10 s", id="seek-forward", show=False),
        Binding("i", "inspector", "Inspect", id="inspector"),
        Binding("f7", "switch_pane", "Pane", id="switch-pane"),
        Binding("q,ctrl+q", "quit", "Quit", id="quit", priority=True),
    ]

    def __init__(self, path: Path, *, model: ReplayModel | None = None) -> None:
        super().__init__()
        self.path = path
        self.model = model
        self.index = -1
        """The last record applied (-1: none)."""
        self.speed = 1.0
        self.playing = False
        self._position = 0.0
        self.media = ReplayMedia(lambda: self._position)
        self._play_task: asyncio.Task[None] | None = None
        self._pane_before_inspector = "transcript"

    def get_default_screen(self) -> ReplayScreen:
        return ReplayScreen(clock=lambda: self._position, meter_hz=10.0)

    @property
    def replay_screen(self) -> ReplayScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, ReplayScreen)
        return screen

    def on_mount(self) -> None:
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        screen = self.replay_screen
        screen.media = self.media
        screen.status_bar.update_info(state="replay", detail=self.path.name)
        self._tap = ProtocolTap(screen.protocol_log.add)
        if self.model is None:
            self.run_worker(self._load(), group="replay", exclusive=True, exit_on_error=False, description="load")
        else:
            self._loaded()

    async def _load(self) -> None:
        # google.genai (the frame parser) and the file read happen off the event loop, after the first paint.
        self.replay_screen.timeline.update_to(label="loading…")
        self.model = await asyncio.to_thread(ReplayModel, self.path)
        self._loaded()

    def _loaded(self) -> None:
        model = self.model
        assert model is not None
        screen = self.replay_screen
        screen.status_bar.update_info(model=model.recording.header.model, detail=self.path.name)
        for problem in model.recording.problems:
            self.notify(problem, title="Recording", severity="warning", timeout=10)
        self._show_position()

    # ------------------------------------------------------------------ applying records

    def _apply(self, i: int) -> None:
        assert self.model is not None
        step = self.model.steps[i]
        self._position = step.t
        screen = self.replay_screen
        record = step.record
        if step.kind == "c2s":
            self._tap.on_send(0, record.data)
        elif step.kind == "s2c":
            self._tap.on_recv(0, record.data if isinstance(record.data, bytes) else record.data.encode())
        elif step.kind == "open":
            self._tap.on_open(0, record.url, {})
        elif step.kind == "close":
            self._tap.on_close(0, record.code, record.reason)
        self.media.feed(step)
        for event in step.events:
            screen.show_event(event)
        self.index = i

    def goto(self, target: int) -> None:
        """Show the state after record ``target`` (-1: before the first): forward by applying, back by rebuilding."""
        if self.model is None:
            return
        target = max(-1, min(target, len(self.model.steps) - 1))
        if target < self.index:
            self._reset()
        for i in range(self.index + 1, target + 1):
            self._apply(i)
        if target < 0:
            self._position = 0.0
        self._show_position()

    def _reset(self) -> None:
        screen = self.replay_screen
        screen.transcript.reset()
        screen.tool_calls.reset()
        screen.protocol_log.reset()
        screen.frame_preview.clear()
        self.media.reset()
        self.index = -1

    def _show_position(self) -> None:
        model = self.model
        assert model is not None
        screen = self.replay_screen
        label = model.steps[self.index].label() if self.index >= 0 else ""
        screen.timeline.update_to(
            position=self._position,
            duration=model.duration_s,
            index=self.index,
            count=len(model.steps),
            playing=self.playing,
            speed=self.speed,
            label=label,
        )
        for pane in (screen.transcript, screen.tool_calls, screen.protocol_log):
            pane.flush()
        screen.poll_levels()
        screen.status_bar.update_info(elapsed_s=self._position)
        inspector = screen.query_one("#inspector", Static)
        if inspector.display:
            inspector.update(self.inspector_text())

    def inspector_text(self) -> str:
        """The selected record and the client's state at this point (the pure state machine fed 0..N)."""
        assert self.model is not None
        state = self.replay_screen.transcript.state
        turn = state.current_model_turn
        lines = [
            "— client state —",
            f"connected: {state.connected}   session id: {state.session_id or '-'}",
            f"resumption handle: {state.resumption_handle or '-'}   goAway: {state.go_away_time_left_s}",
            f"turns kept: {len(state.turns)}   events applied: {state.events_applied}",
            f"usage totals: {state.usage_totals.total_tokens} tokens in {state.usage_totals.reports} reports",
        ]
        if turn is not None:
            pending = [c.name for c in turn.tool_calls if c.status in ("pending", "running")]
            lines.append(
                f"model turn g{turn.generation}: {turn.status}, {turn.audio_ms / 1000:.1f} s audio"
                + (f", tools pending: {', '.join(pending)}" if pending else "")
            )
        if state.fatal:
            lines.append(f"fatal: {state.fatal}")
        return "— selected record —\n" + self.model.inspect(self.index) + "\n\n" + "\n".join(lines)

    # ------------------------------------------------------------------ playing

    async def _play(self) -> None:
        assert self.model is not None
        steps = self.model.steps
        loop = asyncio.get_running_loop()
        last_paint = loop.time()
        while self.playing and self.index + 1 < len(steps):
            nxt = steps[self.index + 1]
            if self.speed > 0:
                delay = max(0.0, (nxt.t - self._position) / self.speed)
                if delay > 0:
                    await asyncio.sleep(min(delay, 2.0))
            self._apply(self.index + 1)
            if loop.time() - last_paint >= 0.1 or self.speed > 0:
                last_paint = loop.time()
                self._show_position()
                await asyncio.sleep(0)
        self.playing = False
        self._show_position()

    def action_toggle_play(self) -> None:
        if self.model is None:
            return
        self.playing = not self.playing
        if self.playing:
            if self.index + 1 >= len(self.model.steps):
                self._reset()
            self._play_task = asyncio.create_task(self._play())
        self._show_position()

    def _pause(self) -> None:
        self.playing = False
        if self._play_task is not None:
            self._play_task.cancel()
            self._play_task = None

    def action_speed(self) -> None:
        self.speed = SPEEDS[(SPEEDS.index(self.speed) + 1) % len(SPEEDS)]
        self._show_position()

    def action_step(self) -> None:
        self._pause()
        self.goto(self.index + 1)

    def action_step_back(self) -> None:
        self._pause()
        self.goto(self.index - 1)

    def action_next_turn(self) -> None:
        if self.model is not None:
            self._pause()
            self.goto(self.model.next_turn(self.index))

    def action_seek_start(self) -> None:
        self._pause()
        self.goto(-1)

    def action_seek_end(self) -> None:
        if self.model is not None:
            self._pause()
            self.goto(len(self.model.steps) - 1)

    def action_seek(self, seconds: float) -> None:
        if self.model is not None:
            self._pause()
            self.goto(self.model.index_at(self._position + seconds))

    def seek_to(self, seconds: float) -> None:
        """Jump to the last record at or before ``seconds``."""
        if self.model is not None:
            self._pause()
            self.goto(self.model.index_at(seconds))

    def action_inspector(self) -> None:
        screen = self.replay_screen
        switcher = screen.query_one("#panes", ContentSwitcher)
        if switcher.current == "inspector":
            screen.show_pane(self._pane_before_inspector)
        else:
            self._pane_before_inspector = switcher.current or "transcript"
            screen.show_pane("inspector")
            screen.query_one("#inspector", Static).update(self.inspector_text())

    def action_switch_pane(self) -> None:
        self.replay_screen.next_pane()


def run_viewer(path: Path | str) -> int:
    """Open ``path`` in the replay viewer; the exit code for the CLI."""
    from tui.errors import UserError

    path = Path(path)
    if not path.is_file():
        raise UserError(f"no such recording: {path}")
    app = ReplayViewer(path)
    app.run()
    return int(app.return_code or 0)
