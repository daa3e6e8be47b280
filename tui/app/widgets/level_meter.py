"""A two-line audio level meter: true dBFS level with a held peak, speaking, muted and underrun state.

The meter is pulled, never pushed: the screen's poll timer calls :meth:`LevelMeter.show` at display rate with the
values the media bridge exposes. The meter repaints only when what it would draw changes (levels are quantised to
the bar's resolution), so a steady level costs nothing over SSH.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

FLOOR_DB = -60.0
"""The bottom of the bar; anything quieter draws as silence."""
PEAK_HOLD_S = 1.0
"""How long a peak marker stays put before it starts to fall."""
PEAK_FALL_DB_PER_S = 20.0
_STATE_FIELDS = 6
"""How many leading fields of the draw key are drawn on the first (state) line; the rest are the bar's."""


@dataclass(frozen=True, slots=True)
class MeterReading:
    """What one meter shows at one instant."""

    level_db: float | None
    """RMS level in dBFS (None: no device / no signal source)."""
    peak_db: float | None = None
    """Peak of the latest block in dBFS."""
    speaking: bool = False
    muted: bool = False
    underruns: int | None = None
    """Speaker underruns so far (None for the mic)."""
    available: bool = True
    """False when there is no audio device: the meter says so instead of drawing a bar."""
    off: str | None = None
    """Audio is off by the user's choice, and why (``--no-audio``): said instead of "no device"."""


