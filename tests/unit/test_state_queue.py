"""The session's bounded event queue policy, and that the session core imports stay light."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from tui.live import events as ev
from tui.live.session import _EventQueue


def audio(n: int) -> ev.ModelAudio:
    return ev.ModelAudio(pcm=bytes([n]), rate=24_000, generation=0)


async def test_stalled_consumer_loses_oldest_audio_never_semantic_events() -> None:
    q = _EventQueue(max_events=100, max_audio=3)
    q.put(ev.UserText(text="a"))
    for i in range(5):
        q.put(audio(i))
    q.put(ev.TurnComplete(generation=0))
    assert q.dropped_audio == 2
    got = [await q.get() for _ in range(len(q))]
    assert got == [ev.UserText(text="a"), audio(2), audio(3), audio(4), ev.TurnComplete(generation=0)]


async def test_semantic_backlog_applies_backpressure_until_the_consumer_reads() -> None:
    q = _EventQueue(max_events=2, max_audio=10)
    q.put(ev.UserText(text="1"))
    await asyncio.wait_for(q.wait_for_space(), 1)  # one queued: room left
    q.put(ev.UserText(text="2"))
    waiter = asyncio.create_task(q.wait_for_space())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    assert await q.get() == ev.UserText(text="1")
    await asyncio.wait_for(waiter, 1)


async def test_close_ends_the_reader_after_the_backlog() -> None:
    q = _EventQueue(max_events=10, max_audio=10)
    q.put(ev.SessionClosed())
    q.close()
    q.put(ev.UserText(text="after close is ignored"))
    assert await q.get() == ev.SessionClosed()
    assert await q.get() is None


def test_session_core_imports_no_ui_no_sdk_until_connecting() -> None:
    code = (
        "import sys, tui.live.session, tui.live.convert, tui.live.state, tui.live.tools, tui.live.client, "
        "tui.headless, tui.runtime; "
        "print(','.join(m for m in ('textual', 'rich', 'sounddevice', 'google.genai', 'tui.mock.server') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""


async def test_intents_while_disconnected_are_bounded_and_counted() -> None:
    from tui.config import Settings
    from tui.live.session import MAX_PENDING_TEXTS, LiveSession

    session = LiveSession(Settings(api_key="k"))
    await session.send_audio(b"\x00\x00" * 640)
    await session.send_frame(b"\xff\xd8", width=1, height=1, source="camera")
    await session.activity_start()
    for i in range(MAX_PENDING_TEXTS + 2):
        await session.send_text(f"line {i}")
    c = session.counters
    assert (c.audio_not_sent, c.frames_not_sent, c.activity_not_sent, c.texts_dropped) == (1, 1, 1, 2)
    assert list(session._pending_texts) == [f"line {i}" for i in range(2, MAX_PENDING_TEXTS + 2)]
    # Every typed line still shows in the transcript, and the drops were announced.
    assert [t.text for t in session.state.turns] == [f"line {i}" for i in range(MAX_PENDING_TEXTS + 2)]
    await session.close()
    seen = [e async for e in session.events()]
    assert sum(isinstance(e, ev.Notice) for e in seen) == 2
    assert isinstance(seen[-1], ev.SessionClosed)
