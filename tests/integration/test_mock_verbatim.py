"""The mock's public seam for replaying a recording: frames go out byte for byte (even ones the SDK would refuse),
handles a recording chose are resumable, and the replay backend uses nothing private of the mock."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from tui.mock.server import MockConnection, MockOptions, MockServer, SessionClosed, serve_mock

GEMINI = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
SETUP = {"setup": {"model": "models/m", "generationConfig": {"responseModalities": ["TEXT"]}}}
ODD_TEXT = '{"notAServerKind" :  {"x": 1}}'  # send_raw refuses it; spacing kept to show nothing re-encodes it
ODD_BINARY = b"\xff\xfe not utf-8"


class Verbatim:
    """On the first connection: sends two odd frames verbatim and registers a chosen handle. Later: notes resumes."""

    resumed: list[Any] = []

    async def run(self, conn: MockConnection) -> None:
        if conn.resumed_state is not None:
            Verbatim.resumed.append(dict(conn.resumed_state))
        try:
            await conn.recv()
            await conn.send_verbatim(ODD_TEXT)
            await conn.send_verbatim(ODD_BINARY)
            conn.save_resumption_as("recorded-handle-7", {"from": "recording"})
            await conn.send_verbatim('{"sessionResumptionUpdate":{"newHandle":"recorded-handle-7","resumable":true}}')
            while True:
                await conn.recv()
        except SessionClosed:
            return


def _open(mock: MockServer) -> Any:
    return connect(mock.ws_url(GEMINI), ssl=mock.client_ssl_context(), compression=None, open_timeout=3)


async def test_send_verbatim_delivers_exact_frames_and_a_chosen_handle_resumes() -> None:
    Verbatim.resumed = []
    async with serve_mock(MockOptions(pace=0), backend_factory=lambda _o: Verbatim()) as mock:
        async with _open(mock) as ws:
            await ws.send(json.dumps(SETUP))
            assert json.loads(await asyncio.wait_for(ws.recv(), 3)) == {"setupComplete": {}}
            await ws.send(json.dumps({"realtimeInput": {"text": "go"}}))
            got = [await asyncio.wait_for(ws.recv(), 3) for _ in range(3)]
        assert got[0] == ODD_TEXT and isinstance(got[0], str)
        assert got[1] == ODD_BINARY and isinstance(got[1], bytes)
        resume = {"setup": {**SETUP["setup"], "sessionResumption": {"handle": "recorded-handle-7"}}}
        async with _open(mock) as ws:
            await ws.send(json.dumps(resume))
            assert json.loads(await asyncio.wait_for(ws.recv(), 3)) == {"setupComplete": {}}
        await mock.idle()
    assert Verbatim.resumed == [{"from": "recording"}]


def test_the_replay_backend_touches_nothing_private_of_the_mock() -> None:
    """Only ``self._x`` is its own business: ``conn._write`` or ``server._store_handle`` would bind replay to mock
    internals that may change under it."""
    source = Path(__file__).resolve().parents[2] / "tui" / "mock" / "replay.py"
    private = [
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]
    assert private == []
