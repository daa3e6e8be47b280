"""Frame preview: the exact JPEGs sent, the latest one large and a strip of recent ones, with fps, size and tokens."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from tui.app.thumbnail import cells_to_strips, half_block_cells, tokens_per_frame

if TYPE_CHECKING:  # the events module (27 dataclasses) loads after the first paint, with the session
    from tui.app.graphics import KittyImages
    from tui.live.events import FrameSent

STRIP_FRAMES = 4
"""How many recent frames the strip keeps."""
INFO_LINES = 2
STRIP_CELLS = (6, 2)
"""Columns × rows of one strip thumbnail."""


@dataclass(frozen=True, slots=True)
class _Shown:
    frame: FrameSent
    at: float
    small: tuple[Strip, ...]


class FramePreview(Widget):
    """Shows what the model was sent. Feed it :class:`FrameSent` events with :meth:`add_frame`."""

    COMPONENT_CLASSES = {"frame-preview--info", "frame-preview--empty"}

    DEFAULT_CSS = """
    FramePreview { height: 10; }
    FramePreview > .frame-preview--info { color: $text-muted; }
    FramePreview > .frame-preview--empty { color: $text-muted; text-style: italic; }
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        pictures: bool = True,
        deferred: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._clock = clock
        self.pictures = pictures
        self.deferred = deferred
        """True: a new frame repaints at the owner's next :meth:`flush` (its display tick), not in a pass of its own."""
        self._pending = False
        """False (``ui.thumbnails = "none"``): figures only, no picture (and no JPEG decoding)."""
        self._recent: deque[_Shown] = deque(maxlen=STRIP_FRAMES)
        self._times: deque[float] = deque(maxlen=6)
        self._large: list[Strip] = []
        self._large_for: tuple[int, int, int] | None = None
        self._kitty: KittyImages | None = None
        """Kitty graphics for the large picture (tui/app/graphics.py), if the terminal asked for them."""
        self._kitty_decided = False
        self.frames_shown = 0
        """Frames received so far."""
        self.error: str | None = None
        """The last frame that could not be decoded (shown instead of the picture)."""

    # ------------------------------------------------------------------ figures

    @property
    def latest(self) -> FrameSent | None:
        return self._recent[-1].frame if self._recent else None

    @property
    def fps(self) -> float:
        """Frames per second over the last few frames."""
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def info_lines(self) -> tuple[str, str]:
        """Two short lines: size and tokens per frame; source, rate and tokens per second."""
        frame = self.latest
        if frame is None:
            return "no video sent", ""
        tokens = tokens_per_frame(frame.width, frame.height)
        fps = self.fps
        first = f"{frame.width}×{frame.height} {len(frame.jpeg) / 1000:.0f} KB ~{tokens} tok/frame"
        second = f"{frame.source} {fps:.1f} fps" + (f" · ~{tokens * fps:.0f} tok/s" if fps else "")
        return first, second

    # ------------------------------------------------------------------ feeding

    def add_frame(self, frame: FrameSent) -> None:
        """Show a frame that was just sent."""
        now = self._clock()
        small: tuple[Strip, ...] = ()
        self.error = None
        if self.pictures:
            try:
                small = tuple(cells_to_strips(half_block_cells(frame.jpeg, *STRIP_CELLS)))
            except ValueError as exc:
                self.error = str(exc)
        self._recent.append(_Shown(frame, now, small))
        self._times.append(now)
        self.frames_shown += 1
        self._large_for = None
        if self.deferred:
            self._pending = True
        else:
            self.refresh()

    def flush(self) -> None:
        """Repaint if a frame arrived since the last flush (deferred mode)."""
        if self._pending:
            self._pending = False
            self.refresh()

    def clear(self) -> None:
        self._forget_pictures()
        self._recent.clear()
        self._times.clear()
        self._large = []
        self._large_for = None
        self.refresh()

    # ------------------------------------------------------------------ drawing

    def _layout(self) -> tuple[int, int, bool]:
        width, height = self.size.width, self.size.height
        if not self.pictures:
            return width, 0, False
        show_strip = height >= 9 and len(self._recent) > 1
        rows = max(1, height - INFO_LINES - (STRIP_CELLS[1] if show_strip else 0))
        return width, rows, show_strip

    def _large_strips(self, width: int, rows: int) -> list[Strip]:
        key = (self.frames_shown, width, rows)
        if self._large_for != key:
            self._large_for = key
            self._large = []
            if self._recent and self.error is None:
                try:
                    jpeg = self._recent[-1].frame.jpeg
                    kitty = self._kitty_images()
                    if kitty is not None:
                        self._large = self._send_picture(kitty, jpeg, width, rows)
                    else:
                        self._large = cells_to_strips(half_block_cells(jpeg, width, rows))
                except ValueError as exc:
                    self.error = str(exc)
        return self._large

    def _kitty_images(self) -> KittyImages | None:
        """The kitty path, if ``ui.thumbnails`` and this terminal ask for it (decided at the first picture, by then
        the settings are loaded)."""
        if not self._kitty_decided:
            from tui.app import graphics

            self._kitty_decided = True
            settings = getattr(self.app, "settings", None)
            requested = settings.ui.thumbnails if settings is not None else "auto"
            mode = graphics.detect(requested, os.environ)
            app = self.app
            ok = graphics.usable(mode, headless=app.is_headless, color_system=app.console.color_system)
            self._kitty = graphics.KittyImages() if ok else None
        return self._kitty

    def _write(self, escapes: str) -> None:
        # Textual writes its own out-of-band escapes (OSC 52 in App.copy_to_clipboard) through the driver the same
        # way; written while the compositor renders, they reach the terminal before this frame's placeholder cells.
        driver = self.app._driver
        if driver is not None and escapes:
            driver.write(escapes)

    def _send_picture(self, kitty: KittyImages, jpeg: bytes, width: int, rows: int) -> list[Strip]:
        from tui.app.graphics import placeholder_strips

        sent = kitty.send(jpeg, width, rows)
        self._write(sent.escapes)
        return placeholder_strips(sent.image_id, sent.cols, sent.rows, self.rich_style)

    def _forget_pictures(self) -> None:
        if self._kitty is not None:
            self._write(self._kitty.forget_all())

    def on_unmount(self) -> None:
        self._forget_pictures()

    def render_line(self, y: int) -> Strip:
        width, rows, show_strip = self._layout()
        base = self.rich_style
        blank = Strip([Segment(" " * width, base)], width)
        if not self._recent:
            if y == 0:
                text = Text("no video · camera / screen off", self.get_component_rich_style("frame-preview--empty"))
                return Strip(list(text.render(self.app.console)), text.cell_len).crop_extend(0, width, base)
            return blank
        if y < rows:
            if self.error is not None:
                if y == 0:
                    return Strip([Segment(f"✗ {self.error}"[:width], base)]).crop_extend(0, width, base)
                return blank
            large = self._large_strips(width, rows)
            return large[y].crop_extend(0, width, base) if y < len(large) else blank
        if rows <= y < rows + INFO_LINES:
            line = self.info_lines()[y - rows]
            text = Text(line, self.get_component_rich_style("frame-preview--info"), no_wrap=True)
            text.truncate(width, overflow="ellipsis")
            return Strip(list(text.render(self.app.console)), text.cell_len).crop_extend(0, width, base)
        if show_strip:
            j = y - rows - INFO_LINES
            segments: list[Segment] = []
            used = 0
            for shown in list(self._recent)[:-1]:
                if used + STRIP_CELLS[0] + 1 > width or j >= len(shown.small):
                    break
                segments.extend(shown.small[j])
                segments.append(Segment(" ", base))
                used += STRIP_CELLS[0] + 1
            return Strip(segments, used).crop_extend(0, width, base)
        return blank
