"""The Textual app: ``run_app(settings)`` for ``gemini-live``, and ``create_app`` that tests reuse with fakes.

``LiveApp`` only wires: it paints first, then starts the session in a worker (``google.genai`` takes ~320 ms to
import, so it is imported in a thread after the first paint), routes session events to the media bridge and the
screen, and turns worker failures and session trouble into notifications. From the CLI it even paints before the
settings exist: pydantic costs 150-240 ms to import, so ``run_app`` takes a loader and the app calls it in a thread
after the first frame (the screen starts with the UI defaults and takes the configured ones before connecting).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from tui.app.ports import (
    EndpointFactory,
    MediaFactory,
    MediaPort,
    RecorderFactory,
    RecorderPort,
    SessionFactory,
    SessionPort,
    TeeTap,
    maybe_await,
)
from tui.app.screens.main import LiveScreen

if TYPE_CHECKING:
    from tui.config import Settings
    from tui.live import events as ev  # 27 dataclasses: loaded after the first paint, with the session

log = logging.getLogger(__name__)

BINDINGS: list[BindingType] = [
    Binding("f2", "toggle_mic", "Mic", id="toggle-mic", tooltip="Mute or unmute the microphone"),
    Binding("f3", "toggle_camera", "Camera", id="toggle-camera", show=False),
    Binding("f4", "toggle_screen", "Screen", id="toggle-screen", show=False),
    Binding("f5", "toggle_recording", "Rec", id="toggle-recording", tooltip="Start or stop recording"),
    Binding("f6", "interrupt", "Stop", id="interrupt", tooltip="Stop the model's reply now"),
    Binding("f7", "switch_pane", "Pane", id="switch-pane", tooltip="Transcript → tool calls → protocol log"),
    Binding("f8", "log_filter", "Filter", id="log-filter", show=False),
    Binding("f9", "pick_device", "Devices", id="pick-device", show=False),
    Binding("f10", "edit_settings", "Settings", id="edit-settings"),
    Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
]
"""Every binding has a kebab-case id: ``settings.ui.keymap`` remaps them (``{"toggle-mic" = "ctrl+t"}``)."""

COMMANDS_BY_ACTION: dict[str, tuple[str, str]] = {
    "toggle_mic": ("Toggle microphone", "Mute or unmute the mic"),
    "toggle_camera": ("Toggle camera", "Start or stop sending camera frames"),
    "toggle_screen": ("Toggle screen share", "Start or stop sending screen frames"),
    "toggle_recording": ("Toggle recording", "Start or stop recording the session to a file"),
    "interrupt": ("Interrupt", "Stop the model's reply now"),
    "switch_pane": ("Switch pane", "Transcript → tool calls → protocol log"),
    "log_filter": ("Protocol log filter", "conversation → tools → all"),
    "pick_device": ("Audio devices", "Pick the microphone and speaker"),
    "edit_settings": ("Session settings", "Model, modality, voice, system instruction (reconnects)"),
}


def _default_session_factory(settings: Settings, tap: Any) -> SessionPort:
    from tui.live.session import LiveSession

    return LiveSession(settings, tap=tap)


def _default_media_factory(settings: Settings, on_notice: Callable[[ev.SessionEvent], None]) -> MediaPort:
    from tui.app.media_adapter import bridge_media

    # With --no-audio the bridge still streams frames; it just opens no audio device.
    return bridge_media(settings, on_notice)


def _default_recorder_factory(settings: Settings) -> RecorderPort:
    from tui.app.recorder_adapter import open_recorder

    return open_recorder(settings)


def _default_endpoint(settings: Settings) -> contextlib.AbstractAsyncContextManager[tuple[Settings, bool]]:
    from tui.runtime import prepare_endpoint

    return prepare_endpoint(settings)  # type: ignore[no-any-return]


_heap_frozen = False


def _freeze_startup_heap() -> None:
    """Move everything alive after start-up (Textual, pydantic, google.genai: ~10^5 objects) out of the GC's reach.

    Those objects live as long as the process, yet every full collection walked them: ~100 ms on the event loop every
    ~15 s while audio streams (a visible hitch and ~0.7 % CPU). Frozen once per process: refcounting still frees
    them, only a cycle among them would be kept.
    """
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()


@asynccontextmanager
async def fixed_endpoint(settings: Settings, demo: bool = False) -> AsyncIterator[tuple[Settings, bool]]:
    """An endpoint that is already running (tests start the mock themselves)."""
    yield settings, demo


class LiveApp(App[int]):
    """``gemini-live``: wiring only. The panes live on :class:`LiveScreen`."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "gemini-live"
    BINDINGS: ClassVar[list[BindingType]] = BINDINGS
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        settings: Settings | None,
        *,
        load_settings: Callable[[], Settings] | None = None,
        model_hint: str | None = None,
        session_factory: SessionFactory = _default_session_factory,
        media_factory: MediaFactory = _default_media_factory,
        recorder_factory: RecorderFactory = _default_recorder_factory,
        endpoint: EndpointFactory = _default_endpoint,
        clock: Callable[[], float] = time.monotonic,
        preload: Iterable[str] = ("tui.live.session",),
        autostart: bool = True,
    ) -> None:
        super().__init__()
        if settings is None and load_settings is None:
            raise ValueError("LiveApp needs settings or a loader")
        self.settings: Settings
        """The settings the next connection uses (the settings dialog replaces them); set once loaded."""
        if settings is not None:
            self.settings = settings
        self._load_settings = load_settings if settings is None else None
        self._model_hint = model_hint
        self.startup_error: Exception | None = None
        """Why the settings could not be built (the app exits with 2; ``run_app`` raises it for the CLI's line)."""
        self.session_factory = session_factory
        self.media_factory = media_factory
        self.recorder_factory = recorder_factory
        self.endpoint = endpoint
        self.clock = clock
        self.preload = tuple(preload)
        self.autostart = autostart
        self.session: SessionPort | None = None
        self.media: MediaPort | None = None
        self.recorder: RecorderPort | None = None
        self.tap = TeeTap()
        self.is_demo = False
        self._media_notices = 0
        self.first_paint_at: float | None = None
        """``time.monotonic()`` of the first paint (for the start-up benchmark)."""

    # ------------------------------------------------------------------ start-up

    def get_default_screen(self) -> Screen[Any]:
        if self._load_settings is not None:
            return LiveScreen(clock=self.clock)  # the UI defaults until the settings arrive
        return LiveScreen(clock=self.clock, **self._screen_options())

    def _screen_options(self) -> dict[str, Any]:
        ui = self.settings.ui
        return {
            "max_turns": ui.transcript_max_turns,
            "log_max": ui.protocol_log_max,
            "meter_hz": ui.meter_hz,
            "thumbnails": ui.thumbnails != "none",
        }

    @property
    def live_screen(self) -> LiveScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, LiveScreen)
        return screen

    def on_mount(self) -> None:
        # The screen composes its panes after the app mounts; wire them (and start) once they are on screen.
        self.call_after_refresh(self._wire)

    def _wire(self) -> None:
        from tui.app.widgets.protocol_log import ProtocolTap

        screen = self.live_screen
        self.tap.taps = [ProtocolTap(screen.protocol_log.add)]
        screen.recording_size = lambda: self.recorder.bytes_written if self.recorder is not None else None
        # The first frame is on screen now: heavy imports (pydantic, google.genai) come after it.
        self.first_paint_at = time.monotonic()
        gc.enable()  # the CLI keeps the collector off until the first paint
        if self._load_settings is None:
            self._settings_ready()
            return
        screen.sub_title = self._model_hint or ""
        screen.status_bar.update_info(model=self._model_hint or "…", state="connecting", detail="starting")
        self.run_worker(
            self._build_settings(self._load_settings),
            name="settings",
            group="settings",
            exit_on_error=False,
            description="settings",
        )

    async def _build_settings(self, load: Callable[[], Settings]) -> None:
        try:
            settings = await asyncio.to_thread(load)
        except Exception as exc:  # a bad value: leave the terminal, then the CLI prints its one line
            self.startup_error = exc
            self.exit(2, return_code=2)
            return
        self.settings = settings
        self._load_settings = None
        self.live_screen.configure(**self._screen_options())
        self._settings_ready()

    def _settings_ready(self) -> None:
        screen = self.live_screen
        if self.settings.ui.keymap:
            self.set_keymap(dict(self.settings.ui.keymap))
        screen.sub_title = self.settings.session.model
        screen.status_bar.update_info(model=self.settings.session.model, voice=self.settings.session.voice)
        if self.settings.ui.settings_first:
            self._settings_then_connect()
        elif self.autostart:
            self.start_session()

    @work(group="dialogs", exclusive=True, exit_on_error=False, description="settings before connecting")
    async def _settings_then_connect(self) -> None:
        from tui.app.screens.dialogs import SettingsDialog

        new = await self.push_screen_wait(SettingsDialog(self.settings, connected=False))
        if new is not None:
            self.settings = new
            self.live_screen.status_bar.update_info(model=new.session.model, voice=new.session.voice)
        self.start_session()

    def start_session(self) -> None:
        """Connect (or reconnect with new settings): a new run supersedes the old one."""
        self.run_worker(
            self._session_main(),
            name="session",
            group="session",
            exclusive=True,
            exit_on_error=False,
            description="live session",
        )

    # ------------------------------------------------------------------ the session worker

    async def _session_main(self) -> None:
        screen = self.live_screen
        screen.status_bar.update_info(state="connecting", detail="starting")
        for module in self.preload:
            # google.genai is ~320 ms of imports: keep the UI responsive while they run.
            await asyncio.to_thread(importlib.import_module, module)
        async with self.endpoint(self.settings) as (settings, is_demo):
            self.is_demo = is_demo
            screen.set_demo(is_demo)
            if is_demo:
                screen.transcript.add_system("Offline demo: a scripted local mock answers, not Gemini.")
            if settings.recording.enabled and self.recorder is None:
                await self.action_toggle_recording()
            session = self.session_factory(settings, self.tap)
            self.session = session
            self._media_notices = 0
            media = self.media_factory(settings, self._media_notice)
            self.media = media
            screen.media = media
            run_task = asyncio.create_task(maybe_await(session.run()), name="live-session-run")
            try:
                await maybe_await(media.start(session))
                _freeze_startup_heap()  # after the last lazy import (SDK, media, numpy, PIL, the demo mock)
                if not settings.audio.enabled:
                    # The user's choice (--no-audio): say so once, calmly; nothing is wrong.
                    screen.transcript.add_system("Audio is off (--no-audio): text only.")
                elif media.audio_problem and not self._media_notices:
                    self.notify(f"No audio: {media.audio_problem}.", severity="warning", timeout=8, title="Audio")
                    screen.transcript.add_system(f"No audio: {media.audio_problem}.")
                async for event in session.events():
                    media.handle_event(event)
                    screen.show_event(event)
                    self._notify_for(event)
            finally:
                with contextlib.suppress(Exception):
                    await maybe_await(media.stop())
                if not run_task.done():
                    with contextlib.suppress(Exception):
                        await maybe_await(session.close())
                    with contextlib.suppress(BaseException):
                        await asyncio.wait_for(run_task, timeout=5)
                # A superseding run (new settings) may already have installed its own session.
                if self.session is session:
                    self.session = None

    def _media_notice(self, notice: ev.SessionEvent) -> None:
        """The media bridge reports a problem (no device, echo…): a notification and a transcript line."""
        from tui.live import events as ev

        if not isinstance(notice, ev.Notice):
            return
        self._media_notices += 1
        self._notify_for(notice)
        self.live_screen.transcript.add_system(notice.message, error=notice.level == "error")

    def _notify_for(self, event: ev.SessionEvent) -> None:
        """Clear notifications for what a person must know: bad key, connection lost, resuming, fatal errors."""
        from tui.live import events as ev  # loaded by then (the session made the event): a dict lookup

        match event:
            case ev.Fatal(message=message):
                self.notify(message, title="Session ended", severity="error", timeout=30)
            case ev.Disconnected(reason="goAway", will_retry=True):
                pass  # the planned move after goAway: the goAway and Resumed notes say it all
            case ev.Disconnected(code=code, reason=reason, will_retry=True):
                what = f"code {code}" if code is not None else "no close frame"
                self.notify(
                    f"Connection lost ({what}{': ' + reason if reason else ''}). Reconnecting…", severity="warning"
                )
            case ev.Connecting(resuming=True, attempt=attempt):
                self.notify(f"Resuming the session (attempt {attempt})…", title="Resuming")
            case ev.Connected(resumed=True):
                self.notify("Session resumed with its memory.", title="Resumed")
            case ev.GoAway(time_left_s=left):
                self.notify(f"Server asks to move on within {left:.0f} s: resuming.", title="goAway")
            case ev.Notice(level=level, message=message):
                self.notify(message, severity="information" if level == "info" else level)
            case _:
                pass

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """One handler turns any worker failure into a visible notification."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        from tui.errors import UserError

        message = str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
        log.error("worker %s failed: %s", event.worker.name, message, exc_info=error)
        if not self.screen_stack:
            return  # the app is closing (a worker torn down with its widgets): nothing left to show it on
        self.notify(message, title=event.worker.description or "Error", severity="error", timeout=30)
        if event.worker.group == "session":
            self.live_screen.status_bar.update_info(state="failed", detail="see notification")

    # ------------------------------------------------------------------ input

    @on(Input.Submitted, "#prompt")
    async def _send_prompt(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        event.input.value = ""
        if self.session is None:
            self.notify("Not connected yet: the message was not sent.", severity="warning")
            return
        await maybe_await(self.session.send_text(text))

    # ------------------------------------------------------------------ actions

    def _still_starting(self) -> bool:
        """True (and says so) while the settings are still being loaded, in the first few hundred ms."""
        if self._load_settings is None:
            return False
        self.notify("Still starting: try again in a moment.", severity="warning", timeout=3)
        return True

    def _note(self, name: str, **data: Any) -> None:
        if self.session is not None:
            with contextlib.suppress(Exception):
                self.session.note_action(name, **data)

    async def action_toggle_mic(self) -> None:
        media = self.media
        if media is not None and not self.settings.audio.enabled:
            self.notify("Audio is off (--no-audio): there is no microphone to mute.", timeout=3)
            return
        if media is None or media.audio_problem:
            self.notify("No microphone: running text-only.", severity="warning")
            return
        muted = not media.muted
        await maybe_await(media.set_muted(muted))  # the bridge notes the action for the recording
        self.notify("Microphone muted." if muted else "Microphone live.", timeout=2)

    def _toggle_video(self, source: str) -> None:
        media = self.media
        state = media.toggle_video(source) if media is not None else None
        if state is None:
            self.notify(f"No {source} source available.", severity="warning")
            return
        self._note(source, on=state)
        self.notify(f"{source.capitalize()} {'on' if state else 'off'}.", timeout=2)

    def action_toggle_camera(self) -> None:
        self._toggle_video("camera")

    def action_toggle_screen(self) -> None:
        self._toggle_video("screen")

    async def action_toggle_recording(self) -> None:
        if self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            self._note("recording", on=False)
            self.tap.recorder = None
            with contextlib.suppress(Exception):
                await asyncio.to_thread(recorder.close)  # drains and fsyncs: never on the event loop
            self.notify(f"Recording saved: {recorder.path}", title="Recording", timeout=8)
            return
        if self._still_starting():
            return
        try:
            recorder = self.recorder_factory(self.settings)
        except Exception as exc:
            self.notify(f"Cannot record: {exc}", severity="error")
            return
        self.recorder = recorder
        self.tap.recorder = recorder
        self._note("recording", on=True)
        self.notify(f"Recording to {recorder.path}", title="Recording", timeout=4)

    def action_interrupt(self) -> None:
        if self.media is not None:
            self.media.interrupt()
        self._note("interrupt")
        self.live_screen.transcript.add_system("■ you stopped the reply")

    def action_switch_pane(self) -> None:
        self.live_screen.next_pane()

    def action_log_filter(self) -> None:
        screen = self.live_screen
        screen.show_pane("protocol-log")
        value = screen.protocol_log.cycle_filter()
        self.notify(f"Protocol log: {value}", timeout=2)

    @work(group="dialogs", exclusive=True, exit_on_error=False, description="device picker")
    async def action_pick_device(self) -> None:
        from tui.app.screens.dialogs import DevicePickerDialog

        if self._still_starting():
            return
        choice = await self.push_screen_wait(DevicePickerDialog(self.settings))
        if choice is None:
            return
        self.settings = choice  # later connections use them too
        media = self.media
        if media is None:
            return
        from tui.errors import UserError

        audio = choice.audio
        try:
            # The conversation goes on: only the devices are reopened.
            await maybe_await(media.set_devices(input_device=audio.input_device, output_device=audio.output_device))
        except UserError as exc:
            self.notify(str(exc), title="Audio devices", severity="error", timeout=10)
            return
        problem = media.audio_problem
        if problem:
            self.notify(f"No audio: {problem}", title="Audio devices", severity="warning", timeout=8)
        else:
            self.notify("Audio devices switched.", title="Audio devices", timeout=3)

    @work(group="dialogs", exclusive=True, exit_on_error=False, description="settings")
    async def action_edit_settings(self) -> None:
        from tui.app.screens.dialogs import SettingsDialog

        if self._still_starting():
            return
        new = await self.push_screen_wait(SettingsDialog(self.settings, connected=self.session is not None))
        if new is None:
            return
        self.settings = new
        screen = self.live_screen
        screen.status_bar.update_info(model=new.session.model, voice=new.session.voice)
        self.notify("Settings applied: reconnecting.", timeout=3)
        self.start_session()

    async def action_quit(self) -> None:
        if self.recorder is not None:
            await self.action_toggle_recording()
        session = self.session
        if session is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(maybe_await(session.close()), timeout=3)
        self.exit(0)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for action, (title, help_text) in COMMANDS_BY_ACTION.items():
            yield SystemCommand(title, help_text, getattr(self, f"action_{action}"))


def create_app(
    settings: Settings | None,
    *,
    load_settings: Callable[[], Settings] | None = None,
    model_hint: str | None = None,
    session_factory: SessionFactory | None = None,
    media_factory: MediaFactory | None = None,
    recorder_factory: RecorderFactory | None = None,
    endpoint: EndpointFactory | None = None,
    clock: Callable[[], float] | None = None,
    autostart: bool = True,
) -> LiveApp:
    """Build the app; every dependency can be replaced (tests pass fakes at the device edge)."""
    kwargs: dict[str, Any] = {"autostart": autostart, "load_settings": load_settings, "model_hint": model_hint}
    if session_factory is not None:
        kwargs["session_factory"] = session_factory
    if media_factory is not None:
        kwargs["media_factory"] = media_factory
    if recorder_factory is not None:
        kwargs["recorder_factory"] = recorder_factory
    if endpoint is not None:
        kwargs["endpoint"] = endpoint
    if clock is not None:
        kwargs["clock"] = clock
    return LiveApp(settings, **kwargs)


def run_app(settings: Settings | Callable[[], Settings], *, model: str | None = None) -> int:
    """Run the TUI until the user quits; the exit code for the CLI.

    ``settings`` may be a loader: it runs after the first paint, and if it raises (invalid configuration) the app
    exits and the error is raised here, with the terminal restored, for the CLI to print as one line. ``model`` is
    shown in the status bar until the settings are loaded.
    """
    from tui import paths

    # The TUI owns the terminal: log to a file, never to stdout/stderr.
    handler = logging.FileHandler(paths.log_dir() / "gemini-live.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    app = create_app(None, load_settings=settings, model_hint=model) if callable(settings) else create_app(settings)
    try:
        result = app.run()
    finally:
        gc.enable()  # also when the app never painted
    if app.startup_error is not None:
        raise app.startup_error
    return int(result or 0) if app.return_code in (None, 0) else int(app.return_code or 1)
