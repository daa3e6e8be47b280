"""The real CLI on a pty: kitty pictures only in a terminal that says it is kitty, half blocks everywhere else."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from tests.ui.pty_cli import run_cli_in_pty
from tui.app.graphics import DIACRITICS, IMAGE_IDS, PLACEHOLDER

pytestmark = pytest.mark.timeout(90)

TRANSMIT = "\x1b_Ga=T,"


def _frames(folder: Path) -> Path:
    folder.mkdir()
    for i, colour in enumerate([(200, 40, 30), (30, 160, 60), (40, 60, 200)]):
        Image.new("RGB", (320, 240), colour).save(folder / f"frame{i}.jpg", "JPEG", quality=80)
    return folder


def _run(tmp_path: Path, env_extra: dict[str, str], done: Callable[[str], bool]) -> str:
    """Run ``python -m tui --demo --no-audio --frames DIR`` (2 fps, looping) on an 80×24 pty until ``done(output)``
    or 30 s, then quit with ctrl+q; everything it wrote."""
    frames = _frames(tmp_path / "frames")
    _, out = run_cli_in_pty(
        ["--demo", "--no-audio", "--frames", str(frames), "--fps", "2"],
        {"GEMINI_TUI_VIDEO__FRAMES_LOOP": "true", **env_extra},
        tmp_path / "home",
        quit_when=done,
    )
    return out


def test_kitty_gets_pictures_sent_once_each_and_drawn_with_placeholder_cells(tmp_path: Path) -> None:
    out = _run(tmp_path, {"TERM": "xterm-kitty", "COLORTERM": "truecolor"}, lambda s: s.count(TRANSMIT) >= 3)
    transmits = re.findall(r"\x1b_G(a=T,[^;]*);", out)
    keys = [dict(kv.split("=") for kv in t.split(",")) for t in transmits]
    assert all(k["U"] == "1" and k["f"] == "100" and k["q"] == "2" for k in keys)
    assert {int(k["i"]) for k in keys} == set(IMAGE_IDS), "two ids, in turn"
    # Before the first placeholder cell reaches the terminal, its picture has been sent.
    assert 0 <= out.find(TRANSMIT) < out.find(PLACEHOLDER)
    # Every placeholder carries a row and a column diacritic, in the image id's 24-bit colour; along a run the row
    # stays and the column counts up.
    colours = {f"38;2;{i >> 16};{(i >> 8) & 255};{i & 255}" for i in IMAGE_IDS}
    runs = re.findall(r"\x1b\[([0-9;]*)m((?:" + PLACEHOLDER + r"..)+)", out)
    assert sum(len(run) // 3 for _, run in runs) == out.count(PLACEHOLDER), "each placeholder run follows its colour"
    assert len(runs) >= int(keys[0]["r"]), "a run per row of the picture"
    for sgr, run in runs:
        assert any(c in sgr for c in colours), sgr
        cells = [run[i : i + 3] for i in range(0, len(run), 3)]
        rows = {DIACRITICS.index(cell[1]) for cell in cells}
        assert len(rows) == 1
        first = DIACRITICS.index(cells[0][2])
        assert [DIACRITICS.index(cell[2]) for cell in cells] == list(range(first, first + len(cells)))
    # Ids are reused only after a delete, and a normal exit frees what is left.
    assert out.count("\x1b_Ga=d,d=I,") == len(transmits)
    tail = out[out.rfind(TRANSMIT) :]
    assert all(f"\x1b_Ga=d,d=I,i={i},q=2\x1b\\" in tail for i in IMAGE_IDS), "nothing left in the terminal's memory"
    assert "▀" in out, "the strip of recent frames stays half blocks"


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"TERM": "xterm-256color", "COLORTERM": "truecolor"}, id="xterm-256color"),
        pytest.param({"TERM": "xterm-kitty", "COLORTERM": "truecolor", "TMUX": "/tmp/tmux-0/default,1,0"}, id="tmux"),
        pytest.param({"TERM": "xterm-kitty"}, id="kitty-without-24-bit-colour"),
        pytest.param(
            {"TERM": "xterm-kitty", "COLORTERM": "truecolor", "GEMINI_TUI_UI__THUMBNAILS": "halfblock"},
            id="halfblock-setting",
        ),
    ],
)
def test_everywhere_else_no_graphics_escape_is_written_and_half_blocks_show(
    tmp_path: Path, env: dict[str, str]
) -> None:
    # Half blocks fill the large picture and, from the second frame on, the strip: wait for three frames' worth.
    out = _run(tmp_path, env, lambda s: "tok/frame" in s and s.count("▀") > 300)
    assert "\x1b_G" not in out
    assert PLACEHOLDER not in out
    assert "▀" in out
