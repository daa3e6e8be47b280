"""A frame-level client that plays the client side of a recording verbatim (no SDK): for imported captures and tests.

Per recorded connection it opens a websocket to the mock, sends the recorded client frames and reads server frames
in recorded order (a client frame recorded after a server frame is sent only once that server frame arrived), and
closes where the recording's client closed. Every server frame received can be handed to ``on_frame`` (e.g. to
run it through the SDK's parser).

Threading: one asyncio loop.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tui.mock.replay import Segment, client_initiated, plan_segments
from tui.recording.reader import Recording

GEMINI_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
VERTEX_PATH = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"


@dataclass
class RawResult:
    """What the raw client saw."""

    received: list[bytes] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    closes: list[tuple[int | None, str]] = field(default_factory=list)


async def play_client(
    rec: Recording,
    ws_base: str,
    ssl_ctx: ssl.SSLContext | None,
    *,
    vertex: bool = False,
    on_frame: Callable[[bytes], Any] | None = None,
    timeout_s: float = 10.0,
    extra_connections: int = 0,
) -> RawResult:
    """Play the client side of ``rec`` against ``ws_base`` (``wss://127.0.0.1:PORT``)."""
    result = RawResult()
    url = ws_base + (VERTEX_PATH if vertex else GEMINI_PATH)
    segments = plan_segments(rec)
    for seg in [*segments, *([None] * extra_connections)]:
        try:
            await asyncio.wait_for(_one(seg, url, ssl_ctx, result, on_frame, timeout_s), timeout_s * 4)
        except TimeoutError:
            result.problems.append(f"connection {seg.seg if seg else 'extra'}: timed out")
    return result


async def _one(
    seg: Segment | None,
    url: str,
    ssl_ctx: ssl.SSLContext | None,
    result: RawResult,
    on_frame: Callable[[bytes], Any] | None,
    timeout_s: float,
) -> None:
    async with connect(
        url, ssl=ssl_ctx, compression=None, max_size=None, additional_headers={"x-goog-api-key": "raw"}
    ) as ws:
        try:
            if seg is None:  # a connection the recording does not have
                await ws.send('{"setup": {"model": "models/extra"}}')
                while True:
                    await asyncio.wait_for(ws.recv(decode=False), timeout_s)
            assert seg.setup is not None
            await ws.send(seg.setup.data)
            first = await asyncio.wait_for(ws.recv(decode=False), timeout_s)  # the mock's own setupComplete
            _got(first, result, on_frame)
            for step in seg.steps:
                if step.kind == "c2s":
                    assert step.frame is not None
                    await ws.send(step.frame.data)
                elif step.kind == "s2c":
                    assert step.frame is not None
                    data = await asyncio.wait_for(ws.recv(decode=False), timeout_s)
                    _got(data, result, on_frame)
                    expected = step.frame.data if isinstance(step.frame.data, bytes) else step.frame.data.encode()
                    if data != expected:
                        result.problems.append(f"frame #{step.frame.index}: the mock sent different bytes")
                else:
                    assert step.close is not None
                    if client_initiated(step.close):
                        await ws.close()
                        return
                    await asyncio.wait_for(ws.recv(decode=False), timeout_s)  # raises ConnectionClosed
            await ws.close()
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            result.closes.append((rcvd.code if rcvd else None, rcvd.reason if rcvd else ""))


def _got(data: bytes | str, result: RawResult, on_frame: Callable[[bytes], Any] | None) -> None:
    raw = data if isinstance(data, bytes) else data.encode()
    result.received.append(raw)
    if on_frame is not None:
        on_frame(raw)
