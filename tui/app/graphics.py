"""Kitty graphics for the frame preview: detection, the transmit/delete escapes, and Unicode placeholder cells.

Invariants:
- Graphics escapes go only to a terminal that clearly asked for them (``detect``); everything else, including
  tmux/screen, plain SSH, 256-colour and unknown terminals, keeps the half-block path.
- Placeholders (U+10EEEE + row and column diacritics, image id in the 24-bit foreground colour) are ordinary cells:
  they compose with Textual's cell grid, scroll and get overwritten like text. Every cell carries both diacritics, so
  any partial repaint of a row is still placed correctly.
- The terminal holds at most ``len(IMAGE_IDS)`` of our images: an id is deleted (data freed) before it is reused.
- Replies are suppressed (``q=2``) so nothing reaches the app's input.

Threading: pure functions plus :class:`KittyImages`, used from the event loop only.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

Mode = Literal["kitty", "halfblock"]

PLACEHOLDER = "\U0010eeee"
"""Kitty's Unicode placeholder character."""

# The first 129 entries of kitty's rowcolumn-diacritics table: the Nth diacritic encodes row/column N.
DIACRITICS = "".join(
    chr(c)
    for c in (
        0x0305, 0x030D, 0x030E, 0x0310, 0x0312, 0x033D, 0x033E, 0x033F, 0x0346, 0x034A, 0x034B, 0x034C,
        0x0350, 0x0351, 0x0352, 0x0357, 0x035B, 0x0363, 0x0364, 0x0365, 0x0366, 0x0367, 0x0368, 0x0369,
        0x036A, 0x036B, 0x036C, 0x036D, 0x036E, 0x036F, 0x0483, 0x0484, 0x0485, 0x0486, 0x0487, 0x0592,
        0x0593, 0x0594, 0x0595, 0x0597, 0x0598, 0x0599, 0x059C, 0x059D, 0x059E, 0x059F, 0x05A0, 0x05A1,
        0x05A8, 0x05A9, 0x05AB, 0x05AC, 0x05AF, 0x05C4, 0x0610, 0x0611, 0x0612, 0x0613, 0x0614, 0x0615,
        0x0616, 0x0617, 0x0657, 0x0658, 0x0659, 0x065A, 0x065B, 0x065D, 0x065E, 0x06D6, 0x06D7, 0x06D8,
        0x06D9, 0x06DA, 0x06DB, 0x06DC, 0x06DF, 0x06E0, 0x06E1, 0x06E2, 0x06E4, 0x06E7, 0x06E8, 0x06EB,
        0x06EC, 0x0730, 0x0732, 0x0733, 0x0735, 0x0736, 0x073A, 0x073D, 0x073F, 0x0740, 0x0741, 0x0743,
        0x0745, 0x0747, 0x0749, 0x074A, 0x07EB, 0x07EC, 0x07ED, 0x07EE, 0x07EF, 0x07F0, 0x07F1, 0x07F3,
        0x0816, 0x0817, 0x0818, 0x0819, 0x081B, 0x081C, 0x081D, 0x081E, 0x081F, 0x0820, 0x0821, 0x0822,
        0x0823, 0x0825, 0x0826, 0x0827, 0x0829, 0x082A, 0x082B, 0x082C, 0x082D,
    )
)  # fmt: skip
MAX_CELLS = len(DIACRITICS)
"""Largest placement, in rows or columns, the table above can address (wider previews are capped)."""

IMAGE_IDS = (0x475401, 0x475402)
"""Our image ids (24-bit, so the foreground colour alone carries them). Two: the one on screen and the next one,
so the old picture stays visible until the placeholders for the new one are painted."""

CELL_PX = (4, 8)
"""Pixels sent per cell (width, height): 16× a half-block cell's pixels. Kitty scales the picture to the cells, so
this sets bytes sent, not size on screen. At 80×24 and 1 fps (tools/bench_graphics.py, bench_tui.py's frames) the
escapes cost ~9 KB/s at 4×8 and ~28 KB/s at 8×16 (near a real cell's pixels): 4×8 keeps the whole screen inside the
issue's 25 KB/s output budget."""
MAX_PIXELS = 320 * 240
"""Cap on the pixels of one picture sent (a large preview in a large terminal gets fewer pixels per cell): bounds
terminal output at 1 fps whatever the window size."""

CHUNK = 4096
"""Base64 bytes per escape (the protocol's maximum; a multiple of 4 as non-final chunks must be)."""

_MULTIPLEXER_TERMS = ("screen", "tmux")
_KITTY_TERMS = ("xterm-kitty", "xterm-ghostty")


def detect(requested: str, env: Mapping[str, str]) -> Mode:
    """Which picture path to use for ``ui.thumbnails = requested`` in a terminal described by ``env``.

    ``kitty`` is what the user asked for; ``halfblock``/``none`` never use graphics. ``auto`` picks kitty only when
    the terminal says so (TERM=xterm-kitty or xterm-ghostty; or TERM_PROGRAM=ghostty, or KITTY_WINDOW_ID with kitty's
    own or its documented xterm-256color TERM and no other TERM_PROGRAM) and we are not inside tmux/screen. Over SSH
    only TERM counts (kitty's ssh kitten sets it; the other variables could be stale leftovers).
    """
    if requested == "kitty":
        return "kitty"
    if requested != "auto":
        return "halfblock"
    term = env.get("TERM", "")
    if env.get("TMUX") or env.get("STY") or term.startswith(_MULTIPLEXER_TERMS):
        return "halfblock"
    if term in _KITTY_TERMS:
        return "kitty"
    if env.get("SSH_CONNECTION") or env.get("SSH_CLIENT") or env.get("SSH_TTY"):
        return "halfblock"
    program = env.get("TERM_PROGRAM", "")
    if program == "ghostty":
        return "kitty"
    if env.get("KITTY_WINDOW_ID") and term in ("xterm-kitty", "xterm-256color") and program in ("", "kitty"):
        return "kitty"
    return "halfblock"


