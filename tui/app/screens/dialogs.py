"""Modal dialogs: session settings (model, modality, voice, system instruction) and the audio device picker.

Both return new ``Settings`` (or None when cancelled); the app reconnects with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from tui.config import Settings

VOICES: tuple[str, ...] = ("Puck", "Charon", "Kore", "Fenrir", "Aoede", "Leda", "Orus", "Zephyr")
"""Prebuilt voices offered in the picker (any name can be typed with ``--voice``)."""


class SettingsDialog(ModalScreen["Settings | None"]):
    """Edit what the next connection asks for."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog-cancel")]

    def __init__(self, settings: Settings, *, connected: bool) -> None:
        super().__init__()
        self.settings = settings
        self.connected = connected

    def compose(self) -> ComposeResult:
        s = self.settings.session
        voices = list(VOICES)
        if s.voice and s.voice not in voices:
            voices.insert(0, s.voice)
        with VerticalScroll(classes="dialog"):
            if self.connected:
                yield Label(
                    "Applying starts a new connection (a new conversation) with these settings.", classes="dialog-note"
                )
            yield Label("Model")
            yield Input(s.model, id="model")
            yield Label("Response modality")
            yield Select([("Audio", "AUDIO"), ("Text", "TEXT")], value=s.modality, allow_blank=False, id="modality")
            yield Label("Voice")
            yield Select(
                [("(server default)", ""), *[(v, v) for v in voices]],
                value=s.voice or "",
                allow_blank=False,
                id="voice",
            )
            yield Label("System instruction")
            yield Input(s.system_instruction or "", placeholder="(none)", id="system")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Apply", variant="primary", id="apply")

    def on_mount(self) -> None:
        self.query_one("#model", Input).focus()

    def result(self) -> Settings:
        """The settings with the dialog's values."""
        model = self.query_one("#model", Input).value.strip() or self.settings.session.model
        modality = self.query_one("#modality", Select).value
        voice = self.query_one("#voice", Select).value
        system = self.query_one("#system", Input).value.strip()
        session = self.settings.session.model_copy(
            update={
                "model": model,
                "modality": modality if modality in ("AUDIO", "TEXT") else self.settings.session.modality,
                "voice": str(voice) if voice else None,
                "system_instruction": system or None,
            }
        )
        return self.settings.model_copy(update={"session": session})

    @on(Button.Pressed, "#apply")
    @on(Input.Submitted)
    def _apply(self) -> None:
        self.dismiss(self.result())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class DevicePickerDialog(ModalScreen["Settings | None"]):
    """Pick the microphone and the speaker from PortAudio's device list (listed in a thread)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog-cancel")]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self._choice: dict[str, str | None] = {
            "input": settings.audio.input_device,
            "output": settings.audio.output_device,
        }

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label("Listing audio devices…", id="device-status")
            yield Label("Microphone")
            yield OptionList(id="input")
            yield Label("Speaker")
            yield OptionList(id="output")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Use these", variant="primary", id="apply")

    def on_mount(self) -> None:
        self._list_devices()

    @work(thread=True, group="devices", exclusive=True, exit_on_error=False, description="list audio devices")
    def _list_devices(self) -> None:
        # PortAudio enumeration blocks (and loads the library): a thread, with the result handed back to the loop.
        try:
            from tui.media.devices import list_devices

            devices: list[Any] = list_devices()
            problem = None
        except Exception as exc:
            devices, problem = [], str(exc)
        self.post_message(self.DevicesListed(devices, problem))

    @dataclass
    class DevicesListed(Message):
        """The thread worker finished listing devices."""

        devices: list[Any]
        problem: str | None

    @on(DevicesListed)
    def _show_devices(self, event: DevicesListed) -> None:
        devices, problem = event.devices, event.problem
        status = self.query_one("#device-status", Label)
        if problem:
            status.update(f"No audio devices: {problem}")
            return
        status.update(f"{len(devices)} devices. Enter picks; Apply reconnects.")
        for kind in ("input", "output"):
            options = self.query_one(f"#{kind}", OptionList)
            options.clear_options()
            options.add_option(Option("(system default)", id=f"{kind}:"))
            for d in devices:
                if d.has(kind):
                    default = " (default)" if (d.default_input if kind == "input" else d.default_output) else ""
                    options.add_option(Option(f"{d.index}: {d.name} [{d.hostapi}]{default}", id=f"{kind}:{d.index}"))

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        kind, _, value = (event.option.id or ":").partition(":")
        self._choice[kind] = value or None

    @on(Button.Pressed, "#apply")
    def _apply(self) -> None:
        audio = self.settings.audio.model_copy(
            update={"input_device": self._choice["input"], "output_device": self._choice["output"]}
        )
        self.dismiss(self.settings.model_copy(update={"audio": audio}))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
