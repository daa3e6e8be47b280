"""The pluggable backend interface (what the replay backend builds on): validated input in, raw or dict frames out,
limits enforced, a failing backend becomes a 1011 close, never a hang or an unknown frame."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from google import genai
from google.genai import errors

from tui.mock.server import ClientMessage, MockConnection, MockOptions, SessionClosed, serve_mock

MODEL = "models/m"


class Scripted:
    """Answers each text turn with the frames of a script; records what it saw."""

    seen: list[ClientMessage]
    setups: list[Any]

    def __init__(self, script: list[tuple[str, Any]]) -> None:
        self.script = script

    async def run(self, conn: MockConnection) -> None:
        Scripted.setups.append(conn.setup)
        try:
            while True:
                msg = await conn.recv()
                Scripted.seen.append(msg)
                if msg.kind != "clientContent":
                    continue
                for how, payload in self.script:
                    if how == "raw":
                        await conn.send_raw(payload)
                    elif how == "binary":
                        await conn.send_raw(payload, binary=True)
                    else:
                        await conn.send(payload)
        except SessionClosed:
            return


@pytest.fixture(autouse=True)
def _reset() -> None:
    Scripted.seen = []
    Scripted.setups = []


async def _run_turn(script: list[tuple[str, Any]]) -> tuple[list[Any], errors.APIError | None]:
    async with serve_mock(MockOptions(pace=0), backend_factory=lambda _o: Scripted(script)) as mock:
        client = genai.Client(api_key="k", http_options=mock.sdk_http_options())
        got: list[Any] = []
        async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
            await session.send_client_content(turns={"role": "user", "parts": [{"text": "go"}]})
            try:
                async with asyncio.timeout(3):
                    async for m in session.receive():
                        got.append(m)
            except errors.APIError as exc:
                return got, exc
    return got, None


async def test_raw_text_binary_and_dict_frames_reach_the_sdk() -> None:
    raw = '{"serverContent": {"modelTurn": {"parts": [{"text": "verbatim "}]}}}'
    binary = b'{"serverContent":{"modelTurn":{"parts":[{"text":"binary "}]}}}'
    script = [
        ("raw", raw),
        ("binary", binary),
        ("dict", {"serverContent": {"modelTurn": {"parts": [{"text": "dict"}]}, "turnComplete": True}}),
    ]
    got, err = await _run_turn(script)
    assert err is None
    assert "".join(m.text or "" for m in got) == "verbatim binary dict"
    assert Scripted.setups[0].text.startswith('{"setup"')
    assert Scripted.seen[0].raw.startswith('{"client_content"') and Scripted.seen[0].index == 1


@pytest.mark.parametrize(
    "script",
    [
        [("raw", '{"brandNewKind": {}}')],
        [("raw", "not json")],
        [("dict", {"serverContent": {"modelTurn": {"parts": [{"text": "x" * (1 << 20)}]}}})],
    ],
)
async def test_a_backend_breaking_the_rules_becomes_a_1011_close(script: list[tuple[str, Any]]) -> None:
    got, err = await _run_turn(script)
    assert got == []  # nothing the SDK would choke on ever went out
    assert err is not None and err.code == 1011
    assert "mock backend failed" in str(err)


async def test_backend_sees_normalised_messages() -> None:
    got, _ = await _run_turn([("dict", {"serverContent": {"turnComplete": True}})])
    msg = Scripted.seen[0]
    assert msg.kind == "clientContent"
    assert msg.data == {"turns": [{"role": "user", "parts": [{"text": "go"}]}], "turnComplete": True}
    assert json.loads(msg.raw)["client_content"]["turnComplete"] is True
    assert got[-1].server_content.turn_complete
