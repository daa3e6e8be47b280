"""The tool calls pane: one entry per function call with name, arguments, status, result and duration."""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.text import Text

from tui.app.widgets.block_scroll import BlockScroll

if TYPE_CHECKING:  # the events module (27 dataclasses) loads after the first paint, with the session
    from tui.live import events as ev

STATUS_MARK: dict[str, str] = {
    "pending": "… pending",
    "running": "⟳ running",
    "ok": "✓",
    "error": "✗",
    "cancelled": "⊘ cancelled",
    "timeout": "✗ timed out",
}


@dataclass
class ToolCallRow:
    """What the pane knows about one call."""

    id: str
    name: str
    status: str = "pending"
    args: dict[str, object] = field(default_factory=dict)
    result: object = None
    duration_ms: float | None = None


def _short_json(value: object, limit: int) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ToolCallsPane(BlockScroll):
    """Tool calls, newest at the bottom, bounded to ``max_calls``."""

    COMPONENT_CLASSES = {
        "tool-calls--name",
        "tool-calls--ok",
        "tool-calls--error",
        "tool-calls--running",
        "tool-calls--cancelled",
        "tool-calls--meta",
    }

    DEFAULT_CSS = """
    ToolCallsPane { height: 1fr; }
    ToolCallsPane > .tool-calls--name { text-style: bold; }
    ToolCallsPane > .tool-calls--ok { color: $success; }
    ToolCallsPane > .tool-calls--error { color: $error; }
    ToolCallsPane > .tool-calls--running { color: $warning; }
    ToolCallsPane > .tool-calls--cancelled { color: $text-muted; }
    ToolCallsPane > .tool-calls--meta { color: $text-muted; }
    """

    def __init__(
        self, *, max_calls: int = 200, flush_hz: float = 5.0, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(max_blocks=max_calls, flush_hz=flush_hz, id=id, classes=classes)
        self.calls: dict[str, ToolCallRow] = {}
        """Calls by id, oldest first (bounded)."""

    def apply(self, event: ev.SessionEvent) -> None:
        """Follow the runner's status changes and the server's cancellations."""
        from tui.live import events as ev  # loaded by then (the session made the event): a dict lookup

        match event:
            case ev.ToolCall(calls=calls):
                for call in calls:
                    if call.id not in self.calls:
                        self._put(ToolCallRow(call.id, call.name, "pending", dict(call.args)))
            case ev.ToolStatusChanged():
                row = self.calls.get(event.id) or ToolCallRow(event.id, event.name)
                row.status = event.status
                if event.args:
                    row.args = dict(event.args)
                if event.result is not None:
                    row.result = event.result
                if event.duration_ms is not None:
                    row.duration_ms = event.duration_ms
                self._put(row)
            case ev.ToolCallCancelled(ids=ids):
                for call_id in ids:
                    open_row = self.calls.get(call_id)
                    if open_row is not None and open_row.status in ("pending", "running"):
                        open_row.status = "cancelled"
                        self._put(open_row)
            case _:
                pass

    def reset(self) -> None:
        self.calls.clear()
        self.clear_blocks()

    def _put(self, row: ToolCallRow) -> None:
        self.calls[row.id] = row
        while len(self.calls) > self.max_blocks:
            self.calls.pop(next(iter(self.calls)))
        self.touch(row.id)

    def render_block(self, key: Hashable) -> Text:
        row = self.calls.get(str(key))
        if row is None:
            return Text()
        style = self.get_component_rich_style
        part = {
            "ok": "tool-calls--ok",
            "error": "tool-calls--error",
            "timeout": "tool-calls--error",
            "cancelled": "tool-calls--cancelled",
        }.get(row.status, "tool-calls--running")
        out = Text()
        out.append(STATUS_MARK.get(row.status, row.status), style(part))
        out.append(" ")
        out.append(row.name, style("tool-calls--name"))
        if row.duration_ms is not None:
            out.append(f"  {row.duration_ms:.0f} ms", style("tool-calls--meta"))
        out.append("\n  args ", style("tool-calls--meta"))
        out.append(_short_json(row.args, 200))
        if row.result is not None:
            out.append("\n  → ", style("tool-calls--meta"))
            out.append(_short_json(row.result, 300), style(part) if row.status != "ok" else "")
        return out
