"""``rec diff A B``: what two recordings said differently, turn by turn, ignoring what legitimately varies.

Each recording is reduced to its setup, its connections (how each ended, whether it resumed) and one *view* per
turn (``timeline.build_timeline``): the user's text and transcript, the model's text and transcript, the audio each
way as one summary (duration, level and hash of all its chunks joined, so a different chunking of the same audio
is no difference; for the user, from the first to the last loud chunk, since the silence streamed around speech
depends on timing), the images sent (hashes), the tool calls with their arguments, results and cancellations, the
interruption, how the turn ended, and any other frames (goAway…) normalised. Frames go through the replay
normaliser (``tui.replay.normalize``: key casing, base64 flavour, secrets), tool-call ids become ``<server-id-N>``
and resumption handles ``<handle-N>`` in order of appearance; timing is never compared, nor usage token counts
(they vary from run to run). Field differences come from ``normalize.diff``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Final

from tui.live import wire
from tui.recording.format import Frame
from tui.recording.reader import Recording
from tui.recording.tools.timeline import SPEECH_DBFS, Audio, Timeline, Turn, build_timeline, dbfs, safe_kind
from tui.replay.normalize import FieldDiff, Media, diff, normalise

_CONTENT_KINDS: Final = frozenset(
    {
        "setup",
        "setupComplete",
        "clientContent",
        "toolCall",
        "toolResponse",
        "toolCallCancellation",
        "sessionResumptionUpdate",
        "usageMetadata",
    }
)
"""Frame kinds already folded into the turn view (or deliberately not compared)."""


def audio_view(chunks: list[Audio]) -> str | None:
    """All chunks joined, as duration, level and hash (``no speech`` when empty)."""
    if not chunks:
        return "no speech"
    pcm = b"".join(a.pcm for a in chunks)
    rate = chunks[0].rate
    level = dbfs(pcm)
    shown = f"{level:.1f} dBFS" if level > -200 else "silence"
    return f"{len(pcm) / 2 / rate:.2f} s at {rate} Hz, {shown}, sha {hashlib.sha256(pcm).hexdigest()[:12]}"


def speech_only(chunks: list[Audio]) -> list[Audio]:
    """The mic chunks from the first to the last loud one: how much silence a client streams around speech
    depends on timing (it streams until the model answers), so the quiet edges are not compared."""
    loud = [i for i, a in enumerate(chunks) if dbfs(a.pcm) >= SPEECH_DBFS]
    return chunks[loud[0] : loud[-1] + 1] if loud else []


@dataclass
class _Ids:
    calls: dict[str, int] = field(default_factory=dict)
    handles: dict[str, int] = field(default_factory=dict)

    def call(self, cid: str) -> str:
        self.calls.setdefault(cid, len(self.calls) + 1)
        return f"<server-id-{self.calls[cid]}>"

    def handle(self, h: str) -> str:
        self.handles.setdefault(h, len(self.handles) + 1)
        return f"<handle-{self.handles[h]}>"


def _other_frames(rec: Recording, turn: Turn, ids: _Ids) -> list[Any]:
    out: list[Any] = []
    for pos in turn.positions:
        r = rec.records[pos]
        if not isinstance(r, Frame) or not isinstance(r.msg, dict):
            continue
        kind = safe_kind(r.msg)
        top = kind.split(".", 1)[0]
        if top in _CONTENT_KINDS:
            continue
        if top == "serverContent":
            body = wire.pick(r.msg, "serverContent") or {}
            rest = {
                wire.to_camel(k): v
                for k, v in body.items()
                if wire.to_camel(k)
                not in ("modelTurn", "inputTranscription", "outputTranscription", "interrupted", "turnComplete")
            }
            if not rest:
                continue
            out.append({"serverContent": normalise(rest, ids=ids.calls)})
        elif top == "realtimeInput":
            body = wire.pick(r.msg, "realtimeInput") or {}
            rest = {
                wire.to_camel(k): v
                for k, v in body.items()
                if wire.to_camel(k) not in ("audio", "video", "media", "mediaChunks", "text")
            }
            if rest:
                out.append({"realtimeInput": normalise(rest)})
        else:
            out.append(normalise({k: v for k, v in r.msg.items() if wire.to_camel(k) != "usageMetadata"}))
    return out


def turn_view(rec: Recording, turn: Turn, ids: _Ids) -> dict[str, Any]:
    """What a turn said, in comparable form (see the module docstring)."""
    return {
        "user_text": turn.user_text,
        "input_transcript": turn.input_transcript.strip(),
        "user_audio": audio_view(speech_only(turn.user_audio)) if turn.user_audio else None,
        "images": [f"{i.mime} {len(i.data)} B sha {hashlib.sha256(i.data).hexdigest()[:12]}" for i in turn.images],
        "tool_calls": [
            {
                "id": ids.call(c.id),
                "name": c.name,
                "args": c.args,
                "result": c.response,
                "cancelled": c.cancelled_us is not None,
            }
            for c in turn.tool_calls
        ],
        "model_text": turn.model_text,
        "output_transcript": turn.output_transcript.strip(),
        "model_audio": audio_view(turn.model_audio) if turn.model_audio else None,
        "interrupted": turn.interrupted_us is not None,
        "ended": turn.ended,
        "other": "; ".join(
            json.dumps(o, default=_show_media, separators=(",", ":")) for o in _other_frames(rec, turn, ids)
        ),
    }


def _guard(fn: Any, rec: Recording, ids: _Ids) -> Any:
    try:
        return fn(rec, ids)
    except (TypeError, AttributeError, ValueError, KeyError) as exc:  # a damaged record: say so, compare the rest
        return {"unreadable": f"{type(exc).__name__}: {exc}"}


def _safe_view(rec: Recording, turn: Turn, ids: _Ids) -> dict[str, Any]:
    return _guard(lambda r, i: turn_view(r, turn, i), rec, ids)  # type: ignore[no-any-return]


def _setup_view(rec: Recording, ids: _Ids) -> Any:
    first = next((f for f in rec.frames if f.direction == "c2s"), None)
    if first is None or not isinstance(first.msg, dict) or wire.message_kind(first.msg) != "setup":
        return None
    view = normalise(first.msg)
    setup = view.get("setup") if isinstance(view, dict) else None
    if isinstance(setup, dict):
        resume = setup.get("sessionResumption")
        if isinstance(resume, dict) and isinstance(resume.get("handle"), str):
            resume["handle"] = ids.handle(resume["handle"])
    return view


def _show_media(o: Any) -> str:
    return o.describe() if isinstance(o, Media) else repr(o)


def _connections(tl: Timeline) -> list[dict[str, Any]]:
    return [
        {"resumed": s.resumed, "close": "dropped" if s.code is None and s.close_us is not None else s.code}
        for s in tl.segments
    ]


@dataclass
class TurnDiff:
    """Differences in one turn (``a``/``b`` is None when the turn exists on one side only)."""

    a: Turn | None
    b: Turn | None
    diffs: list[FieldDiff]


@dataclass
class RecordingDiff:
    """The result of comparing two recordings."""

    a: str
    b: str
    setup: list[FieldDiff] = field(default_factory=list)
    connections: list[FieldDiff] = field(default_factory=list)
    turns: list[TurnDiff] = field(default_factory=list)
    turns_a: int = 0
    turns_b: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not self.setup and not self.connections and not self.turns


def compare(a: Recording, b: Recording, *, limit: int = 20) -> RecordingDiff:
    """Compare two recordings (see the module docstring)."""
    ta, tb = build_timeline(a), build_timeline(b)
    ida, idb = _Ids(), _Ids()
    out = RecordingDiff(str(a.path), str(b.path), turns_a=len(ta.turns), turns_b=len(tb.turns))
    for label, rec, tl in (("A", a, ta), ("B", b, tb)):
        out.notes.extend(f"{label}: {p}" for p in [*rec.problems, *tl.problems])
    out.setup = diff(_guard(_setup_view, a, ida), _guard(_setup_view, b, idb), limit=limit)
    out.connections = diff({"connections": _connections(ta)}, {"connections": _connections(tb)}, limit=limit)
    views_a = [_safe_view(a, t, ida) for t in ta.turns]
    views_b = [_safe_view(b, t, idb) for t in tb.turns]
    # Align turns like lines in a text diff, so one extra or missing turn is reported as that, not as every later
    # turn being different. Within a run of changed turns, turns are paired in order.
    keys_a = [json.dumps(v, sort_keys=True, default=_show_media) for v in views_a]
    keys_b = [json.dumps(v, sort_keys=True, default=_show_media) for v in views_b]
    matcher = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        pairs = min(i2 - i1, j2 - j1)
        for k in range(pairs):
            diffs = diff(views_a[i1 + k], views_b[j1 + k], limit=limit)
            out.turns.append(TurnDiff(ta.turns[i1 + k], tb.turns[j1 + k], diffs))
        out.turns.extend(TurnDiff(t, None, []) for t in ta.turns[i1 + pairs : i2])
        out.turns.extend(TurnDiff(None, t, []) for t in tb.turns[j1 + pairs : j2])
    return out


def _where(t: Turn | None) -> str:
    return "absent" if t is None else f"{t.start_us / 1e6:.3f} s, segment {t.seg}"


def format_diff(d: RecordingDiff, *, max_turns: int = 20) -> str:
    """The human report."""
    lines: list[str] = []
    if d.same:
        lines.append(f"same: {d.a} and {d.b} ({d.turns_a} turns; timing and generated ids ignored)")
    else:
        n = len(d.turns) + bool(d.setup) + bool(d.connections)
        lines.append(f"differ: {d.a} (A, {d.turns_a} turns) and {d.b} (B, {d.turns_b} turns): {n} place(s)")
    for note in d.notes:
        lines.append(f"  note: {note}")

    def fields(diffs: list[FieldDiff]) -> None:
        for fd in diffs:
            lines.append(f"    {fd.path}:")
            lines.append(f"      A {fd.recorded}")
            lines.append(f"      B {fd.actual}")

    if d.setup:
        lines.append("  setup differs:")
        fields(d.setup)
    if d.connections:
        lines.append("  connections differ (count, resumption or how they closed):")
        fields(d.connections)
    for td in d.turns[:max_turns]:
        if td.a is None or td.b is None:
            side = "A" if td.a is not None else "B"
            only = td.a or td.b
            assert only is not None
            said = " / ".join(only.user_text) or only.input_transcript or only.model_text[:60]
            lines.append(
                f"  turn {only.number} of {side} is only in {side} ({_where(only)})"
                + (f": {said[:80]!r}" if said else "")
            )
            continue
        numbers = f"turn {td.a.number}" if td.a.number == td.b.number else f"A turn {td.a.number}, B turn {td.b.number}"
        lines.append(f"  {numbers} (A at {_where(td.a)}; B at {_where(td.b)}):")
        fields(td.diffs)
    if len(d.turns) > max_turns:
        lines.append(f"  … and {len(d.turns) - max_turns} more turn(s)")
    return "\n".join(lines)


def diff_dict(d: RecordingDiff) -> dict[str, Any]:
    def fds(diffs: list[FieldDiff]) -> list[dict[str, str]]:
        return [{"path": f.path, "a": f.recorded, "b": f.actual} for f in diffs]

    return {
        "a": d.a,
        "b": d.b,
        "same": d.same,
        "turns_a": d.turns_a,
        "turns_b": d.turns_b,
        "setup": fds(d.setup),
        "connections": fds(d.connections),
        "turns": [
            {
                "turn_a": t.a.number if t.a else None,
                "turn_b": t.b.number if t.b else None,
                "only_in": None if t.a and t.b else ("A" if t.a else "B"),
                "diffs": fds(t.diffs),
            }
            for t in d.turns
        ],
        "notes": d.notes,
    }
