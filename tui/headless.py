"""``gemini-live --headless``: the live session without a UI. Text turns from stdin, one line per event on stdout.

Output lines start with a fixed prefix so scripts can grep them:

    status: connecting, connected, reconnecting, turn summaries, warnings
    user:   a typed turn as sent (``user: (spoken) …`` for transcribed speech)
    model:  the model's reply, one line per turn (text, else the transcript of its speech), ``[interrupted]`` if cut
    thought: the model's thought summary for the turn, when it sends one
    tool:   a local function call and its outcome
    code:   code the model ran (code execution tool) and its result
    search: search grounding (queries and sources)
    error:  the session cannot go on (exit status 1)

Each stdin line is one turn, sent when the previous reply is complete. At end of input the program waits for the
last reply and exits 0. Newlines inside a reply are shown as spaces so every event stays one line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TextIO

from tui.live import events as ev

if TYPE_CHECKING:
    from tui.config import Settings
    from tui.live.session import LiveSession
    from tui.live.tap import FrameTap

TapFactory = Callable[["Settings"], "FrameTap | None"]
"""Makes the frame tap for a session (the recorder plugs in here for ``--record``)."""
MediaBridge = Callable[["LiveSession"], Coroutine[Any, Any, None]]
"""Runs beside the session feeding it media (``--frames`` and the like); cancelled when the session ends."""

REPLY_TIMEOUT_S = 120.0
"""How long to wait for a reply before giving up on it (the next line is sent anyway)."""

DEMO_BANNER = (
    "status: offline demo: no API key is set, so this talks to a local mock server on 127.0.0.1 "
    "(replies are canned; nothing leaves this machine). Set GEMINI_API_KEY for the real model."
)


def run_headless(
    settings: Settings,
    *,
    tap_factory: TapFactory | None = None,
    media: MediaBridge | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Run a headless session; the exit status (0 = input done and every reply complete, 1 = fatal error)."""
    return asyncio.run(_main(settings, tap_factory, media, stdin or sys.stdin, stdout or sys.stdout))


def headless_media(settings: Settings) -> MediaBridge | None:
    """The video pump for ``--frames``/``--screen``/``--camera`` in headless mode, or None when no video is asked.

    Audio devices stay closed: headless is text in, lines out. A source that cannot work (a missing path, no
    OpenCV for ``--camera``) raises ``UserError`` here, before anything connects.
    """
    if settings.video.source == "none":
        return None
    from tui.media.bridge import MediaBridge as Bridge
    from tui.media.video import source_from_settings

    source = source_from_settings(settings.video)  # fail fast on a bad --frames path
    bridge = Bridge(settings.audio.model_copy(update={"enabled": False}), settings.video, frame_source=source)
    return bridge.run


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self._out = out

    def line(self, prefix: str, text: str) -> None:
        flat = " ".join(text.split())
        try:
            self._out.write(f"{prefix}: {flat}\n")
            self._out.flush()
        except (BrokenPipeError, ValueError):
            pass  # the reader went away (| head): keep running quietly until input ends


