"""Test isolation: config/data dirs in tmp, no credential variables leak in, loopback only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

_CREDENTIAL_VARS = (
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_VERTEX_BASE_URL",
    "GOOGLE_GENAI_API_VERSION",
    "SSL_CERT_FILE",
)

FULL = bool(os.environ.get("GEMINI_TUI_FULL_TESTS"))
"""True under ``tools/check --full``: long reliability cases run at full size."""

# Property tests: CI's run draws the same cases every time (a red CI is reproducible, and a rare case cannot turn
# one run red and the next green); ``--full`` draws new ones each run and has no example database to replay.
settings.register_profile("sample", derandomize=True, database=None)
settings.register_profile("explore", database=None)
settings.load_profile("explore" if FULL else "sample")


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in _CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)
    for var in list(os.environ):
        if var.startswith("GEMINI_TUI_") and var != "GEMINI_TUI_FULL_TESTS":
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GEMINI_TUI_HOME", str(tmp_path / "home"))
    yield


def real_captures_dir() -> Path:
    """Real captured Live traffic (``shared/data/real-live-captures``): ``GEMINI_TUI_CAPTURES``, else ``shared/``
    beside the checkout (where CI puts it), else this workplace's ``/work/shared``. Tests that need it skip, saying
    so, when none exists."""
    override = os.environ.get("GEMINI_TUI_CAPTURES")
    if override:
        return Path(override)
    beside = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-live-captures"
    return beside if beside.is_dir() else Path("/work/shared/data/real-live-captures")


def wait_for_recording_writers(path: Path, timeout: float = 15.0) -> None:
    """Wait until no recorder writer process (``python -m tui.recording.ring``) holds ``path`` open.

    After a recording app is killed, its writer process goes on writing what the app had handed it; a test that
    reads the file must wait for that to finish, as a user opening the file later would.
    """
    import time

    target = os.path.realpath(path)
    deadline = time.monotonic() + timeout
    while True:
        holders = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"tui.recording.ring" not in f.read():
                        continue
                fds = os.listdir(f"/proc/{pid}/fd")
                holders += [pid for fd in fds if os.readlink(f"/proc/{pid}/fd/{fd}") == target]
            except OSError:
                continue
        if not holders:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the writer process(es) {holders} still hold {path} after {timeout:g} s")
        time.sleep(0.01)
