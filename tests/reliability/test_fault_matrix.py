"""Fault matrix: every fault the mock injects, against the real client with the recorder on.

Each case drives ``LiveSession`` (the unmodified google-genai SDK over TLS on 127.0.0.1) with a ``Recorder`` as its
frame tap, against ``serve_mock`` with a fault plan (or the demo's trigger word where the fault must land in a
particular turn). Recoverable faults must resume with the transcript and the recording intact (the file reads back
with one segment per connection, frames in both, a clean end); fatal faults end with exactly one ``Fatal`` and no
reconnect; no fault ever costs more than one reconnect (``Connecting`` events and the mock's own session count).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.reliability.harness import KEY, Driver, mock_server, settings_for
from tui.live import events as ev
from tui.live.state import ModelTurn
from tui.mock.server import MockServer
from tui.recording.format import Close, Frame, Open
from tui.recording.reader import Recording, read_recording


def check_recording(path: Path, connections: int) -> Recording:
    """The file reads back whole: one segment per connection, frames in every segment, a clean end, no key."""
    rec = read_recording(path)
    assert rec.ended_cleanly, rec.problems
    assert rec.truncated_at is None and not rec.problems, rec.problems
    opens = [r for r in rec.records if isinstance(r, Open)]
    assert [o.seg for o in opens] == list(range(connections))
    for seg in range(connections):
        sent = [f for f in rec.frames if f.seg == seg and f.direction == "c2s"]
        got = [f for f in rec.frames if f.seg == seg and f.direction == "s2c"]
        assert sent and got, f"segment {seg} has no frames both ways"
        assert isinstance(sent[0].msg, dict) and "setup" in sent[0].msg
    assert KEY.encode() not in path.read_bytes()
    return rec


def one_reconnect_at_most(d: Driver, mock: MockServer, *, expected: int) -> None:
    assert len(d.of(ev.Connecting)) == expected
    assert mock.stats.sessions_started == expected
    assert len(d.of(ev.Reconnecting)) == expected - 1


async def remembers(d: Driver, name: str) -> None:
    turn = await d.turn("what is my name?")
    assert name in turn.text


# ------------------------------------------------------------------------------------------ recoverable


async def test_go_away_resumes_with_memory_and_a_two_segment_recording(tmp_path: Path) -> None:
    path = tmp_path / "goaway.glrec"
    # goAway 1.5 s in: after the first turn and its handle, however slowly the client and recorder start.
    async with mock_server("goaway:1.5@5,sessions:1") as mock:
        async with Driver(settings_for(mock, record=path)) as d:
            await d.wait_for(ev.Connected)
            await d.turn("my name is Ann")
            await d.wait_for(ev.GoAway)
            rec = await d.wait_for(ev.Reconnecting)
            assert rec.cause == "go_away"
            assert (await d.wait_for(ev.Connected, after=d.events.index(rec))).resumed
            await remembers(d, "Ann")
        one_reconnect_at_most(d, mock, expected=2)
        assert mock.stats.faults_fired["goaway"] == 1
    user_turns = [t for t in d.session.state.turns if not isinstance(t, ModelTurn)]
    assert len(user_turns) == 2  # the transcript kept both user turns across the resumption
    check_recording(path, 2)


async def test_abnormal_close_1006_mid_turn_resumes_once(tmp_path: Path) -> None:
    path = tmp_path / "drop.glrec"
    async with mock_server() as mock:
        async with Driver(settings_for(mock, record=path)) as d:
            await d.wait_for(ev.Connected)
            await d.turn("my name is Bo")
            m = d.mark()
            await d.session.send_text("mock:drop tell me a story")
            gone = await d.wait_for(ev.Disconnected, after=m)
            assert gone.code == 1006 and gone.will_retry
            assert (await d.wait_for(ev.Connected, after=m)).resumed
            await remembers(d, "Bo")
        one_reconnect_at_most(d, mock, expected=2)
        assert not d.of(ev.Fatal)
    rec = check_recording(path, 2)
    closes = [r for r in rec.records if isinstance(r, Close)]
    assert closes[0].seg == 0 and closes[0].code in (None, 1006)
    # The cut reply's chunks that did arrive are in segment 0, before the drop.
    story = [f for f in rec.frames if f.seg == 0 and f.direction == "s2c" and b"serverContent" in _bytes(f)]
    assert story


async def test_server_error_1011_resumes_once(tmp_path: Path) -> None:
    path = tmp_path / "1011.glrec"
    async with mock_server("close:1011#2,sessions:1") as mock:
        async with Driver(settings_for(mock, record=path)) as d:
            await d.wait_for(ev.Connected)
            await d.turn("my name is Cy")
            m = d.mark()
            await d.session.send_text("this message is answered with 1011")
            gone = await d.wait_for(ev.Disconnected, after=m)
            assert gone.code == 1011 and gone.will_retry
            assert (await d.wait_for(ev.Connected, after=m)).resumed
            await remembers(d, "Cy")
        one_reconnect_at_most(d, mock, expected=2)
    check_recording(path, 2)


async def test_missing_pongs_are_one_drop_and_one_resume(tmp_path: Path) -> None:
    path = tmp_path / "nopong.glrec"
    async with mock_server("no-pongs,sessions:1") as mock:
        # The drop comes ~1.5 s in (after the first turn); a healthy session rides out a 1 s stall.
        s = settings_for(mock, record=path, ping_interval_s=0.5, ping_timeout_s=1.0)
        async with Driver(s) as d:
            await d.wait_for(ev.Connected)
            await d.turn("my name is Di")
            gone = await d.wait_for(ev.Disconnected, timeout=5)
            assert gone.will_retry
            assert (await d.wait_for(ev.Connected, after=d.events.index(gone))).resumed
            await remembers(d, "Di")
            await asyncio.sleep(1.6)  # the resumed session answers pings: no second drop
        one_reconnect_at_most(d, mock, expected=2)
    check_recording(path, 2)


async def test_late_pongs_within_the_timeout_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / "slowpong.glrec"
    async with mock_server("slow-pongs:0.3") as mock:
        s = settings_for(mock, record=path, ping_interval_s=0.2, ping_timeout_s=2.0)
        async with Driver(s) as d:
            await d.wait_for(ev.Connected)
            await d.turn("my name is Ed")
            await asyncio.sleep(1.2)
            await remembers(d, "Ed")
            assert not d.of(ev.Disconnected)
        one_reconnect_at_most(d, mock, expected=1)
    check_recording(path, 1)


async def test_a_frame_over_one_mebibyte_is_received_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "big.glrec"
    async with mock_server("oversized:1300000,sessions:1") as mock:
        async with Driver(settings_for(mock, record=path, session={"modality": "AUDIO"})) as d:
            await d.wait_for(ev.Connected)
            turn = await d.turn("hello there")
            assert turn.audio_chunks > 0
            assert not d.of(ev.Disconnected)
        one_reconnect_at_most(d, mock, expected=1)
        assert mock.stats.faults_fired["oversized"] == 1
    rec = check_recording(path, 1)
    assert max(len(f.data) for f in rec.frames) > 1 << 20


async def test_a_phantom_interrupted_neither_reconnects_nor_loses_the_reply(tmp_path: Path) -> None:
    path = tmp_path / "phantom.glrec"
    async with mock_server("phantom-interrupted:1,sessions:1") as mock:
        async with Driver(settings_for(mock, record=path, session={"modality": "AUDIO"})) as d:
            await d.wait_for(ev.Connected)
            m = d.mark()
            await d.session.send_text("hello there")
            cut = await d.wait_for(ev.Interrupted, after=m)
            done = await d.wait_for(ev.TurnComplete, after=m)
            later = [a for a in d.of(ev.ModelAudio, after=m) if a.generation > cut.generation]
            assert later and done.generation == later[-1].generation
        one_reconnect_at_most(d, mock, expected=1)
        assert mock.stats.faults_fired["phantom-interrupted"] == 1
    check_recording(path, 1)


async def test_silence_is_not_a_reconnect_and_close_still_ends_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "silence.glrec"
    # Silence from 1.5 s in: after the first turn, however slowly the client and recorder start.
    async with mock_server("silence:1.5") as mock:
        async with Driver(settings_for(mock, record=path, ping_interval_s=0.2, ping_timeout_s=1.0)) as d:
            await d.wait_for(ev.Connected)
            connected = time.monotonic()  # the mock's clock started before this
            await d.turn("my name is Flo")
            await asyncio.sleep(max(0.0, connected + 1.6 - time.monotonic()))
            m = d.mark()
            await d.session.send_text("anyone there?")
            await asyncio.sleep(1.5)
            # The server went quiet but the socket (and its pongs) are alive: nothing to reconnect for.
            assert not d.of(ev.TurnComplete, after=m)
            assert not d.of(ev.Disconnected) and not d.of(ev.Fatal)
        assert isinstance(d.events[-1], ev.SessionClosed)
        one_reconnect_at_most(d, mock, expected=1)
    check_recording(path, 1)


# ------------------------------------------------------------------------------------------ fatal


@pytest.mark.parametrize(
    ("code", "start"),
    [(1007, "the server rejected a message as invalid"), (1008, "the server ended the session for a policy violation")],
)
async def test_fatal_close_is_one_clear_message_and_no_reconnect(tmp_path: Path, code: int, start: str) -> None:
    path = tmp_path / f"{code}.glrec"
    async with mock_server(f"close:{code}#2") as mock:
        d = Driver(settings_for(mock, record=path))
        async with d:
            await d.wait_for(ev.Connected)
            await d.turn("my name is Gus")
            await d.session.send_text("this one is refused")
            await d.wait_for(ev.Fatal)
            await d.run_to_end()
        (fatal,) = d.of(ev.Fatal)
        assert fatal.code == code and fatal.message.startswith(start)
        assert "\n" not in fatal.message and "Traceback" not in fatal.message and KEY not in fatal.message
        assert d.events[-1] is fatal
        one_reconnect_at_most(d, mock, expected=1)
    rec = check_recording(path, 1)
    closes = [r for r in rec.records if isinstance(r, Close)]
    assert closes[-1].code == code


def _bytes(f: Frame) -> bytes:
    return f.data if isinstance(f.data, bytes) else f.data.encode()
