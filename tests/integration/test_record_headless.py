"""``gemini-live --headless --record FILE`` end to end: the real client records a demo session that then replays
cleanly with ``gemini-live replay FILE --check``, and the key never reaches the file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKE_KEY = "AIza" + "SyFAKEheadless0123456789abcdefghijk"


def _run(args: list[str], stdin: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], input=stdin, capture_output=True, text=True, timeout=90, env=env,
        cwd=ROOT,
    )  # fmt: skip


def test_headless_record_then_replay_check(tmp_path: Path) -> None:
    path = tmp_path / "session.glrec"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GEMINI_API_KEY": FAKE_KEY}
    out = _run(
        ["--headless", "--demo", "--modality", "TEXT", "--no-audio", "--record", str(path), "--description", "t"],
        f"My name is Ada.\nMy key is {FAKE_KEY}, what is my name?\n",
        env,
    )
    assert out.returncode == 0, out.stderr
    assert "Your name is Ada" in out.stdout
    assert f"recording saved to {path}" in out.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert FAKE_KEY.encode() not in path.read_bytes()
    check = _run(["replay", str(path), "--check"], "", env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("PASS")


def test_replay_check_of_a_missing_or_foreign_file_is_one_clear_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    missing = _run(["replay", str(tmp_path / "nope.glrec"), "--check"], "", env)
    assert missing.returncode == 2 and "no such recording" in missing.stderr and "Traceback" not in missing.stderr
    foreign = tmp_path / "foreign.glrec"
    foreign.write_text("hello")
    bad = _run(["replay", str(foreign), "--check"], "", env)
    assert bad.returncode == 2 and "not a gemini-live recording" in bad.stderr and "Traceback" not in bad.stderr
