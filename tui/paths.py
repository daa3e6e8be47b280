"""Platform directories (config, data, recordings, logs), created lazily; ``GEMINI_TUI_HOME`` relocates them all."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

_APP = "gemini-live-tui"


def _base(kind: str) -> Path | None:
    home = os.environ.get("GEMINI_TUI_HOME")
    return Path(home) / kind if home else None


def config_dir() -> Path:
    """Where ``config.toml`` lives (not created: the file is optional)."""
    return _base("config") or platformdirs.user_config_path(_APP)


def data_dir() -> Path:
    """Per-user data (recordings, generated mock certificates)."""
    path = _base("data") or platformdirs.user_data_path(_APP)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def recordings_dir() -> Path:
    """Default folder for ``--record`` without a file name."""
    path = data_dir() / "recordings"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def log_dir() -> Path:
    """Log files (the TUI never prints to the terminal it draws on)."""
    path = _base("log") or platformdirs.user_log_path(_APP)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
