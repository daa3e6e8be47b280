"""A recording read as a session: connections, turns, who spoke when, tool calls, interruptions, goAway, latency.

Pure functions over a :class:`~tui.recording.reader.Recording` (no I/O); info, diff, trim and export share them.

Turns: a turn ends with the server's ``turnComplete``. The ``sessionResumptionUpdate`` (and a lone
``usageMetadata``) that the server sends straight after still belong to the ending turn, so that a turn's records
are everything from its first frame or input to its end. A connection that closes before ``turnComplete`` ends its
turn as ``cut``; a file that ends mid-turn leaves it ``open``. The frames that open a connection (``setup`` and
``setupComplete``) belong to no turn: they are connection records, like ``open`` and ``close``.

Latency of a turn: from the end of what the user said to the model's first output (text, audio, transcript or a
tool call). The end of what the user said is the last typed text, ``activityEnd``/``audioStreamEnd`` or tool
response before that output; for speech without such a marker, the end of the last mic chunk louder than
``SPEECH_DBFS`` (the client streams silence after speech, so "the last chunk sent" would say nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from tui.live import wire
from tui.recording.format import Close, End, Frame, Gap, Input, Open, Record
from tui.recording.reader import Recording

SPEECH_DBFS: Final = -45.0
"""A mic chunk at least this loud counts as speech (for the latency estimate and the plot)."""

_TRAILING_KINDS: Final = frozenset({"sessionResumptionUpdate", "usageMetadata"})


def pcm_rate(mime: str, default: int) -> int:
    """The sample rate in ``audio/pcm;rate=N`` (``default`` when absent or odd)."""
    low = mime.lower().replace(" ", "")
    if "rate=" in low:
        try:
            return int(low.split("rate=", 1)[1].split(";", 1)[0])
        except ValueError:
            return default
    return default


def dbfs(pcm: bytes) -> float:
    """RMS level of s16le PCM in dBFS (-inf for silence or nothing)."""
    n = len(pcm) // 2
    if not n:
        return -math.inf
    a = np.frombuffer(pcm[: n * 2], dtype="<i2").astype(np.float64)
    rms = float(np.sqrt(np.mean(a * a)))
    return 20 * math.log10(rms / 32768) if rms > 0 else -math.inf


@dataclass
class Audio:
    """One audio chunk on the wire."""

    t_us: int
    pcm: bytes
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.rate if self.rate else 0.0


@dataclass
class Image:
    """One image the client sent (a camera or screen frame)."""

    t_us: int
    data: bytes
    mime: str
    seg: int


@dataclass
class ToolCall:
    """One function call the server asked for, and what became of it."""

    t_us: int
    id: str
    name: str
    args: Any
    seg: int
    response_us: int | None = None
    response: Any = None
    cancelled_us: int | None = None


@dataclass
class Turn:
    """One exchange: what the user said or sent, what the model answered, and how it ended."""

    number: int
    seg: int
    start_us: int
    end_us: int = 0
    positions: list[int] = field(default_factory=list)
    """Positions in ``Recording.records`` of the records in this turn."""
    user_text: list[str] = field(default_factory=list)
    user_text_us: list[int] = field(default_factory=list)
    """When each ``user_text`` was sent."""
    input_transcript: str = ""
    model_text: str = ""
    output_transcript: str = ""
    user_audio: list[Audio] = field(default_factory=list)
    model_audio: list[Audio] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    interrupted_us: int | None = None
    ended: str = "open"
    """``complete`` (turnComplete), ``cut`` (the connection closed first) or ``open`` (the file ends here)."""
    user_end_us: int | None = None
    first_output_us: int | None = None

    @property
    def latency_ms(self) -> float | None:
        """Time from the end of the user's input to the model's first output (None when not measurable)."""
        if self.user_end_us is None or self.first_output_us is None or self.first_output_us < self.user_end_us:
            return None
        return (self.first_output_us - self.user_end_us) / 1000

    @property
    def user_audio_s(self) -> float:
        return sum(a.seconds for a in self.user_audio)

    @property
    def model_audio_s(self) -> float:
        return sum(a.seconds for a in self.model_audio)


@dataclass
class Segment:
    """One websocket connection."""

    seg: int
    open_us: int
    close_us: int | None = None
    code: int | None = None
    reason: str = ""
    resumed: bool = False
    """Its setup carried a resumption handle (a resumption, not a fresh session)."""
    frames: int = 0


@dataclass
class Timeline:
    """Everything the tools show about a recording, in recorded time (µs since the start)."""

    duration_us: int
    segments: list[Segment] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    go_aways: list[tuple[int, float | None]] = field(default_factory=list)
    """(time, timeLeft in seconds)."""
    resumption_updates: list[tuple[int, str]] = field(default_factory=list)
    actions: list[tuple[int, str]] = field(default_factory=list)
    """Local user actions recorded as inputs (mute, interrupt, camera…)."""
    gaps: list[Gap] = field(default_factory=list)
    turn_of: dict[int, int] = field(default_factory=dict)
    """Record position → turn number (connection records are absent)."""
    problems: list[str] = field(default_factory=list)
    """Records whose content could not be understood (damaged), skipped by the analysis."""

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [c for t in self.turns for c in t.tool_calls]

    @property
    def images(self) -> list[Image]:
        return [i for t in self.turns for i in t.images]


def _parts_text(parts: Any) -> list[str]:
    return [str(p["text"]) for p in parts or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]


def _decode(data: Any) -> bytes | None:
    if isinstance(data, bytes):
        return data
    if not isinstance(data, str):
        return None
    try:
        return wire.b64decode_any(data)
    except ValueError:
        return None


def _blobs(rt: dict[str, Any]) -> list[dict[str, Any]]:
    """The media blobs of a ``realtimeInput`` (``audio``, ``video``, ``media`` and the old ``mediaChunks``)."""
    out: list[dict[str, Any]] = []
    for key in ("audio", "video", "media"):
        blob = wire.pick(rt, key)
        if isinstance(blob, dict):
            out.append({**blob, "_key": key})
    for blob in wire.pick(rt, "mediaChunks") or []:
        if isinstance(blob, dict):
            out.append({**blob, "_key": "mediaChunks"})
    return out


class _Builder:
    def __init__(self, rec: Recording) -> None:
        self.tl = Timeline(duration_us=int(rec.duration_s * 1e6))
        self.turn: Turn | None = None
        self.trailing = False
        self.calls: dict[str, ToolCall] = {}
        self.seg: Segment | None = None
        self.handshake = 0  # frames of the current connection still to be counted as its handshake

    def current(self, t_us: int, seg: int) -> Turn:
        if self.turn is None or self.trailing:
            self.close_turn()
            self.turn = Turn(number=len(self.tl.turns) + 1, seg=seg, start_us=t_us)
            self.tl.turns.append(self.turn)
            self.trailing = False
        return self.turn

    def close_turn(self) -> None:
        self.trailing = False
        self.turn = None

    def add(self, pos: int, r: Record) -> None:
        if isinstance(r, Open):
            self.close_turn_cut()
            self.seg = Segment(r.seg, r.t_us)
            self.tl.segments.append(self.seg)
            self.handshake = 2
        elif isinstance(r, Close):
            if self.seg is not None:
                self.seg.close_us, self.seg.code, self.seg.reason = r.t_us, r.code, r.reason
            self.close_turn_cut()
        elif isinstance(r, Gap):
            self.tl.gaps.append(r)
        elif isinstance(r, End):
            pass
        elif isinstance(r, Input):
            if r.kind == "action":
                self.tl.actions.append((r.t_us, str(r.data.get("name", "?"))))
            turn = self.current(r.t_us, self.seg.seg if self.seg else 0)
            self._own(turn, pos, r.t_us)
        elif isinstance(r, Frame):
            try:
                self.frame(pos, r)
            except (TypeError, AttributeError, ValueError, KeyError) as exc:
                # A damaged record can decode into shapes no JSON frame has (a number where a key should be):
                # leave it out of the analysis and say so, rather than fail on the whole file.
                if len(self.tl.problems) < 20:
                    self.tl.problems.append(
                        f"record #{r.index} at {r.t_us / 1e6:.3f} s could not be understood "
                        f"({type(exc).__name__}); left out of the analysis"
                    )

    def close_turn_cut(self) -> None:
        if self.turn is not None and not self.trailing and self.turn.ended == "open":
            self.turn.ended = "cut"
        self.close_turn()

    def _own(self, turn: Turn, pos: int, t_us: int) -> None:
        turn.positions.append(pos)
        turn.end_us = max(turn.end_us, t_us)
        self.tl.turn_of[pos] = turn.number

    def frame(self, pos: int, f: Frame) -> None:
        if self.seg is None or self.seg.seg != f.seg:  # a file that starts mid-connection
            self.seg = Segment(f.seg, f.t_us)
            self.tl.segments.append(self.seg)
        self.seg.frames += 1
        msg = f.msg if isinstance(f.msg, dict) else {}
        kind = wire.message_kind(msg) if msg else "non-JSON"
        if kind == "setup":
            resume = wire.pick(wire.pick(msg, "setup") or {}, "sessionResumption")
            self.seg.resumed = isinstance(resume, dict) and bool(wire.pick(resume, "handle"))
            return
        if kind == "setupComplete":
            return
        if self.turn is not None and self.trailing and f.direction == "s2c" and kind in _TRAILING_KINDS:
            self._trailing_frame(pos, f, msg)
            return
        turn = self.current(f.t_us, f.seg)
        self._own(turn, pos, f.t_us)
        if f.direction == "c2s":
            self._client(turn, f, msg)
        else:
            self._server(turn, f, msg)

    def _trailing_frame(self, pos: int, f: Frame, msg: dict[str, Any]) -> None:
        assert self.turn is not None
        self._own(self.turn, pos, f.t_us)
        self._server_meta(f, msg)

    def _user_done(self, turn: Turn, t_us: int) -> None:
        if turn.first_output_us is None:
            turn.user_end_us = t_us

    def _client(self, turn: Turn, f: Frame, msg: dict[str, Any]) -> None:
        body = wire.pick(msg, "clientContent")
        if isinstance(body, dict):
            for content in wire.pick(body, "turns") or []:
                if isinstance(content, dict):
                    texts = _parts_text(content.get("parts"))
                    turn.user_text.extend(texts)
                    turn.user_text_us.extend([f.t_us] * len(texts))
            self._user_done(turn, f.t_us)
        rt = wire.pick(msg, "realtimeInput")
        if isinstance(rt, dict):
            if isinstance(wire.pick(rt, "text"), str):
                turn.user_text.append(str(wire.pick(rt, "text")))
                turn.user_text_us.append(f.t_us)
                self._user_done(turn, f.t_us)
            if wire.has(rt, "activityEnd") or wire.has(rt, "audioStreamEnd"):
                self._user_done(turn, f.t_us)
            for blob in _blobs(rt):
                mime = str(wire.pick(blob, "mimeType") or "")
                raw = _decode(blob.get("data"))
                if raw is None:
                    continue
                if blob["_key"] == "audio" or mime.startswith("audio/"):
                    chunk = Audio(f.t_us, raw, pcm_rate(mime, 16000))
                    turn.user_audio.append(chunk)
                    if turn.first_output_us is None and dbfs(raw) >= SPEECH_DBFS:
                        turn.user_end_us = f.t_us + int(chunk.seconds * 1e6)
                else:
                    turn.images.append(Image(f.t_us, raw, mime or "image/jpeg", f.seg))
        resp = wire.pick(msg, "toolResponse")
        if isinstance(resp, dict):
            for fr in wire.pick(resp, "functionResponses") or []:
                if not isinstance(fr, dict):
                    continue
                call = self.calls.get(str(fr.get("id")))
                if call is not None and call.response_us is None:
                    call.response_us = f.t_us
                    call.response = fr.get("response")
            self._user_done(turn, f.t_us)

    def _output(self, turn: Turn, t_us: int) -> None:
        if turn.first_output_us is None:
            turn.first_output_us = t_us

    def _server(self, turn: Turn, f: Frame, msg: dict[str, Any]) -> None:
        content = wire.pick(msg, "serverContent")
        if isinstance(content, dict):
            model = wire.pick(content, "modelTurn")
            if isinstance(model, dict):
                for part in model.get("parts") or []:
                    if not isinstance(part, dict):
                        continue
                    if isinstance(part.get("text"), str) and not part.get("thought"):
                        turn.model_text += part["text"]
                        self._output(turn, f.t_us)
                    inline = wire.pick(part, "inlineData")
                    if isinstance(inline, dict):
                        mime = str(wire.pick(inline, "mimeType") or "")
                        raw = _decode(inline.get("data"))
                        if raw is not None and mime.startswith("audio/"):
                            turn.model_audio.append(Audio(f.t_us, raw, pcm_rate(mime, 24000)))
                            self._output(turn, f.t_us)
            heard = wire.pick(wire.pick(content, "inputTranscription"), "text")
            if isinstance(heard, str):
                turn.input_transcript += heard
            said = wire.pick(wire.pick(content, "outputTranscription"), "text")
            if isinstance(said, str):
                turn.output_transcript += said
                self._output(turn, f.t_us)
            if wire.pick(content, "interrupted"):
                turn.interrupted_us = f.t_us
            if wire.pick(content, "turnComplete"):
                turn.ended = "complete"
                self.trailing = True
        call = wire.pick(msg, "toolCall")
        if isinstance(call, dict):
            for fc in wire.pick(call, "functionCalls") or []:
                if isinstance(fc, dict):
                    tc = ToolCall(f.t_us, str(fc.get("id", "")), str(fc.get("name", "?")), fc.get("args"), f.seg)
                    turn.tool_calls.append(tc)
                    self.calls[tc.id] = tc
            self._output(turn, f.t_us)
        cancel = wire.pick(msg, "toolCallCancellation")
        if isinstance(cancel, dict):
            for cid in wire.pick(cancel, "ids") or []:
                if str(cid) in self.calls:
                    self.calls[str(cid)].cancelled_us = f.t_us
        self._server_meta(f, msg)

    def _server_meta(self, f: Frame, msg: dict[str, Any]) -> None:
        away = wire.pick(msg, "goAway")
        if isinstance(away, dict):
            self.tl.go_aways.append((f.t_us, wire.parse_duration_s(wire.pick(away, "timeLeft"))))
        update = wire.pick(msg, "sessionResumptionUpdate")
        if isinstance(update, dict) and wire.pick(update, "newHandle"):
            self.tl.resumption_updates.append((f.t_us, str(wire.pick(update, "newHandle"))))


def build_timeline(rec: Recording) -> Timeline:
    """The recording as a session (see the module docstring)."""
    b = _Builder(rec)
    for pos, r in enumerate(rec.records):
        b.add(pos, r)
    return b.tl


def safe_kind(msg: Any) -> str:
    """``normalize.kind_of``, or ``corrupt`` for content no JSON frame can have (a damaged record)."""
    from tui.replay.normalize import kind_of

    try:
        return kind_of(msg)
    except (TypeError, AttributeError, ValueError):
        return "corrupt"


def kind_counts(rec: Recording) -> dict[str, dict[str, int]]:
    """Frames by direction and kind (``serverContent.modelTurn`` etc.), in first-seen order."""
    out: dict[str, dict[str, int]] = {"c2s": {}, "s2c": {}}
    for f in rec.frames:
        k = safe_kind(f.msg)
        out[f.direction][k] = out[f.direction].get(k, 0) + 1
    return out
