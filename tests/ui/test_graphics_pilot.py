"""Under Pilot (no real terminal) the frame preview stays on half blocks even where the environment says kitty."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from textual.app import App, ComposeResult

from tui.app.graphics import PLACEHOLDER
from tui.app.widgets.frame_preview import FramePreview
from tui.live.events import FrameSent


class _Harness(App[None]):
    def __init__(self, widget: FramePreview) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


def _frame() -> FrameSent:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 40, 30)).save(out, "JPEG")
    return FrameSent(jpeg=out.getvalue(), width=320, height=240, source="camera")


async def test_a_headless_app_in_a_kitty_environment_draws_half_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Snapshots and Pilot tests run headless: they must not depend on the developer's terminal.
    monkeypatch.setenv("TERM", "xterm-kitty")
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.setenv("KITTY_WINDOW_ID", "1")
    preview = FramePreview(clock=lambda: 0.0)
    async with _Harness(preview).run_test(size=(30, 12)) as pilot:
        preview.add_frame(_frame())
        await pilot.pause()
        lines = ["".join(s.text for s in preview.render_line(y)) for y in range(preview.size.height)]
        assert any("▀" in line for line in lines)
        assert not any(PLACEHOLDER in line for line in lines)
        assert preview._kitty is None
