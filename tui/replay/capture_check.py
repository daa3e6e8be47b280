"""Replaying an imported real capture: the mock plays its server side, a raw client its client side, and every
server frame goes through the google-genai SDK's parser and our event converter.

This is the evidence that the mock (which validates the real clients' frames) and the parser (which reads the real
server's frames) match the real Live API.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from tui.mock.replay import ReplayBackend, ReplayOptions, ReplayState
from tui.mock.server import MockOptions, serve_mock
from tui.recording.reader import read_recording
from tui.replay.rawclient import RawResult, play_client
from tui.replay.report import ReplayResult


@dataclass
class CaptureReplay:
    """The outcome of replaying one imported capture."""

    replay: ReplayResult
    client: RawResult
    events: int = 0
    parse_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.replay.ok and not self.client.problems and not self.parse_problems


async def replay_capture(path: Path, *, vertex: bool | None = None) -> CaptureReplay:
    """Replay an imported capture (see the module docstring)."""
    from google.genai import _live_converters as conv
    from google.genai import types

    from tui.live.convert import Converter

    rec = read_recording(path)
    if vertex is None:
        vertex = "vertex" in str(rec.header.extra.get("api", "")).lower()
    state = ReplayState(rec, ReplayOptions(strict=True, frame_timeout_s=10, close_wait_s=10))
    converter = Converter()
    problems: list[str] = []
    count = [0]

    def parse(raw: bytes) -> None:
        try:
            obj = json.loads(raw) if raw else {}
            body = conv._LiveServerMessage_from_vertex(obj) if vertex else conv._LiveServerMessage_from_mldev(obj)
            if obj and not body:
                problems.append(f"the SDK recognises no message kind in {raw[:80]!r}")
                return
            msg = types.LiveServerMessage._from_response(response=body, kwargs={})
            count[0] += len(converter.convert(msg))
        except Exception as exc:
            problems.append(f"{type(exc).__name__}: {exc} in {raw[:80]!r}")

    async with serve_mock(
        MockOptions(backend="replay", pace=0), backend_factory=lambda _o: ReplayBackend(state)
    ) as mock:
        client = await play_client(rec, mock.ws_url(""), mock.client_ssl_context(), vertex=vertex, on_frame=parse)
        with contextlib.suppress(TimeoutError):
            await mock.idle(5.0)  # so every session's summary is in
        for summary in mock.sessions:
            if summary.close_code not in (1000, None) and summary.close_code != 1005:
                client.problems.append(f"the mock closed with {summary.close_code}: {summary.close_reason}")
    state.finish()
    return CaptureReplay(state.result(), client, count[0], problems)
