"""The protocol log: every frame both ways as one summarised line, filterable, with repeats collapsed, bounded.

Frames come from :class:`ProtocolTap`, a ``FrameTap`` on the session's websocket seam. The tap only parses and
appends (it runs inline with socket I/O on the event loop); the pane repaints at most ``flush_hz`` times a second.
Audio and image payloads are summarised by size, never shown.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal

from rich.text import Text

from tui.app.widgets.block_scroll import BlockScroll
from tui.live.wire import message_kind, pick

Category = Literal["conversation", "tools", "media", "session"]
LogFilter = Literal["conversation", "tools", "all"]
FILTERS: tuple[LogFilter, ...] = ("conversation", "tools", "all")


@dataclass
class LogEntry:
    """One line of the log; ``count`` grows while identical frames repeat."""

    seq: int
    t: float
    direction: Literal["→", "←", "·"]
    category: Category
    summary: str
    count: int = 1


_PAYLOAD = re.compile(rb'"data"\s*:\s*"([A-Za-z0-9+/=_-]{64,})"')
"""A base64 payload (audio, image) inside a JSON frame."""


def _strip_payloads(data: bytes) -> bytes:
    """Replace base64 payloads with ``"#<length>"`` so the frame parses in microseconds whatever its size."""
    return _PAYLOAD.sub(lambda m: b'"data":"#%d"' % len(m.group(1)), data)


def _blob_size(blob: Any) -> int:
    data = pick(blob, "data", "") if isinstance(blob, dict) else ""
    if not isinstance(data, str):
        return 0
    # base64 length → bytes, close enough for a summary
    length = int(data[1:]) if data.startswith("#") and data[1:].isdigit() else len(data)
    return length * 3 // 4


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarise(frame: dict[str, Any]) -> tuple[Category, str]:
    """A category and a one-line summary of a client or server frame (payload bytes summarised by size)."""
    kind = message_kind(frame)
    body = pick(frame, kind) if kind != "unknown" else None
    body = body if isinstance(body, dict) else {}
    if kind == "setup":
        return "session", f"setup model={pick(body, 'model', '?')}"
    if kind == "setupComplete":
        return "session", "setupComplete"
    if kind == "realtimeInput":
        if (audio := pick(body, "audio")) is not None:
            return "media", f"realtimeInput audio {_blob_size(audio)} B"
        if (video := pick(body, "video")) is not None:
            return "media", f"realtimeInput video {_blob_size(video)} B"
        if (chunks := pick(body, "mediaChunks")) is not None:
            return "media", f"realtimeInput mediaChunks ×{len(chunks) if isinstance(chunks, list) else 1}"
        if (text := pick(body, "text")) is not None:
            return "conversation", f"realtimeInput text {_clip(str(text))!r}"
        for flag in ("activityStart", "activityEnd", "audioStreamEnd"):
            if pick(body, flag) is not None:
                return "conversation", f"realtimeInput {flag}"
        return "media", "realtimeInput"
    if kind == "clientContent":
        turns = pick(body, "turns", []) or []
        texts = [
            str(pick(p, "text", ""))
            for t in turns
            if isinstance(t, dict)
            for p in (pick(t, "parts", []) or [])
            if isinstance(p, dict)
        ]
        done = " turnComplete" if pick(body, "turnComplete") else ""
        return "conversation", f"clientContent {_clip(' '.join(texts))!r}{done}"
    if kind == "toolResponse":
        responses = pick(body, "functionResponses", []) or []
        names = ", ".join(str(pick(r, "name", "?")) for r in responses if isinstance(r, dict))
        return "tools", f"toolResponse {names}"
    if kind == "toolCall":
        calls = pick(body, "functionCalls", []) or []
        names = ", ".join(
            f"{pick(c, 'name', '?')}({_clip(json.dumps(pick(c, 'args', {})), 40)})"
            for c in calls
            if isinstance(c, dict)
        )
        return "tools", f"toolCall {names}"
    if kind == "toolCallCancellation":
        return "tools", f"toolCallCancellation {', '.join(map(str, pick(body, 'ids', []) or []))}"
    if kind == "serverContent":
        bits: list[str] = []
        category: Category = "conversation"
        turn = pick(body, "modelTurn")
        if isinstance(turn, dict):
            for part in pick(turn, "parts", []) or []:
                if not isinstance(part, dict):
                    continue
                if (inline := pick(part, "inlineData")) is not None:
                    bits.append(f"audio {_blob_size(inline)} B")
                    category = "media"
                elif (text := pick(part, "text")) is not None:
                    bits.append(f"text {_clip(str(text), 40)!r}")
                    category = "conversation"
                elif pick(part, "executableCode") is not None:
                    bits.append("executableCode")
                elif pick(part, "codeExecutionResult") is not None:
                    bits.append("codeExecutionResult")
        for key in ("inputTranscription", "outputTranscription"):
            if (tr := pick(body, key)) is not None:
                bits.append(f"{key.removesuffix('Transcription')} {_clip(str(pick(tr, 'text', '')), 40)!r}")
                category = "conversation"
        for flag in ("interrupted", "generationComplete", "turnComplete", "waitingForInput"):
            if pick(body, flag):
                bits.append(flag)
                category = "conversation"
        if pick(body, "groundingMetadata") is not None:
            bits.append("grounding")
        return category, "serverContent " + (" ".join(bits) or "{}")
    if kind == "usageMetadata":
        return "session", f"usageMetadata total={pick(body, 'totalTokenCount', '?')}"
    if kind == "goAway":
        return "session", f"goAway timeLeft={pick(body, 'timeLeft', '?')}"
    if kind == "sessionResumptionUpdate":
        return "session", f"sessionResumptionUpdate resumable={pick(body, 'resumable', False)}"
    return "session", kind


def _media_key(summary: str) -> str:
    # "realtimeInput audio 1280 B" and "… 1276 B" are the same kind of frame for collapsing.
    return summary.rsplit(" ", 2)[0] if summary.endswith(" B") else summary


class ProtocolTap:
    """A ``FrameTap`` that summarises every frame into ``sink`` (the pane's :meth:`ProtocolLog.add`)."""

    def __init__(self, sink: Callable[[Literal["→", "←", "·"], Category, str], None]) -> None:
        self.sink = sink

    def _frame(self, direction: Literal["→", "←"], data: str | bytes) -> None:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        try:
            frame = json.loads(_strip_payloads(raw) if len(raw) > 512 else raw)
        except (ValueError, UnicodeDecodeError):
            self.sink(direction, "session", f"binary frame {len(data)} B")
            return
        if not isinstance(frame, dict):
            self.sink(direction, "session", f"frame {type(frame).__name__}")
            return
        # usageMetadata rides alongside serverContent in one frame; log it as its own line.
        category, summary = summarise({k: v for k, v in frame.items() if k not in ("usageMetadata", "usage_metadata")})
        if message_kind(frame) != "unknown" or len(frame) > 0:
            self.sink(direction, category, summary)
        usage = pick(frame, "usageMetadata")
        if usage is not None and message_kind(frame) != "usageMetadata":
            self.sink(direction, *summarise({"usageMetadata": usage}))

    def on_open(self, t_ns: int, url: str, headers: dict[str, str]) -> None:
        self.sink("·", "session", "websocket open")

    def on_send(self, t_ns: int, data: str | bytes) -> None:
        self._frame("→", data)

    def on_recv(self, t_ns: int, data: bytes) -> None:
        self._frame("←", data)

    def on_close(self, t_ns: int, code: int | None, reason: str) -> None:
        self.sink("·", "session", f"websocket closed {code if code is not None else '(no close frame)'} {reason}")

    def on_input(self, t_ns: int, kind: str, data: dict[str, Any]) -> None:
        if kind == "action":
            self.sink("·", "session", f"action {data.get('name', '?')}")


class ProtocolLog(BlockScroll):
    """The log pane. ``filter`` picks conversation, tools or all; consecutive identical frames collapse."""

    COMPONENT_CLASSES = {"protocol-log--out", "protocol-log--in", "protocol-log--meta", "protocol-log--count"}

    DEFAULT_CSS = """
    ProtocolLog { height: 1fr; }
    ProtocolLog > .protocol-log--out { color: $accent; }
    ProtocolLog > .protocol-log--in { color: $primary; }
    ProtocolLog > .protocol-log--meta { color: $text-muted; }
    ProtocolLog > .protocol-log--count { color: $warning; }
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        max_entries: int = 2000,
        flush_hz: float = 4.0,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(max_blocks=max_entries, flush_hz=flush_hz, id=id, classes=classes)
        self._clock = clock
        self.entries: deque[LogEntry] = deque(maxlen=max(1, max_entries))
        """Every entry (all categories), bounded."""
        self._by_seq: dict[int, LogEntry] = {}
        self._seq = 0
        self.filter: LogFilter = "all"
        """What the pane shows."""

    def set_max_entries(self, max_entries: int) -> None:
        """Change the bound (the UI settings arrive after the first paint); keeps the newest entries."""
        self.max_blocks = max(1, max_entries)
        self.entries = deque(self.entries, maxlen=self.max_blocks)

    def _visible(self, entry: LogEntry) -> bool:
        if self.filter == "all":
            return True
        if self.filter == "tools":
            return entry.category == "tools"
        return entry.category in ("conversation", "tools")

    def add(self, direction: Literal["→", "←", "·"], category: Category, summary: str) -> None:
        """Log one frame (called by the tap on the event loop: cheap, no repaint here)."""
        # Collapse into the same kind of frame in the tail run of media frames: mic audio out and model audio in
        # interleave, so "consecutive" alone would never collapse the bulk of the traffic.
        key = _media_key(summary)
        for back in range(1, min(4, len(self.entries)) + 1):
            last = self.entries[-back]
            if last.direction == direction and last.category == category and _media_key(last.summary) == key:
                last.count += 1
                last.summary = summary
                if self._visible(last):
                    self.touch(last.seq)
                return
            if last.category != "media" or category != "media":
                break
        if len(self.entries) == self.entries.maxlen:
            dropped = self.entries[0]
            self._by_seq.pop(dropped.seq, None)
        entry = LogEntry(self._seq, self._clock(), direction, category, summary)
        self._seq += 1
        self.entries.append(entry)
        self._by_seq[entry.seq] = entry
        if self._visible(entry):
            self.touch(entry.seq)

    def reset(self) -> None:
        self.entries.clear()
        self._by_seq.clear()
        self.clear_blocks()

    def set_filter(self, value: LogFilter) -> None:
        """Show another category; rebuilds the visible list from the bounded entries."""
        self.filter = value
        self.clear_blocks()
        for entry in self.entries:
            if self._visible(entry):
                self.touch(entry.seq)
        self.border_title = f"protocol · {value}"

    def cycle_filter(self) -> LogFilter:
        self.set_filter(FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)])
        return self.filter

    def render_block(self, key: Hashable) -> Text:
        entry = self._by_seq.get(key)  # type: ignore[call-overload]
        if entry is None:
            return Text()
        style = self.get_component_rich_style
        t = max(0, int(entry.t))
        out = Text(no_wrap=True)
        out.append(f"{t // 60:02d}:{t % 60:02d} ", style("protocol-log--meta"))
        part = {"→": "protocol-log--out", "←": "protocol-log--in"}.get(entry.direction, "protocol-log--meta")
        out.append(f"{entry.direction} ", style(part))
        out.append(entry.summary)
        if entry.count > 1:
            out.append(f" ×{entry.count}", style("protocol-log--count"))
        return out
