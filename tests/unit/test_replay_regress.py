"""``gemini-live regress``: a folder of recordings, worker processes, exit status and JUnit XML."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tui.replay.regress import main as regress_main


def test_regress_runs_a_folder_and_writes_junit(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2] / "recordings"
    for name in ("text-chat-memory", "weather-tool"):
        (tmp_path / f"{name}.glrec").write_bytes((root / f"{name}.glrec").read_bytes())
    (tmp_path / "broken.glrec").write_bytes(b"\x93not a recording")
    junit = tmp_path / "out.xml"
    code = regress_main([str(tmp_path), "-j", "2", "--junit", str(junit)])
    assert code == 1
    xml = junit.read_text()
    assert xml.count("<testcase") == 3
    assert xml.count("<error") == 1 and "broken.glrec" in xml
    assert "text-chat-memory.glrec" in xml and "<failure" not in xml
    code = regress_main([str(tmp_path / "weather-tool.glrec")])
    assert code == 0


def test_regress_without_recordings_is_a_clear_error(tmp_path: Path) -> None:
    assert regress_main([str(tmp_path)]) == 2
    assert regress_main([str(tmp_path / "missing")]) == 2


@pytest.mark.parametrize(
    "module",
    ["tui.recording.writer", "tui.recording.reader", "tui.replay.check", "tui.replay.regress", "tui.mock.replay"],
)
def test_recording_and_replay_load_no_ui_or_audio_library(module: str) -> None:
    code = (
        f"import importlib, sys; importlib.import_module({module!r}); "
        "print(','.join(m for m in ('textual', 'sounddevice', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "", f"{module} pulled in {out.stdout.strip()}"
