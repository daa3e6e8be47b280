"""SDK ``LiveServerMessage`` → UI-neutral events (``tui.live.events``): pure, no I/O, no clock.

Invariants:
- ``Converter.convert`` is deterministic: the same messages in the same order give the same events, so replay can
  rebuild everything from frames 0..N with a fresh ``Converter``.
- Within one frame, events come out in protocol order: model parts, transcriptions, grounding,
  ``generationComplete``, ``interrupted``, ``turnComplete``, then ``toolCall``/``toolCallCancellation``, usage,
  ``goAway``, ``sessionResumptionUpdate`` and voice activity. Usage rides on the ``turnComplete`` frame in real
  traffic, so it comes after the turn it measures.
- ``generation`` numbering (``events.py``): the first model output after a ``turnComplete`` (or after an
  ``interrupted``) opens a new generation. ``interrupted`` and the ``turnComplete`` that follows it belong to the
  interrupted generation, so the speaker can drop exactly that generation's buffered audio.

Threading: none; call from one task (the session's receive loop, or replay).
"""

from __future__ import annotations

import json
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from tui.live import events as ev

if TYPE_CHECKING:
    from google.genai import types

DEFAULT_OUTPUT_RATE = 24_000
"""Rate of model audio when the mime type names none (Vertex sends plain ``audio/pcm``)."""


def parse_server_frame(data: bytes | str, *, vertexai: bool = False) -> types.LiveServerMessage:
    """Parse one raw server frame exactly as the SDK's receive path does (``live.py`` ``_receive``).

    Raises ``ValueError`` for a frame that is not JSON or has no recognised top-level kind (the SDK raises too).
    """
    from google.genai import _live_converters, types

    try:
        raw = json.loads(data) if data else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"server frame is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError("server frame is not a JSON object")
    converted = (
        _live_converters._LiveServerMessage_from_vertex(raw)
        if vertexai
        else _live_converters._LiveServerMessage_from_mldev(raw)
    )
    if raw and not converted:
        raise ValueError(f"server frame has no recognised message kind: {sorted(raw)}")
    return types.LiveServerMessage._from_response(response=converted, kwargs={})


def audio_rate(mime_type: str | None) -> int | None:
    """The sample rate of an ``audio/pcm;rate=N`` mime type (24000 for bare ``audio/pcm``); None for non-audio."""
    if not mime_type or not mime_type.lower().startswith("audio/"):
        return None
    for param in mime_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "rate":
            try:
                return int(value.strip())
            except ValueError:
                return DEFAULT_OUTPUT_RATE
    return DEFAULT_OUTPUT_RATE


