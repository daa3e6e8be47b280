"""Importing the media package loads neither PortAudio nor Textual: sounddevice is loaded only when a stream opens."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    ["tui.media.bridge", "tui.media.audio", "tui.media.devices", "tui.media.video", "tui.media.levels"],
)
def test_media_module_imports_lazily(module: str) -> None:
    code = (
        f"import importlib, sys; importlib.import_module({module!r}); "
        "print(','.join(m for m in ('sounddevice', 'textual', 'rich', 'cv2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "", f"{module} pulled in {out.stdout.strip()}"