def usable(mode: Mode, *, headless: bool, color_system: str | None) -> bool:
    """Kitty placeholders need a real terminal and 24-bit colour (the image id is the foreground colour; a
    downgraded colour would name another image)."""
    return mode == "kitty" and not headless and color_system == "truecolor"


def fit_png(jpeg: bytes, cols: int, rows: int, cell_px: tuple[int, int] = CELL_PX) -> bytes:
    """``jpeg`` scaled to ``cols``×``rows`` cells of ``cell_px`` pixels, letterboxed with black, as PNG.

    Raises ``ValueError`` for bytes that are not an image.
    """
    from PIL import Image  # lazy, as in thumbnail.py

    px_w, px_h = cols * cell_px[0], rows * cell_px[1]
    if px_w * px_h > MAX_PIXELS:
        shrink = math.sqrt(MAX_PIXELS / (px_w * px_h))
        px_w, px_h = max(1, int(px_w * shrink)), max(1, int(px_h * shrink))
    try:
        source = Image.open(io.BytesIO(jpeg))
        source.draft("RGB", (px_w, px_h))
        im = source.convert("RGB")
    except Exception as exc:
        raise ValueError(f"not an image: {exc}") from None
    w, h = im.size
    scale = min(px_w / w, px_h / h)
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    canvas = Image.new("RGB", (px_w, px_h))
    canvas.paste(im.resize((tw, th), Image.Resampling.BILINEAR), ((px_w - tw) // 2, (px_h - th) // 2))
    out = io.BytesIO()
    canvas.save(out, "PNG", compress_level=6)
    return out.getvalue()


def transmit(image_id: int, png: bytes, cols: int, rows: int) -> str:
    """Escapes that send ``png`` as image ``image_id`` and give it a virtual placement of ``cols``×``rows`` cells
    (``U=1``: drawn wherever placeholder cells for this id are). Chunked at :data:`CHUNK` base64 bytes."""
    payload = base64.standard_b64encode(png).decode("ascii")
    chunks = [payload[i : i + CHUNK] for i in range(0, len(payload), CHUNK)] or [""]
    parts: list[str] = []
    for n, chunk in enumerate(chunks):
        more = 1 if n < len(chunks) - 1 else 0
        # Only the first chunk carries the keys; later ones may carry only m (and q).
        keys = f"a=T,U=1,f=100,t=d,i={image_id},c={cols},r={rows},q=2,m={more}" if n == 0 else f"m={more},q=2"
        parts.append(f"\x1b_G{keys};{chunk}\x1b\\")
    return "".join(parts)


def delete(image_id: int) -> str:
    """Escape that removes image ``image_id``'s placements and frees its data in the terminal."""
    return f"\x1b_Ga=d,d=I,i={image_id},q=2\x1b\\"


def id_color(image_id: int) -> Color:
    return Color.from_rgb((image_id >> 16) & 0xFF, (image_id >> 8) & 0xFF, image_id & 0xFF)


def placeholder_strips(image_id: int, cols: int, rows: int, base: Style | None = None) -> list[Strip]:
    """``rows`` strips of ``cols`` placeholder cells for ``image_id``, one segment per row (one colour escape per row
    reaches the terminal; Rich and Textual split segments at cell boundaries, keeping diacritics with their cell)."""
    style = (base or Style()) + Style(color=id_color(image_id))
    strips: list[Strip] = []
    for r in range(rows):
        row_mark = PLACEHOLDER + DIACRITICS[r]
        strips.append(Strip([Segment("".join(row_mark + DIACRITICS[c] for c in range(cols)), style)], cols))
    return strips


@dataclass(frozen=True, slots=True)
class Sent:
    image_id: int
    cols: int
    rows: int
    escapes: str
    """Write these to the terminal before the placeholder cells are painted."""


@dataclass
class KittyImages:
    """Hands out :data:`IMAGE_IDS` in turn; reusing one deletes the picture it held first."""

    live: set[int] = field(default_factory=set)
    """Ids that hold a picture in the terminal now."""
    _next: int = 0

    def send(self, jpeg: bytes, cols: int, rows: int) -> Sent:
        """A new picture in ``cols``×``rows`` cells (capped at :data:`MAX_CELLS`). Raises ``ValueError`` for bytes
        that are not an image (nothing is sent then)."""
        cols, rows = max(1, min(cols, MAX_CELLS)), max(1, min(rows, MAX_CELLS))
        png = fit_png(jpeg, cols, rows)
        image_id = IMAGE_IDS[self._next]
        self._next = (self._next + 1) % len(IMAGE_IDS)
        prefix = delete(image_id) if image_id in self.live else ""
        self.live.add(image_id)
        return Sent(image_id, cols, rows, prefix + transmit(image_id, png, cols, rows))

    def forget_all(self) -> str:
        """Escapes that delete every picture we still hold (on clear or unmount)."""
        out = "".join(delete(i) for i in sorted(self.live))
        self.live.clear()
        return out
