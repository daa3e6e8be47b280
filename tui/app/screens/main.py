"""The live screen: composes the panes, routes session events to them and polls the fast values at display rate.

Attributes down: the screen sets values on its panes; panes never reach into each other. Events arrive from the
app's session worker on the same event loop (a direct call, not a message per event: model audio alone is 25+
events a second and most change nothing visible).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Input

from tui.app.ports import MediaPort
from tui.app.widgets.block_scroll import BlockScroll
from tui.app.widgets.frame_preview import FramePreview
from tui.app.widgets.level_meter import LevelMeter, MeterReading
from tui.app.widgets.status_bar import DemoBanner, StatusBar
from tui.app.widgets.transcript import Transcript

if TYPE_CHECKING:
    # Loaded after the first paint: the events module (27 dataclasses) with the session, the two hidden panes
    # (and json) when they are added behind the transcript (see _ensure_panes).
    from tui.app.widgets.protocol_log import ProtocolLog
    from tui.app.widgets.tool_calls import ToolCallsPane
    from tui.live import events as ev

PANE_HZ = 5.0
"""How often the transcript, tool calls and protocol log repaint (changes are batched in between)."""
_NOT_YET = MeterReading(level_db=None, available=False, off="starting…")
PANES: tuple[str, ...] = ("transcript", "tool-calls", "protocol-log")
"""Pane ids in the order ``switch-pane`` cycles through them."""


class LiveScreen(Screen[None]):
    """The main screen of ``gemini-live``."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        max_turns: int = 500,
        log_max: int = 2000,
        meter_hz: float = 10.0,
        thumbnails: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self._clock = clock
        self._t0 = clock()
        self._max_turns = max_turns
        self._log_max = log_max
        self.meter_hz = meter_hz
        """How often the meters are polled."""
        self.thumbnails = thumbnails
        self.media: MediaPort | None = None
        """Set by the app once media is up; polled for levels."""
        self.go_away_deadline: float | None = None
        self.recording_size: Callable[[], int | None] = lambda: None
        """Returns the recording's size while one is written."""
        self.demo = False
        self._tool_calls: ToolCallsPane | None = None
        self._protocol_log: ProtocolLog | None = None

    def session_time(self) -> float:
        """Seconds since the screen (the session) started."""
        return self._clock() - self._t0

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        yield DemoBanner(id="demo-banner", classes="-hidden")
        with Horizontal(id="body"):
            with ContentSwitcher(initial="transcript", id="panes"):
                # flush_hz=0: the panes repaint from this screen's single display tick (see _tick). The tool
                # calls and protocol log panes, hidden behind this one, are added right after the first paint.
                yield Transcript(clock=self.session_time, max_turns=self._max_turns, flush_hz=0, id="transcript")
            with Vertical(id="sidebar"):
                # From the first paint: "starting…" until the session has opened the devices, never a "quiet" mic
                # that nobody has opened yet.
                yield LevelMeter("mic", initial=_NOT_YET, id="mic-meter")
                yield LevelMeter("model", initial=_NOT_YET, id="model-meter")
                yield FramePreview(clock=self.session_time, pictures=self.thumbnails, deferred=True, id="frame-preview")
        yield Input(placeholder="Type a message and press Enter", id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        # Cached once: events arrive tens of times a second and a DOM query per event adds up.
        self.transcript = self.query_one("#transcript", Transcript)
        self.status_bar = self.query_one("#status-bar", StatusBar)
        self.frame_preview = self.query_one("#frame-preview", FramePreview)
        self._mic_meter = self.query_one("#mic-meter", LevelMeter)
        self._model_meter = self.query_one("#model-meter", LevelMeter)
        self.call_after_refresh(self._ensure_panes)
        # One display tick drives everything periodic, so meters, panes and status share one compositor pass
        # instead of each timer costing its own (perf-baselines §5: Textual's cost is per repaint).
        self._ticks = 0
        self._start_tick()
        for prompt in self.query("#prompt").results(Input):
            prompt.cursor_blink = False  # a blinking cursor is two extra repaints a second over SSH
            prompt.focus()

    def _ensure_panes(self) -> None:
        """Add the tool calls and protocol log panes behind the transcript, once (the first access does it).

        They are hidden on the first screen, so they are not composed: building, styling and importing them (json,
        two widget classes) waits until the first frame is out. The replay screen composes its own: those are used.
        """
        if self._tool_calls is not None and self._protocol_log is not None:
            return
        from tui.app.widgets.protocol_log import ProtocolLog
        from tui.app.widgets.tool_calls import ToolCallsPane

        tool_calls = next(iter(self.query("#tool-calls").results(ToolCallsPane)), None)
        protocol_log = next(iter(self.query("#protocol-log").results(ProtocolLog)), None)
        if tool_calls is None or protocol_log is None:
            tool_calls = ToolCallsPane(flush_hz=0, id="tool-calls")
            protocol_log = ProtocolLog(
                clock=self.session_time, max_entries=self._log_max, flush_hz=0, id="protocol-log"
            )
            for pane in (tool_calls, protocol_log):
                pane.display = False  # what ContentSwitcher does for a pane that is not current
            # Registered in the DOM at once (switching to them works straight away); mounted on the next messages.
            self.query_one("#panes", ContentSwitcher).mount(tool_calls, protocol_log)
        tool_calls.border_title = "tool calls"
        protocol_log.border_title = "protocol · all"
        self._tool_calls, self._protocol_log = tool_calls, protocol_log

    @property
    def tool_calls(self) -> ToolCallsPane:
        """The tool calls pane."""
        self._ensure_panes()
        assert self._tool_calls is not None
        return self._tool_calls

    @property
    def protocol_log(self) -> ProtocolLog:
        """The protocol log pane."""
        self._ensure_panes()
        assert self._protocol_log is not None
        return self._protocol_log

    def _start_tick(self) -> None:
        self._tick_hz = max(1.0, self.meter_hz)
        self._tick_timer = self.set_interval(1.0 / self._tick_hz, self._tick, name="display-tick")

    def configure(self, *, max_turns: int, log_max: int, meter_hz: float, thumbnails: bool) -> None:
        """Apply the UI settings, which the CLI's app loads after the first paint (before any session event)."""
        self.transcript.set_max_turns(max_turns)
        if log_max != self._log_max:
            self.protocol_log.set_max_entries(log_max)
        self._max_turns, self._log_max = max_turns, log_max
        self.thumbnails = self.frame_preview.pictures = thumbnails
        if meter_hz != self.meter_hz:
            self.meter_hz = meter_hz
            self._tick_timer.stop()
            self._start_tick()

    def _tick(self) -> None:
        self._ticks += 1
        self.poll_levels()
        self.frame_preview.flush()  # a new frame shares the meters' compositor pass instead of costing its own
        per_flush = max(1, round(self._tick_hz / PANE_HZ))
        if self._ticks % per_flush == 0:
            self.transcript.flush()
            self.tool_calls.flush()
            self.protocol_log.flush()
        if self._ticks % max(1, round(self._tick_hz)) == 0:
            self.poll_status()

    # ------------------------------------------------------------------ panes

    # Pane attributes (transcript, status_bar, frame_preview) are set in on_mount; tool_calls and protocol_log are
    # properties (added after the first paint).
    transcript: Transcript
    status_bar: StatusBar
    frame_preview: FramePreview

    def set_demo(self, demo: bool) -> None:
        """Show or hide the offline-demo banner."""
        self.demo = demo
        self.query_one("#demo-banner").set_class(not demo, "-hidden")

    def show_pane(self, pane: str) -> None:
        self._ensure_panes()
        self.query_one("#panes", ContentSwitcher).current = pane
        shown = self.query_one(f"#{pane}")
        if isinstance(shown, BlockScroll):
            shown.flush()  # it held its changes while hidden

    def next_pane(self) -> str:
        current = self.query_one("#panes", ContentSwitcher).current or PANES[0]
        pane = PANES[(PANES.index(current) + 1) % len(PANES)] if current in PANES else PANES[0]
        self.show_pane(pane)
        return pane

    # ------------------------------------------------------------------ events

    def show_event(self, event: ev.SessionEvent) -> None:
        """Route one session event to the panes that show it."""
        from tui.live import events as ev  # loaded by then (the session made the event): a dict lookup

        self.transcript.apply(event)
        status = self.status_bar
        match event:
            case ev.ToolCall() | ev.ToolStatusChanged() | ev.ToolCallCancelled():
                self.tool_calls.apply(event)
            case ev.FrameSent():
                self.frame_preview.add_frame(event)
            case ev.Interrupted(generation=g) | ev.TurnComplete(generation=g):
                self._update_played(g)
            case ev.Usage():
                status.update_info(tokens=self.transcript.state.usage_totals.total_tokens or event.total_tokens)
            case ev.Connecting(attempt=attempt, resuming=resuming):
                status.update_info(state="resuming" if resuming else "connecting", attempt=attempt, detail="")
            case ev.Connected(resumed=resumed, setup_ms=setup_ms):
                self.go_away_deadline = None
                status.update_info(
                    state="connected", go_away_left_s=None, detail=f"resumed in {setup_ms:.0f} ms" if resumed else ""
                )
            case ev.GoAway(time_left_s=left):
                self.go_away_deadline = self._clock() + left
                status.update_info(go_away_left_s=left)
            case ev.ResumptionUpdate(resumable=resumable, handle=handle):
                status.update_info(resumable=bool(resumable and handle))
            case ev.Disconnected(code=code, reason=reason, will_retry=will_retry):
                detail = "goAway" if reason == "goAway" else f"closed {code}" if code is not None else "connection lost"
                status.update_info(state="reconnecting" if will_retry else "disconnected", detail=detail)
            case ev.Reconnecting(attempt=attempt, delay_s=delay, cause=cause):
                status.update_info(
                    state="reconnecting",
                    attempt=attempt,
                    detail=f"{'goAway' if cause == 'go_away' else 'drop'}, retry in {delay:.1f} s",
                )
            case ev.Fatal(code=code):
                status.update_info(state="failed", detail=f"code {code}" if code is not None else "")
            case ev.SessionClosed():
                status.update_info(state="disconnected", detail="closed")
            case _:
                pass
        if isinstance(event, ev.TurnComplete | ev.Interrupted):
            latency = self.transcript.last_latency_ms
            if latency is not None:
                status.update_info(latency_ms=latency)

    def _update_played(self, generation: int) -> None:
        if self.media is None:
            return
        played = self.media.played_ms(generation)
        if played is not None:
            self.transcript.set_played(generation, played)

    # ------------------------------------------------------------------ polling (fast values are pulled)

    def poll_levels(self) -> None:
        now = self._clock()
        if self.media is None:
            mic = model = _NOT_YET  # before the session opens the devices: nothing is known to be wrong
        else:
            mic, model = self.media.readings(now)
        self._mic_meter.show(mic, now)
        self._model_meter.show(model, now)

    def poll_status(self) -> None:
        # Playback runs behind generation: what was heard of the latest turns settles after turnComplete.
        for turn in self.transcript.state.turns[-3:]:
            generation = getattr(turn, "generation", None)
            if generation is not None:
                self._update_played(generation)
        changes: dict[str, object] = {"elapsed_s": self.session_time(), "recording_bytes": self.recording_size()}
        if self.go_away_deadline is not None:
            changes["go_away_left_s"] = max(0.0, self.go_away_deadline - self._clock())
        self.status_bar.update_info(**changes)