def _enum_str(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    return "" if value is None else str(value)


class Converter:
    """Turns server messages into events, numbering model generations. One per session (kept across resumptions)."""

    def __init__(self) -> None:
        self._generation = -1
        self._open = False
        self._ended_by: Literal["turn", "interrupt"] = "turn"

    @property
    def generation(self) -> int:
        """The latest generation number handed out (-1 before any model output)."""
        return self._generation

    def cut(self) -> int | None:
        """Close the open generation locally (a goAway cut it short): its number, or None if none was open.

        The caller emits ``Interrupted`` for it; output after this opens a new generation.
        """
        if not self._open:
            return None
        return self._interrupted()

    def _output(self) -> int:
        """Generation for model output: opens a new one unless one is open."""
        if not self._open:
            self._generation += 1
            self._open = True
        return self._generation

    def _interrupted(self) -> int:
        if not self._open and self._generation < 0:
            self._generation = 0
        self._open = False
        self._ended_by = "interrupt"
        return self._generation

    def _turn_complete(self) -> int:
        if not self._open and self._ended_by == "turn":
            # A turnComplete with no output since the last one is an empty turn of its own.
            self._generation += 1
        self._open = False
        self._ended_by = "turn"
        return self._generation

    def convert(self, msg: types.LiveServerMessage) -> list[ev.SessionEvent]:
        """Every event one server message carries, in protocol order (see the module docstring)."""
        out: list[ev.SessionEvent] = []
        if msg.setup_complete is not None:
            # The session builds the real Connected (with timing); this one serves replay of raw frames.
            out.append(ev.Connected(session_id=msg.setup_complete.session_id, resumed=False, setup_ms=0.0))
        if msg.server_content is not None:
            self._server_content(msg.server_content, out)
        if msg.tool_call is not None:
            calls = tuple(
                ev.FunctionCall(id=fc.id or "", name=fc.name or "", args=dict(fc.args or {}))
                for fc in (msg.tool_call.function_calls or [])
            )
            if calls:
                out.append(ev.ToolCall(calls=calls, generation=self._output()))
        if msg.tool_call_cancellation is not None:
            ids = tuple(msg.tool_call_cancellation.ids or ())
            if ids:
                out.append(ev.ToolCallCancelled(ids=ids))
        if msg.usage_metadata is not None:
            out.append(usage_event(msg.usage_metadata))
        if msg.go_away is not None:
            out.append(ev.GoAway(time_left_s=_duration_s(msg.go_away.time_left)))
        if msg.session_resumption_update is not None:
            upd = msg.session_resumption_update
            out.append(ev.ResumptionUpdate(handle=upd.new_handle or None, resumable=bool(upd.resumable)))
        if msg.voice_activity is not None and msg.voice_activity.voice_activity_type is not None:
            out.append(ev.VoiceActivity(kind=_enum_str(msg.voice_activity.voice_activity_type)))
        if msg.voice_activity_detection_signal is not None:
            kind = _enum_str(msg.voice_activity_detection_signal.vad_signal_type)
            if kind:
                out.append(ev.VoiceActivity(kind=kind))
        return out

    def _server_content(self, sc: types.LiveServerContent, out: list[ev.SessionEvent]) -> None:
        if sc.model_turn is not None:
            for part in sc.model_turn.parts or ():
                self._part(part, out)
        if sc.input_transcription is not None:
            t = sc.input_transcription
            if t.text or t.finished:
                out.append(ev.InputTranscript(text=t.text or "", finished=bool(t.finished)))
        if sc.output_transcription is not None:
            t = sc.output_transcription
            # Vertex brackets transcripts with an empty {} and {finished: true}; the empty opener says nothing.
            if t.text or t.finished:
                out.append(ev.OutputTranscript(text=t.text or "", generation=self._output(), finished=bool(t.finished)))
        if sc.grounding_metadata is not None:
            g = grounding_event(sc.grounding_metadata, self._generation)
            # Vertex puts an empty groundingMetadata on every turnComplete: only real grounding is reported.
            if g is not None:
                out.append(ev.Grounding(queries=g.queries, sources=g.sources, generation=self._output()))
        if sc.generation_complete:
            out.append(ev.GenerationComplete(generation=self._output()))
        if sc.interrupted:
            out.append(ev.Interrupted(generation=self._interrupted()))
        if sc.turn_complete:
            reason = _enum_str(sc.turn_complete_reason) or None
            out.append(
                ev.TurnComplete(
                    generation=self._turn_complete(),
                    reason=reason,
                    waiting_for_input=bool(sc.waiting_for_input),
                )
            )

    def _part(self, part: types.Part, out: list[ev.SessionEvent]) -> None:
        if part.text is not None and part.text != "":
            out.append(ev.ModelText(text=part.text, generation=self._output(), thought=bool(part.thought)))
        if part.inline_data is not None and part.inline_data.data:
            rate = audio_rate(part.inline_data.mime_type)
            if rate is not None:
                out.append(ev.ModelAudio(pcm=part.inline_data.data, rate=rate, generation=self._output()))
        if part.executable_code is not None:
            code = part.executable_code
            out.append(
                ev.ExecutableCode(
                    language=_enum_str(code.language) or "PYTHON",
                    code=code.code or "",
                    generation=self._output(),
                )
            )
        if part.code_execution_result is not None:
            res = part.code_execution_result
            out.append(
                ev.CodeExecutionResult(
                    outcome=_enum_str(res.outcome) or "OUTCOME_UNSPECIFIED",
                    output=res.output or "",
                    generation=self._output(),
                )
            )
        if part.function_call is not None:
            # Live sends function calls as toolCall, but a functionCall part is reported the same way.
            fc = part.function_call
            call = ev.FunctionCall(id=fc.id or "", name=fc.name or "", args=dict(fc.args or {}))
            out.append(ev.ToolCall(calls=(call,), generation=self._output()))


def usage_event(u: types.UsageMetadata) -> ev.Usage:
    """``usageMetadata`` → ``Usage``. Vertex's ``candidates*`` names arrive as ``response_*`` after the SDK's
    Vertex converter (``parse_server_frame(vertexai=True)`` applies it to raw frames)."""
    details: dict[str, dict[str, int]] = {}
    for name, items in (
        ("prompt", u.prompt_tokens_details),
        ("response", u.response_tokens_details),
        ("cache", u.cache_tokens_details),
        ("tool_use_prompt", u.tool_use_prompt_tokens_details),
    ):
        if items:
            per: dict[str, int] = {}
            for item in items:
                modality = _enum_str(item.modality) or "UNSPECIFIED"
                per[modality] = per.get(modality, 0) + int(item.token_count or 0)
            details[name] = per
    return ev.Usage(
        prompt_tokens=u.prompt_token_count,
        response_tokens=u.response_token_count,
        total_tokens=u.total_token_count,
        thoughts_tokens=u.thoughts_token_count,
        tool_use_prompt_tokens=u.tool_use_prompt_token_count,
        cached_tokens=u.cached_content_token_count,
        details=details,
    )


def grounding_event(g: types.GroundingMetadata, generation: int) -> ev.Grounding | None:
    """``groundingMetadata`` → ``Grounding``, or None when it names no query and no source."""
    queries = tuple(q for q in (g.web_search_queries or ()) if q)
    sources: list[tuple[str, str]] = []
    for chunk in g.grounding_chunks or ():
        web = chunk.web
        if web is not None and (web.uri or web.title):
            sources.append((web.title or "", web.uri or ""))
    if not queries and not sources:
        return None
    return ev.Grounding(queries=queries, sources=tuple(sources), generation=max(generation, 0))


def _duration_s(value: Any) -> float:
    """``goAway.timeLeft``: the SDK may hand a string (``"10s"``), a number or a timedelta."""
    if value is None:
        return 0.0
    seconds = getattr(value, "total_seconds", None)
    if callable(seconds):
        return float(seconds())
    from tui.live.wire import parse_duration_s

    parsed = parse_duration_s(value)
    return parsed if parsed is not None else 0.0