class LevelMeter(Widget):
    """``mic`` or ``model`` level: a bar from -60 to 0 dBFS with a peak-hold marker, and a state line."""

    COMPONENT_CLASSES = {
        "level-meter--low",
        "level-meter--mid",
        "level-meter--hot",
        "level-meter--empty",
        "level-meter--peak",
        "level-meter--label",
        "level-meter--speaking",
        "level-meter--muted",
        "level-meter--dim",
        "level-meter--base",
    }

    DEFAULT_CSS = """
    LevelMeter { height: 2; }
    LevelMeter > .level-meter--low { color: $success; }
    LevelMeter > .level-meter--mid { color: $warning; }
    LevelMeter > .level-meter--hot { color: $error; }
    LevelMeter > .level-meter--empty { color: $text-muted; }
    LevelMeter > .level-meter--peak { color: $text; text-style: bold; }
    LevelMeter > .level-meter--label { text-style: bold; }
    LevelMeter > .level-meter--speaking { color: $success; text-style: bold; }
    LevelMeter > .level-meter--muted { color: $error; text-style: bold; }
    LevelMeter > .level-meter--dim { color: $text-muted; }
    LevelMeter > .level-meter--base { background: $background; }
    """

    def __init__(
        self,
        label: str,
        *,
        initial: MeterReading | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.label = label
        self.reading = initial if initial is not None else MeterReading(level_db=None, available=True)
        """The last reading shown (``initial`` until the first ``show``)."""
        self.held_peak_db: float = FLOOR_DB
        """The peak-hold marker position (dBFS)."""
        self._held_at = 0.0
        self._last_now = 0.0
        self._drawn_key: tuple[object, ...] | None = None
        self._strips: list[Strip] = []
        self._strips_for: object = None
        self._style_cache: dict[tuple[str, str], Style] = {}

    def show(self, reading: MeterReading, now: float) -> None:
        """Take a new reading at time ``now`` (seconds); repaint only if the drawing would change."""
        peak = reading.peak_db if reading.peak_db is not None else reading.level_db
        if peak is not None and peak >= self.held_peak_db:
            self.held_peak_db = max(FLOOR_DB, min(0.0, peak))
            self._held_at = now
        elif now - self._held_at > PEAK_HOLD_S:
            dt = now - max(self._last_now, self._held_at + PEAK_HOLD_S)
            self.held_peak_db = max(FLOOR_DB, self.held_peak_db - PEAK_FALL_DB_PER_S * max(0.0, dt))
        self._last_now = now
        self.reading = reading
        key = self._draw_key()
        old, self._drawn_key = self._drawn_key, key
        if key == old:
            return
        if old is not None and key[:_STATE_FIELDS] == old[:_STATE_FIELDS] and self.size.height >= 2:
            # Only the bar moved (the common case while audio streams): repaint its line, not the state line.
            self.refresh(Region(0, 1, self.size.width, 1))
        else:
            self.refresh()

    def _bar_width(self) -> int:
        return max(4, self.size.width - 7)

    def _cells(self, db: float | None, width: int) -> int:
        if db is None or math.isnan(db):
            return 0
        frac = (max(FLOOR_DB, min(0.0, db)) - FLOOR_DB) / -FLOOR_DB
        return round(frac * width)

    def _draw_key(self) -> tuple[object, ...]:
        r = self.reading
        width = self._bar_width()
        level = None if r.level_db is None else round(max(FLOOR_DB, r.level_db))
        return (  # the state line's inputs first (see _STATE_FIELDS), then the bar's
            width,
            r.available,
            r.off,
            r.muted,
            r.speaking,
            r.underruns,
            level,
            self._cells(r.level_db, width),
            self._cells(self.held_peak_db, width),
        )

    def _style(self, part: str) -> Style:
        # Component styles resolve through CSS on every call; a meter asks ~10 times per repaint, so cache them
        # per theme (a theme switch changes the key and the styles are looked up afresh).
        key = (self.app.theme, part)
        style = self._style_cache.get(key)
        if style is None:
            style = self._style_cache[key] = self.get_component_rich_style(part)
        return style

    def _parts(self) -> list[list[tuple[str, str]]]:
        """The two lines as runs of ``(text, component class)``: one style change per colour band, not per cell."""
        r = self.reading
        top = [(f"{self.label:<6}", "level-meter--label")]
        if r.off is not None:
            return [[*top, ("off", "level-meter--dim")], [(f"      {r.off}", "level-meter--dim")]]
        if not r.available:
            return [[*top, ("no device", "level-meter--muted")], [("      text-only", "level-meter--dim")]]
        if r.muted:
            top.append(("✕ MUTED", "level-meter--muted"))
        elif r.speaking:
            top.append(("● speaking", "level-meter--speaking"))
        else:
            top.append(("○ quiet", "level-meter--dim"))
        if r.underruns is not None:
            top.append((f"  ur {r.underruns}", "level-meter--hot" if r.underruns else "level-meter--dim"))

        width = self._bar_width()
        filled = self._cells(r.level_db, width)
        peak_at = self._cells(self.held_peak_db, width) - 1
        bar: list[tuple[str, str]] = []
        run_chars: list[str] = []
        run_part = ""
        for i in range(width):
            if i == peak_at and i >= filled:
                ch, part = "│", "level-meter--peak"
            elif i < filled:
                frac = (i + 1) / width
                ch = "█"
                part = "level-meter--low" if frac < 0.7 else "level-meter--mid" if frac < 0.9 else "level-meter--hot"
            else:
                ch, part = "·", "level-meter--empty"
            if part != run_part and run_chars:
                bar.append(("".join(run_chars), run_part))
                run_chars = []
            run_part = part
            run_chars.append(ch)
        if run_chars:
            bar.append(("".join(run_chars), run_part))
        level = "  -∞" if r.level_db is None or r.level_db <= FLOOR_DB else f"{max(FLOOR_DB, r.level_db):4.0f}"
        bar.append((f" {level}dB", "level-meter--dim"))
        return [top, bar]

    def _lines(self) -> list[Text]:
        lines = []
        for runs in self._parts():
            line = Text(no_wrap=True, overflow="ellipsis")
            for text, part in runs:
                line.append(text, self._style(part))
            lines.append(line)
        return lines

    def render_line(self, y: int) -> Strip:
        # The Line API with strips built once per change, straight from segments: the model meter's bar changes on
        # most ticks while audio plays, and going through rich Text → render cost ~4x more per change.
        width = self.size.width
        key = (self._drawn_key, width)
        if key != self._strips_for:
            base = self._style("level-meter--base")
            style = self._style
            self._strips = []
            for runs in self._parts():
                segments = [Segment(text, style(part)) for text, part in runs]
                self._strips.append(
                    Strip(segments, sum(cell_len(text) for text, _ in runs)).crop_extend(0, width, base)
                )
            self._strips_for = key
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.rich_style)

    def render_text(self) -> str:
        """The meter as plain text (for tests)."""
        return "\n".join(line.plain for line in self._lines())
