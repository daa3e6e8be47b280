"""Kitty graphics: which terminals get them, the escapes' structure and payload, placeholder cells, bounded ids."""

from __future__ import annotations

import base64
import io
import itertools
import re
import unicodedata

import pytest
from PIL import Image, ImageChops, ImageStat
from rich.cells import cell_len

from tui.app import graphics
from tui.app.graphics import (
    CHUNK,
    DIACRITICS,
    IMAGE_IDS,
    PLACEHOLDER,
    KittyImages,
    delete,
    detect,
    placeholder_strips,
    transmit,
    usable,
)

ESCAPE = re.compile(r"\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\")


def _jpeg(size: tuple[int, int] = (320, 240), quality: int = 90) -> bytes:
    """Four flat quadrants (red, green, blue, white): easy to compare after scaling."""
    w, h = size
    im = Image.new("RGB", size)
    im.paste((220, 30, 30), (0, 0, w // 2, h // 2))
    im.paste((30, 200, 40), (w // 2, 0, w, h // 2))
    im.paste((40, 50, 210), (0, h // 2, w // 2, h))
    im.paste((240, 240, 240), (w // 2, h // 2, w, h))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _noise_jpeg(size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 90).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def _escapes(text: str) -> list[tuple[dict[str, str], str]]:
    """Split a string of graphics escapes into (keys, payload); asserts nothing else is in it."""
    found = [(m.group(1), m.group(2) or "", m.span()) for m in ESCAPE.finditer(text)]
    assert "".join(text[a:b] for _, _, (a, b) in found) == text, "only whole graphics escapes"
    return [(dict(kv.split("=", 1) for kv in keys.split(",")), payload) for keys, payload, _ in found]


# ---------------------------------------------------------------------------- detection

CLEAN = {"TERM": "xterm-256color"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TERM": "xterm-kitty"}, "kitty"),
        ({"TERM": "xterm-ghostty"}, "kitty"),
        ({"TERM": "xterm-256color", "TERM_PROGRAM": "ghostty"}, "kitty"),
        ({"TERM": "xterm-256color", "KITTY_WINDOW_ID": "3"}, "kitty"),  # kitty with `term xterm-256color`
        ({"TERM": "xterm-kitty", "SSH_CONNECTION": "1 2 3 4", "SSH_TTY": "/dev/pts/1"}, "kitty"),  # ssh kitten
        # Not kitty, or not clearly:
        (CLEAN, "halfblock"),
        ({}, "halfblock"),
        ({"TERM": "xterm"}, "halfblock"),
        ({"TERM": "dumb"}, "halfblock"),
        ({"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, "halfblock"),
        ({"TERM": "xterm", "KITTY_WINDOW_ID": "3"}, "halfblock"),  # e.g. xterm started from kitty: inherited id
        ({"TERM": "xterm-256color", "KITTY_WINDOW_ID": "3", "TERM_PROGRAM": "vscode"}, "halfblock"),
        # Multiplexers hide the outer terminal, whatever it says:
        ({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"}, "halfblock"),
        ({"TERM": "xterm-kitty", "STY": "1234.pts-0.host"}, "halfblock"),
        ({"TERM": "screen-256color", "KITTY_WINDOW_ID": "3"}, "halfblock"),
        ({"TERM": "tmux-256color", "TERM_PROGRAM": "ghostty"}, "halfblock"),
        # Over SSH only TERM counts:
        ({"TERM": "xterm-256color", "SSH_CONNECTION": "1 2 3 4", "KITTY_WINDOW_ID": "3"}, "halfblock"),
        ({"TERM": "xterm-256color", "SSH_CLIENT": "1 2 3", "TERM_PROGRAM": "ghostty"}, "halfblock"),
    ],
)
def test_auto_picks_kitty_only_where_the_terminal_clearly_supports_it(env: dict[str, str], expected: str) -> None:
    assert detect("auto", env) == expected


@pytest.mark.parametrize("requested", ["halfblock", "none"])
def test_halfblock_and_none_never_use_graphics_even_in_kitty(requested: str) -> None:
    assert detect(requested, {"TERM": "xterm-kitty", "KITTY_WINDOW_ID": "1"}) == "halfblock"


def test_kitty_is_forced_when_asked_even_in_an_unknown_terminal() -> None:
    assert detect("kitty", {"TERM": "xterm-256color", "TMUX": "x"}) == "kitty"


def test_kitty_needs_a_real_terminal_with_24_bit_colour() -> None:
    assert usable("kitty", headless=False, color_system="truecolor")
    assert not usable("kitty", headless=True, color_system="truecolor"), "Pilot / snapshots stay on half blocks"
    assert not usable("kitty", headless=False, color_system="256"), "a downgraded colour would name another image"
    assert not usable("halfblock", headless=False, color_system="truecolor")


# ---------------------------------------------------------------------------- encoder


def test_a_transmit_is_chunked_at_4096_and_its_payload_is_the_png() -> None:
    png = graphics.fit_png(_noise_jpeg(), 40, 15)
    text = transmit(IMAGE_IDS[0], png, 40, 15)
    parts = _escapes(text)
    assert len(parts) > 2, "noise at 320x240 px is several chunks"
    first, _ = parts[0]
    assert first == {
        "a": "T",
        "U": "1",
        "f": "100",
        "t": "d",
        "i": str(IMAGE_IDS[0]),
        "c": "40",
        "r": "15",
        "q": "2",
        "m": "1",
    }
    for keys, _ in parts[1:-1]:
        assert keys == {"m": "1", "q": "2"}, "later chunks carry only m and q"
    assert parts[-1][0]["m"] == "0"
    for _, payload in parts[:-1]:
        assert len(payload) == CHUNK
    assert 0 < len(parts[-1][1]) <= CHUNK
    assert base64.standard_b64decode("".join(p for _, p in parts)) == png


def test_a_small_picture_is_one_escape() -> None:
    png = graphics.fit_png(_jpeg(), 4, 2)
    ((keys, payload),) = _escapes(transmit(7, png, 4, 2))
    assert keys["m"] == "0" and keys["i"] == "7"
    assert base64.standard_b64decode(payload) == png


def test_the_png_is_scaled_to_the_cells_and_shows_the_jpeg_sent() -> None:
    jpeg = _jpeg((320, 240))
    cols, rows = 30, 10
    sent = KittyImages().send(jpeg, cols, rows)
    payload = "".join(p for _, p in _escapes(sent.escapes))
    im = Image.open(io.BytesIO(base64.standard_b64decode(payload)))
    assert im.format == "PNG"
    px_w, px_h = cols * graphics.CELL_PX[0], rows * graphics.CELL_PX[1]
    assert im.size == (px_w, px_h), "the cells' size, not the camera frame's"
    # Independently: the full JPEG decoded and fitted the same way (aspect kept, centred, black bars).
    reference = Image.open(io.BytesIO(jpeg)).convert("RGB")
    scale = min(px_w / 320, px_h / 240)
    tw, th = round(320 * scale), round(240 * scale)
    left = (px_w - tw) // 2
    inner = im.convert("RGB").crop((left + 2, 2, left + tw - 2, th - 2))
    expected = reference.resize((tw, th), Image.Resampling.BILINEAR).crop((2, 2, tw - 2, th - 2))
    diff = ImageStat.Stat(ImageChops.difference(inner, expected)).mean
    assert max(diff) < 6, f"pixels differ from the JPEG sent by {diff}"
    # Spot colours: the quadrants land where they are in the frame; the bars are black.
    rgb = im.convert("RGB")
    assert rgb.getpixel((left + tw // 4, th // 4))[0] > 180  # red, top left
    assert rgb.getpixel((left + 3 * tw // 4, 3 * th // 4)) > (200, 200, 200)  # white, bottom right
    assert left > 0 and rgb.getpixel((0, px_h // 2)) == (0, 0, 0)


def test_a_big_preview_sends_a_bounded_number_of_pixels() -> None:
    png = graphics.fit_png(_jpeg((1024, 768)), 120, 40)
    w, h = Image.open(io.BytesIO(png)).size
    assert w * h <= graphics.MAX_PIXELS
    assert abs(w / h - (120 * graphics.CELL_PX[0]) / (40 * graphics.CELL_PX[1])) < 0.05, "same shape as the cells"


def test_bytes_that_are_not_an_image_send_nothing() -> None:
    images = KittyImages()
    with pytest.raises(ValueError, match="not an image"):
        images.send(b"not a jpeg", 10, 4)
    assert images.live == set()
    assert images.send(_jpeg(), 10, 4).image_id == IMAGE_IDS[0], "no id was used up by the failure"


# ---------------------------------------------------------------------------- ids and deletes


def test_ids_are_reused_in_turn_and_each_reuse_deletes_the_old_picture_first() -> None:
    images = KittyImages()
    jpeg = _jpeg()
    seen: list[int] = []
    for n in range(7):
        sent = images.send(jpeg, 12, 4)
        seen.append(sent.image_id)
        parts = _escapes(sent.escapes)
        if n < len(IMAGE_IDS):
            assert parts[0][0]["a"] == "T", "a fresh id needs no delete"
        else:
            assert parts[0] == ({"a": "d", "d": "I", "i": str(sent.image_id), "q": "2"}, ""), "free it, then reuse"
            assert parts[1][0]["a"] == "T" and parts[1][0]["i"] == str(sent.image_id)
        assert len(images.live) <= len(IMAGE_IDS), "the terminal holds a bounded number of our pictures"
    assert set(seen) == set(IMAGE_IDS)
    assert all(a != b for a, b in itertools.pairwise(seen)), "the picture on screen is never replaced in place"
    bye = _escapes(images.forget_all())
    assert sorted(int(k["i"]) for k, _ in bye) == sorted(IMAGE_IDS)
    assert all(k["a"] == "d" and k["d"] == "I" for k, _ in bye)
    assert images.live == set() and images.forget_all() == ""


def test_delete_frees_the_data_quietly() -> None:
    assert _escapes(delete(5)) == [({"a": "d", "d": "I", "i": "5", "q": "2"}, "")]


def test_an_oversized_preview_is_capped_at_what_the_diacritics_can_address() -> None:
    sent = KittyImages().send(_jpeg(), 500, 300)
    assert (sent.cols, sent.rows) == (graphics.MAX_CELLS, graphics.MAX_CELLS)
    keys = _escapes(sent.escapes)[0][0]
    assert keys["c"] == keys["r"] == str(graphics.MAX_CELLS)


# ---------------------------------------------------------------------------- placeholders


def test_the_diacritics_table_is_kittys_shape() -> None:
    # The table in kitty's rowcolumn-diacritics.txt is ascending, of combining marks (class 230, "above").
    codes = [ord(c) for c in DIACRITICS]
    assert codes[:5] == [0x0305, 0x030D, 0x030E, 0x0310, 0x0312]
    assert codes == sorted(set(codes))
    assert all(unicodedata.category(c) == "Mn" and unicodedata.combining(c) == 230 for c in DIACRITICS)
    assert graphics.MAX_CELLS == len(DIACRITICS) == 129


def test_placeholder_cells_name_the_image_row_and_column() -> None:
    image_id = IMAGE_IDS[1]
    strips = placeholder_strips(image_id, 9, 3)
    assert len(strips) == 3
    for r, strip in enumerate(strips):
        assert strip.cell_length == 9
        text = "".join(s.text for s in strip)
        assert cell_len(text) == 9
        cells = [PLACEHOLDER + rest for rest in text.split(PLACEHOLDER)[1:]]
        assert cells == [PLACEHOLDER + DIACRITICS[r] + DIACRITICS[c] for c in range(9)]
        for segment in strip:
            assert segment.style is not None and segment.style.color is not None
            assert segment.style.color.triplet == ((image_id >> 16) & 255, (image_id >> 8) & 255, image_id & 255)
        # Textual crops strips at cell boundaries (partial repaints): each cell keeps both its diacritics.
        cropped = "".join(s.text for s in strip.crop(3, 6))
        assert cropped == "".join(PLACEHOLDER + DIACRITICS[r] + DIACRITICS[c] for c in (3, 4, 5))
