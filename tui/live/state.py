"""The conversation's turn state: a pure, sans-I/O state machine fed with ``tui.live.events`` events.

``ConversationState.apply(event, at)`` updates user and model turns and returns the ``TurnChange`` list a view
needs to repaint. It never reads a clock, a socket or a file: time comes in as ``at`` (or from an injected
clock), so replaying frames 0..N through a fresh ``Converter`` and a fresh state rebuilds exactly the same state.

Invariants:
- Turns are kept in start order in a bounded deque (``max_turns``); ``turn_id`` grows monotonically and is never
  reused, so a view can key rows by it even after old turns are dropped.
- A model turn is one ``generation`` (``events.py``). Events for a generation whose turn was dropped are ignored.
- A user turn stays open (typed text or input transcription accumulates) until a model turn starts after it.
- Latency of a model turn = first model output − the end of the user input that preceded it (the last typed
  text, input transcript piece or end of voice activity), when both are known.

Threading: none; own it from one task.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from tui.live import events as ev

BYTES_PER_SAMPLE = 2
"""s16le mono."""


@dataclass(slots=True)
class ToolCallRecord:
    """One function call the model asked for, and what became of it."""

    id: str
    name: str
    args: dict[str, ev.JSONValue]
    status: ev.ToolStatus = "pending"
    result: ev.JSONValue = None
    duration_ms: float | None = None
    text_at: int = 0
    """Length of the turn's ``text`` when the call arrived: the call sits there in the reply (text after it came
    after it, e.g. the answer a tool result made possible)."""
    transcript_at: int = 0
    """The same for the turn's output ``transcript`` (audio replies)."""


@dataclass(slots=True)
class CodeRecord:
    """Code the model wrote (code execution tool) and, once it arrives, its result."""

    language: str
    code: str
    outcome: str | None = None
    output: str | None = None


@dataclass(slots=True)
class UserTurn:
    """What the user said or typed. Read-only for everyone but ``ConversationState``."""

    turn_id: int
    started_at: float
    text: str = ""
    """Typed text (several typed lines in a row join with a newline)."""
    transcript: str = ""
    """Input transcription pieces, concatenated as the server sends them."""
    transcript_finished: bool = False
    input_ended_at: float | None = None
    """When the user's input last progressed (typed, transcribed or activity end): the latency start point."""
    role: Literal["user"] = "user"


@dataclass(slots=True)
class ModelTurn:
    """One model generation. Read-only for everyone but ``ConversationState``."""

    turn_id: int
    generation: int
    started_at: float
    text: str = ""
    thoughts: str = ""
    transcript: str = ""
    transcript_finished: bool = False
    audio_bytes: int = 0
    audio_rate: int | None = None
    audio_chunks: int = 0
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    code: list[CodeRecord] = field(default_factory=list)
    grounding_queries: tuple[str, ...] = ()
    grounding_sources: tuple[tuple[str, str], ...] = ()
    generation_complete: bool = False
    interrupted: bool = False
    cut_by: Literal["go_away", "drop"] | None = None
    """Set when the interruption was no one's choice: the connection was replaced (goAway) or lost mid-reply."""
    interrupted_audio_ms: float | None = None
    """Audio generated before the interruption (what the speaker may have played at most)."""
    interrupted_text_chars: int | None = None
    """Text plus transcript characters generated before the interruption."""
    complete: bool = False
    complete_reason: str | None = None
    waiting_for_input: bool = False
    ended_at: float | None = None
    first_output_at: float | None = None
    latency_ms: float | None = None
    """First model output − end of the preceding user input."""
    usage: ev.Usage | None = None
    role: Literal["model"] = "model"

    @property
    def audio_ms(self) -> float:
        """Milliseconds of audio generated so far."""
        if not self.audio_rate:
            return 0.0
        return self.audio_bytes / (self.audio_rate * BYTES_PER_SAMPLE) * 1000.0

    @property
    def status(self) -> Literal["streaming", "generated", "interrupted", "cut", "complete"]:
        """Where the turn is: still streaming, fully generated, cut by the user, lost with its connection, or over."""
        if self.interrupted:
            return "cut" if self.cut_by is not None else "interrupted"
        if self.complete:
            return "complete"
        if self.generation_complete:
            return "generated"
        return "streaming"


