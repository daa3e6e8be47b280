"""Replay: strict and lenient divergence, the completeness gate, determinism and the report a person reads."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tui.errors import RecordingError
from tui.live.session import LiveSession
from tui.mock.replay import ReplayBackend, ReplayState, plan_segments
from tui.mock.server import MockOptions, serve_mock
from tui.recording.format import Close, End, Frame, Gap, Input, Open, Record
from tui.recording.reader import read_recording
from tui.recording.writer import RecordWriter, make_header
from tui.replay.check import CheckOptions, check
from tui.replay.rawclient import play_client
from tui.replay.report import format_report

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"


def copy_recording(src: Path, dst: Path, keep: Callable[[int, Record], bool] = lambda i, r: True) -> Path:
    """Rewrite a recording record by record, dropping those ``keep`` rejects."""
    rec = read_recording(src)
    w = RecordWriter(dst, rec.header)
    for i, r in enumerate(rec.records):
        if not keep(i, r):
            continue
        if isinstance(r, Open):
            w.write_open(r.t_us, r.seg, r.url, r.headers)
        elif isinstance(r, Frame):
            w.write_frame(r.t_us, r.direction, r.data)
        elif isinstance(r, Close):
            w.write_close(r.t_us, r.seg, r.code, r.reason, r.by)
        elif isinstance(r, Input):
            w.write_input(r.t_us, r.kind, r.data)
        elif isinstance(r, Gap):
            w.write_gap(r.t_us, r.dropped, r.dropped_bytes, r.reason)
        elif isinstance(r, End):
            w.write_end(r.t_us)
    w.close()
    return dst


def _shout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client regression: every typed turn goes out in upper case."""
    original = LiveSession._send_text_now

    async def shouting(session: Any, text: str) -> None:
        await original(session, text.upper())

    monkeypatch.setattr(LiveSession, "_send_text_now", staticmethod(shouting))


async def test_a_client_that_sends_something_else_fails_strict_replay_at_the_first_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _shout(monkeypatch)
    result = await check(RECORDINGS / "text-chat-memory.glrec", CheckOptions(strict=True, wait_s=5))
    assert not result.ok
    assert len(result.divergences) == 1
    d = result.divergences[0]
    assert d.direction == "c2s" and d.kind == "clientContent"
    assert [f.path for f in d.diffs] == ["clientContent.turns[0].parts[0].text"]
    assert d.diffs[0].recorded == '"Hi! My name is Ada."' and d.diffs[0].actual == '"HI! MY NAME IS ADA."'
    assert result.unconsumed  # strict stops: the rest of the recording was never played


async def test_lenient_replay_collects_every_divergence_and_plays_to_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    _shout(monkeypatch)
    result = await check(RECORDINGS / "text-chat-memory.glrec", CheckOptions(strict=False, wait_s=5))
    assert [d.kind for d in result.divergences] == ["clientContent"] * 3
    assert result.unconsumed == []
    assert result.frames_replayed == result.frames_total


async def test_a_changed_tool_result_is_a_divergence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.live.demo_tools._CONDITIONS", ("hail",) * 6)
    result = await check(RECORDINGS / "weather-tool.glrec", CheckOptions(wait_s=5))
    assert not result.ok
    d = result.divergences[0]
    assert d.kind == "toolResponse"
    assert any(f.path.endswith("response.condition") and f.actual == '"hail"' for f in d.diffs)
    report = format_report(result)
    assert "toolResponse" in report and "last matched turn:" in report and "context" in report


async def test_the_report_summarises_audio_instead_of_printing_base64(monkeypatch: pytest.MonkeyPatch) -> None:
    original = LiveSession.send_audio

    async def quieter(self: LiveSession, pcm: bytes) -> None:
        await original(self, bytes(len(pcm)))  # a "muted mic" regression: silence instead of the recorded audio

    monkeypatch.setattr(LiveSession, "send_audio", quieter)
    result = await check(RECORDINGS / "barge-in.glrec", CheckOptions(wait_s=5))
    assert not result.ok
    d = result.divergences[0]
    assert d.kind == "realtimeInput.audio"
    assert d.diffs and "audio/pcm;rate=16000 1280 B sha" in d.diffs[0].recorded
    report = format_report(result)
    assert not re.search(r"[A-Za-z0-9+/_-]{100,}", report)  # no wall of base64 anywhere
    assert "frame #" in report and "segment 0" in report


async def test_completeness_gate_fails_a_replay_that_leaves_frames_unplayed(tmp_path: Path) -> None:
    """Drop the last typed input: the client never sends the last question, so its frame and the reply remain."""
    src = RECORDINGS / "text-chat-memory.glrec"
    rec = read_recording(src)
    last_input = max(i for i, r in enumerate(rec.records) if isinstance(r, Input))
    cut = copy_recording(src, tmp_path / "cut.glrec", lambda i, r: i != last_input)
    result = await check(cut, CheckOptions(wait_s=1.5))
    assert not result.ok
    assert result.unconsumed, format_report(result)
    assert result.unconsumed[0].direction == "c2s" and result.unconsumed[0].kind == "clientContent"
    assert "never replayed (completeness gate)" in format_report(result)


