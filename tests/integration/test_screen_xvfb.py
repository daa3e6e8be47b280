"""The real mss screen-share path against a private Xvfb server with a known root colour."""

from __future__ import annotations

import asyncio
import io
import os
import select
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from tui.config import AudioSettings, VideoSettings
from tui.errors import UserError
from tui.media.bridge import MediaBridge
from tui.media.video import ScreenSource

pytestmark = pytest.mark.needs_display


def start_xvfb(size: str) -> tuple[subprocess.Popen[bytes], str]:
    if shutil.which("Xvfb") is None or shutil.which("xsetroot") is None:
        pytest.skip("Xvfb/xsetroot not installed (apt-get install xvfb x11-xserver-utils; .ci/run installs them)")
    read_fd, write_fd = os.pipe()
    # -displayfd: the server picks a free display number itself and writes it to us (no guessing, no races).
    # -noreset: otherwise the server resets when xsetroot disconnects and the root goes back to black.
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        ready, _, _ = select.select([f], [], [], 15.0)  # bounded: a wedged server must not hang the suite
        number = f.readline().strip() if ready else ""
    if not number:
        proc.kill()
        proc.wait()
        pytest.skip("Xvfb did not start (no display number reported)")
    display = f":{number}"
    subprocess.run(["xsetroot", "-display", display, "-solid", "#ff0000"], check=True, timeout=10)
    return proc, display


@pytest.fixture
def xvfb(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    size = getattr(request, "param", "640x480x24")
    proc, display = start_xvfb(size)
    monkeypatch.setenv("DISPLAY", display)
    try:
        yield display
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def rgb_at(jpeg: bytes, x: int, y: int) -> tuple[int, int, int]:
    px: Any = Image.open(io.BytesIO(jpeg)).convert("RGB").getpixel((x, y))
    return px  # type: ignore[no-any-return]


def test_monitor_capture_shows_the_root_colour(xvfb: str) -> None:
    src = ScreenSource(monitor=1, quality=85)
    try:
        frame = src.grab()
    finally:
        src.close()
    assert frame is not None and (frame.width, frame.height, frame.source) == (640, 480, "screen")
    r, g, b = rgb_at(frame.jpeg, 320, 240)
    assert r > 240 and g < 15 and b < 15


def test_region_capture_has_the_region_size(xvfb: str) -> None:
    src = ScreenSource(region=(10, 20, 100, 50))
    try:
        frame = src.grab()
    finally:
        src.close()
    assert frame is not None and (frame.width, frame.height) == (100, 50)


@pytest.mark.parametrize("xvfb", ["2048x1536x24"], indirect=True)
def test_big_screen_is_downscaled_to_1024(xvfb: str) -> None:
    src = ScreenSource(monitor=1)
    try:
        frame = src.grab()
    finally:
        src.close()
    assert frame is not None and (frame.width, frame.height) == (1024, 768)
    assert rgb_at(frame.jpeg, 512, 384)[0] > 240


def test_missing_monitor_lists_the_monitors(xvfb: str) -> None:
    src = ScreenSource(monitor=5)
    with pytest.raises(UserError, match=r"--screen 5: no such monitor; monitors: 0: 640x480, 1: 640x480"):
        src.grab()
    src.close()


def test_no_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":99999")
    with pytest.raises(UserError, match="screen share: no display to capture"):
        ScreenSource().grab()


async def test_bridge_streams_the_screen_to_the_session(xvfb: str) -> None:
    sent: list[tuple[bytes, int, int, str]] = []

    class Session:
        async def send_frame(self, jpeg: bytes, *, width: int, height: int, source: str) -> None:
            sent.append((jpeg, width, height, source))

        async def send_audio(self, pcm16k: bytes) -> None:
            raise AssertionError("audio is off")

        async def audio_stream_end(self) -> None: ...

        def note_action(self, name: str, **data: Any) -> None: ...

    b = MediaBridge(AudioSettings(enabled=False), VideoSettings(source="screen", monitor=1, fps=5.0))
    await b.start(Session())
    try:
        async with asyncio.timeout(10):
            while len(sent) < 2:
                await asyncio.sleep(0.02)
    finally:
        await b.stop()
    assert {(w, h, s) for _, w, h, s in sent} == {(640, 480, "screen")}
    assert b.latest_frame is not None and b.latest_frame.jpeg in [j for j, *_ in sent]
