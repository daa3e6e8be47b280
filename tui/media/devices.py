"""Audio devices: load PortAudio lazily, list devices, resolve ``--input-device``/``--output-device``, probe SSH audio.

Invariants:
- ``sounddevice`` is imported only inside ``load_sounddevice`` (never at module import), so the core and a
  text-only run never load PortAudio. A missing library or device becomes an ``AudioUnavailable`` (a
  ``UserError``) whose message says what to install or select; the app turns it into one notice and runs
  text-only.
- Over SSH, a forwarded PulseAudio/PipeWire server (``PULSE_SERVER`` or the pulse native socket under
  ``XDG_RUNTIME_DIR``) is probed with a short, bounded connect; when it answers and PortAudio offers a ``pulse``
  device, that device is the default.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tui.errors import UserError

Kind = Literal["input", "output"]

INSTALL_HINT = (
    "install the PortAudio library (Debian/Ubuntu: apt install libportaudio2; Fedora: dnf install portaudio; "
    "macOS: brew install portaudio), or run with --no-audio"
)


class AudioUnavailable(UserError):
    """No PortAudio library, no usable device, or a device that would not open. Text-only still works."""


_ALSA_HANDLER: Any = None
"""Keeps the ctypes callback alive for as long as ALSA may call it."""


def _quiet_alsa() -> None:
    """Stop alsa-lib printing to the terminal (fd 2) behind the UI's back.

    PortAudio's device scan and every xrun make alsa-lib print lines such as ``ALSA lib pcm.c:8570:
    (snd_pcm_recover) underrun occurred`` straight to stderr, which scribbles over a full-screen TUI. Underruns are
    counted by the speaker and device problems become notices, so the library's own printing is switched off.
    Best effort: any failure leaves alsa-lib as it was.
    """
    global _ALSA_HANDLER
    if _ALSA_HANDLER is not None or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("asound")
        if name is None:
            return
        lib = ctypes.CDLL(name)
        # snd_lib_error_handler_t is variadic; a handler that ignores everything may declare the fixed part only.
        handler_type = ctypes.CFUNCTYPE(
            None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
        )
        handler = handler_type(lambda *_: None)
        lib.snd_lib_error_set_handler(handler)
        _ALSA_HANDLER = handler
    except (OSError, AttributeError):
        return


def load_sounddevice() -> Any:
    """Import ``sounddevice`` (loading PortAudio), or raise ``AudioUnavailable`` saying what to install."""
    _quiet_alsa()  # before PortAudio initialises: its device scan is the noisiest part
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio cannot be found or loaded
        raise AudioUnavailable(f"no audio: the PortAudio library could not be loaded ({exc}); {INSTALL_HINT}") from None
    except ImportError:
        raise AudioUnavailable(
            "no audio: the sounddevice package is not installed (pip install sounddevice); or run with --no-audio"
        ) from None
    return sounddevice


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One PortAudio device as the picker and ``--list-devices`` show it."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    default_input: bool = False
    default_output: bool = False

    def has(self, kind: Kind) -> bool:
        return (self.max_input_channels if kind == "input" else self.max_output_channels) > 0


def list_devices(sd: Any | None = None) -> list[DeviceInfo]:
    """All PortAudio devices (raises ``AudioUnavailable`` without PortAudio)."""
    sd = sd if sd is not None else load_sounddevice()
    hostapis = [str(h["name"]) for h in sd.query_hostapis()]
    default_in, default_out = (int(v) if v is not None else -1 for v in sd.default.device)
    out = []
    for d in sd.query_devices():
        index = int(d["index"])
        api = int(d["hostapi"])
        out.append(
            DeviceInfo(
                index=index,
                name=str(d["name"]),
                hostapi=hostapis[api] if 0 <= api < len(hostapis) else "?",
                max_input_channels=int(d["max_input_channels"]),
                max_output_channels=int(d["max_output_channels"]),
                default_samplerate=float(d["default_samplerate"]),
                default_input=index == default_in,
                default_output=index == default_out,
            )
        )
    return out


def _describe(devices: Sequence[DeviceInfo]) -> str:
    return ", ".join(f"{d.index}: {d.name!r}" for d in devices) or "none"


def resolve_device(
    spec: str | int | None, kind: Kind, devices: Sequence[DeviceInfo], *, prefer_pulse: bool = False
) -> int | None:
    """The device index for ``spec`` (an index, or a case-insensitive name substring), or None for the default.

    An exact (case-insensitive) name wins over substrings; no match or several matches raise a ``UserError``
    that lists the candidates. With no ``spec`` and ``prefer_pulse`` (a forwarded PulseAudio/PipeWire server
    answers), a device named ``pulse`` is chosen when PortAudio offers one.
    """
    usable = [d for d in devices if d.has(kind)]
    flag = f"--{kind}-device"
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        if not usable:
            raise AudioUnavailable(f"no audio {kind} device found; connect one, or run with --no-audio")
        if prefer_pulse:
            for d in usable:
                if d.name.lower() == "pulse":
                    return d.index
        if not any(d.default_input if kind == "input" else d.default_output for d in usable):
            raise AudioUnavailable(
                f"no default audio {kind} device; pick one with {flag} (candidates: {_describe(usable)})"
            )
        return None
    text = str(spec).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        for d in devices:
            if d.index == index:
                if not d.has(kind):
                    raise UserError(
                        f"{flag} {index}: {d.name!r} has no {kind} channels; candidates: {_describe(usable)}"
                    )
                return index
        raise UserError(f"{flag} {index}: no such device; candidates: {_describe(usable)}")
    needle = text.lower()
    exact = [d for d in usable if d.name.lower() == needle]
    if len(exact) == 1:
        return exact[0].index
    matches = exact or [d for d in usable if needle in d.name.lower()]
    if not matches:
        raise UserError(f"{flag} {text!r}: no {kind} device matches; candidates: {_describe(usable)}")
    if len(matches) > 1:
        raise UserError(
            f"{flag} {text!r} is ambiguous, it matches {_describe(matches)}; give an index or more of the name"
        )
    return matches[0].index


# ------------------------------------------------------------------------------------------------------ SSH


@dataclass(frozen=True, slots=True)
class RemoteAudio:
    """Whether this is an SSH session and whether a (forwarded) PulseAudio/PipeWire server answers."""

    over_ssh: bool
    server: str | None
    """The server address probed (``PULSE_SERVER`` or the socket path), or None when none is configured."""
    reachable: bool
    message: str | None
    """One line for a person (None when there is nothing to say: a local session)."""


def _probe(address: str, timeout: float) -> bool:
    """True when a PulseAudio server address (``unix:/path``, ``tcp:host:port``, ``/path`` or ``host``) answers."""
    addr = address.strip()
    # PULSE_SERVER may hold several space-separated addresses; any one answering is enough.
    if " " in addr:
        return any(_probe(a, timeout) for a in addr.split())
    if addr.startswith("{"):  # "{machine-id}unix:/path" form
        addr = addr.split("}", 1)[-1]
    try:
        if addr.startswith("unix:") or addr.startswith("/"):
            path = addr.removeprefix("unix:")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(timeout)
                s.connect(path)
            return True
        host_port = addr.removeprefix("tcp:").removeprefix("tcp4:").removeprefix("tcp6:")
        host, _, port = host_port.rpartition(":") if host_port.count(":") == 1 else (host_port, "", "")
        with socket.create_connection((host or "127.0.0.1", int(port or 4713)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def remote_audio(env: Mapping[str, str] | None = None, *, timeout: float = 0.5) -> RemoteAudio:
    """Probe for a PulseAudio/PipeWire server when running over SSH (bounded by ``timeout`` per address)."""
    env = os.environ if env is None else env
    over_ssh = any(env.get(v) for v in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"))
    server = env.get("PULSE_SERVER") or None
    if server is None:
        runtime = env.get("XDG_RUNTIME_DIR")
        if runtime:
            for name in ("pulse/native", "pipewire-0"):
                candidate = Path(runtime) / name
                if candidate.exists():
                    server = f"unix:{candidate}"
                    break
    reachable = bool(server) and _probe(server or "", timeout)
    message: str | None = None
    if over_ssh:
        if server is None:
            message = (
                "over SSH with no PulseAudio/PipeWire server: forward one (e.g. ssh -R 24713:localhost:4713 and "
                "PULSE_SERVER=tcp:localhost:24713) or use --frames/text input"
            )
        elif reachable:
            message = f"over SSH: using the forwarded audio server at {server}"
        else:
            message = f"over SSH: the audio server at {server} does not answer; check the forward, or use --no-audio"
    elif server is not None and not reachable and env.get("PULSE_SERVER"):
        message = f"PULSE_SERVER={server} does not answer"
    return RemoteAudio(over_ssh, server, reachable, message)


# ------------------------------------------------------------------------------------------------ listing


def format_devices(devices: Sequence[DeviceInfo]) -> str:
    """The ``--list-devices`` table: ``>`` marks the default input, ``<`` the default output."""
    lines = ["  #  in out    rate  host API      name"]
    for d in devices:
        mark = (">" if d.default_input else " ") + ("<" if d.default_output else " ")
        lines.append(
            f"{mark}{d.index:>2} {d.max_input_channels:>3} {d.max_output_channels:>3} "
            f"{d.default_samplerate:>7.0f}  {d.hostapi[:12]:<12}  {d.name}"
        )
    lines.append("> default input, < default output; pick with --input-device/--output-device N or a name part")
    return "\n".join(lines)


def print_devices() -> int:
    """``gemini-live --list-devices``: print the table (and the SSH audio status); 1 when there is no PortAudio."""
    remote = remote_audio()
    try:
        devices = list_devices()
    except AudioUnavailable as exc:
        print(f"gemini-live: {exc}", file=sys.stderr)
        if remote.message:
            print(f"gemini-live: {remote.message}", file=sys.stderr)
        return 1
    print(format_devices(devices))
    if not devices:
        print("no audio devices found; text input, --frames and replay still work")
    if remote.message:
        print(remote.message)
    return 0
