"""``gemini-live mock`` as a user runs it: banner with URL and CA file, an SDK client via the printed recipe,
Ctrl-C stops it cleanly and removes the throwaway CA; bad flags are one clear line."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from google import genai

from tui.mock.cli import main

ROOT = Path(__file__).resolve().parents[2]


async def test_cli_serves_the_sdk_and_stops_on_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tui",
        "mock",
        "--pace",
        "0",
        "--require-key",
        "anything",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        banner = ""
        async with asyncio.timeout(10):
            while "Ctrl-C" not in banner:
                line = await proc.stdout.readline()
                assert line, "the mock exited before printing its banner"
                banner += line.decode()
        url = re.search(r"serving the Live API on (https://127\.0\.0\.1:\d+)", banner)
        recipe = re.search(r"GOOGLE_GEMINI_BASE_URL=(\S+) SSL_CERT_FILE=(\S+) GOOGLE_API_KEY=anything", banner)
        assert url and recipe and recipe.group(1) == url.group(1)
        ca_file = Path(recipe.group(2))
        assert await asyncio.to_thread(ca_file.is_file)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", recipe.group(1))
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
        monkeypatch.setenv("GOOGLE_API_KEY", "anything")
        async with genai.Client().aio.live.connect(model="m", config={"response_modalities": ["TEXT"]}) as session:
            await session.send_client_content(turns={"role": "user", "parts": [{"text": "cli check"}]})
            text = ""
            async with asyncio.timeout(5):
                async for m in session.receive():
                    text += m.text or ""
        assert '"cli check"' in text
    finally:
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "stopped after 1 session(s)" in out.decode()
    assert not await asyncio.to_thread(ca_file.exists)
    assert "Traceback" not in err.decode()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--host", "0.0.0.0"], "not loopback"),
        (["--fault", "explode"], "bad fault 'explode'"),
        (["--replay", str(ROOT / "pyproject.toml")], "pyproject.toml"),
        (["--replay", "no/such/file.rec"], "no such file"),
        (["--pace", "-1"], "--pace"),
        (["--close-after", "1"], "--close-code"),
    ],
)
def test_cli_user_errors_are_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
