"""Every curated recording replays through the real client against the replay mock with zero divergence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.replay.check import check
from tui.replay.report import format_report

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
FILES = sorted(RECORDINGS.glob("*.glrec"))


def test_the_curated_recordings_are_there() -> None:
    names = {p.stem for p in FILES}
    assert {"text-chat-memory", "coffee-maker", "furniture-assembly", "weather-tool", "tool-cancelled", "barge-in",
            "goaway-resume", "drop-reconnect", "screen-share", "vertex-chat", "push-to-talk"} <= names  # fmt: skip
    for p in FILES:
        assert p.stat().st_size < 1_000_000, p


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_recording_replays_without_divergence(path: Path) -> None:
    result = await check(path)
    assert result.ok, format_report(result)
    assert result.frames_replayed == result.frames_total > 0
    assert result.segments_replayed == result.segments_total


def test_both_ways_of_knowing_who_closed_are_covered() -> None:
    """Most files record who started each close; weather-tool predates that and exercises the inference."""
    from tui.recording.format import Close
    from tui.recording.reader import read_recording

    by = {p.stem: [r.by for r in read_recording(p).records if isinstance(r, Close)] for p in FILES}
    assert by["weather-tool"] == [None]
    assert by["goaway-resume"] == ["client", "client"]


async def test_a_replay_recorded_again_is_complete_and_replays_too(tmp_path: Path) -> None:
    """``CheckOptions.record_to`` (the recorder-overhead benchmark): the replaying client's own recording is whole,
    holds every frame, and is itself a replayable recording."""
    from tui.recording.reader import read_recording
    from tui.replay.check import CheckOptions

    original = RECORDINGS / "barge-in.glrec"
    again = tmp_path / "again.glrec"
    result = await check(original, CheckOptions(record_to=again))
    assert result.ok, format_report(result)
    rec, orig = read_recording(again), read_recording(original)
    assert rec.ended_cleanly and not rec.problems
    assert [f.direction for f in rec.frames] == [f.direction for f in orig.frames]
    assert rec.size / rec.wire_bytes <= 0.76
    second = await check(again)
    assert second.ok, format_report(second)
