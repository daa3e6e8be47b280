"""A bounded, line-API scroll view of keyed blocks that repaints only what changed, at most at a set rate.

Why not RichLog: RichLog repaints its whole region twice per ``write()`` (perf-baselines §5: 251 KB/s at 20 lines/s
over a pty). Here a block (a turn, a log entry) is re-wrapped only when it changes, changes are coalesced by a
timer at ``flush_hz``, and when the line count is unchanged only the changed lines are refreshed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Hashable

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


def text_to_strips(text: Text, width: int, console: Console) -> list[Strip]:
    """Wrap ``text`` to ``width`` cells, one Strip per line; wrapped lines keep their paragraph's indent."""
    width = max(1, width)
    if text.no_wrap:
        lines = list(text.split("\n", allow_blank=True))  # one-line entries: cropped at render time
    else:
        lines = []
        for paragraph in text.split("\n", allow_blank=True):
            plain = paragraph.plain
            indent = min(len(plain) - len(plain.lstrip(" ")), 8, width // 2)
            if indent == 0 or len(plain) <= width:
                lines.extend(paragraph.wrap(console, width, overflow="fold"))
                continue
            for piece in paragraph[indent:].wrap(console, width - indent, overflow="fold"):
                lines.append(Text(" " * indent) + piece)
    strips: list[Strip] = []
    for line in lines:
        line.rstrip()
        segments = [seg for seg in line.render(console, end="") if seg.text]
        strips.append(Strip(segments, line.cell_len))
    return strips or [Strip.blank(0)]


class BlockScroll(ScrollView, can_focus=True):
    """Keyed blocks of styled text, oldest first, bounded to ``max_blocks``; follows the tail unless scrolled up."""

    DEFAULT_CSS = """
    BlockScroll { height: 1fr; }
    """

    def __init__(
        self,
        *,
        max_blocks: int = 500,
        flush_hz: float = 5.0,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.max_blocks = max(1, max_blocks)
        """Oldest blocks beyond this are dropped (memory stays bounded however long the session runs)."""
        self.flush_hz = flush_hz
        """Upper bound on repaints per second."""
        self._texts: OrderedDict[Hashable, None] = OrderedDict()
        self._strips: dict[Hashable, list[Strip]] = {}
        self._dirty: set[Hashable] = set()
        self._structure_changed = False
        self._order: list[Hashable] = []
        self._offsets: list[int] = []
        self._total = 0
        self._width = 0
        self.follow = True
        """Keep the newest line in view (turned off when the user scrolls up, back on at the bottom)."""

    # ------------------------------------------------------------------ public verbs

    def render_block(self, key: Hashable) -> Text:
        """The text of block ``key``; subclasses override. Called only at flush time, once per changed block."""
        raise NotImplementedError

    def touch(self, key: Hashable) -> None:
        """Add the block ``key`` (new keys go to the end) or mark it changed. Painted at the next flush."""
        if key not in self._texts:
            self._structure_changed = True
            while len(self._texts) >= self.max_blocks:
                old, _ = self._texts.popitem(last=False)
                self._strips.pop(old, None)
                self._dirty.discard(old)
            self._texts[key] = None
        self._dirty.add(key)

    def has_block(self, key: Hashable) -> bool:
        return key in self._texts

    def drop(self, key: Hashable) -> None:
        """Remove one block."""
        if self._texts.pop(key, 0) is None:
            self._strips.pop(key, None)
            self._dirty.discard(key)
            self._structure_changed = True

    def clear_blocks(self) -> None:
        self._texts.clear()
        self._strips.clear()
        self._dirty.clear()
        self._structure_changed = True

    @property
    def block_count(self) -> int:
        return len(self._texts)

    def plain_lines(self) -> list[str]:
        """Every line as plain text (for tests and the inspector); forces a layout at the current width."""
        self.flush(force=True)
        out: list[str] = []
        for key in self._order:
            out.extend(strip.text for strip in self._strips.get(key, []))
        return out

    # ------------------------------------------------------------------ painting

    def on_mount(self) -> None:
        # flush_hz 0: the owner calls flush() from its own display tick (one compositor pass for all panes).
        if self.flush_hz > 0:
            self.set_interval(1.0 / self.flush_hz, self.flush, name="block-scroll-flush")

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width != self._width:
            self._width = width
            self._strips.clear()
            self._dirty = set(self._texts)
            self._structure_changed = True
            self.flush()

    def _content_width(self) -> int:
        return max(1, self._width or self.scrollable_content_region.width or 40)

    def flush(self, force: bool = False) -> None:
        """Re-wrap changed blocks and repaint only the lines that changed (``force``: even while hidden)."""
        if not self._dirty and not self._structure_changed:
            return
        if not force and not self.display:
            # A hidden pane (the protocol log behind the transcript) keeps its changes until it is shown: a
            # virtual-size change would force a whole-screen layout several times a second for nothing.
            return
        width = self._content_width()
        console = self.app.console
        changed: list[tuple[Hashable, int, int]] = []
        for key in self._dirty:
            if key not in self._texts:
                continue
            text = self.render_block(key)
            old = self._strips.get(key)
            new = text_to_strips(text, width, console)
            self._strips[key] = new
            if old is None or len(old) != len(new):
                self._structure_changed = True
            else:
                # Only lines that really differ go to the terminal (an audio-only update changes none).
                diff = [j for j, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
                if diff:
                    changed.append((key, diff[0], diff[-1] - diff[0] + 1))
        self._dirty.clear()
        if self._structure_changed:
            self._structure_changed = False
            self._order = list(self._texts)
            self._offsets = []
            total = 0
            for key in self._order:
                self._offsets.append(total)
                total += len(self._strips.get(key, ()))
            self._total = total
            was_at_end = self.follow
            self.virtual_size = Size(width, total)
            if was_at_end:
                self.scroll_to(y=max(0, total - self.scrollable_content_region.height), animate=False, force=True)
            self.refresh()
            return
        index = {key: i for i, key in enumerate(self._order)} if changed else {}
        for key, first, count in changed:
            i = index.get(key)
            if i is not None:
                self.refresh_lines(self._offsets[i] + first, count)  # content lines; it subtracts the scroll

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # Following resumes when the user scrolls back to the bottom.
        self.follow = new >= self.max_scroll_y - 0.5

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = int(self.scroll_offset.y) + y
        base: Style = self.rich_style
        if line < 0 or line >= self._total or not self._order:
            return Strip([Segment(" " * width, base)], width)
        i = bisect_right(self._offsets, line) - 1
        strips = self._strips.get(self._order[i], [])
        j = line - self._offsets[i]
        if j >= len(strips):
            return Strip([Segment(" " * width, base)], width)
        strip = strips[j]
        x = int(self.scroll_offset.x)
        return strip.crop(x, x + width).extend_cell_length(width).apply_style(base)
