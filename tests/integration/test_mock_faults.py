"""Each fault, selected per session with the ``x-mock-fault`` header, as the unmodified SDK experiences it."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

from tui.mock.faults import FaultPlan
from tui.mock.server import MockOptions, MockServer, serve_mock

MODEL = "gemini-live-2.5-flash-preview"
AUDIO = {"response_modalities": ["AUDIO"]}
TEXT = {"response_modalities": ["TEXT"]}


@pytest.fixture
async def mock() -> AsyncIterator[MockServer]:
    async with serve_mock(MockOptions(pace=0)) as server:
        yield server


def client_for(mock: MockServer, fault: str | None = None, **http: Any) -> genai.Client:
    headers = dict(http.pop("headers", {}))
    if fault:
        headers["x-mock-fault"] = fault
    return genai.Client(api_key="k", http_options=mock.sdk_http_options(headers=headers, **http))


def say(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


async def drain(session: Any, limit: float = 3.0) -> tuple[list[types.LiveServerMessage], errors.APIError | None]:
    got: list[types.LiveServerMessage] = []
    try:
        async with asyncio.timeout(limit):
            async for m in session.receive():
                got.append(m)
    except errors.APIError as exc:
        return got, exc
    return got, None


async def test_drop_mid_turn_is_1006_after_n_chunks(mock: MockServer) -> None:
    async with client_for(mock, "drop-mid-turn:3").aio.live.connect(model=MODEL, config=AUDIO) as session:
        await session.send_client_content(turns=say("hello"))
        got, err = await drain(session)
    assert err is not None and err.code == 1006
    assert len([m for m in got if m.data]) == 3
    assert not any(m.server_content and m.server_content.turn_complete for m in got)
    await mock.idle()  # the close is counted when the server's handler finishes
    assert mock.stats.closes[1006] == 1 and mock.stats.faults_fired["drop-mid-turn"] == 1


async def test_fault_sessions_limit_lets_the_next_session_live(mock: MockServer) -> None:
    client = client_for(mock, "drop-mid-turn:1,sessions:1")
    results = []
    for _ in range(2):
        async with client.aio.live.connect(model=MODEL, config=TEXT) as session:
            await session.send_client_content(turns=say("hello"))
            results.append(await drain(session))
    assert results[0][1] is not None and results[0][1].code == 1006
    assert results[1][1] is None and results[1][0][-1].server_content.turn_complete  # type: ignore[union-attr]


@pytest.mark.parametrize("code", [1007, 1008, 1011])
async def test_close_after_time(mock: MockServer, code: int) -> None:
    async with client_for(mock, f"close:{code}@0.2").aio.live.connect(model=MODEL, config=TEXT) as session:
        _, err = await drain(session)
    assert err is not None and err.code == code
    assert "mock fault" in str(err)


async def test_close_on_nth_client_message(mock: MockServer) -> None:
    async with client_for(mock, "close:1011#2").aio.live.connect(model=MODEL, config=TEXT) as session:
        await session.send_client_content(turns=say("one"))
        first, err1 = await drain(session)
        await session.send_client_content(turns=say("two"))
        _, err2 = await drain(session)
    assert err1 is None and first[-1].server_content and first[-1].server_content.turn_complete
    assert err2 is not None and err2.code == 1011


async def test_go_away_then_close_when_time_runs_out(mock: MockServer) -> None:
    started = time.monotonic()  # before connect: the server's clock starts later, so the bound below is causal
    async with client_for(mock, "goaway:0.1@0.5").aio.live.connect(model=MODEL, config=TEXT) as session:
        got, err = await drain(session)
    go = [m.go_away for m in got if m.go_away]
    assert go and go[0].time_left == "0.5s"
    assert err is not None and err.code == 1000
    assert time.monotonic() - started >= 0.5


async def test_go_away_trigger_word_in_text(mock: MockServer) -> None:
    async with client_for(mock).aio.live.connect(model=MODEL, config=TEXT) as session:
        await session.send_client_content(turns=say("goaway please"))
        got, err = await drain(session)
    assert err is None
    assert [m.go_away.time_left for m in got if m.go_away] == ["10s"]
    assert got[-1].server_content and got[-1].server_content.turn_complete


async def test_silence_fault_sends_nothing_but_stays_open(mock: MockServer) -> None:
    async with client_for(mock, "silence:0").aio.live.connect(model=MODEL, config=TEXT) as session:
        await session.send_client_content(turns=say("hello?"))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(session.receive()), 0.5)
        await session.send_client_content(turns=say("still open"))  # sending still works: nothing was closed
    assert mock.stats.faults_fired["silence"] == 1


async def test_oversized_frame_kills_a_default_sdk_client(mock: MockServer) -> None:
    async with client_for(mock, "oversized").aio.live.connect(model=MODEL, config=AUDIO) as session:
        await session.send_client_content(turns=say("hello"))
        _, err = await drain(session)
    assert err is not None and err.code == 1006


async def test_oversized_frame_arrives_when_the_client_lifts_max_size(mock: MockServer) -> None:
    http = mock.sdk_http_options(
        headers={"x-mock-fault": "oversized:1100000"},
        async_client_args={"ssl": mock.client_ssl_context(), "max_size": None},
    )
    client = genai.Client(api_key="k", http_options=http)
    async with client.aio.live.connect(model=MODEL, config=AUDIO) as session:
        await session.send_client_content(turns=say("hello"))
        got, err = await drain(session)
    assert err is None
    sizes = [len(m.data or b"") for m in got if m.data]
    assert sizes[0] >= 800_000 and len(sizes) > 2  # one big frame, then the normal reply


async def test_phantom_interrupted_mid_turn_and_the_turn_goes_on(mock: MockServer) -> None:
    async with client_for(mock, "phantom-interrupted:2").aio.live.connect(model=MODEL, config=AUDIO) as session:
        await session.send_client_content(turns=say("hello"))
        got, err = await drain(session)
    assert err is None
    kinds = [
        "audio" if m.data else "interrupted" if m.server_content and m.server_content.interrupted else "x" for m in got
    ]
    assert kinds[:3] == ["audio", "audio", "interrupted"]
    assert kinds.count("interrupted") == 1 and kinds[3] == "audio"
    assert got[-1].server_content and got[-1].server_content.turn_complete


async def test_bursty_audio_arrives_in_bursts(mock: MockServer) -> None:
    arrivals: list[float] = []
    client = client_for(mock, "bursty-audio", headers={"x-mock-pace": "0.1"})
    async with client.aio.live.connect(model=MODEL, config=AUDIO) as session:
        await session.send_client_content(turns=say("a reply long enough to come in a few bursts of audio"))
        async with asyncio.timeout(4):
            async for m in session.receive():
                if m.data:
                    arrivals.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert sum(g < 0.005 for g in gaps) >= 3  # chunks that came together
    assert any(g > 0.03 for g in gaps)  # and a pause between bursts (>= 0.5 s of audio at pace 0.1)


def test_fault_plan_from_options_applies_to_every_session() -> None:
    plan = FaultPlan.parse("drop-mid-turn:1")

    async def run() -> list[int | None]:
        codes: list[int | None] = []
        async with serve_mock(MockOptions(pace=0, faults=plan)) as mock:
            client = client_for(mock)
            for _ in range(2):
                async with client.aio.live.connect(model=MODEL, config=TEXT) as session:
                    await session.send_client_content(turns=say("x"))
                    _, err = await drain(session)
                    codes.append(err.code if err else None)
        return codes

    assert asyncio.run(run()) == [1006, 1006]


@pytest.mark.parametrize(
    ("text", "code", "audio_chunks"),
    [("mock:drop now", 1006, 2), ("mock:close=1011 now", 1011, 0), ("mock:close=1008", 1008, 0), ("mock:big", 1006, 0)],
)
async def test_text_triggers_end_the_session(mock: MockServer, text: str, code: int, audio_chunks: int) -> None:
    async with client_for(mock).aio.live.connect(model=MODEL, config=AUDIO) as session:
        await session.send_client_content(turns=say(text))
        got, err = await drain(session)
    assert err is not None and err.code == code
    assert len([m for m in got if m.data]) == audio_chunks


async def test_text_triggers_that_keep_the_session(mock: MockServer) -> None:
    async with client_for(mock).aio.live.connect(model=MODEL, config=AUDIO) as session:
        await session.send_client_content(turns=say("mock:phantom hi"))
        phantom, err = await drain(session)
        assert err is None
        await session.send_client_content(turns=say("mock:silence"))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(session.receive()), 0.5)
        await session.send_client_content(turns=say("mock:burst are you back?"))
        after, err = await drain(session)
        answered, err2 = await drain(session)
    assert err2 is None and any(m.data for m in answered)
    kinds = [
        "audio" if m.data else "interrupted" if m.server_content and m.server_content.interrupted else "-"
        for m in phantom
    ]
    assert kinds[:2] == ["audio", "interrupted"] and kinds.count("audio") > 2
    assert err is None
    # The silent turn was left open; the next input interrupts it, then the new turn is answered.
    assert after[0].server_content and after[0].server_content.interrupted
    assert after[1].server_content and after[1].server_content.turn_complete
