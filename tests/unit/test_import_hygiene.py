"""The core never imports Textual or PortAudio: checked at run time in a clean interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE_MODULES = [
    "tui.cli",
    "tui.config",
    "tui.live.events",
    "tui.live.wire",
]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_loads_no_textual_or_sounddevice(module: str) -> None:
    code = (
        f"import importlib, sys; importlib.import_module({module!r}); "
        "bad = [m for m in ('textual', 'sounddevice', 'rich') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "", f"{module} pulled in {out.stdout.strip()}"