def _stdin_lines(stream: TextIO, loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Read lines in a daemon thread (a blocked read never holds up exit); None marks end of input."""
    queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=64)

    def put(item: str | None) -> None:
        asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()

    def reader() -> None:
        try:
            for line in stream:
                put(line.rstrip("\r\n"))
        except (OSError, ValueError, RuntimeError):
            pass
        finally:
            try:
                put(None)
            except RuntimeError:  # the loop already closed
                pass

    threading.Thread(target=reader, name="headless-stdin", daemon=True).start()
    return queue


class _Replies:
    """Tracks whether the reply to the last sent line is complete (turn ended, tools answered and continued)."""

    def __init__(self) -> None:
        self.waiting = False
        self.continuation_due = False
        self.queued = False
        """The last line was kept by the session for the next connection (typed while disconnected)."""
        self.done = asyncio.Event()
        self.done.set()

    def sent(self) -> None:
        self.waiting = True
        self.continuation_due = False
        self.queued = False
        self.done.clear()

    def finish(self) -> None:
        self.waiting = False
        self.done.set()


async def _main(
    settings: Settings,
    tap_factory: TapFactory | None,
    media: MediaBridge | None,
    stdin: TextIO,
    stdout: TextIO,
) -> int:
    from tui.live.session import LiveSession
    from tui.runtime import prepare_endpoint

    out = _Printer(stdout)
    async with prepare_endpoint(settings) as (live_settings, demo):
        if demo:
            out.line("status", DEMO_BANNER.removeprefix("status: "))
        tap = tap_factory(live_settings) if tap_factory is not None else None
        session = LiveSession(live_settings, tap=tap)
        runner = asyncio.create_task(session.run(), name="live-session")
        replies = _Replies()
        connected = asyncio.Event()
        result: dict[str, int] = {"code": 0}
        consumer = asyncio.create_task(_consume(session, out, replies, connected, result), name="headless-events")
        bridge = None
        if media is not None:
            run_media = media

            async def media_once_connected() -> None:
                # Media sent before setupComplete would be dropped by the session (counted, not queued).
                await connected.wait()
                await run_media(session)

            bridge = asyncio.create_task(media_once_connected(), name="headless-media")
        lines = _stdin_lines(stdin, asyncio.get_running_loop())
        try:
            await _feed(session, lines, replies, connected, consumer, out)
        finally:
            if bridge is not None:
                bridge.cancel()
            await session.close()
            await asyncio.gather(runner, return_exceptions=True)
            await asyncio.gather(consumer, return_exceptions=True)
            if bridge is not None:
                await asyncio.gather(bridge, return_exceptions=True)
        return result["code"]


async def _feed(
    session: LiveSession,
    lines: asyncio.Queue[str | None],
    replies: _Replies,
    connected: asyncio.Event,
    consumer: asyncio.Task[None],
    out: _Printer,
) -> None:
    async def until(ev_: asyncio.Event, timeout: float | None) -> bool:
        """Wait for ``ev_`` unless the session ended first; False if it ended or timed out."""
        waiter = asyncio.ensure_future(ev_.wait())
        done, _ = await asyncio.wait({waiter, consumer}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        return waiter in done

    if not await until(connected, None):
        return
    while True:
        getter = asyncio.ensure_future(lines.get())
        await asyncio.wait({getter, consumer}, return_when=asyncio.FIRST_COMPLETED)
        if not getter.done():  # the session ended (fatal) while we waited for input
            getter.cancel()
            return
        line = getter.result()
        if line is None:
            break
        if not line.strip():
            continue
        if not await until(replies.done, REPLY_TIMEOUT_S):
            if consumer.done():
                return
            out.line("status", f"warning: no complete reply within {REPLY_TIMEOUT_S:g} s; sending the next line")
            replies.finish()
        replies.sent()
        await session.send_text(line)
        replies.queued = session.pending_texts > 0
    if replies.waiting and not await until(replies.done, REPLY_TIMEOUT_S) and not consumer.done():
        out.line("status", f"warning: the last reply did not complete within {REPLY_TIMEOUT_S:g} s")


async def _consume(
    session: LiveSession,
    out: _Printer,
    replies: _Replies,
    connected: asyncio.Event,
    result: dict[str, int],
) -> None:
    from tui.live.state import ModelTurn

    printed: set[int] = set()
    summary: list[ModelTurn] = []  # a finished turn whose summary waits for the usage that follows it

    def flush_summary() -> None:
        if summary:
            _print_summary(summary.pop(), out)

    async for event in session.events():
        if not isinstance(event, ev.Usage | ev.ModelAudio):
            flush_summary()
        match event:
            case ev.Connecting(attempt=attempt, url=url, resuming=resuming):
                what = "resuming" if resuming else "connecting"
                out.line("status", f"{what} to {url}" + (f" (attempt {attempt})" if attempt > 1 else ""))
            case ev.Connected(resumed=resumed, setup_ms=setup_ms):
                if replies.waiting and connected.is_set() and not replies.queued:
                    out.line("status", "warning: the reply in progress was lost when the connection was replaced")
                    replies.finish()
                replies.queued = False  # a line kept while disconnected goes out on this connection
                out.line("status", f"{'resumed' if resumed else 'connected'} (setup {setup_ms:.0f} ms)")
                connected.set()
            case ev.Reconnecting(attempt=attempt, delay_s=delay, cause=cause):
                why = "the server is going away" if cause == "go_away" else "the connection dropped"
                out.line("status", f"reconnecting: {why} (attempt {attempt}, in {delay:.1f} s)")
            case ev.Disconnected(code=code, reason=reason):
                out.line("status", f"disconnected ({code if code is not None else 'no code'}: {reason or 'no reason'})")
            case ev.GoAway(time_left_s=left):
                out.line("status", f"the server will close this connection in {left:g} s")
            case ev.Fatal(message=message):
                out.line("error", message)
                result["code"] = 1
                replies.finish()
            case ev.Notice(level="error", message=message):
                out.line("error", message)
            case ev.Notice(level=level, message=message):
                out.line("status", f"{level}: {message}")
            case ev.UserText(text=text):
                out.line("user", text)
            case ev.FrameSent(width=width, height=height, source=source, jpeg=jpeg):
                out.line("frame", f"sent {width}x{height} JPEG, {len(jpeg) / 1024:.1f} KiB ({source})")
            case ev.ToolCall(calls=calls):
                for call in calls:
                    out.line("tool", f"{call.name}({json.dumps(call.args, sort_keys=True)}) requested [id {call.id}]")
            case ev.ToolStatusChanged(name=name, status=status, result=res, duration_ms=duration):
                if status in ("ok", "error", "timeout", "cancelled"):
                    took = f" in {duration:.0f} ms" if duration is not None else ""
                    detail = f" -> {json.dumps(res, sort_keys=True)}" if res is not None else ""
                    out.line("tool", f"{name} {status}{took}{detail}")
                    if status != "cancelled":
                        replies.continuation_due = True  # the model answers the tool result with more output
            case ev.ModelText() | ev.ModelAudio() | ev.OutputTranscript():
                replies.continuation_due = False
            case ev.ExecutableCode(language=language, code=code):
                out.line("code", f"[{language.lower()}] {code}")
            case ev.CodeExecutionResult(outcome=outcome, output=output):
                out.line("code", f"result {outcome}: {output}")
            case ev.Grounding(queries=queries, sources=sources):
                srcs = ", ".join(f"{t or u} <{u}>" for t, u in sources)
                out.line("search", f"queries: {'; '.join(queries) or '-'}" + (f" | sources: {srcs}" if srcs else ""))
            case ev.Interrupted(generation=g) | ev.TurnComplete(generation=g):
                turn = session.state.model_turn(g)
                if turn is not None and turn.turn_id not in printed:
                    printed.add(turn.turn_id)
                    _print_spoken_user(session, turn.turn_id, out)
                    _print_model_turn(turn, out)
                    summary.append(turn)
                if isinstance(event, ev.Interrupted):
                    replies.continuation_due = False  # a cut reply gets no continuation
                if not session.state.model_busy and not replies.continuation_due:
                    replies.finish()
            case ev.Usage():
                flush_summary()
            case ev.SessionClosed():
                replies.finish()
            case _:
                pass
    flush_summary()


def _print_spoken_user(session: LiveSession, model_turn_id: int, out: _Printer) -> None:
    from tui.live.state import UserTurn

    turns = session.state.turns
    for i, t in enumerate(turns):
        if t.turn_id == model_turn_id and i > 0:
            prev = turns[i - 1]
            if isinstance(prev, UserTurn) and prev.transcript.strip():
                out.line("user", f"(spoken) {prev.transcript}")
            return


def _print_model_turn(turn: Any, out: _Printer) -> None:
    if turn.thoughts.strip():
        out.line("thought", turn.thoughts)
    body = turn.text.strip() or turn.transcript.strip()
    if not body and turn.audio_bytes:
        body = f"[speech, {turn.audio_ms / 1000:.1f} s, no transcript]"
    if body or turn.interrupted:
        out.line("model", body + (f" [{_ended_how(turn)}]" if turn.interrupted else ""))


def _ended_how(turn: Any) -> str:
    """How an interrupted turn ended: the user talked over it, or its connection went (the reply was lost)."""
    labels = {"drop": "cut: connection lost", "go_away": "cut: server going away"}
    return labels.get(turn.cut_by or "", "interrupted")


def _print_summary(turn: Any, out: _Printer) -> None:
    facts = [f"turn {turn.generation}"]
    facts.append(_ended_how(turn) if turn.interrupted else "complete")
    if turn.audio_bytes:
        facts.append(f"audio {turn.audio_ms / 1000:.1f} s")
    if turn.latency_ms is not None:
        facts.append(f"first output after {turn.latency_ms:.0f} ms")
    usage = turn.usage
    if usage is not None and usage.total_tokens is not None:
        facts.append(f"{usage.total_tokens} tokens")
    out.line("status", ", ".join(facts))
