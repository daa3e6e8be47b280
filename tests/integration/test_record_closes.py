"""Closes as the recorder sees them through the real SDK: who started each, and a server close replayed as one."""

from __future__ import annotations

import io
from pathlib import Path

from tui.config import Settings
from tui.headless import run_headless
from tui.recording.format import Close
from tui.recording.reader import read_recording
from tui.recording.writer import Recorder
from tui.replay.check import run_check
from tui.replay.report import format_report


def test_a_server_close_and_the_client_close_are_told_apart_and_replay(tmp_path: Path) -> None:
    path = tmp_path / "closes.glrec"
    made: list[Recorder] = []

    def factory(live: Settings) -> Recorder:
        made.append(Recorder.for_settings(live, path=path))
        return made[-1]

    settings = Settings(demo=True, session={"modality": "TEXT"}, audio={"enabled": False})
    out = io.StringIO()
    code = run_headless(
        settings, tap_factory=factory, stdin=io.StringIO("mock:close=1011 hello\nare you back?\n"), stdout=out
    )
    made[0].close()
    assert code == 0, out.getvalue()
    closes = [r for r in read_recording(path).records if isinstance(r, Close)]
    assert [(c.code, c.by) for c in closes] == [(1011, "server"), (1000, "client")], closes
    result = run_check(path)
    assert result.ok, format_report(result)
    assert result.segments_replayed == 2
