"""Frame thumbnails as half-block cells (``▀``: foreground = top pixel, background = bottom pixel), and token estimates.

Pure functions of the JPEG bytes: the same frame gives the same cells on every machine, so snapshots are stable.
Half blocks work in any terminal with colour (and over SSH); 256-colour terminals get the nearest palette colours
from Rich's own downgrade. Terminals that support the kitty graphics protocol get the large picture from
``tui.app.graphics`` instead (the strip stays half blocks).
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

RGB = tuple[int, int, int]

TOKENS_PER_TILE = 258
"""Tokens the Gemini API charges per image tile (an image with both sides ≤ 384 px is one tile)."""
SMALL_IMAGE_PX = 384
TILE_PX = 768


def tokens_per_frame(width: int, height: int) -> int:
    """Estimated tokens for one image: 258 if both sides ≤ 384 px, else 258 per 768×768 tile."""
    if width <= 0 or height <= 0:
        return 0
    if width <= SMALL_IMAGE_PX and height <= SMALL_IMAGE_PX:
        return TOKENS_PER_TILE
    return math.ceil(width / TILE_PX) * math.ceil(height / TILE_PX) * TOKENS_PER_TILE


def _quantise(v: int) -> int:
    # 6 bits per channel: invisible at thumbnail size, and neighbouring cells share styles more often,
    # so runs merge and fewer escape codes reach the terminal.
    return (v & 0xFC) | 0x02


def half_block_cells(jpeg: bytes, cols: int, rows: int) -> list[list[tuple[RGB, RGB]]]:
    """Decode ``jpeg`` and fit it in ``cols``×``rows`` cells (2 pixels per cell vertically), keeping its aspect.

    Returns rows of (top, bottom) colours; the picture is letterboxed with black. Raises ``ValueError`` for bytes
    that are not an image.
    """
    from PIL import Image  # lazy: Pillow is only needed once frames are shown

    try:
        source = Image.open(io.BytesIO(jpeg))
        source.draft("RGB", (cols, rows * 2))  # libjpeg DCT scaling: decode at 1/2..1/8 size directly
        im = source.convert("RGB")
    except Exception as exc:
        raise ValueError(f"not an image: {exc}") from None
    w, h = im.size
    px_w, px_h = cols, rows * 2
    # Terminal cells are about twice as tall as wide; half blocks make pixels roughly square.
    scale = min(px_w / w, px_h / h)
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    small = im.resize((tw, th), Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", (px_w, px_h))
    canvas.paste(small, ((px_w - tw) // 2, (px_h - th) // 2))
    data = canvas.tobytes()
    out: list[list[tuple[RGB, RGB]]] = []
    for r in range(rows):
        row: list[tuple[RGB, RGB]] = []
        top_off = (2 * r) * px_w * 3
        bot_off = (2 * r + 1) * px_w * 3
        for c in range(cols):
            t = top_off + 3 * c
            b = bot_off + 3 * c
            row.append(
                (
                    (_quantise(data[t]), _quantise(data[t + 1]), _quantise(data[t + 2])),
                    (_quantise(data[b]), _quantise(data[b + 1]), _quantise(data[b + 2])),
                )
            )
        out.append(row)
    return out


@lru_cache(maxsize=4096)
def _style(top: RGB, bottom: RGB) -> Style:
    return Style.from_color(Color.from_rgb(*top), Color.from_rgb(*bottom))


def cells_to_strips(cells: list[list[tuple[RGB, RGB]]]) -> list[Strip]:
    """One Strip per cell row; runs of identical cells become one segment."""
    strips: list[Strip] = []
    for row in cells:
        segments: list[Segment] = []
        run = 0
        prev: tuple[RGB, RGB] | None = None
        for cell in row:
            if cell == prev:
                run += 1
                continue
            if prev is not None:
                segments.append(Segment("▀" * run, _style(*prev)))
            prev, run = cell, 1
        if prev is not None:
            segments.append(Segment("▀" * run, _style(*prev)))
        strips.append(Strip(segments, len(row)))
    return strips
