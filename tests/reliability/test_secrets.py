"""Secrets: the API key never reaches a recording (header and ``?key=`` forms), a log, the headless output or the
TUI's screen; recordings are 0600; the mock binds loopback unless told otherwise.

The mock requires the key (``require_key``), so every passing session proves the key really crossed the wire and
the redaction had something to remove. Each check also looks for something that IS there (the redaction marker, the
setup frame on screen), so a check that looks in the wrong place fails instead of passing vacuously.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.harness import KEY, Driver, mock_server, settings_for
from tui.config import Settings
from tui.errors import UserError
from tui.live import events as ev
from tui.mock.server import MockOptions, serve_mock
from tui.recording.format import Open
from tui.recording.reader import read_recording

ROOT = Path(__file__).resolve().parents[2]


def key_forms(key: str = KEY) -> list[bytes]:
    raw = key.encode()
    return [
        raw,
        urllib.parse.quote(key, safe="").encode(),
        base64.b64encode(raw).rstrip(b"="),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
        raw[::-1],  # not a leak form, but catches a key written reversed by mistake
    ]


def assert_no_key(blob: bytes | str, where: str) -> None:
    data = blob.encode() if isinstance(blob, str) else blob
    for form in key_forms():
        assert form not in data, f"the API key ({form[:8]!r}…) is in {where}"


def assert_private(path: Path) -> None:
    assert path.stat().st_mode & 0o777 == 0o600, f"{path} is {oct(path.stat().st_mode & 0o777)}"


# ------------------------------------------------------------------------------------------------ recordings


async def test_header_form_never_reaches_the_recording(tmp_path: Path) -> None:
    path = tmp_path / "header.glrec"
    async with mock_server(require_key=KEY) as mock:
        async with Driver(settings_for(mock, record=path)) as d:
            await d.wait_for(ev.Connected)
            await d.turn("hello")
        assert mock.sessions[-1].request is not None and mock.sessions[-1].request.key_source == "header"
    assert_no_key(path.read_bytes(), "the recording")
    assert_private(path)
    (opened,) = [r for r in read_recording(path).records if isinstance(r, Open)]
    assert opened.headers["x-goog-api-key"] == "REDACTED"


async def test_query_form_never_reaches_the_recording(tmp_path: Path) -> None:
    """Vertex with a custom URL uses it verbatim, so a ``?key=`` in it goes out on the wire (and into ``open``)."""
    path = tmp_path / "query.glrec"
    async with mock_server(require_key=KEY) as mock:
        host = mock.base_url.split("://", 1)[1]
        url = f"wss://{host}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent?key={KEY}"
        s = Settings(
            api_key=KEY,
            vertexai=True,
            connection={"base_url": url, "ca_file": mock.ca_file, "connect_timeout_s": 5},
            session={"modality": "TEXT"},
            recording={"enabled": True, "path": path},
            audio={"enabled": False},
        )
        async with Driver(s) as d:
            await d.wait_for(ev.Connected)
            await d.turn("hello")
            assert all(KEY not in c.url for c in d.of(ev.Connecting))
    assert_no_key(path.read_bytes(), "the recording")
    assert_private(path)
    (opened,) = [r for r in read_recording(path).records if isinstance(r, Open)]
    assert "key=REDACTED" in opened.url


# ------------------------------------------------------------------------------------------------ logs


async def test_the_key_never_reaches_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # what the app writes to its log file
    caplog.set_level(logging.DEBUG, logger="tui")  # our own code, at every level
    async with (
        mock_server("close:1011#2,sessions:1", require_key=KEY) as mock,
        Driver(settings_for(mock, record=tmp_path / "a.glrec")) as d,
    ):
        await d.wait_for(ev.Connected)
        await d.turn("hello")
        await d.session.send_text("this one is answered with 1011")
        await d.wait_for(ev.Reconnecting)
        await d.wait_for(ev.Connected, after=d.events.index(d.of(ev.Reconnecting)[0]))
    async with mock_server(require_key="some-other-key") as mock:
        d = Driver(settings_for(mock))
        async with d:
            await d.run_to_end()
        (fatal,) = d.of(ev.Fatal)
        assert_no_key(fatal.message, "the fatal message")
    assert caplog.records, "nothing was logged: the check below would prove nothing"
    for record in caplog.records:
        assert_no_key(record.getMessage(), f"log line {record.name}")
        if record.exc_info:
            assert_no_key(logging.Formatter().formatException(record.exc_info), f"traceback in {record.name}")
    for e in d.events:
        assert_no_key(repr(e), f"event {type(e).__name__}")


# ------------------------------------------------------------------------------------------------ headless


async def _headless(mock: Any, stdin: str, home: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
    env.update(GEMINI_API_KEY=KEY, GEMINI_TUI_HOME=str(home), PYTHONPATH=str(ROOT))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tui",
        "--headless",
        "--base-url",
        mock.base_url,
        "--ca-file",
        str(mock.ca_file),
        "--api-version",
        "v1beta",
        "--modality",
        "TEXT",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=home,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_headless_output_recording_and_home_hold_no_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    rec = tmp_path / "headless.glrec"
    async with mock_server(require_key=KEY) as mock:
        code, out, err = await _headless(mock, "my name is Ann\nwhat is my name?\n", home, "--record", str(rec))
    assert code == 0, err
    assert "Ann" in out  # the session really ran with the key
    async with mock_server(require_key="some-other-key") as mock:
        bad, out2, err2 = await _headless(mock, "hello\n", home)
    assert bad == 1 and "error: the server rejected the API key" in out2
    for text, where in ((out, "stdout"), (err, "stderr"), (out2, "stdout"), (err2, "stderr")):
        assert_no_key(text, f"headless {where}")
    assert_no_key(rec.read_bytes(), "the headless recording")
    assert_private(rec)
    for f in home.rglob("*"):
        if f.is_file():
            assert_no_key(f.read_bytes(), f"{f.relative_to(home)} under GEMINI_TUI_HOME")


# ------------------------------------------------------------------------------------------------ TUI


async def test_the_tui_never_shows_the_key() -> None:
    textual = pytest.importorskip("textual", reason="the TUI needs textual")
    del textual
    from textual.widgets import ContentSwitcher

    from tests.ui.fakes import mock_endpoint
    from tui.app.main import create_app
    from tui.app.ports import NullMedia

    for required, expect in ((KEY, "setupComplete"), ("some-other-key", "API key")):
        settings = Settings(api_key=KEY, demo=False, session={"modality": "TEXT"})
        app = create_app(
            settings, media_factory=lambda s, notice: NullMedia(), endpoint=mock_endpoint(require_key=required)
        )
        async with app.run_test(size=(100, 30)) as pilot:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 15
            screens: list[str] = []
            while loop.time() < deadline:
                await pilot.pause(0.1)
                log = "\n".join(app.live_screen.protocol_log.plain_lines())
                if expect in log or expect in app.export_screenshot():
                    break
            else:
                raise AssertionError(f"never saw {expect!r}")
            if required == KEY:
                await pilot.click("#prompt")
                await pilot.press(*"hello", "enter")
                await pilot.pause(0.5)
            screens.append(app.export_screenshot())
            await pilot.press("f7", "f7")
            assert app.live_screen.query_one("#panes", ContentSwitcher).current == "protocol-log"
            await pilot.pause(0.2)
            screens.append(app.export_screenshot())
            screens.append("\n".join(app.live_screen.protocol_log.plain_lines()))
            screens.append("\n".join(app.live_screen.transcript.plain_lines()))
        joined = "\n".join(screens)
        assert expect in joined  # the screens hold what was shown
        assert_no_key(joined, f"the TUI screen (server requiring {'the' if required == KEY else 'another'} key)")


# ------------------------------------------------------------------------------------------------ mock binding


async def test_the_mock_binds_loopback_unless_told_otherwise() -> None:
    async with serve_mock(MockOptions(pace=0)) as mock:
        assert mock.base_url.startswith("https://127.0.0.1:")
    for host in ("0.0.0.0", "::", "192.0.2.1"):
        with pytest.raises(UserError, match="not loopback"):
            async with serve_mock(MockOptions(host=host)):
                pass
    async with serve_mock(MockOptions(host="0.0.0.0", allow_remote=True, pace=0)) as mock:
        assert mock.port > 0  # allowed when asked for explicitly


def test_the_mock_cli_refuses_a_remote_host_with_one_line() -> None:
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "tui", "mock", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert proc.returncode != 0
    assert "not loopback" in proc.stderr and "Traceback" not in proc.stderr
