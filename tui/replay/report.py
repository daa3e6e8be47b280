"""Divergences and the replay report a person can act on (pure data and formatting).

A report says where the replay first went a different way (frame index and time, direction and kind), what
differed field by field (media as duration, RMS and hash), the last frames both ways for context, and the last
turn that still matched; then what the recording still held that was never replayed (the completeness gate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui.replay.normalize import FieldDiff


@dataclass(frozen=True, slots=True)
class Divergence:
    """One place where the replay did not go as recorded."""

    index: int
    """The record's index in the file (-1 when not tied to a record)."""
    t_s: float
    """Recorded time of that record, seconds since the recording started."""
    seg: int
    direction: str
    """``c2s``, ``s2c`` or ``connection``."""
    kind: str
    what: str
    """One line: what was expected and what happened."""
    diffs: tuple[FieldDiff, ...] = ()
    expected: str = ""
    actual: str = ""
    context: tuple[str, ...] = ()
    """The last frames both ways before it, oldest first."""
    last_matched_turn: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "t_s": round(self.t_s, 6),
            "seg": self.seg,
            "direction": self.direction,
            "kind": self.kind,
            "what": self.what,
            "diffs": [{"path": d.path, "recorded": d.recorded, "actual": d.actual} for d in self.diffs],
            "expected": self.expected,
            "actual": self.actual,
            "context": list(self.context),
            "last_matched_turn": self.last_matched_turn,
        }


@dataclass(frozen=True, slots=True)
class Unconsumed:
    """Something the recording holds that the replay never reached."""

    index: int
    t_s: float
    seg: int
    direction: str
    kind: str
    summary: str


@dataclass
class ReplayResult:
    """The outcome of replaying one recording."""

    path: str
    divergences: list[Divergence] = field(default_factory=list)
    unconsumed: list[Unconsumed] = field(default_factory=list)
    frames_total: int = 0
    frames_replayed: int = 0
    segments_total: int = 0
    segments_replayed: int = 0
    recorded_s: float = 0.0
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    """Context that is not a failure (recording problems tolerated, client-side observations)."""
    problems: list[str] = field(default_factory=list)
    """Failures that are not tied to a frame (the client never connected, inputs never injected...)."""
    client_events: list[Any] | None = field(default=None, repr=False)
    """The replaying client's events as they came (``--check`` only): ``events`` normalises them when asked."""
    _events: list[Any] | None = field(default=None, repr=False, compare=False)

    @property
    def events(self) -> list[Any]:
        """The normalised client event log (``--check`` only; ``check.event_streams``), worked out on first use: a
        replay that only needs its verdict does not hash every audio chunk it played."""
        if self._events is None:
            from tui.replay.check import event_streams

            self._events = [] if self.client_events is None else [event_streams(self.client_events)]
        return self._events

    @property
    def ok(self) -> bool:
        return not self.divergences and not self.unconsumed and not self.problems

    @property
    def speed(self) -> float | None:
        """Recorded time ÷ replay wall time (× real time)."""
        return self.recorded_s / self.wall_s if self.wall_s > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "divergences": [d.as_dict() for d in self.divergences],
            "unconsumed": [_unc(u) for u in self.unconsumed],
            "frames_total": self.frames_total,
            "frames_replayed": self.frames_replayed,
            "segments_total": self.segments_total,
            "segments_replayed": self.segments_replayed,
            "recorded_s": self.recorded_s,
            "wall_s": self.wall_s,
            "notes": self.notes,
            "problems": self.problems,
        }


def _unc(u: Unconsumed) -> dict[str, Any]:
    return {"index": u.index, "t_s": u.t_s, "seg": u.seg, "direction": u.direction, "kind": u.kind,
            "summary": u.summary}  # fmt: skip


def format_report(result: ReplayResult, *, max_divergences: int = 3, max_unconsumed: int = 5) -> str:
    """The human report (plain text, no colour)."""
    lines: list[str] = []
    speed = result.speed
    head = "PASS" if result.ok else "FAIL"
    lines.append(
        f"{head} {result.path}: {result.frames_replayed}/{result.frames_total} frames, "
        f"{result.segments_replayed}/{result.segments_total} connection(s), "
        f"{result.recorded_s:.2f} s recorded in {result.wall_s:.2f} s" + (f" ({speed:.1f}x real time)" if speed else "")
    )
    for note in result.notes:
        lines.append(f"  note: {note}")
    for problem in result.problems:
        lines.append(f"  problem: {problem}")
    if result.divergences:
        n = len(result.divergences)
        lines.append(f"  {n} divergence{'s' if n != 1 else ''}; the first {min(n, max_divergences)}:")
    for d in result.divergences[:max_divergences]:
        where = f"frame #{d.index}" if d.index >= 0 else "connection"
        lines.append(f"  ✗ {where} at {d.t_s:.3f} s (segment {d.seg}), {d.direction} {d.kind}: {d.what}")
        for fd in d.diffs:
            lines.append(f"      {fd.path}: recorded {fd.recorded}")
            lines.append(f"      {' ' * len(fd.path)}  actual   {fd.actual}")
        if d.expected and not d.diffs:
            lines.append(f"      recorded: {d.expected}")
        if d.actual and not d.diffs:
            lines.append(f"      actual:   {d.actual}")
        if d.context:
            lines.append("      context (last frames before it):")
            lines.extend(f"        {c}" for c in d.context)
        if d.last_matched_turn:
            lines.append(f"      last matched turn: {d.last_matched_turn}")
    if result.unconsumed:
        n = len(result.unconsumed)
        lines.append(f"  {n} recorded item{'s' if n != 1 else ''} never replayed (completeness gate); first:")
        for u in result.unconsumed[:max_unconsumed]:
            lines.append(f"    #{u.index} at {u.t_s:.3f} s (segment {u.seg}) {u.direction} {u.kind}: {u.summary}")
    return "\n".join(lines)
