"""Fuzzing the mock with malformed client frames from a raw websockets client, while a healthy session runs.

Every malformed ``setup`` or later client frame must end its own session with a clean close code (1007 invalid
payload, 1008 policy, 1009 too big) and a reason, never 1011 or a dropped TCP connection, never a logged traceback.
Frames the mock accepts as valid must leave it answering. Meanwhile a well-behaved session on the same server keeps
completing turns: one client's garbage never disturbs another's session.

The mock runs on its own event loop in a background thread (hypothesis drives synchronous examples); each example
connects with ``websockets.sync``. CI runs a bounded sample; ``tools/check --full`` runs thousands.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect as aconnect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from tests.conftest import FULL
from tui.mock.server import InvalidFrame, MockOptions, MockServer, parse_client_frame, parse_setup, serve_mock

EXAMPLES = 1500 if FULL else 120

pytestmark = [
    pytest.mark.timeout(900 if FULL else 120),  # --full runs thousands of cases per test
    # The mock's demo runs on another thread and uses the global ``random``; hypothesis sees the global state move
    # while it draws and warns as if a strategy had used it. Nothing here draws from ``random``.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
CLEAN_CODES = {1007, 1008, 1009}
SETUP = json.dumps({"setup": {"model": "models/gemini-live-2.5-flash-preview"}})


@dataclass
class Served:
    mock: MockServer
    loop: asyncio.AbstractEventLoop
    healthy_turns: int = 0
    healthy_errors: list[str] = field(default_factory=list)
    errors_logged: list[str] = field(default_factory=list)
    handshake_retries: list[str] = field(default_factory=list)


class _Errors(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        exc = (
            f" ({record.exc_info[0].__name__}: {record.exc_info[1]})" if record.exc_info and record.exc_info[1] else ""
        )
        self.sink.append(f"{record.name}: {record.getMessage()}{exc}")


async def _healthy(served: Served, stop: asyncio.Event) -> None:
    """A well-behaved raw client doing text turns for as long as the fuzzing lasts."""
    mock = served.mock
    try:
        async with aconnect(mock.ws_url(), ssl=mock.client_ssl_context(), compression=None) as ws:
            await ws.send(
                json.dumps({"setup": {"model": "models/m", "generationConfig": {"responseModalities": ["TEXT"]}}})
            )
            await ws.recv()
            while not stop.is_set():
                await ws.send(
                    json.dumps(
                        {
                            "clientContent": {
                                "turns": [{"role": "user", "parts": [{"text": "hi"}]}],
                                "turnComplete": True,
                            }
                        }
                    )
                )
                while "turnComplete" not in str(await asyncio.wait_for(ws.recv(), 10)):
                    pass
                served.healthy_turns += 1
                await asyncio.sleep(0.02)
    except Exception as exc:  # anything at all is a failure of the healthy session
        served.healthy_errors.append(f"{type(exc).__name__}: {exc}")


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        async with serve_mock(MockOptions(pace=0, max_sessions=400)) as mock:
            stop = asyncio.Event()
            box["served"] = s = Served(mock, asyncio.get_running_loop())
            box["stop"] = stop
            handler = _Errors(s.errors_logged)
            # Server side only: the raw test clients (websockets.client) are not what is under test.
            for name in ("tui.mock", "websockets.server"):
                logging.getLogger(name).addHandler(handler)
            task = asyncio.create_task(_healthy(s, stop))
            ready.set()
            await stop.wait()
            await task
            for name in ("tui.mock", "websockets.server"):
                logging.getLogger(name).removeHandler(handler)

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(30)
    served = box["served"]
    yield served
    served.loop.call_soon_threadsafe(box["stop"].set)
    thread.join(30)
    assert not served.healthy_errors, served.healthy_errors
    assert served.healthy_turns > 0
    assert not served.errors_logged, served.errors_logged[:5]
    assert served.mock.stats.closes[1011] == 0, dict(served.mock.stats.closes)
    assert len(served.handshake_retries) <= max(2, EXAMPLES // 100), served.handshake_retries


_ids = iter(range(1, 1 << 62))


def _exchange(served: Served, frames: list[str | bytes]) -> tuple[int | None, str]:
    """Send ``frames`` on a fresh connection, then a valid probe turn; the session's end as the mock recorded it.

    Returns (None, "") when the session was still up after the frames (the client then closed it), else the close
    code and reason the mock sent. Judged from the mock's own session summary, because what a client sees can be
    a TCP reset when it is still sending as the server closes.
    """
    mock = served.mock
    fid = str(next(_ids))
    closed_by_server = False
    for attempt in range(2):
        try:
            ws = connect(
                mock.ws_url(),
                ssl=mock.client_ssl_context(),
                compression=None,
                open_timeout=5,
                additional_headers={"x-fuzz-id": fid},
            )
            break
        except (TimeoutError, OSError, InvalidHandshake, ConnectionClosed) as exc:
            # Seen rarely under load: the handshake of a fresh connection times out before the mock ever sees the
            # request (its loop is not stalled), or the TLS connection ends during it (SSLEOFError on sending the
            # upgrade, once under `tools/check --full`). Retried once and counted; the session was never started.
            served.handshake_retries.append(f"{type(exc).__name__}: {exc}")
            if attempt:
                raise
    # Our own close (leaving ``with ws``) can find the server's already done (seen under load: the close frame we
    # answer with meets a socket the server has shut, "no close frame received or sent"): what the server did is
    # judged from its own summary below, not from how our close went.
    with contextlib.suppress(ConnectionClosed), ws:
        try:
            for f in frames:
                ws.send(f)
            ws.send(PROBE)
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                if "turnComplete" in str(ws.recv(timeout=max(0.01, deadline - time.monotonic()))):
                    break
        except ConnectionClosed:
            closed_by_server = True
        except TimeoutError:
            pass  # still open: some valid inputs (an open activityStart) leave the demo waiting, as they may
    summary = _summary(served, fid)
    if not closed_by_server and summary.close_code in (1000, 1005):
        return None, ""
    return summary.close_code, summary.close_reason


def _summary(served: Served, fid: str) -> Any:
    async def find() -> Any:
        for _ in range(200):
            for s in list(served.mock.sessions):
                if s.request is not None and s.request.headers.get("x-fuzz-id") == fid:
                    return s
            await asyncio.sleep(0.01)
        raise AssertionError(f"the mock has no record of session {fid}")

    return asyncio.run_coroutine_threadsafe(find(), served.loop).result(10)


def _assert_clean(code: int | None, reason: str) -> None:
    if code is not None:
        assert code in CLEAN_CODES, f"closed {code} {reason!r}"
        assert reason, "a close without a reason"


PROBE = json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [{"text": "probe"}]}], "turnComplete": True}})


# ------------------------------------------------------------------------------------------------ strategies

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)

PCM = base64.urlsafe_b64encode(bytes(640)).decode()
TEMPLATES: list[dict[str, Any]] = [
    {"realtime_input": {"audio": {"data": PCM, "mime_type": "audio/pcm;rate=16000"}}},
    {
        "realtimeInput": {
            "video": {"data": base64.b64encode(b"\xff\xd8\xff\xe0jpeg").decode(), "mimeType": "image/jpeg"}
        }
    },
    {"realtimeInput": {"text": "hello"}},
    {"realtimeInput": {"mediaChunks": [{"data": PCM, "mimeType": "audio/pcm"}]}},
    {"realtimeInput": {"activityStart": {}}},
    {"realtimeInput": {"audioStreamEnd": True}},
    {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}], "turnComplete": True}},
    {
        "client_content": {
            "turns": [{"role": "user", "parts": [{"inlineData": {"data": PCM, "mimeType": "audio/pcm"}}]}]
        }
    },
    {"toolResponse": {"functionResponses": [{"id": "c1", "name": "f", "response": {"x": 1}}]}},
]
SETUPS: list[dict[str, Any]] = [
    {"setup": {"model": "models/m"}},
    {"setup": {"model": "models/m", "generationConfig": {"responseModalities": ["AUDIO"], "temperature": 0.5}}},
    {"setup": {"model": "models/m", "realtimeInputConfig": {"automaticActivityDetection": {"silenceDurationMs": 300}}}},
    {"setup": {"model": "models/m", "tools": [{"functionDeclarations": [{"name": "f", "parameters": {}}]}]}},
    {
        "setup": {
            "model": "models/m",
            "sessionResumption": {"handle": "h"},
            "systemInstruction": {"parts": [{"text": "x"}]},
        }
    },
]


def _paths(v: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(v, dict):
        for k, x in v.items():
            out += _paths(x, (*prefix, k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out += _paths(x, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, templates: list[dict[str, Any]]) -> str:
    """A valid frame with one node replaced by a random JSON value, a key renamed, or a node deleted."""
    frame = json.loads(json.dumps(draw(st.sampled_from(templates))))
    path = draw(st.sampled_from(_paths(frame)[1:]))
    parent = frame
    for step in path[:-1]:
        parent = parent[step]
    how = draw(st.sampled_from(["replace", "rename", "delete"]))
    if how == "replace" or isinstance(parent, list):
        parent[path[-1]] = draw(JSON)
    elif how == "rename":
        parent[draw(st.text(max_size=12))] = parent.pop(path[-1])
    else:
        del parent[path[-1]]
    return json.dumps(frame, allow_nan=True)


GARBAGE = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200),
    JSON.map(lambda v: json.dumps(v, allow_nan=True)),
    st.sampled_from(["[" * 50_000, '{"a":' * 50_000, "1e999999", "NaN", '{"setup": NaN}', "\x00" * 10, ""]),
)


# ------------------------------------------------------------------------------------------------ tests


@FUZZ
@given(first=st.one_of(GARBAGE, mutated(SETUPS)))
def test_a_malformed_setup_is_a_clean_close(served: Served, first: str | bytes) -> None:
    _assert_clean(*_exchange(served, [first]))


@FUZZ
@given(frames=st.lists(st.one_of(GARBAGE, mutated(TEMPLATES)), min_size=1, max_size=3))
def test_malformed_client_frames_after_setup_are_a_clean_close(served: Served, frames: list[str | bytes]) -> None:
    code, reason = _exchange(served, [SETUP, *frames])
    _assert_clean(code, reason)


VALIDATOR_FUZZ = settings(
    max_examples=4 * EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


@VALIDATOR_FUZZ
@given(first=st.one_of(GARBAGE, mutated(SETUPS)))
def test_setup_validation_raises_only_invalid_frame(first: str | bytes) -> None:
    """The parser itself, without the network, at many more cases: only ``InvalidFrame`` (→ 1007/1008) escapes."""
    with contextlib.suppress(InvalidFrame):
        parse_setup(first)


@VALIDATOR_FUZZ
@given(frame=st.one_of(GARBAGE, mutated(TEMPLATES)))
def test_client_frame_validation_raises_only_invalid_frame(frame: str | bytes) -> None:
    with contextlib.suppress(InvalidFrame):
        parse_client_frame(frame, index=1)


def test_a_frame_over_the_size_limit_is_1009_and_the_server_goes_on(served: Served) -> None:
    mock = served.mock
    big = json.dumps({"realtimeInput": {"text": "x" * (17 << 20)}})
    fid = str(next(_ids))
    headers = {"x-fuzz-id": fid}
    with connect(
        mock.ws_url(), ssl=mock.client_ssl_context(), compression=None, open_timeout=10, additional_headers=headers
    ) as ws:
        ws.send(SETUP)
        ws.recv(timeout=5)  # setupComplete
        with contextlib.suppress(ConnectionClosed):
            ws.send(big)  # may already fail with the reset
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    # The mock closes with 1009 at 16 MiB; a client still writing the rest may get a TCP reset instead of the
    # close frame (then neither side saw a close handshake: 1006 in the mock's record). Never anything else.
    rcvd = closed.value.rcvd
    assert rcvd is None or rcvd.code == 1009
    assert _summary(served, fid).close_code in (1009, 1006)
    assert _exchange(served, [SETUP]) == (None, "")


def test_known_malformed_cases_name_the_problem(served: Served) -> None:
    cases = [
        ("not json", "Invalid JSON payload"),
        (json.dumps({"realtimeInput": {"audio": {"data": "!!!", "mimeType": "audio/pcm;rate=16000"}}}), "base64"),
        (json.dumps({"realtimeInput": {"audio": {"data": PCM, "mimeType": "audio/wav"}}}), "mimeType"),
        (json.dumps({"bogus": {}}), "bogus"),
        (SETUP, "setup may only be sent once"),
    ]
    for frame, expected in cases:
        code, reason = _exchange(served, [SETUP, frame])
        assert code == 1007 and expected in reason, (frame[:60], code, reason)
