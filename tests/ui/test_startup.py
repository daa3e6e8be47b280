"""The app paints before its settings exist: the loader runs after the first frame, bad values exit cleanly."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.ui.fakes import mock_endpoint
from tests.ui.pty_cli import run_cli_in_pty
from tests.ui.waits import until as _until
from tui.app.main import create_app
from tui.app.ports import NullMedia
from tui.app.widgets.level_meter import LevelMeter
from tui.config import Settings

pytestmark = pytest.mark.timeout(60)


async def test_the_screen_is_up_before_the_settings_and_takes_them_when_they_arrive() -> None:
    release = threading.Event()

    def load() -> Settings:
        assert release.wait(10), "the test never released the loader"
        return Settings(
            api_key="test-key",
            demo=False,
            session={"modality": "TEXT", "model": "models/from-the-config"},
            ui={"meter_hz": 4.0, "protocol_log_max": 50, "transcript_max_turns": 7, "thumbnails": "none"},
        )

    app = create_app(
        None,
        load_settings=load,
        model_hint="models/from-the-flag",
        media_factory=lambda s, notice: NullMedia(),
        endpoint=mock_endpoint(),
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.first_paint_at is not None)
        screen = app.live_screen
        # Painted and usable while the settings are still being built: the prompt, the model the flag named.
        await _until(
            pilot,
            lambda: screen.query_one("#prompt").has_focus and "from-the-flag" in screen.status_bar.render().plain,
        )
        assert app.session is None
        mic = screen.query_one("#mic-meter", LevelMeter).render_text()
        assert "starting" in mic and "no device" not in mic, "nothing is known to be wrong before the session"
        await pilot.press("f10")  # needs the settings: says it is still starting instead of failing
        await _until(pilot, lambda: any("Still starting" in n.message for n in app._notifications))
        assert app.screen_stack == [screen], "no dialog opens without settings"
        release.set()
        await _until(pilot, lambda: app.session is not None and bool(getattr(app.session, "connected", False)))
        assert "from-the-config" in screen.status_bar.render().plain
        # The UI section of the settings reached the screen built with the defaults.
        assert screen.meter_hz == 4.0
        assert screen.protocol_log.entries.maxlen == 50
        assert screen.transcript.state.max_turns == 7
        assert screen.frame_preview.pictures is False


async def test_invalid_configuration_exits_with_2_and_keeps_the_error() -> None:
    app = create_app(None, load_settings=lambda: Settings(video={"fps": 50}), endpoint=mock_endpoint())
    async with app.run_test(size=(80, 24)):
        # Poll with a plain sleep: the app is shutting down once the error is known, and pilot.pause() waits for
        # every widget to drain its queue, which a closing screen may never do (seen as a 30 s timeout in CI).
        deadline = asyncio.get_running_loop().time() + 15.0
        while app.return_code is None:
            assert asyncio.get_running_loop().time() < deadline, "the app never exited on a bad configuration"
            await asyncio.sleep(0.02)
    assert app.return_code == 2
    assert isinstance(app.startup_error, ValidationError)
    assert app.session is None, "nothing connects with a bad configuration"


def test_the_tui_says_a_bad_value_in_one_line_and_exits_2(tmp_path: Path) -> None:
    # The real CLI on a real terminal: the app starts, the settings fail after the first frame, the terminal is
    # restored and the same single line as the headless path is printed.
    code, out = run_cli_in_pty(["--demo", "--no-audio", "--fps", "50"], {}, tmp_path)
    assert code == 2
    assert "gemini-live: invalid configuration: video.fps" in out
    assert "Traceback" not in out


def test_the_tui_says_a_bad_environment_value_in_one_line(tmp_path: Path) -> None:
    code, out = run_cli_in_pty(["--demo", "--no-audio"], {"GEMINI_TUI_UI__METER_HZ": "fast"}, tmp_path)
    assert code == 2
    assert "gemini-live: invalid configuration: ui.meter_hz" in out
    assert "Traceback" not in out


async def test_no_audio_says_audio_is_off_by_choice_without_a_warning() -> None:
    from tui.app.media_adapter import bridge_media

    app = create_app(
        Settings(api_key="test-key", demo=False, audio={"enabled": False}, session={"modality": "TEXT"}),
        media_factory=bridge_media,
        endpoint=mock_endpoint(),
    )
    seen: list[tuple[str, str]] = []
    notify = app.notify

    def record(message: str, **kw: Any) -> None:
        seen.append((message, kw.get("severity", "information")))
        notify(message, **kw)

    app.notify = record  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.session is not None and bool(getattr(app.session, "connected", False)))
        await _until(pilot, lambda: "Audio is off (--no-audio)" in "\n".join(app.live_screen.transcript.plain_lines()))
        meter = app.live_screen.query_one("#mic-meter", LevelMeter)
        await _until(pilot, lambda: "--no-audio" in meter.render_text())
        mic = meter.render_text()
        assert "off" in mic and "no device" not in mic
        assert not any(sev in ("warning", "error") for _, sev in seen), seen
        assert "no audio device" not in "\n".join(app.live_screen.transcript.plain_lines()).lower()
        await pilot.press("f2")
        await _until(pilot, lambda: bool(seen) and "--no-audio" in seen[-1][0])
        assert seen[-1][1] == "information"
