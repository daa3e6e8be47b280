"""The transcript: user and model turns as they stream, with tool activity, code, search, interruptions and usage.

The model is the core's pure ``ConversationState``; this widget feeds it events and re-renders only the turns a
change names. Turns are bounded (``max_turns``), so memory and repaint cost stay flat however long the session runs.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Span, Text

from tui.app.widgets.block_scroll import BlockScroll

if TYPE_CHECKING:
    # The core's events and state modules (33 dataclasses, ~15 ms) load after the first paint: the empty
    # transcript needs neither, so the state is built on first use (by then the session has imported them).
    from tui.live import events as ev
    from tui.live.state import ConversationState, ModelTurn, ToolCallRecord, UserTurn

SystemKey = tuple[str, int]


def _fmt_clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _fmt_args(args: dict[str, object], limit: int = 60) -> str:
    inner = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return inner if len(inner) <= limit else inner[: limit - 1] + "…"


TOOL_MARK: dict[str, str] = {
    "pending": "…",
    "running": "⟳",
    "ok": "✓",
    "error": "✗",
    "cancelled": "⊘",
    "timeout": "✗",
}


class Transcript(BlockScroll):
    """Turns, newest at the bottom. Feed it session events with :meth:`apply`."""

    COMPONENT_CLASSES = {
        "transcript--user",
        "transcript--model",
        "transcript--system",
        "transcript--meta",
        "transcript--thought",
        "transcript--code",
        "transcript--interrupted",
        "transcript--tool",
        "transcript--error",
    }

    DEFAULT_CSS = """
    Transcript { height: 1fr; }
    Transcript > .transcript--user { color: $accent; text-style: bold; }
    Transcript > .transcript--model { color: $primary; text-style: bold; }
    Transcript > .transcript--system { color: $warning; }
    Transcript > .transcript--meta { color: $text-muted; }
    Transcript > .transcript--thought { color: $text-muted; text-style: italic; }
    Transcript > .transcript--code { color: $text-secondary; }
    Transcript > .transcript--interrupted { color: $warning; text-style: bold; }
    Transcript > .transcript--tool { color: $text-accent; }
    Transcript > .transcript--error { color: $error; }
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        max_turns: int = 500,
        flush_hz: float = 5.0,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        # System lines share the bound with turns, so the widget holds at most 2 × max_turns blocks.
        super().__init__(max_blocks=2 * max_turns, flush_hz=flush_hz, id=id, classes=classes)
        self._clock = clock
        """Seconds since the session started (injected: frozen in snapshots, recording time in replay)."""
        self._max_turns = max_turns
        self._state: ConversationState | None = None
        self._played: dict[int, float] = {}
        self._system: dict[SystemKey, tuple[float, str, bool]] = {}
        self._next_system = 0

    @property
    def state(self) -> ConversationState:
        """The pure turn state this view renders (built on first use, see the imports)."""
        if self._state is None:
            from tui.live.state import ConversationState

            self._state = ConversationState(max_turns=self._max_turns, clock=self._clock)
        return self._state

    # ------------------------------------------------------------------ queries

    @property
    def last_latency_ms(self) -> float | None:
        """Milliseconds from the end of the user's input to the model's first output, for the latest turn."""
        from tui.live.state import ModelTurn

        for turn in reversed(self.state.turns):
            if isinstance(turn, ModelTurn) and turn.latency_ms is not None:
                return turn.latency_ms
        return None

    def played_ms(self, generation: int) -> float | None:
        return self._played.get(generation)

    # ------------------------------------------------------------------ feeding

    def apply(self, event: ev.SessionEvent) -> None:
        """Fold one event into the turns and mark the changed turns for repaint."""
        from tui.live import events as ev  # loaded by then (the session made the event): a dict lookup

        audio_only = isinstance(event, ev.ModelAudio)
        for change in self.state.apply(event):
            if change.kind == "dropped":
                self.drop(change.turn_id)
            elif audio_only and change.kind == "updated":
                continue  # audio changes nothing visible until the turn ends (25+ chunks a second otherwise)
            else:
                self.touch(change.turn_id)
        if isinstance(event, ev.Fatal):
            self.add_system(f"✗ {event.message}", error=True)

    def reset(self) -> None:
        """Forget every turn (the replay viewer rebuilds from the first record)."""
        self._state = None  # a fresh state on next use, same bound
        self._played.clear()
        self._system.clear()
        self.clear_blocks()

    def set_max_turns(self, max_turns: int) -> None:
        """Change the bound before the session starts (the UI settings arrive after the first paint)."""
        if max_turns == self._max_turns:
            return
        self.max_blocks = max(1, 2 * max_turns)
        self._max_turns = max_turns
        self.reset()

    def note_user_input_end(self) -> None:
        """The user's input ended locally (for latency)."""
        self.state.note_user_input_end()

    def set_played(self, generation: int, played_ms: float) -> None:
        """Record how much of ``generation``'s audio was actually played (from the speaker)."""
        if self._played.get(generation) == played_ms:
            return
        self._played[generation] = played_ms
        while len(self._played) > self.state.max_turns:
            self._played.pop(next(iter(self._played)))
        turn = self.state.model_turn(generation)
        if turn is not None:
            self.touch(turn.turn_id)

    def add_system(self, message: str, *, error: bool = False) -> None:
        """A line that is not a turn: session notices, reconnects, errors."""
        key: SystemKey = ("sys", self._next_system)
        self._next_system += 1
        self._system[key] = (self._clock(), message, error)
        while len(self._system) > self.state.max_turns:
            old = next(iter(self._system))
            del self._system[old]
            self.drop(old)
        self.touch(key)

    # ------------------------------------------------------------------ rendering

    def render_block(self, key: Hashable) -> Text:
        if isinstance(key, tuple):
            entry = self._system.get(key)
            if entry is None:
                return Text()
            t, message, error = entry
            out = Text()
            out.append(f"{_fmt_clock(t)} ", "@transcript--meta")
            out.append(message, "@transcript--error" if error else "@transcript--system")
            return self._resolve(out)
        from tui.live.state import UserTurn

        turn = self.state.turn(int(key))  # type: ignore[call-overload]
        if turn is None:
            return Text()
        return self._resolve(self._render_user(turn) if isinstance(turn, UserTurn) else self._render_model(turn))

    def _resolve(self, text: Text) -> Text:
        """Swap ``@component`` placeholders for the component's rich style from CSS (theme colours)."""
        cache: dict[str, Style] = {}

        def style_of(style: str | Style) -> str | Style:
            if isinstance(style, str) and style.startswith("@"):
                if style not in cache:
                    cache[style] = self.get_component_rich_style(style[1:], partial=True)
                return cache[style]
            return style

        text.spans = [Span(s.start, s.end, style_of(s.style)) for s in text.spans]
        return text

    def _render_user(self, turn: UserTurn) -> Text:
        out = Text()
        out.append(f"{_fmt_clock(turn.started_at)} ", "@transcript--meta")
        out.append("you", "@transcript--user")
        source = "typed" if turn.text and not turn.transcript else "spoken" if turn.transcript else ""
        if source:
            out.append(f" ({source})", "@transcript--meta")
        if turn.text:
            out.append(f"\n  {turn.text.strip()}")
        if turn.transcript:
            out.append(f"\n  {turn.transcript.strip()}")
        return out

    @staticmethod
    def _render_call(out: Text, call: ToolCallRecord) -> None:
        out.append(f"\n  ⚙ {TOOL_MARK[call.status]} {call.name}({_fmt_args(call.args)})", "@transcript--tool")
        if call.duration_ms is not None:
            out.append(f" {call.duration_ms:.0f} ms", "@transcript--meta")
        if call.status == "timeout":
            out.append(" timed out", "@transcript--error")
        elif call.status == "cancelled":
            out.append(" cancelled", "@transcript--meta")
        if call.result is not None and call.status in ("ok", "error"):
            result = repr(call.result)
            out.append(f" → {result[:80] + ('…' if len(result) > 80 else '')}", "@transcript--meta")

    def _render_model(self, turn: ModelTurn) -> Text:
        out = Text()
        out.append(f"{_fmt_clock(turn.started_at)} ", "@transcript--meta")
        out.append("gemini", "@transcript--model")
        if turn.latency_ms is not None:
            out.append(f" {turn.latency_ms:.0f} ms", "@transcript--meta")
        if turn.status in ("streaming", "generated"):
            out.append(" …", "@transcript--meta")
        if turn.thoughts:
            out.append(f"\n  {turn.thoughts.strip()}", "@transcript--thought")
        # Tool calls sit where they happened in the reply: "Let me check." ⚙ get_weather(…) "It is 18 °C." The text
        # they split is the turn's text, or its output transcript in an audio reply.
        show_transcript = bool(turn.transcript) and turn.transcript.strip() != turn.text.strip()
        on_text = bool(turn.text) or not show_transcript
        if on_text:
            body, at = turn.text, [c.text_at for c in turn.tool_calls]
        else:
            body, at = turn.transcript, [c.transcript_at for c in turn.tool_calls]
        start = 0
        for call, cut in sorted(zip(turn.tool_calls, at, strict=True), key=lambda pair: pair[1]):
            if body[start:cut].strip():
                out.append(f"\n  {body[start:cut].strip()}")
            start = max(start, cut)
            self._render_call(out, call)
        if body[start:].strip():
            out.append(f"\n  {body[start:].strip()}")
        if show_transcript and on_text:
            out.append(f"\n  {turn.transcript.strip()}")
        for code in turn.code:
            if code.code:
                out.append(f"\n  ▸ code ({code.language.lower() or '?'})", "@transcript--meta")
                for line in code.code.rstrip().splitlines()[:30]:
                    out.append(f"\n    {line}", "@transcript--code")
            if code.outcome is not None:
                ok = code.outcome.upper().endswith("OK")
                out.append(
                    f"\n  ▸ result {'✓' if ok else '✗ ' + code.outcome}",
                    "@transcript--meta" if ok else "@transcript--error",
                )
                for line in (code.output or "").rstrip().splitlines()[:20]:
                    out.append(f"\n    {line}", "@transcript--code")
        if turn.grounding_queries:
            out.append("\n  ▸ searched: " + "; ".join(turn.grounding_queries), "@transcript--meta")
        for i, (title, uri) in enumerate(turn.grounding_sources[:8], 1):
            out.append(f"\n    [{i}] {title or uri}", "@transcript--meta")
            if title and uri:
                out.append(f" {uri}", "@transcript--thought")
        played = self._played.get(turn.generation)
        if turn.interrupted:
            generated = turn.interrupted_audio_ms or 0.0
            label = {"drop": "cut: connection lost", "go_away": "cut: server going away"}.get(turn.cut_by or "")
            out.append(f"\n  ■ {label or 'interrupted'}", "@transcript--interrupted")
            if played is not None and generated:
                share = min(100.0, 100.0 * played / generated)
                out.append(
                    f" · heard {played / 1000:.1f} s of {generated / 1000:.1f} s ({share:.0f} %)",
                    "@transcript--interrupted",
                )
            elif generated:
                out.append(f" · {generated / 1000:.1f} s generated", "@transcript--interrupted")
        elif turn.audio_ms and turn.complete:
            out.append(f"\n  ♪ {turn.audio_ms / 1000:.1f} s audio", "@transcript--meta")
            if played is not None:
                out.append(f", {played / 1000:.1f} s played", "@transcript--meta")
        if turn.usage is not None:
            u = turn.usage
            parts = []
            if u.prompt_tokens is not None:
                parts.append(f"in {u.prompt_tokens}")
            if u.response_tokens is not None:
                parts.append(f"out {u.response_tokens}")
            if u.total_tokens is not None:
                parts.append(f"total {u.total_tokens}")
            if parts:
                out.append("\n  Σ tokens " + " · ".join(parts), "@transcript--meta")
        return out
