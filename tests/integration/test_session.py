"""LiveSession on the unmodified google-genai SDK against the mock Live server over TLS on 127.0.0.1 (pace 0)."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.live_driver import Driver
from tui.config import Settings
from tui.live import events as ev
from tui.live.session import LiveSession
from tui.live.state import ModelTurn
from tui.live.tools import ToolRegistry
from tui.mock.faults import FaultPlan
from tui.mock.server import MockOptions, MockServer, serve_mock

KEY = "test-key"


@asynccontextmanager
async def mock_server(faults: str = "", **options: Any) -> AsyncIterator[MockServer]:
    opts = MockOptions(faults=FaultPlan.parse(faults), **{"pace": 0.0, **options})
    async with serve_mock(opts) as mock:
        yield mock


def settings_for(mock: MockServer, *, session: dict[str, Any] | None = None, **conn: Any) -> Settings:
    connection = {
        "base_url": mock.base_url,
        "ca_file": mock.ca_file,
        "api_version": "v1beta",
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.2,
        "connect_timeout_s": 5.0,
        **conn,
    }
    return Settings(api_key=KEY, connection=connection, session={"modality": "TEXT", **(session or {})})


async def test_text_turn_round_trip_with_usage_and_resumption_handle() -> None:
    async with mock_server() as mock, Driver(LiveSession(settings_for(mock))) as d:
        connected = await d.wait_for(ev.Connected)
        assert connected.resumed is False and connected.setup_ms > 0
        turn = await d.turn("hello there")
        assert turn.text.startswith('(offline demo) You said: "hello there"')
        assert turn.status == "complete" and turn.latency_ms is not None
        usage = await d.wait_for(ev.Usage)
        assert usage.total_tokens and usage.total_tokens > 0
        upd = await d.wait_for(ev.ResumptionUpdate)
        assert upd.resumable and upd.handle
        assert d.session.state.resumption_handle == upd.handle
        user = d.session.state.turns[0]
        assert user.role == "user" and user.text == "hello there"
    assert isinstance(d.events[-1], ev.SessionClosed)
    assert [type(e) for e in d.events[:2]] == [ev.Connecting, ev.Connected]


def speech(seconds: float, rate: int = 16_000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 180 * t) + 0.2 * np.sin(2 * np.pi * 360 * t)
    return (wave * 32767).astype("<i2").tobytes()


def silence(seconds: float, rate: int = 16_000) -> bytes:
    return b"\x00\x00" * int(seconds * rate)


async def test_audio_in_and_out_with_transcripts() -> None:
    async with mock_server() as mock, Driver(LiveSession(settings_for(mock, session={"modality": "AUDIO"}))) as d:
        await d.wait_for(ev.Connected)
        pcm = speech(1.2) + silence(0.8)
        for i in range(0, len(pcm), 1280):  # 40 ms chunks
            await d.session.send_audio(pcm[i : i + 1280])
        done = await d.wait_for(ev.TurnComplete)
        turn = d.session.state.model_turn(done.generation)
        assert isinstance(turn, ModelTurn)
        assert "I heard you speak for 1.2 seconds" in turn.transcript
        audio = d.of(ev.ModelAudio)
        assert audio and {a.rate for a in audio} == {24_000}
        assert turn.audio_ms == pytest.approx(sum(len(a.pcm) for a in audio) / 48)
        assert d.of(ev.OutputTranscript)


async def test_video_frame_is_seen_and_echoed() -> None:
    img = Image.new("RGB", (64, 48), (220, 20, 20))
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    jpeg = buf.getvalue()
    async with mock_server() as mock, Driver(LiveSession(settings_for(mock))) as d:
        await d.wait_for(ev.Connected)
        await d.session.send_frame(jpeg, width=64, height=48, source="file")
        sent = await d.wait_for(ev.FrameSent)
        assert sent.jpeg == jpeg and (sent.width, sent.height, sent.source) == (64, 48, "file")
        turn = await d.turn("what do you see?")
        assert "64" in turn.text and "red" in turn.text


async def test_manual_activity_start_end_and_audio_stream_end() -> None:
    async with mock_server() as mock:
        s = settings_for(mock, session={"modality": "TEXT", "activity": {"disabled": True}})
        async with Driver(LiveSession(s)) as d:
            await d.wait_for(ev.Connected)
            await d.session.activity_start()
            await d.session.send_audio(speech(0.5))
            await d.session.activity_end()
            done = await d.wait_for(ev.TurnComplete)
            turn = d.session.state.model_turn(done.generation)
            assert isinstance(turn, ModelTurn) and "0.5 seconds" in turn.text
        async with Driver(LiveSession(settings_for(mock))) as d:
            await d.wait_for(ev.Connected)
            await d.session.send_audio(speech(0.6))
            await d.session.audio_stream_end()
            done = await d.wait_for(ev.TurnComplete)
            turn = d.session.state.model_turn(done.generation)
            assert isinstance(turn, ModelTurn) and "0.6 seconds" in turn.text


class RecordingTap:
    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.inputs: list[tuple[str, dict[str, Any]]] = []
        self.opened: list[str] = []

    def on_open(self, t_ns: int, url: str, headers: dict[str, str]) -> None:
        self.opened.append(url)

    def on_send(self, t_ns: int, data: str | bytes) -> None:
        self.sent.append(json.loads(data))

    def on_recv(self, t_ns: int, data: bytes) -> None:
        pass

    def on_close(self, t_ns: int, code: int | None, reason: str) -> None:
        pass

    def on_input(self, t_ns: int, kind: str, data: dict[str, Any]) -> None:
        self.inputs.append((kind, data))


async def test_tool_round_trip_answers_by_id_and_the_model_quotes_it() -> None:
    tap = RecordingTap()
    async with mock_server() as mock, Driver(LiveSession(settings_for(mock), tap=tap)) as d:
        await d.wait_for(ev.Connected)
        turn = await d.turn("what's the weather in Paris?")
        (call,) = d.of(ev.ToolCall)
        assert call.calls[0].name == "get_weather" and call.calls[0].args == {"city": "Paris"}
        ok = await d.wait_for(ev.ToolStatusChanged, lambda e: e.status == "ok")
        assert ok.result["city"] == "Paris" and ok.duration_ms is not None
        responses = [f["tool_response"] for f in tap.sent if "tool_response" in f]
        assert responses == [
            {"functionResponses": [{"id": call.calls[0].id, "name": "get_weather", "response": ok.result}]}
        ]
        assert '"condition": "' + ok.result["condition"] in turn.text
        assert [r.status for r in turn.tool_calls] == ["ok"]
        assert tap.sent[0]["setup"]["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"


SLOW_TOOL = '''
import asyncio

async def slow_lookup(topic: str = "x") -> str:
    """Looks something up, slowly."""
    await asyncio.sleep(30)
    return "late"
'''


async def test_cancellation_stops_the_tool_and_sends_no_response(tmp_path: Path) -> None:
    module = tmp_path / "slow.py"
    module.write_text(SLOW_TOOL)
    tap = RecordingTap()
    async with mock_server() as mock:
        s = settings_for(mock, session={"tools_files": (module,)})
        async with Driver(LiveSession(s, tap=tap)) as d:
            await d.wait_for(ev.Connected)
            await d.session.send_text("please call slow_lookup")
            await d.wait_for(ev.ToolStatusChanged, lambda e: e.status == "running")
            m = d.mark()
            await d.session.send_text("never mind, hello")  # a new turn while the tool runs: the demo cancels it
            cancelled = await d.wait_for(ev.ToolCallCancelled, after=m)
            status = await d.wait_for(ev.ToolStatusChanged, lambda e: e.status == "cancelled")
            assert status.id in cancelled.ids
            await d.wait_for(ev.TurnComplete, after=m)  # the reply to the new turn
            assert not any("tool_response" in f for f in tap.sent)
            model_turns = [t for t in d.session.state.turns if isinstance(t, ModelTurn)]
            assert model_turns[0].tool_calls[0].status == "cancelled"


async def test_interruption_marks_the_generation_and_how_much_was_generated() -> None:
    async with mock_server() as mock:
        s = settings_for(mock, session={"modality": "AUDIO"})
        async with Driver(LiveSession(s)) as d:
            await d.wait_for(ev.Connected)
            await d.session.send_text("mock:long tell me everything")
            first = await d.wait_for(ev.ModelAudio)
            await d.session.send_text("stop, hello")
            cut = await d.wait_for(ev.Interrupted)
            assert cut.generation == first.generation
            await d.wait_for(ev.TurnComplete, lambda e: e.generation > cut.generation, timeout=5)
            turn = d.session.state.model_turn(cut.generation)
            assert isinstance(turn, ModelTurn) and turn.interrupted
            assert turn.interrupted_audio_ms is not None and turn.interrupted_audio_ms > 0
            later = [a for a in d.of(ev.ModelAudio) if a.generation > cut.generation]
            assert later, "the reply after the interruption streams in a new generation"


async def test_go_away_resumes_with_the_handle_and_memory_is_kept() -> None:
    tap = RecordingTap()
    async with mock_server() as mock, Driver(LiveSession(settings_for(mock), tap=tap)) as d:
        await d.wait_for(ev.Connected)
        await d.turn("my name is Ann")
        m = d.mark()
        await d.session.send_text("goaway please")
        await d.wait_for(ev.GoAway, after=m)
        rec = await d.wait_for(ev.Reconnecting, after=m)
        assert rec.cause == "go_away" and rec.delay_s == 0
        resumed = await d.wait_for(ev.Connected, after=m)
        assert resumed.resumed
        setups = [f["setup"] for f in tap.sent if "setup" in f]
        assert len(setups) == 2 and setups[1]["sessionResumption"]["handle"]
        turn = await d.turn("what is my name?")
        assert "Ann" in turn.text
        # Memory came from the handle, never from re-sent context.
        texts = [f for f in tap.sent if "client_content" in f]
        assert len(texts) == 3
        assert d.session.counters.resumptions == 1


def late_handles(delay_s: float, *, keep: int = 1_000_000) -> Any:
    """A mock backend: the demo, with each resumption handle sent ``delay_s`` after its turnComplete, and none after
    the first ``keep`` of a connection."""
    from tui.mock.demo import DemoBackend
    from tui.mock.server import MockConnection

    class LateHandles:
        def __init__(self, options: MockOptions) -> None:
            self.demo = DemoBackend(options)

        async def run(self, conn: MockConnection) -> None:
            send = conn.send
            sent = 0

            async def late(message: dict[str, Any]) -> None:
                nonlocal sent
                if "sessionResumptionUpdate" in message:
                    sent += 1
                    if sent > keep:
                        return
                    await asyncio.sleep(delay_s)
                await send(message)

            conn.send = late  # type: ignore[method-assign]
            await self.demo.run(conn)

    return LateHandles


async def test_go_away_waits_for_the_handle_that_follows_the_turn() -> None:
    # The live endpoint sends sessionResumptionUpdate *after* turnComplete (live-protocol.md §5.2). A client that
    # resumes the moment the turn ends presents the handle from before that turn, and the model forgets it.
    async with serve_mock(MockOptions(pace=0), backend_factory=late_handles(0.3)) as mock:
        async with Driver(LiveSession(settings_for(mock))) as d:
            await d.wait_for(ev.Connected)
            await d.turn("my name is Ann")
            await d.wait_for(ev.ResumptionUpdate)
            m = d.mark()
            await d.session.send_text("goaway please, my name is Flo")
            await d.wait_for(ev.GoAway, after=m)
            resumed = await d.wait_for(ev.Connected, after=m)
            assert resumed.resumed
            assert "Flo" in (await d.turn("what is my name?")).text
        await mock.idle()
        handles = [e.handle for e in d.of(ev.ResumptionUpdate, after=m)]
        assert mock.sessions[1].setup is not None and mock.sessions[1].setup.resume_handle == handles[0]


async def test_go_away_does_not_wait_long_for_a_handle_that_never_comes() -> None:
    # The turn after the goAway gets no handle: the client resumes with the one it has ~1 s after the turn, not at
    # the deadline (10 s timeLeft - 5 s margin).
    async with serve_mock(MockOptions(pace=0), backend_factory=late_handles(0.0, keep=1)) as mock:
        async with Driver(LiveSession(settings_for(mock))) as d:
            await d.wait_for(ev.Connected)
            await d.turn("my name is Ann")
            handle = (await d.wait_for(ev.ResumptionUpdate)).handle
            m = d.mark()
            await d.session.send_text("goaway please")
            done = await d.wait_for(ev.TurnComplete, after=m)
            await d.wait_for(ev.Reconnecting, after=m, timeout=3)
            turn = d.session.state.model_turn(done.generation)
            assert turn is not None and turn.ended_at is not None  # on the session's clock (time.monotonic)
            waited = time.monotonic() - turn.ended_at  # no less than the wait: Reconnecting was seen after it began
            assert (await d.wait_for(ev.Connected, after=m)).resumed
            assert "Ann" in (await d.turn("what is my name?")).text
        assert waited >= 0.9  # it did wait for the handle, as long as it is worth waiting
        await mock.idle()
        assert mock.sessions[1].setup is not None and mock.sessions[1].setup.resume_handle == handle


async def test_drop_mid_turn_reconnects_with_backoff_and_the_handle() -> None:
    async with mock_server() as mock, Driver(LiveSession(settings_for(mock))) as d:
        await d.wait_for(ev.Connected)
        await d.turn("my name is Bo")
        m = d.mark()
        await d.session.send_text("mock:drop tell me a story")
        gone = await d.wait_for(ev.Disconnected, after=m)
        assert gone.code == 1006 and gone.will_retry
        rec = await d.wait_for(ev.Reconnecting, after=m)
        assert rec.cause == "drop" and 0.8 * 0.05 <= rec.delay_s <= 0.05  # backoff_initial_s less its jitter
        connecting = await d.wait_for(ev.Connecting, after=m)
        assert connecting.resuming
        assert (await d.wait_for(ev.Connected, after=m)).resumed
        turn = await d.turn("what is my name?")
        assert "Bo" in turn.text


async def test_a_reply_lost_to_a_drop_is_marked_cut_and_the_model_is_not_left_busy() -> None:
    async with mock_server() as mock, Driver(LiveSession(settings_for(mock))) as d:
        await d.wait_for(ev.Connected)
        await d.turn("my name is Bo")
        m = d.mark()
        await d.session.send_text("mock:drop tell me a story")
        first = await d.wait_for(ev.ModelText, after=m)
        cut = await d.wait_for(ev.Interrupted, after=m)
        assert (cut.generation, cut.cause) == (first.generation, "drop")
        gone = await d.wait_for(ev.Disconnected, after=m)
        assert d.events.index(cut) < d.events.index(gone)  # the turn is closed before the socket is reported gone
        assert any("reply was lost" in n.message for n in d.of(ev.Notice, after=m))
        await d.wait_for(ev.Connected, after=m)
        lost = d.session.state.model_turn(cut.generation)
        assert isinstance(lost, ModelTurn) and lost.status == "cut" and lost.cut_by == "drop"
        assert lost.text and not lost.complete  # what arrived before the drop stays, honestly unfinished
        assert not d.session.state.model_busy
        turn = await d.turn("what is my name?")
        assert turn.generation > cut.generation and "Bo" in turn.text
        assert turn.status == "complete" and "story" not in turn.text


async def test_a_reply_cut_by_a_fatal_close_is_not_left_streaming() -> None:
    # At pace 1 the long reply streams for ~12 s: the close at 2 s lands mid-reply however slowly the turn started.
    async with mock_server("close:1008@2s", pace=1.0) as mock:
        d = Driver(LiveSession(settings_for(mock, session={"modality": "AUDIO"})))
        await d.__aenter__()
        await d.wait_for(ev.Connected)
        await d.session.send_text("mock:long talk for a while")
        first = await d.wait_for(ev.ModelAudio)
        await d.run_to_end()
        (fatal,) = d.of(ev.Fatal)
        assert fatal.code == 1008
        turn = d.session.state.model_turn(first.generation)
        assert isinstance(turn, ModelTurn) and turn.status == "cut" and turn.cut_by == "drop"
        assert not d.session.state.model_busy  # a transcript shows it ended, not "…" forever


async def test_a_bug_of_ours_while_handling_a_message_is_one_fatal_line_not_a_reconnect_loop() -> None:
    async with mock_server() as mock:
        session = LiveSession(settings_for(mock))
        apply = session.state.apply

        def broken(event: ev.SessionEvent, at: float | None = None) -> Any:
            if isinstance(event, ev.ModelText):
                raise RuntimeError("state bug")
            return apply(event, at)

        session.state.apply = broken  # type: ignore[method-assign]
        d = Driver(session)
        await d.__aenter__()
        await d.wait_for(ev.Connected)
        await session.send_text("hello")
        await d.run_to_end()
        (fatal,) = d.of(ev.Fatal)
        assert fatal.message == "internal error: RuntimeError: state bug"
        assert not d.of(ev.Reconnecting)  # not mistaken for a network drop


class GarbageFirst:
    """Answers each typed turn with ``garbage`` unreadable frames, then a real one-chunk reply."""

    def __init__(self, garbage: int) -> None:
        self.garbage = garbage

    async def run(self, conn: Any) -> None:
        from tui.mock.server import SessionClosed

        try:
            while True:
                msg = await conn.recv()
                if msg.kind != "clientContent":
                    continue
                for i in range(self.garbage):
                    await conn.send_verbatim("not json" if i % 2 else '{"noSuchKind": {}}')
                await conn.send({"serverContent": {"modelTurn": {"parts": [{"text": "still here"}]}}})
                await conn.send({"serverContent": {"turnComplete": True}})
        except SessionClosed:
            return


@pytest.mark.parametrize("garbage", [3, 20])
async def test_unreadable_server_frames_are_skipped_until_too_many_in_a_row(garbage: int) -> None:
    async with serve_mock(MockOptions(pace=0), backend_factory=lambda _o: GarbageFirst(garbage)) as mock:
        d = Driver(LiveSession(settings_for(mock)))
        await d.__aenter__()
        await d.wait_for(ev.Connected)
        await d.session.send_text("hello")
        if garbage < 20:
            done = await d.wait_for(ev.TurnComplete)
            turn = d.session.state.model_turn(done.generation)
            assert isinstance(turn, ModelTurn) and turn.text == "still here"
            assert len([n for n in d.of(ev.Notice) if "unreadable server message" in n.message]) == garbage
            assert d.session.counters.bad_frames == garbage and not d.of(ev.Reconnecting)
            await d.session.close()
        await d.run_to_end()
        if garbage >= 20:
            (fatal,) = d.of(ev.Fatal)
            assert fatal.message == "the server sent 20 unreadable messages in a row; giving up"


async def test_fatal_1007_gives_one_clear_error_and_ends_the_stream() -> None:
    async with mock_server() as mock:
        d = Driver(LiveSession(settings_for(mock)))
        await d.__aenter__()
        await d.wait_for(ev.Connected)
        await d.session.send_text("mock:close=1007")
        await d.run_to_end()
        fatal = d.of(ev.Fatal)
        assert len(fatal) == 1 and fatal[0].code == 1007
        assert fatal[0].message.startswith("the server rejected a message as invalid: ")
        assert d.events[-1] is fatal[0]
        assert not d.of(ev.Reconnecting)


async def test_wrong_key_is_one_fatal_line_about_the_key() -> None:
    async with mock_server(require_key="right-key") as mock:
        s = settings_for(mock).model_copy(update={"api_key": None})
        s = Settings(api_key="wrong-key", connection=s.connection.model_dump(), session={"modality": "TEXT"})
        d = Driver(LiveSession(s))
        await d.__aenter__()
        await d.run_to_end()
        (fatal,) = d.of(ev.Fatal)
        assert fatal.code == 1008 and fatal.message.startswith("the server rejected the API key or credentials")
        assert "wrong-key" not in fatal.message


async def test_repeated_drops_are_bounded_with_growing_backoff() -> None:
    async with mock_server("close:1011@0s") as mock:
        s = settings_for(mock, max_reconnects=2, backoff_initial_s=0.05, backoff_max_s=0.08, backoff_jitter=0)
        d = Driver(LiveSession(s))
        await d.__aenter__()
        await d.run_to_end()
        delays = [r.delay_s for r in d.of(ev.Reconnecting)]
        assert delays == [pytest.approx(0.05), pytest.approx(0.08)]
        assert len(d.of(ev.Connecting)) == 3
        (fatal,) = d.of(ev.Fatal)
        assert "after 2 attempts" in fatal.message and "1011" in fatal.message


async def test_backoff_jitter_spreads_clients_and_a_seed_reproduces_it() -> None:
    async def delays(seed: int) -> list[float]:
        s = settings_for(mock, max_reconnects=3, backoff_initial_s=0.02, backoff_max_s=0.05, backoff_seed=seed)
        d = Driver(LiveSession(s))
        await d.__aenter__()
        await d.run_to_end()
        return [r.delay_s for r in d.of(ev.Reconnecting)]

    async with mock_server("close:1011@0s") as mock:
        a, again, b = await delays(1), await delays(1), await delays(2)
    assert a == again  # a pinned seed (replay, tests) gives the same waits
    assert a != b  # two clients dropped together do not retry in lockstep
    for got in (a, b):
        for delay, cap in zip(got, [0.02, 0.04, 0.05], strict=True):
            assert 0.8 * cap <= delay <= cap


async def test_text_typed_before_connecting_is_sent_once_connected() -> None:
    async with mock_server() as mock:
        session = LiveSession(settings_for(mock))
        await session.send_text("hello early")
        async with Driver(session) as d:
            done = await d.wait_for(ev.TurnComplete)
            turn = session.state.model_turn(done.generation)
            assert isinstance(turn, ModelTurn) and "hello early" in turn.text


async def test_connect_timeout_when_setup_complete_never_comes() -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, mock_server() as mock:
        s = settings_for(mock, connect_timeout_s=0.3, max_reconnects=1)
        s = s.model_copy(
            update={"connection": s.connection.model_copy(update={"base_url": f"https://127.0.0.1:{port}"})}
        )
        d = Driver(LiveSession(s))
        await d.__aenter__()
        await d.run_to_end()
        (fatal,) = d.of(ev.Fatal)
        assert "could not get it back after 1 attempts" in fatal.message


async def test_untrusted_certificate_is_fatal_and_names_the_fix() -> None:
    async with mock_server() as mock:
        s = settings_for(mock)
        s = s.model_copy(update={"connection": s.connection.model_copy(update={"ca_file": None})})
        d = Driver(LiveSession(s))
        await d.__aenter__()
        await d.run_to_end()
        (fatal,) = d.of(ev.Fatal)
        assert "not trusted" in fatal.message and "--ca-file" in fatal.message


async def test_vertex_express_and_project_modes_connect() -> None:
    from google.oauth2.credentials import Credentials

    async with mock_server() as mock:
        base = settings_for(mock)
        conn = base.connection.model_copy(update={"api_version": None})
        express = Settings(api_key="vx-key", vertexai=True, connection=conn.model_dump(), session={"modality": "TEXT"})
        async with Driver(LiveSession(express)) as d:
            await d.wait_for(ev.Connected)
            assert "hello vertex" in (await d.turn("hello vertex")).text
        project = Settings(
            vertexai=True,
            project="p",
            location="us-central1",
            connection=conn.model_dump(),
            session={"modality": "TEXT"},
        )
        async with Driver(LiveSession(project, credentials=Credentials(token="fake-token"))) as d:  # type: ignore[no-untyped-call]
            await d.wait_for(ev.Connected)
            assert "hello project" in (await d.turn("hello project")).text
        await mock.idle()  # a session is in mock.sessions once its handler has finished
        modes = [(s.request.mode, s.request.key_source) for s in mock.sessions if s.request is not None]
        assert modes[-2:] == [("vertex", "header"), ("vertex", "bearer")]
        assert mock.sessions[-1].setup is not None
        assert mock.sessions[-1].setup.model.startswith("projects/p/locations/us-central1/publishers/google/models/")


async def test_ephemeral_token_uses_the_constrained_endpoint() -> None:
    async with mock_server() as mock:
        base = settings_for(mock)
        conn = base.connection.model_copy(update={"api_version": None})
        s = Settings(ephemeral_token="auth_tokens/abc", connection=conn.model_dump(), session={"modality": "TEXT"})
        async with Driver(LiveSession(s)) as d:
            await d.wait_for(ev.Connected)
            await d.turn("hi")
        await mock.idle()
        req = mock.sessions[-1].request
        assert req is not None and req.mode == "constrained" and req.version == "v1alpha"


async def test_every_intent_reaches_the_tap_for_replay() -> None:
    tap = RecordingTap()
    async with mock_server() as mock, Driver(LiveSession(settings_for(mock), tap=tap)) as d:
        await d.wait_for(ev.Connected)
        d.session.note_action("mute", muted=True)
        await d.session.send_audio(silence(0.04))
        await d.session.send_frame(b"\xff\xd8fake", width=1, height=1, source="screen")
        await d.session.audio_stream_end()
        await d.turn("hi")
    kinds = [(k, {key: v for key, v in data.items() if key != "pcm"}) for k, data in tap.inputs]
    assert kinds == [
        ("action", {"name": "mute", "muted": True}),
        ("audio", {"rate": 16000}),
        ("frame", {"jpeg": b"\xff\xd8fake", "width": 1, "height": 1, "source": "screen"}),
        ("activity", {"what": "stream_end"}),
        ("text", {"text": "hi"}),
    ]
    assert tap.inputs[1][1]["pcm"] == silence(0.04)
    assert tap.opened and tap.opened[0].endswith("GenerativeService.BidiGenerateContent")


async def test_custom_registry_and_a_tool_that_raises() -> None:
    reg = ToolRegistry()

    def get_weather(city: str) -> str:
        """Always fails."""
        raise RuntimeError("weather service down")

    reg.register(get_weather)
    async with mock_server() as mock, Driver(LiveSession(settings_for(mock), registry=reg)) as d:
        await d.wait_for(ev.Connected)
        turn = await d.turn("weather in Oslo?")
        err = await d.wait_for(ev.ToolStatusChanged, lambda e: e.status == "error")
        assert err.result == {"error": "RuntimeError: weather service down"}
        assert "weather service down" in turn.text
        assert d.session.connected


async def test_drop_without_resumption_reconnects_as_a_new_session_and_says_so() -> None:
    async with mock_server() as mock:
        s = settings_for(mock, session={"resumption": False})
        async with Driver(LiveSession(s)) as d:
            await d.wait_for(ev.Connected)
            await d.turn("my name is Cy")
            m = d.mark()
            await d.session.send_text("mock:drop go on")
            notice = await d.wait_for(ev.Notice, lambda e: "new session" in e.message, after=m)
            assert notice.level == "warning" and "resumption is off" in notice.message
            again = await d.wait_for(ev.Connected, after=m)
            assert again.resumed is False
            turn = await d.turn("what is my name?")
            assert "Cy" not in turn.text


async def test_close_while_connecting_ends_promptly_with_session_closed() -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, mock_server() as mock:
        s = settings_for(mock, connect_timeout_s=20)
        s = s.model_copy(
            update={"connection": s.connection.model_copy(update={"base_url": f"https://127.0.0.1:{port}"})}
        )
        d = Driver(LiveSession(s))
        await d.__aenter__()
        await d.wait_for(ev.Connecting)
        await asyncio.sleep(0.1)
        await asyncio.wait_for(d.session.close(), 3)
        await d.run_to_end(timeout=3)
        assert isinstance(d.events[-1], ev.SessionClosed)
        assert not d.of(ev.Fatal)


async def test_missing_pongs_are_a_drop_and_slow_pongs_within_the_timeout_are_fine() -> None:
    async with mock_server("no-pongs,sessions:1") as mock:
        s = settings_for(mock, ping_interval_s=0.3, ping_timeout_s=0.8)  # rides out a loaded machine's stalls
        async with Driver(LiveSession(s)) as d:
            await d.wait_for(ev.Connected)
            gone = await d.wait_for(ev.Disconnected, timeout=5)
            assert gone.will_retry and gone.code in (1006, 1011)
            again = await d.wait_for(ev.Connected, after=d.events.index(gone))
            assert again.resumed is False  # no turn happened, so there was no handle to resume with
            await d.turn("still here?")
    async with mock_server("slow-pongs:0.3") as mock:
        s = settings_for(mock, ping_interval_s=0.2, ping_timeout_s=2.0)
        async with Driver(LiveSession(s)) as d:
            await d.wait_for(ev.Connected)
            await asyncio.sleep(1.2)  # several pings answered late, all within the timeout
            await d.turn("hello")
            assert not d.of(ev.Disconnected)


async def test_a_frame_over_one_mebibyte_does_not_kill_the_session() -> None:
    # The SDK's default max_size (1 MiB) would end the session with 1006 here (live-protocol.md §2.3).
    async with mock_server() as mock, Driver(LiveSession(settings_for(mock))) as d:
        await d.wait_for(ev.Connected)
        turn = await d.turn("mock:big hello")
        assert "hello" in turn.text
        assert not d.of(ev.Disconnected)


async def test_no_compression_is_offered() -> None:
    headers: list[dict[str, str]] = []

    class HeaderTap(RecordingTap):
        def on_open(self, t_ns: int, url: str, h: dict[str, str]) -> None:
            headers.append({k.lower(): v for k, v in h.items()})

    async with mock_server() as mock, Driver(LiveSession(settings_for(mock), tap=HeaderTap())) as d:
        await d.wait_for(ev.Connected)
    (sent,) = headers
    assert "sec-websocket-extensions" not in sent
    assert sent["x-goog-api-key"] == KEY  # what a recorder must redact (tap.py's contract)


async def test_phantom_interruption_keeps_the_rest_of_the_reply_in_a_new_generation() -> None:
    async with mock_server() as mock, Driver(LiveSession(settings_for(mock, session={"modality": "AUDIO"}))) as d:
        await d.wait_for(ev.Connected)
        m = d.mark()
        await d.session.send_text("mock:phantom hello")
        cut = await d.wait_for(ev.Interrupted, after=m)
        done = await d.wait_for(ev.TurnComplete, after=m)
        after = [a for a in d.of(ev.ModelAudio, after=m) if a.generation > cut.generation]
        assert after, "audio after a phantom interrupted must not be dropped as part of the cut generation"
        assert done.generation == after[-1].generation
        cut_turn = d.session.state.model_turn(cut.generation)
        assert isinstance(cut_turn, ModelTurn) and cut_turn.interrupted


async def test_go_away_cuts_a_turn_that_cannot_finish_in_time_then_resumes() -> None:
    # Real-time pacing: the long reply's turnComplete would come ~12 s later, far past timeLeft − margin.
    async with mock_server("goaway:1@1.5,sessions:1", pace=1.0) as mock:
        s = settings_for(mock, session={"modality": "AUDIO"}, go_away_margin_s=0.5)
        async with Driver(LiveSession(s)) as d:
            await d.wait_for(ev.Connected)
            await d.session.send_text("mock:long talk for a while")
            first = await d.wait_for(ev.ModelAudio)
            await d.wait_for(ev.GoAway)
            cut = await d.wait_for(ev.Interrupted, timeout=5)
            assert cut.generation == first.generation
            notice = await d.wait_for(ev.Notice, lambda e: "cut short" in e.message)
            assert notice.level == "warning"
            rec = await d.wait_for(ev.Reconnecting)
            assert rec.cause == "go_away"
            # The demo hands out a resumption handle only after a completed turn, and the only turn was cut: the
            # reconnect is a new session, and the session says so (the handle path is tested above).
            again = await d.wait_for(ev.Connected, after=d.events.index(rec))
            assert again.resumed is False
            assert any("no handle yet" in n.message for n in d.of(ev.Notice))
            turn = d.session.state.model_turn(cut.generation)
            assert isinstance(turn, ModelTurn) and turn.interrupted and not turn.complete


SLOW_SYNC_TOOL = '''
import time

def slow_sum(a: int = 1, b: int = 2) -> int:
    """Adds, slowly."""
    time.sleep(2.0)
    return a + b
'''


async def test_a_tool_result_is_not_sent_on_a_connection_that_did_not_ask(tmp_path: Path) -> None:
    module = tmp_path / "slow_sync.py"
    module.write_text(SLOW_SYNC_TOOL)
    tap = RecordingTap()
    # The close comes ~1 s after the tool starts and ~1 s before it returns: the result finishes on the next connection.
    async with mock_server("close:1011@1s,sessions:1") as mock:
        s = settings_for(mock, session={"tools_files": (module,)})
        async with Driver(LiveSession(s, tap=tap)) as d:
            await d.wait_for(ev.Connected)
            await d.session.send_text("please call slow_sum")
            await d.wait_for(ev.ToolStatusChanged, lambda e: e.status == "running")
            gone = await d.wait_for(ev.Disconnected)
            assert gone.code == 1011
            await d.wait_for(ev.Connected, after=d.events.index(gone))
            done = await d.wait_for(ev.ToolStatusChanged, lambda e: e.status == "ok", timeout=5)
            notice = await d.wait_for(ev.Notice, lambda e: "not delivered" in e.message)
            assert "slow_sum" in notice.message and done.name == "slow_sum"
            assert not any("tool_response" in f for f in tap.sent)
            assert d.session.connected
            await d.turn("hello again")


async def test_a_refused_resumption_handle_starts_a_new_session_instead_of_failing() -> None:
    from tui.mock.demo import DemoBackend
    from tui.mock.server import MockConnection

    class ForgetfulServer:
        """The demo, except that it refuses every resumption handle (as a server does once a handle expired)."""

        def __init__(self, options: MockOptions) -> None:
            self.demo = DemoBackend(options)

        async def run(self, conn: MockConnection) -> None:
            if conn.setup.resume_handle:
                await conn.close(1008, "Invalid session handle")
                return
            await self.demo.run(conn)

    opts = MockOptions(pace=0)
    async with serve_mock(opts, backend_factory=ForgetfulServer) as mock, Driver(LiveSession(settings_for(mock))) as d:
        await d.wait_for(ev.Connected)
        await d.turn("my name is Di")
        m = d.mark()
        await d.session.send_text("mock:drop go on")
        notice = await d.wait_for(ev.Notice, lambda e: "refused to resume" in e.message, after=m)
        assert "Invalid session handle" in notice.message
        fresh = await d.wait_for(ev.Connected, lambda e: not e.resumed, after=d.events.index(notice))
        assert fresh.resumed is False
        assert "Di" not in (await d.turn("what is my name?")).text
        assert not d.of(ev.Fatal)


async def test_vertex_custom_url_without_credentials_is_used_verbatim() -> None:
    # A gateway in front of Vertex: the SDK takes the wss:// URL as given and sends no credentials (§2.5).
    async with mock_server() as mock:
        url = (
            mock.base_url.replace("https://", "wss://")
            + "/gateway/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent"
        )
        s = Settings(vertexai=True, connection={"base_url": url, "ca_file": mock.ca_file}, session={"modality": "TEXT"})
        assert not s.use_demo
        async with Driver(LiveSession(s)) as d:
            await d.wait_for(ev.Connected)
            assert "through the gateway" in (await d.turn("through the gateway")).text
        await mock.idle()
        req = mock.sessions[-1].request
        assert req is not None and req.mode == "vertex" and req.key_source is None


async def test_an_unexpected_normal_close_while_active_reconnects() -> None:
    async with mock_server("close:1000@0.2s,sessions:1") as mock, Driver(LiveSession(settings_for(mock))) as d:
        await d.wait_for(ev.Connected)
        gone = await d.wait_for(ev.Disconnected)
        assert gone.code == 1000 and gone.will_retry
        assert (await d.wait_for(ev.Reconnecting)).cause == "drop"
        await d.wait_for(ev.Connected, after=d.events.index(gone))
        await d.turn("back again")


async def test_a_silent_server_gets_one_notice_while_a_reply_is_due() -> None:
    """The server keeps the socket (and pongs) alive but never answers: the user is told once, not left waiting."""
    async with mock_server() as mock, Driver(LiveSession(settings_for(mock, reply_silence_notice_s=0.4))) as d:
        await d.wait_for(ev.Connected)
        m = d.mark()
        await d.session.send_text("mock:silence please")
        notice = await d.wait_for(ev.Notice, lambda n: "no reply from the server" in n.message, after=m, timeout=5)
        assert notice.level == "warning"
        await asyncio.sleep(1.0)  # still silent: no second notice for the same wait
        assert len([n for n in d.of(ev.Notice, m) if "no reply" in n.message]) == 1
        assert d.session.connected


async def test_no_silence_notice_when_the_reply_comes() -> None:
    async with mock_server() as mock, Driver(LiveSession(settings_for(mock, reply_silence_notice_s=0.4))) as d:
        await d.wait_for(ev.Connected)
        m = d.mark()
        await d.turn("hello")
        await asyncio.sleep(0.8)  # idle after the reply: nothing is due, so nothing to say
        assert not [n for n in d.of(ev.Notice, m) if "no reply" in n.message]