def test_completeness_is_counted_from_what_the_backend_actually_played() -> None:
    state = ReplayState(read_recording(RECORDINGS / "goaway-resume.glrec"))
    result = state.result()
    assert result.frames_replayed == 0
    steps = sum(len(seg.steps) for seg in state.segments)  # frames after the handshake, and the closes
    assert len(result.unconsumed) == steps + len(state.segments)  # + each setup, as "never opened"
    assert {u.seg for u in result.unconsumed} == {0, 1}
    assert not result.ok


async def test_two_replays_of_one_file_give_identical_normalised_event_logs() -> None:
    for name in ("barge-in", "tool-cancelled", "goaway-resume", "drop-reconnect"):  # drop-reconnect: backoff jitter
        first = await check(RECORDINGS / f"{name}.glrec")
        second = await check(RECORDINGS / f"{name}.glrec")
        assert first.ok and second.ok
        a = json.dumps(first.events, sort_keys=True, default=str)
        b = json.dumps(second.events, sort_keys=True, default=str)
        assert a == b, name
        assert len(first.events[0]["server"]) > 3


def test_recordings_with_gaps_or_without_a_setup_are_refused(tmp_path: Path) -> None:
    gap = tmp_path / "gap.glrec"
    w = RecordWriter(gap, make_header(model="m"))
    w.write_open(0, 0, "wss://x", {})
    w.write_frame(1, "c2s", '{"setup": {"model": "m"}}')
    w.write_gap(2, 5, 500, "recorder queue full (disk too slow)")
    w.close()
    with pytest.raises(RecordingError, match="gaps"):
        plan_segments(read_recording(gap))
    mid = tmp_path / "mid.glrec"
    w = RecordWriter(mid, make_header(model="m"))
    w.write_frame(1, "s2c", b'{"serverContent": {"turnComplete": true}}')
    w.close()
    with pytest.raises(RecordingError, match="does not start with a setup"):
        plan_segments(read_recording(mid))


async def test_an_extra_connection_is_a_divergence_and_is_refused() -> None:
    state = ReplayState(read_recording(RECORDINGS / "text-chat-memory.glrec"))
    async with serve_mock(
        MockOptions(backend="replay", pace=0), backend_factory=lambda _o: ReplayBackend(state)
    ) as mock:
        raw = await play_client(state.rec, mock.ws_url(""), mock.client_ssl_context(),
                                extra_connections=1)  # fmt: skip
    assert (1008, "replay: the recording has no more connections") in raw.closes
    assert [d.what for d in state.divergences] == ["the client opened connection 2; the recording has only 1"]
    assert state.result().unconsumed == []


async def test_the_mock_cli_serves_a_recording_to_any_client(tmp_path: Path) -> None:
    """``gemini-live mock --replay FILE``: the registered backend, driven here by a raw frame-level client."""
    from tui.mock.cli import build_parser, options_from_args

    path = RECORDINGS / "weather-tool.glrec"
    options = options_from_args(build_parser().parse_args(["--replay", str(path), "--pace", "0"]))
    assert options.backend == "replay"
    finished: list[ReplayState] = []
    options = dataclasses.replace(options, backend_options={**options.backend_options, "on_finish": finished.append})
    async with serve_mock(options) as mock:
        raw = await play_client(read_recording(path), mock.ws_url(""), mock.client_ssl_context())
    assert raw.problems == []
    assert len(finished) == 1 and finished[0].result().ok, format_report(finished[0].result())


async def test_scaled_pacing_follows_the_recorded_timing() -> None:
    """x4 pacing: server frames leave no earlier than their recorded time ÷ 4 (and the replay still matches)."""
    path = RECORDINGS / "barge-in.glrec"
    rec = read_recording(path)
    last_server = max(f.t_us for f in rec.frames if f.direction == "s2c") - rec.frames[1].t_us
    result = await check(path, CheckOptions(pacing=4.0))
    assert result.ok, format_report(result)
    assert result.wall_s >= last_server / 1e6 / 4 * 0.9


def test_a_replay_runs_on_the_recorded_settings_not_on_the_machines_environment_or_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.replay.check import replay_settings

    weather = Path(__file__).resolve().parents[2] / "recordings" / "weather-tool.glrec"
    config = read_recording(weather).header.config
    config["connection"].pop("ping_interval_s")  # a setting the recording does not mention
    toml = tmp_path / "config.toml"
    toml.write_text('[session]\nvoice = "Charon"\n[connection]\nping_interval_s = 999\n')
    monkeypatch.setenv("GEMINI_TUI_CONFIG_FILE", str(toml))
    monkeypatch.setenv("GEMINI_TUI_EPHEMERAL_TOKEN", "auth_tokens/from-this-machine")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "sa.json"))
    monkeypatch.setenv("GEMINI_TUI_SESSION__MODEL", "models/from-the-environment")
    monkeypatch.setenv("GEMINI_TUI_CONNECTION__PING_INTERVAL_S", "777")
    settings, _notes = replay_settings(config, "https://127.0.0.1:1", None)
    assert settings.ephemeral_token is None and settings.credentials_file is None
    assert settings.session.model == config["session"]["model"]
    assert settings.session.voice == config["session"]["voice"]
    # Left out of the recording: the default, not this machine's environment (777) or config file (999).
    from tui.config import ConnectionSettings

    assert settings.connection.ping_interval_s == ConnectionSettings().ping_interval_s
