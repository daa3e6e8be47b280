"""Test isolation: config/data dirs in tmp, no credential variables leak in, loopback only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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
