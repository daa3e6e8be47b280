"""Pilot tests of the live screen: the real App and the real LiveSession against the demo mock over loopback TLS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import ContentSwitcher

from tests.ui.fakes import FakeSoundDevice, fake_bridge_media, mock_endpoint, scripted_voice
from tests.ui.waits import until as _until
from tui.app.main import LiveApp, create_app
from tui.app.ports import NullMedia
from tui.app.screens.dialogs import SettingsDialog
from tui.app.widgets.level_meter import LevelMeter
from tui.config import Settings

pytestmark = pytest.mark.timeout(60)


def _settings(**overrides: Any) -> Settings:
    return Settings(api_key="test-key", demo=False, **overrides)


def _app(settings: Settings | None = None, **kwargs: Any) -> LiveApp:
    kwargs.setdefault("media_factory", lambda s, notice: NullMedia())
    kwargs.setdefault("endpoint", mock_endpoint())
    app = create_app(settings or _settings(session={"modality": "TEXT"}), **kwargs)
    # Every notification shown, kept (toasts expire on screen after a few seconds).
    app.seen_notifications = []  # type: ignore[attr-defined]
    notify = app.notify

    def record(message: str, **kw: Any) -> None:
        app.seen_notifications.append((message, kw.get("title", ""), kw.get("severity", "information")))  # type: ignore[attr-defined]
        notify(message, **kw)

    app.notify = record  # type: ignore[method-assign]
    return app


def _notes(app: LiveApp) -> list[tuple[str, str, str]]:
    """(message, title, severity) of every notification so far."""
    return list(app.seen_notifications)  # type: ignore[attr-defined]


def _transcript(app: LiveApp) -> str:
    return "\n".join(app.live_screen.transcript.plain_lines())


def _connected(app: LiveApp) -> bool:
    return app.session is not None and bool(getattr(app.session, "connected", False))


async def _say(pilot: Any, text: str) -> None:
    await pilot.click("#prompt")
    await pilot.press(*text, "enter")


async def test_typed_question_streams_a_reply_and_a_tool_call() -> None:
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: _connected(app))
        screen = app.live_screen
        assert screen.status_bar.info.state == "connected"
        assert not screen.query_one("#demo-banner").has_class("-hidden"), "the demo notice must be shown"
        await _say(pilot, "what is the weather in Paris?")
        await _until(pilot, lambda: "get_weather" in _transcript(app) and "✓" in _transcript(app))
        await _until(pilot, lambda: "(offline demo)" in _transcript(app))
        text = _transcript(app)
        assert "you (typed)" in text and "what is the weather in Paris?" in text
        assert "gemini" in text
        assert "⚙ ✓ get_weather(city='Paris')" in text
        # The call is shown where it happened: before the answer its result made possible, not after it.
        lines = text.splitlines()
        tool_line = next(i for i, line in enumerate(lines) if "get_weather(" in line)
        answer_line = next(i for i, line in enumerate(lines) if "(offline demo)" in line)
        assert tool_line < answer_line, lines
        calls = screen.tool_calls.calls
        assert [(c.name, c.status, c.args) for c in calls.values()] == [("get_weather", "ok", {"city": "Paris"})]
        assert calls[next(iter(calls))].duration_ms is not None
        # the protocol log saw the frames both ways, the tool call and its response among them
        await pilot.press("f7", "f7")
        assert screen.query_one("#panes", ContentSwitcher).current == "protocol-log"
        log = "\n".join(screen.protocol_log.plain_lines())
        assert "→ setup model=" in log and "← setupComplete" in log
        assert "← toolCall get_weather" in log and "→ toolResponse get_weather" in log


async def test_bindings_switch_panes_filter_the_log_and_honour_the_keymap() -> None:
    app = _app(_settings(session={"modality": "TEXT"}, ui={"keymap": {"switch-pane": "ctrl+o"}}))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: _connected(app))
        switcher = app.live_screen.query_one("#panes", ContentSwitcher)
        assert switcher.current == "transcript"
        await pilot.press("ctrl+o")
        assert switcher.current == "tool-calls"
        await pilot.press("f7")  # remapped away: F7 no longer switches
        assert switcher.current == "tool-calls"
        await pilot.press("f8")  # the log filter shows the log and cycles all → conversation
        assert switcher.current == "protocol-log"
        log = app.live_screen.protocol_log
        assert log.filter == "conversation"
        await _say(pilot, "hello there")
        await _until(pilot, lambda: "(offline demo)" in _transcript(app))
        sent = ("clientContent 'hello there'", "realtimeInput text")
        await _until(pilot, lambda: any(s in line for line in log.plain_lines() for s in sent))
        lines = log.plain_lines()
        assert not any("setup model=" in line for line in lines), "session frames are filtered out"
        await pilot.press("f8")
        assert log.filter == "tools"
        assert not any("hello there" in line for line in log.plain_lines())
        await pilot.press("f8")
        assert log.filter == "all"
        assert any("setup model=" in line for line in log.plain_lines())


async def test_every_binding_is_in_the_command_palette() -> None:
    app = _app()
    async with app.run_test(size=(80, 24)):
        titles = {cmd.title for cmd in app.get_system_commands(app.screen)}
    for title in ("Toggle microphone", "Toggle camera", "Toggle screen share", "Toggle recording", "Interrupt"):
        assert title in titles
    assert {"Switch pane", "Audio devices", "Session settings"} <= titles


async def test_no_audio_device_says_so_and_runs_text_only() -> None:
    empty = FakeSoundDevice()
    empty._devices = []  # PortAudio present, no device at all
    app = _app(media_factory=fake_bridge_media(empty))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: _connected(app))
        await _until(pilot, lambda: any("audio" in m.lower() for m, _, _ in _notes(app)))
        mic = app.live_screen.query_one("#mic-meter", LevelMeter)
        await _until(pilot, lambda: "no device" in mic.render_text() and "text-only" in mic.render_text())
        assert "no audio" in _transcript(app).lower()
        await _say(pilot, "hello")
        await _until(pilot, lambda: "(offline demo)" in _transcript(app))


async def test_meters_show_true_levels_and_an_interrupted_turn_says_how_much_was_heard() -> None:
    sd = FakeSoundDevice(scripted_voice(16000, speak_s=1.0, period_s=4.0))
    app = _app(_settings(), media_factory=fake_bridge_media(sd), endpoint=mock_endpoint(pace=1.0))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: _connected(app))
        mic = app.live_screen.query_one("#mic-meter", LevelMeter)
        model = app.live_screen.query_one("#model-meter", LevelMeter)
        mic_levels: list[float] = []
        model_speaking = False
        for _ in range(160):
            await pilot.pause(0.05)
            if mic.reading.level_db is not None:
                mic_levels.append(mic.reading.level_db)
            model_speaking = model_speaking or model.reading.speaking
            if "interrupted" in _transcript(app):
                break
        # The scripted voice is a -18 dBFS RMS tone: the meter shows that level, not just "talking".
        assert max(mic_levels) == pytest.approx(-18.0, abs=1.5)
        assert min(mic_levels) < -50, "between bursts the meter falls back"
        assert model_speaking
        text = _transcript(app)
        assert "you (spoken)" in text
        assert "■ interrupted · heard" in text  # the next burst barged in; played vs generated is shown


async def test_connection_lost_is_notified_and_the_session_comes_back() -> None:
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: _connected(app))
        await _say(pilot, "my name is Ada")  # a finished turn hands out a resumption handle
        await _until(pilot, lambda: app.live_screen.status_bar.info.resumable)
        await _say(pilot, "tell me a story mock:drop")
        await _until(pilot, lambda: any("Connection lost (code 1006" in m for m, _, _ in _notes(app)))
        await _until(pilot, lambda: app.live_screen.status_bar.info.state == "connected" and _connected(app))
        titles = {title for _, title, _ in _notes(app)}
        assert {"Resuming", "Resumed"} <= titles
        await _say(pilot, "what is my name?")  # resumed with memory: the demo still knows
        await _until(pilot, lambda: "Your name is Ada" in _transcript(app))


async def test_bad_key_ends_the_session_with_one_clear_notification() -> None:
    app = _app(endpoint=mock_endpoint(require_key="the-right-key"))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.live_screen.status_bar.info.state == "failed", timeout=20)
        errors = [m for m, _, severity in _notes(app) if severity == "error"]
        assert len(errors) == 1
        assert "key" in errors[0].lower()
        assert "test-key" not in errors[0], "the key itself is never shown"


async def test_recording_toggle_writes_a_readable_file_and_shows_rec(tmp_path: Path) -> None:
    from tui.recording.reader import read_recording

    target = tmp_path / "ui.glrec"
    app = _app(_settings(session={"modality": "TEXT"}, recording={"path": target}))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: _connected(app))
        await pilot.press("f5")
        assert app.recorder is not None
        await _say(pilot, "hello recorder")
        await _until(pilot, lambda: "(offline demo)" in _transcript(app))
        app.live_screen.poll_status()
        assert "REC" in app.live_screen.status_bar._text().plain
        await pilot.press("f5")
        await _until(pilot, lambda: app.recorder is None)
        app.live_screen.poll_status()
        assert "REC" not in app.live_screen.status_bar._text().plain
    recording = read_recording(target)
    assert any(
        b"hello recorder" in (f.data if isinstance(f.data, bytes) else f.data.encode()) for f in recording.frames
    )


async def test_settings_dialog_changes_the_model_and_reconnects() -> None:
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: _connected(app))
        first = app.session
        await pilot.press("f10")
        await _until(pilot, lambda: isinstance(app.screen, SettingsDialog) and app.screen.query_one("#model").has_focus)
        model = app.screen.query_one("#model")
        model.value = "models/gemini-other-live"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await _until(pilot, lambda: app.settings.session.model == "models/gemini-other-live")
        await _until(pilot, lambda: app.session is not None and app.session is not first and _connected(app))
        assert "gemini-other-live" in app.live_screen.status_bar._text().plain


async def test_settings_first_opens_the_dialog_before_connecting() -> None:
    app = _app(_settings(session={"modality": "TEXT"}, ui={"settings_first": True}))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, SettingsDialog))
        await pilot.pause(0.3)
        assert app.session is None, "nothing connects while the settings are being edited"
        dialog = app.screen
        dialog.query_one("#system").value = "Answer in French."  # type: ignore[attr-defined]
        dialog.query_one("#system").focus()
        await pilot.press("enter")
        await _until(pilot, lambda: _connected(app))
        assert app.settings.session.system_instruction == "Answer in French."


async def test_device_picker_switches_devices_without_dropping_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.widgets import Button, OptionList

    import tui.media.devices as devices

    fake = FakeSoundDevice()
    original = devices.list_devices
    monkeypatch.setattr(devices, "list_devices", lambda sd=None: original(fake))
    app = _app(media_factory=fake_bridge_media(fake))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: _connected(app))
        first = app.session
        await pilot.press("f9")
        await _until(pilot, lambda: len(app.screen.query_one("#input", OptionList).options) == 2)
        inputs = app.screen.query_one("#input", OptionList)
        assert "Fake Mic" in str(inputs.get_option_at_index(1).prompt)
        inputs.focus()
        inputs.highlighted = 1
        await pilot.press("enter")
        app.screen.query_one("#apply", Button).press()
        await _until(pilot, lambda: any(m == "Audio devices switched." for m, _, _ in _notes(app)))
        assert app.settings.audio.input_device == "0"
        bridge = app.media.bridge  # type: ignore[union-attr]
        assert bridge.audio_settings.input_device == "0" and bridge.mic is not None and bridge.mic.running
        assert app.session is first and _connected(app), "switching devices keeps the conversation"


async def test_go_away_counts_down_then_resumes() -> None:
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: _connected(app))
        screen = app.live_screen
        after_go_away: list[str] = []
        show = screen.show_event

        def spy(event: Any) -> None:
            show(event)
            if type(event).__name__ == "GoAway":
                after_go_away.append(screen.status_bar._text().plain)

        screen.show_event = spy  # type: ignore[method-assign]
        await _say(pilot, "my name is Ada")
        await _until(pilot, lambda: screen.status_bar.info.resumable)
        await _say(pilot, "goaway")
        await _until(pilot, lambda: any(title == "Resumed" for _, title, _ in _notes(app)), timeout=30)
        assert after_go_away and "goAway 10s →resume" in after_go_away[0]
        assert any(title == "goAway" for _, title, _ in _notes(app))
        assert not any("Connection lost" in m for m, _, _ in _notes(app)), "a planned move is not a lost connection"
        await _until(pilot, lambda: _connected(app) and screen.status_bar.info.go_away_left_s is None)
        await _say(pilot, "what is my name?")
        await _until(pilot, lambda: "Your name is Ada" in _transcript(app))


async def test_camera_and_screen_toggles_say_why_when_there_is_no_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    app = _app(media_factory=fake_bridge_media(FakeSoundDevice()))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: _connected(app))
        await pilot.press("f4")
        await _until(pilot, lambda: any("no display" in m and s == "warning" for m, _, s in _notes(app)))
        await pilot.press("f3")
        await _until(pilot, lambda: any("camera" in m and s == "warning" for m, _, s in _notes(app)))
        assert app.live_screen.frame_preview.frames_shown == 0
        await _say(pilot, "still there?")
        await _until(pilot, lambda: "(offline demo)" in _transcript(app))


async def test_recording_switched_on_mid_session_replays_from_that_point(tmp_path: Path) -> None:
    from tests.unit.test_replay import copy_recording
    from tui.recording.format import Frame, Input, Open
    from tui.recording.reader import read_recording
    from tui.replay.check import CheckOptions, check

    target = tmp_path / "mid.glrec"
    app = _app(_settings(session={"modality": "TEXT"}, recording={"path": target}))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: _connected(app))
        await _say(pilot, "before the recording")
        await _until(pilot, lambda: "(offline demo)" in _transcript(app))
        replies = _transcript(app).count("(offline demo)")
        await pilot.press("f5")  # the user notices something and starts recording now
        assert app.recorder is not None
        await _say(pilot, "while recording")
        await _until(pilot, lambda: _transcript(app).count("(offline demo)") > replies)
        await pilot.press("f5")
        await _until(pilot, lambda: app.recorder is None)
    raw = target.read_bytes()
    assert b"test-key" not in raw, "the key in the connection's URL/headers never reaches the file"
    recording = read_recording(target)
    first = recording.records[:3]
    assert isinstance(first[0], Open)
    assert [type(r) for r in first[1:]] == [Frame, Frame]
    assert b'"setup"' in first[1].data if isinstance(first[1].data, bytes) else '"setup"' in first[1].data
    texts = [r.data.get("text") for r in recording.records if isinstance(r, Input) and r.kind == "text"]
    assert texts == ["while recording"], "only what happened after F5 is in the file"
    result = await check(target, CheckOptions(wait_s=10))
    assert result.ok, (result.divergences, result.problems)

    # The check is real: the same file with the typed turn changed fails (the client sends what the user typed).
    def retype(_i: int, r: Any) -> bool:
        if isinstance(r, Input) and r.kind == "text":
            r.data["text"] = "something else"
        return True

    changed = copy_recording(target, tmp_path / "changed.glrec", retype)
    assert not (await check(changed, CheckOptions(wait_s=5))).ok
