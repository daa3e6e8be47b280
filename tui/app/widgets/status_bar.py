"""The status bar (connection, model, voice, time, goAway, REC, latency, tokens) and the offline-demo banner."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from rich.text import Text
from textual.widget import Widget

ConnState = Literal["idle", "connecting", "connected", "resuming", "reconnecting", "disconnected", "failed", "replay"]


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """Everything the status bar shows; the screen replaces it and the bar repaints when the text changes."""

    state: ConnState = "idle"
    model: str = ""
    voice: str | None = None
    elapsed_s: float = 0.0
    go_away_left_s: float | None = None
    """Seconds until the server closes the connection (counts down), None without a goAway."""
    resumable: bool = False
    """A resumption handle is held."""
    attempt: int = 0
    recording_bytes: int | None = None
    """Size of the recording being written, None when not recording."""
    latency_ms: float | None = None
    tokens: int | None = None
    detail: str = ""
    """A short note after the state (retry in 2 s, close code…)."""


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.0f} KB"
    return f"{n / 1_000_000:.1f} MB"


class StatusBar(Widget):
    """One line of session status."""

    COMPONENT_CLASSES = {
        "status-bar--ok",
        "status-bar--warn",
        "status-bar--bad",
        "status-bar--rec",
        "status-bar--dim",
    }

    DEFAULT_CSS = """
    StatusBar { height: 1; }
    StatusBar > .status-bar--ok { color: $success; text-style: bold; }
    StatusBar > .status-bar--warn { color: $warning; text-style: bold; }
    StatusBar > .status-bar--bad { color: $error; text-style: bold; }
    StatusBar > .status-bar--rec { color: $error; text-style: bold reverse; }
    StatusBar > .status-bar--dim { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.info = StatusInfo()
        self._drawn: str | None = None

    def update_info(self, **changes: object) -> None:
        """Change some fields; repaint only if the visible text changed."""
        self.info = replace(self.info, **changes)  # type: ignore[arg-type]
        plain = self._text().plain
        if plain != self._drawn:
            self._drawn = plain
            self.refresh()

    def _text(self) -> Text:
        i = self.info
        has_styles = self.is_mounted

        def style(part: str) -> object:
            return self.get_component_rich_style(part) if has_styles else ""

        out = Text(no_wrap=True, overflow="ellipsis")
        part = {
            "connected": "status-bar--ok",
            "replay": "status-bar--ok",
            "connecting": "status-bar--warn",
            "resuming": "status-bar--warn",
            "reconnecting": "status-bar--warn",
            "idle": "status-bar--dim",
        }.get(i.state, "status-bar--bad")
        label = {"connected": "● live", "replay": "▶ replay"}.get(i.state, f"○ {i.state}")
        if i.state in ("reconnecting", "resuming") and i.attempt > 1:
            label += f" #{i.attempt}"
        out.append(label, style(part))  # type: ignore[arg-type]
        if i.detail:
            out.append(f" ({i.detail})", style("status-bar--dim"))  # type: ignore[arg-type]
        if i.recording_bytes is not None:
            out.append(" ")
            out.append(f" REC {_size(i.recording_bytes)} ", style("status-bar--rec"))  # type: ignore[arg-type]
        elapsed = int(i.elapsed_s)
        out.append(f" {elapsed // 60:02d}:{elapsed % 60:02d}")
        if i.go_away_left_s is not None:
            out.append(
                f" goAway {max(0, i.go_away_left_s):.0f}s{' →resume' if i.resumable else ''}",
                style("status-bar--warn"),  # type: ignore[arg-type]
            )
        if i.latency_ms is not None:
            out.append(f" · {i.latency_ms:.0f} ms")
        if i.tokens is not None:
            out.append(f" · {i.tokens} tok")
        model = i.model.removeprefix("models/")
        out.append(f" · {model}", style("status-bar--dim"))  # type: ignore[arg-type]
        if i.voice:
            out.append(f" · {i.voice}", style("status-bar--dim"))  # type: ignore[arg-type]
        return out

    def render(self) -> Text:
        return self._text()


class DemoBanner(Widget):
    """An unmistakable notice that the session talks to the offline demo, not to Gemini."""

    DEFAULT_CSS = """
    DemoBanner { height: 1; background: $warning; color: $background; text-style: bold; }
    """

    def render(self) -> Text:
        return Text(
            " OFFLINE DEMO · a local scripted mock, not Gemini · set GEMINI_API_KEY for real",
            no_wrap=True,
            overflow="ellipsis",
        )