Turn = UserTurn | ModelTurn


@dataclass(frozen=True, slots=True)
class TurnChange:
    """What ``apply`` changed: the view repaints turn ``turn_id``."""

    kind: Literal["started", "updated", "ended", "dropped"]
    turn_id: int
    role: Literal["user", "model"]


@dataclass(slots=True)
class UsageTotals:
    """Token usage summed over the session (all turns, also those dropped from the window)."""

    prompt_tokens: int = 0
    response_tokens: int = 0
    total_tokens: int = 0
    reports: int = 0


class ConversationState:
    """Turns of the conversation, rebuilt purely from events. See the module docstring for the invariants."""

    def __init__(self, *, max_turns: int = 500, clock: Callable[[], float] | None = None) -> None:
        if max_turns < 1:
            raise ValueError("max_turns must be at least 1")
        self._turns: deque[Turn] = deque()
        self._max_turns = max_turns
        self._clock = clock
        self._next_id = 0
        self._by_generation: dict[int, ModelTurn] = {}
        self._tool_turn: dict[str, ModelTurn] = {}
        self._open_user: UserTurn | None = None
        self._last_input_end: float | None = None
        self._input_pending = False
        self._max_generation = -1
        self.usage_totals = UsageTotals()
        self.session_id: str | None = None
        self.resumption_handle: str | None = None
        self.connected = False
        self.go_away_time_left_s: float | None = None
        self.events_applied = 0
        self.fatal: str | None = None

    # ------------------------------------------------------------------------------------------ read-only view

    @property
    def turns(self) -> tuple[Turn, ...]:
        """The kept turns, oldest first."""
        return tuple(self._turns)

    @property
    def max_turns(self) -> int:
        return self._max_turns

    def turn(self, turn_id: int) -> Turn | None:
        """A kept turn by id (None once dropped)."""
        for t in self._turns:
            if t.turn_id == turn_id:
                return t
        return None

    def model_turn(self, generation: int) -> ModelTurn | None:
        """The kept model turn of ``generation``, if any."""
        return self._by_generation.get(generation)

    @property
    def current_model_turn(self) -> ModelTurn | None:
        """The latest model turn, if kept."""
        for t in reversed(self._turns):
            if isinstance(t, ModelTurn):
                return t
        return None

    @property
    def model_busy(self) -> bool:
        """True while a model turn is streaming or has unanswered tool calls (headless waits on this)."""
        t = self.current_model_turn
        if t is None:
            return False
        if not t.complete and not t.interrupted:
            return True
        return any(c.status in ("pending", "running") for c in t.tool_calls)

    @property
    def awaiting_reply(self) -> bool:
        """True when the latest turn is typed user text the model has not started answering yet."""
        return bool(self._turns) and isinstance(self._turns[-1], UserTurn) and bool(self._turns[-1].text)

    # ------------------------------------------------------------------------------------------ transitions

    def forget_resumption_handle(self) -> None:
        """The server refused the handle: the next connection starts a new session."""
        self.resumption_handle = None

    def note_user_input_end(self, at: float | None = None) -> None:
        """The user's input ended locally (push-to-talk release, audio stream end): the latency start point."""
        t = self._now(at)
        self._last_input_end = t
        self._input_pending = True
        if self._open_user is not None:
            self._open_user.input_ended_at = t

    def apply(self, event: ev.SessionEvent, at: float | None = None) -> list[TurnChange]:
        """Fold one event into the state; return what changed. ``at`` defaults to the injected clock (or 0.0)."""
        now = self._now(at)
        self.events_applied += 1
        changes: list[TurnChange] = []
        match event:
            case ev.UserText(text=text):
                self._user_input(now, changes, text=text)
            case ev.InputTranscript(text=text, finished=finished):
                self._user_input(now, changes, transcript=text, finished=finished)
            case ev.VoiceActivity(kind=kind):
                if kind in ("ACTIVITY_END", "VAD_SIGNAL_TYPE_EOS"):
                    self.note_user_input_end(now)
            case ev.ModelText(text=text, generation=g, thought=thought):
                turn = self._model(g, now, changes, output=True)
                if turn is not None:
                    if thought:
                        turn.thoughts += text
                    else:
                        turn.text += text
            case ev.ModelAudio(pcm=pcm, rate=rate, generation=g):
                turn = self._model(g, now, changes, output=True)
                if turn is not None:
                    turn.audio_bytes += len(pcm)
                    turn.audio_rate = rate
                    turn.audio_chunks += 1
            case ev.OutputTranscript(text=text, generation=g, finished=finished):
                turn = self._model(g, now, changes, output=True)
                if turn is not None:
                    turn.transcript += text
                    turn.transcript_finished = turn.transcript_finished or finished
            case ev.ExecutableCode(language=lang, code=code, generation=g):
                turn = self._model(g, now, changes, output=True)
                if turn is not None:
                    turn.code.append(CodeRecord(language=lang, code=code))
            case ev.CodeExecutionResult(outcome=outcome, output=output, generation=g):
                turn = self._model(g, now, changes, output=True)
                if turn is not None:
                    pending = next((c for c in turn.code if c.outcome is None), None)
                    if pending is None:
                        pending = CodeRecord(language="", code="")
                        turn.code.append(pending)
                    pending.outcome, pending.output = outcome, output
            case ev.Grounding(queries=queries, sources=sources, generation=g):
                turn = self._model(g, now, changes, output=False)
                if turn is not None:
                    turn.grounding_queries += tuple(q for q in queries if q not in turn.grounding_queries)
                    turn.grounding_sources += tuple(s for s in sources if s not in turn.grounding_sources)
            case ev.ToolCall(calls=calls, generation=g):
                turn = self._model(g, now, changes, output=True)
                if turn is not None:
                    for call in calls:
                        turn.tool_calls.append(
                            ToolCallRecord(
                                id=call.id,
                                name=call.name,
                                args=dict(call.args),
                                text_at=len(turn.text),
                                transcript_at=len(turn.transcript),
                            )
                        )
                        self._tool_turn[call.id] = turn
            case ev.ToolStatusChanged(id=call_id, status=status, result=result, duration_ms=duration):
                self._tool_status(call_id, status, result, duration, changes)
            case ev.ToolCallCancelled(ids=ids):
                for call_id in ids:
                    self._tool_status(call_id, "cancelled", None, None, changes, only_if_open=True)
            case ev.GenerationComplete(generation=g):
                turn = self._model(g, now, changes, output=False)
                if turn is not None:
                    turn.generation_complete = True
            case ev.Interrupted(generation=g, cause=cause):
                turn = self._model(g, now, changes, output=False)
                if turn is not None and not turn.interrupted:
                    turn.interrupted = True
                    turn.cut_by = None if cause == "barge_in" else cause
                    turn.interrupted_audio_ms = turn.audio_ms
                    turn.interrupted_text_chars = len(turn.text) + len(turn.transcript)
                    turn.ended_at = now
                    self._replace_change(changes, turn, "ended")
            case ev.TurnComplete(generation=g, reason=reason, waiting_for_input=waiting):
                turn = self._model(g, now, changes, output=False)
                if turn is not None:
                    turn.complete = True
                    turn.complete_reason = reason
                    turn.waiting_for_input = waiting
                    if turn.ended_at is None:
                        turn.ended_at = now
                    self._replace_change(changes, turn, "ended")
            case ev.Usage():
                self._usage(event, changes)
            case ev.Connected(session_id=session_id):
                self.connected = True
                self.go_away_time_left_s = None
                if session_id:
                    self.session_id = session_id
            case ev.Disconnected() | ev.SessionClosed():
                self.connected = False
            case ev.Fatal(message=message):
                self.connected = False
                self.fatal = message
            case ev.GoAway(time_left_s=left):
                self.go_away_time_left_s = left
            case ev.ResumptionUpdate(handle=handle, resumable=resumable):
                if resumable and handle:
                    self.resumption_handle = handle
            case _:
                pass  # lifecycle and media echoes carry no turn state
        self._trim(changes)
        return changes

    # ------------------------------------------------------------------------------------------ helpers

    def _now(self, at: float | None) -> float:
        if at is not None:
            return at
        return self._clock() if self._clock is not None else 0.0

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _user_input(
        self,
        now: float,
        changes: list[TurnChange],
        *,
        text: str = "",
        transcript: str = "",
        finished: bool = False,
    ) -> None:
        turn = self._open_user
        # Typed text is its own turn; transcription pieces join the open user turn until the model answers.
        if turn is None or (text and (turn.text or turn.transcript)):
            turn = UserTurn(turn_id=self._new_id(), started_at=now)
            self._turns.append(turn)
            self._open_user = turn
            changes.append(TurnChange("started", turn.turn_id, "user"))
        else:
            self._replace_change(changes, turn, "updated")
        if text:
            turn.text = f"{turn.text}\n{text}" if turn.text else text
        turn.transcript += transcript
        turn.transcript_finished = turn.transcript_finished or finished
        turn.input_ended_at = now
        self._last_input_end = now
        self._input_pending = True

    def _model(self, generation: int, now: float, changes: list[TurnChange], *, output: bool) -> ModelTurn | None:
        turn = self._by_generation.get(generation)
        if turn is None:
            if generation <= self._max_generation:
                return None  # a late event for a generation already dropped from the window
            turn = ModelTurn(turn_id=self._new_id(), generation=generation, started_at=now)
            self._turns.append(turn)
            self._by_generation[generation] = turn
            self._max_generation = generation
            self._open_user = None
            changes.append(TurnChange("started", turn.turn_id, "model"))
        else:
            self._replace_change(changes, turn, "updated")
        if output and turn.first_output_at is None:
            turn.first_output_at = now
            # Only input that arrived since the previous model output counts: a continuation after a tool call
            # or a server-initiated turn has no latency to report.
            if self._input_pending and self._last_input_end is not None:
                turn.latency_ms = max(0.0, (now - self._last_input_end) * 1000.0)
            self._input_pending = False
        return turn

    def _tool_status(
        self,
        call_id: str,
        status: ev.ToolStatus,
        result: ev.JSONValue,
        duration: float | None,
        changes: list[TurnChange],
        *,
        only_if_open: bool = False,
    ) -> None:
        turn = self._tool_turn.get(call_id)
        if turn is None:
            return
        record = next((c for c in turn.tool_calls if c.id == call_id), None)
        if record is None:
            return
        if only_if_open and record.status not in ("pending", "running"):
            return
        record.status = status
        if result is not None:
            record.result = result
        if duration is not None:
            record.duration_ms = duration
        self._replace_change(changes, turn, "updated")

    def _usage(self, usage: ev.Usage, changes: list[TurnChange]) -> None:
        totals = self.usage_totals
        totals.reports += 1
        totals.prompt_tokens += usage.prompt_tokens or 0
        totals.response_tokens += usage.response_tokens or 0
        totals.total_tokens += usage.total_tokens or 0
        turn = self.current_model_turn
        if turn is not None:
            turn.usage = usage
            self._replace_change(changes, turn, "updated")

    @staticmethod
    def _replace_change(changes: list[TurnChange], turn: Turn, kind: Literal["updated", "ended"]) -> None:
        for c in changes:
            if c.turn_id == turn.turn_id:
                if c.kind == "started" or (c.kind == "ended" and kind == "updated"):
                    return
                changes.remove(c)
                break
        changes.append(TurnChange(kind, turn.turn_id, turn.role))

    def _trim(self, changes: list[TurnChange]) -> None:
        while len(self._turns) > self._max_turns:
            old = self._turns.popleft()
            if isinstance(old, ModelTurn):
                self._by_generation.pop(old.generation, None)
                for call in old.tool_calls:
                    if self._tool_turn.get(call.id) is old:
                        del self._tool_turn[call.id]
            elif old is self._open_user:
                self._open_user = None
            changes.append(TurnChange("dropped", old.turn_id, old.role))
