"""Device resolution, PortAudio loading errors and the SSH audio probe."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_media_fakes import FakeSoundDevice
from tui.errors import UserError
from tui.media import devices as dev
from tui.media.devices import AudioUnavailable, DeviceInfo, format_devices, list_devices, remote_audio, resolve_device


def info(index: int, name: str, ins: int, outs: int, *, di: bool = False, do: bool = False) -> DeviceInfo:
    return DeviceInfo(index, name, "ALSA", ins, outs, 48000.0, di, do)


DEVICES = [
    info(0, "HDA Intel PCH: ALC3246 Analog (hw:0,0)", 2, 2),
    info(1, "USB Audio Device: Mic (hw:1,0)", 1, 0),
    info(2, "pulse", 32, 32),
    info(3, "default", 32, 32, di=True, do=True),
    info(4, "USB Audio Device: Headset (hw:2,0)", 1, 2),
]


def test_index_exact_name_and_substring() -> None:
    assert resolve_device("1", "input", DEVICES) == 1
    assert resolve_device(4, "output", DEVICES) == 4
    assert resolve_device("PULSE", "output", DEVICES) == 2
    assert resolve_device("headset", "output", DEVICES) == 4  # only one USB device has outputs
    assert resolve_device(None, "input", DEVICES) is None  # PortAudio's default


def test_ambiguous_and_missing_names_list_candidates() -> None:
    with pytest.raises(UserError, match=r"--input-device 'usb' is ambiguous, it matches 1: .*4: ") as e:
        resolve_device("usb", "input", DEVICES)
    assert not isinstance(e.value, AudioUnavailable)
    with pytest.raises(UserError, match=r"no output device matches; candidates: 0: 'HDA.*'default'"):
        resolve_device("bluetooth", "output", DEVICES)
    with pytest.raises(UserError, match="has no output channels"):
        resolve_device("1", "output", DEVICES)
    with pytest.raises(UserError, match="no such device"):
        resolve_device("42", "input", DEVICES)


def test_no_device_or_no_default_is_audio_unavailable() -> None:
    with pytest.raises(AudioUnavailable, match="no audio input device found"):
        resolve_device(None, "input", [info(0, "out only", 0, 2, do=True)])
    with pytest.raises(AudioUnavailable, match="no default audio output device; pick one with --output-device"):
        resolve_device(None, "output", [info(0, "x", 0, 2)])


def test_forwarded_pulse_is_preferred_only_when_asked() -> None:
    assert resolve_device(None, "output", DEVICES, prefer_pulse=True) == 2
    assert resolve_device(None, "output", DEVICES, prefer_pulse=False) is None


def test_list_and_format_from_sounddevice() -> None:
    listed = list_devices(FakeSoundDevice())
    assert [(d.index, d.name, d.default_input, d.default_output) for d in listed] == [
        (0, "USB Mic", True, False),
        (1, "Speakers", False, True),
    ]
    table = format_devices(listed)
    assert ">  0   1   0   48000  ALSA          USB Mic" in table
    assert " < 1   0   2   44100  ALSA          Speakers" in table


class _Boom:
    """A meta-path finder that fails like sounddevice does when libportaudio is missing."""

    def find_spec(self, name: str, *_: Any) -> None:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")


@pytest.fixture
def no_portaudio(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_Boom(), *sys.meta_path])
    yield


@pytest.mark.usefixtures("no_portaudio")
def test_missing_portaudio_says_what_to_install(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(AudioUnavailable, match=r"PortAudio library could not be loaded.*apt install libportaudio2"):
        dev.load_sounddevice()
    assert dev.print_devices() == 1
    err = capsys.readouterr().err
    assert err.count("\n") >= 1 and "libportaudio2" in err and "--no-audio" in err


def test_missing_package_says_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(AudioUnavailable, match="pip install sounddevice"):
        dev.load_sounddevice()


def test_ssh_with_a_reachable_forwarded_pulse_socket(tmp_path: Path) -> None:
    path = tmp_path / "pulse" / "native"
    path.parent.mkdir()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    try:
        r = remote_audio({"SSH_CONNECTION": "10.0.0.1 5 10.0.0.2 22", "XDG_RUNTIME_DIR": str(tmp_path)})
        assert r.over_ssh and r.reachable and r.server == f"unix:{path}"
        assert r.message == f"over SSH: using the forwarded audio server at unix:{path}"
    finally:
        server.close()
    r = remote_audio({"SSH_TTY": "/dev/pts/1", "XDG_RUNTIME_DIR": str(tmp_path)})  # socket file left, nobody home
    assert r.over_ssh and not r.reachable and "does not answer" in (r.message or "")


def test_ssh_tcp_pulse_server_probe() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        r = remote_audio({"SSH_CLIENT": "x", "PULSE_SERVER": f"tcp:127.0.0.1:{port}"})
        assert r.reachable and r.server == f"tcp:127.0.0.1:{port}"
    finally:
        listener.close()
    r = remote_audio({"SSH_CLIENT": "x", "PULSE_SERVER": f"tcp:127.0.0.1:{port}"})
    assert not r.reachable


def test_ssh_without_any_server_and_local_session() -> None:
    r = remote_audio({"SSH_CONNECTION": "x"})
    assert r.over_ssh and r.server is None and "PULSE_SERVER" in (r.message or "")
    assert remote_audio({}).message is None
