"""Run the real CLI (``python -m tui ...``) on an 80×24 pty and collect everything it writes (for UI tests)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TERMINAL_HINTS = ("TMUX", "STY", "KITTY_WINDOW_ID", "TERM_PROGRAM", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")
"""Variables of the developer's own terminal that would change what the app detects; never passed on."""


def run_cli_in_pty(
    argv: list[str],
    env: Mapping[str, str],
    home: Path,
    *,
    quit_when: Callable[[str], bool] | None = None,
    timeout_s: float = 30.0,
) -> tuple[int, str]:
    """(exit code, output) of ``python -m tui ARGV`` with TERM=xterm-256color unless ``env`` says otherwise.

    Without ``quit_when`` the app is left to exit by itself; with it, ctrl+q is sent once ``quit_when(output)``
    holds (a normal exit, so the app cleans up), and an AssertionError says so if it never does.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    full = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GEMINI_", "GOOGLE_")) and k not in TERMINAL_HINTS and k != "COLORTERM"
    }
    full.update(TERM="xterm-256color", GEMINI_TUI_HOME=str(home), PYTHONPATH=str(ROOT))
    full.update(env)
    child = subprocess.Popen(
        [sys.executable, "-m", "tui", *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=full,
        cwd=ROOT,
        start_new_session=True,
        close_fds=True,
    )
    os.close(slave)
    out = b""
    quit_sent = False
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                out += data
            elif child.poll() is not None:
                break
            if quit_when is not None and not quit_sent and quit_when(out.decode("utf-8", "replace")):
                os.write(master, b"\x11")  # ctrl+q
                quit_sent = True
                deadline = min(deadline, time.monotonic() + 10)
        if quit_when is not None:
            assert quit_sent, "the condition was never met: " + repr(out.decode("utf-8", "replace")[-400:])
        code = child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)
    return code, out.decode("utf-8", "replace")
