"""``LiveSession``: the asyncio driver of one Live conversation on the google-genai SDK, with its lifecycle.

It connects (with a timeout the SDK lacks for ``setupComplete``), runs ONE long-lived receive loop (two concurrent
``receive()`` calls break the socket, ``live-protocol.md`` §6), turns every server message into events
(``tui.live.convert``), folds them into ``ConversationState`` and hands them to a single consumer
(``events()``). It runs local tools, resumes on ``goAway`` with the latest resumption handle, reconnects after a
drop with capped, jittered exponential backoff, and ends with ``SessionClosed`` or one ``Fatal``.

Invariants:
- ``run()`` never raises for a session problem: it emits ``Fatal`` and returns. ``events()`` ends after
  ``SessionClosed`` or ``Fatal``.
- Resumption never re-sends context (no ``send_client_content`` replay): the handle carries the memory.
- Reconnect attempts are bounded (``connection.max_reconnects``) and spaced by jittered backoff (never longer than
  the doubled, capped delay; reproducible with ``connection.backoff_seed``); the counter resets once a
  connection has been up for ``connection.stable_after_s``. A goAway resumption waits no backoff unless the
  connection it replaces was itself short-lived (no storm if a server sends goAway at once every time).
- The event queue is bounded: semantic events are never dropped (the receive loop waits for the consumer when
  ``max_events`` are queued, so the socket applies backpressure); model audio beyond ``max_audio`` queued chunks
  drops its oldest chunk (``counters.audio_dropped``), since stale audio is worse than a gap.
- Intents while disconnected: up to ``MAX_PENDING_TEXTS`` text turns are kept and sent after reconnecting; audio,
  frames and activity markers are dropped and counted.

Threading: everything runs on one event loop. Call the async methods from that loop; ``note_action`` is sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
import warnings
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from tui.errors import UserError
from tui.live import events as ev
from tui.live.convert import Converter
from tui.live.state import ConversationState
from tui.live.tools import ToolRegistry, ToolRunner

if TYPE_CHECKING:
    from google import genai

    from tui.config import Settings
    from tui.live.tap import FrameTap

log = logging.getLogger(__name__)

MAX_PENDING_TEXTS = 8
"""Text turns kept while disconnected (sent in order after reconnecting)."""
MAX_BAD_FRAMES = 20
"""Consecutive unreadable server frames tolerated before the session gives up."""
INPUT_RATE = 16_000
MAX_TRACKED_CALLS = 256
"""Tool call ids remembered (with their connection) until answered."""
HANDLE_AFTER_TURN_WAIT_S = 1.0
"""After a goAway, how long a finished turn waits for the resumption handle that covers it (the server sends
``sessionResumptionUpdate`` right after ``turnComplete``); resuming sooner presents the handle from before the turn."""

_KEY_WORDS = ("api key", "api_key", "apikey", "credential", "unauthenticated", "permission", "auth", "token")


@dataclass(slots=True)
class SessionCounters:
    """What the session dropped or retried (shown by the UI, asserted by tests, reported by benchmarks)."""

    audio_dropped: int = 0
    """Model audio chunks dropped because the consumer stalled."""
    audio_not_sent: int = 0
    """Mic chunks dropped while disconnected."""
    frames_not_sent: int = 0
    texts_dropped: int = 0
    """Text turns dropped because too many were queued while disconnected."""
    activity_not_sent: int = 0
    bad_frames: int = 0
    reconnects: int = 0
    resumptions: int = 0
    messages: int = 0


class _EventQueue:
    """The bounded queue to the single consumer (policy in the module docstring)."""

    def __init__(self, max_events: int, max_audio: int) -> None:
        self._items: deque[ev.SessionEvent] = deque()
        self._max_events = max_events
        self._max_audio = max_audio
        self._audio = 0
        self._semantic = 0
        self._readable = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self._closed = False
        self.dropped_audio = 0

    def put(self, event: ev.SessionEvent) -> None:
        if self._closed:
            return
        if isinstance(event, ev.ModelAudio):
            if self._audio >= self._max_audio:
                for i, item in enumerate(self._items):
                    if isinstance(item, ev.ModelAudio):
                        del self._items[i]
                        self._audio -= 1
                        self.dropped_audio += 1
                        break
            self._audio += 1
        else:
            self._semantic += 1
            if self._semantic >= self._max_events:
                self._space.clear()
        self._items.append(event)
        self._readable.set()

    async def get(self) -> ev.SessionEvent | None:
        while not self._items:
            if self._closed:
                return None
            self._readable.clear()
            await self._readable.wait()
        item = self._items.popleft()
        if isinstance(item, ev.ModelAudio):
            self._audio -= 1
        else:
            self._semantic -= 1
            if self._semantic < self._max_events:
                self._space.set()
        return item

    async def wait_for_space(self) -> None:
        await self._space.wait()

    def close(self) -> None:
        self._closed = True
        self._readable.set()
        self._space.set()

    def __len__(self) -> int:
        return len(self._items)


class _Fatal(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(slots=True)
class _Ended:
    """How one connection ended."""

    cause: Literal["closed", "go_away", "drop"]
    code: int | None = None
    reason: str = ""
    handle_rejected: bool = False
    """The server refused the resumption handle this connection presented (1007/1008 before any message)."""


class LiveSession:
    """One Live conversation: connect, receive, send, tools, goAway/drop recovery. See the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        tap: FrameTap | None = None,
        registry: ToolRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_events: int = 4096,
        max_audio: int = 512,
        credentials: Any = None,
        wait_scale: float = 1.0,
    ) -> None:
        """``wait_scale`` multiplies the reconnect backoff actually waited (``Reconnecting.delay_s`` still reports the
        configured delay): ``replay --check`` replays as fast as the conversation allows and passes 0."""
        self.settings = settings
        self._wait_scale = max(0.0, wait_scale)
        self._tap = tap
        self._clock = clock
        self.registry = registry if registry is not None else ToolRegistry.from_settings(settings)
        self.state = ConversationState(max_turns=settings.ui.transcript_max_turns, clock=clock)
        self.counters = SessionCounters()
        self.connected = False
        self._credentials = credentials
        self._converter = Converter()
        self._queue = _EventQueue(max_events, max_audio)
        self._session: Any = None  # google.genai.live.AsyncSession while connected
        self._client: genai.Client | None = None
        self._closing = asyncio.Event()
        self._go_away = asyncio.Event()
        self._go_away_deadline: float | None = None
        self._pending_texts: deque[str] = deque()
        self._finished = False
        self._run_task: asyncio.Task[None] | None = None
        self._runner: ToolRunner | None = None
        self._connected_at: float | None = None
        self._turns_this_connection = 0
        self._handle_due_since: float | None = None
        """When a turn ended whose resumption handle has not arrived yet (None: the handle covers every turn)."""
        self._phase: Literal["idle", "connecting", "serving"] = "idle"
        self._epoch = 0
        """Connection number: tool calls are answered only on the connection that made them."""
        self._call_epoch: dict[str, int] = {}
        self._last_rx = clock()
        """When the last server message arrived (for the reply-silence notice)."""
        self._rng = random.Random(settings.connection.backoff_seed)
        """Backoff jitter; seeded from the OS unless ``connection.backoff_seed`` pins it."""

    # ------------------------------------------------------------------------------------------ consumer API

    async def events(self) -> AsyncIterator[ev.SessionEvent]:
        """The single consumer's stream; it ends after ``SessionClosed`` or ``Fatal``."""
        while True:
            item = await self._queue.get()
            if item is None:
                return
            yield item
            if isinstance(item, ev.SessionClosed | ev.Fatal):
                return

    @property
    def queued_events(self) -> int:
        return len(self._queue)

    @property
    def pending_texts(self) -> int:
        """Typed turns kept for the next connection (sent while disconnected)."""
        return len(self._pending_texts)

    # ------------------------------------------------------------------------------------------ intents

    async def send_text(self, text: str) -> None:
        """A typed user turn. Queued (bounded) while disconnected."""
        text = text.strip()
        if not text:
            return
        self._input("text", {"text": text})
        self._emit(ev.UserText(text=text))
        session = self._session if self.connected else None
        if session is None:
            self._queue_text(text)
            return
        try:
            await self._send_text_now(session, text)
        except Exception as exc:
            log.info("text not sent (%s); queued for the next connection", exc)
            self._queue_text(text)

    async def send_audio(self, pcm16k: bytes) -> None:
        """Microphone audio: 16 kHz s16le mono. Dropped (and counted) while disconnected."""
        self._input("audio", {"pcm": pcm16k, "rate": INPUT_RATE})
        session = self._session if self.connected else None
        if session is None:
            self.counters.audio_not_sent += 1
            return
        from google.genai import types

        try:
            await session.send_realtime_input(audio=types.Blob(data=pcm16k, mime_type=f"audio/pcm;rate={INPUT_RATE}"))
        except Exception:
            self.counters.audio_not_sent += 1

    async def send_frame(self, jpeg: bytes, *, width: int, height: int, source: str) -> None:
        """A video frame (JPEG). Dropped (and counted) while disconnected."""
        self._input("frame", {"jpeg": jpeg, "width": width, "height": height, "source": source})
        session = self._session if self.connected else None
        if session is None:
            self.counters.frames_not_sent += 1
            return
        from google.genai import types

        try:
            await session.send_realtime_input(video=types.Blob(data=jpeg, mime_type="image/jpeg"))
        except Exception:
            self.counters.frames_not_sent += 1
            return
        self._emit(ev.FrameSent(jpeg=jpeg, width=width, height=height, source=source))

    async def activity_start(self) -> None:
        """Manual turn-taking: the user started speaking (push-to-talk pressed)."""
        await self._activity("start")

    async def activity_end(self) -> None:
        """Manual turn-taking: the user stopped speaking (push-to-talk released)."""
        self.state.note_user_input_end(self._clock())
        await self._activity("end")

    async def audio_stream_end(self) -> None:
        """The mic stream paused (muted) with server VAD on: lets the server flush its audio buffer."""
        self.state.note_user_input_end(self._clock())
        await self._activity("stream_end")

    def note_action(self, name: str, **data: Any) -> None:
        """A user action (mute, interrupt, camera…) for the recording; it sends nothing."""
        self._input("action", {"name": name, **data})

    async def close(self) -> None:
        """End the session: closes the socket, cancels tools; ``run()`` returns and ``SessionClosed`` is emitted."""
        self._closing.set()
        session = self._session
        if session is not None:
            with contextlib.suppress(Exception):
                await session.close()
        task = self._run_task
        if task is not None and task is not asyncio.current_task() and not task.done():
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(task), timeout=10)
        if self._run_task is None:
            self._finish(ev.SessionClosed())

    # ------------------------------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        """Connect and drive the session until ``close()`` or a fatal error. Never raises for session errors."""
        self._run_task = asyncio.current_task()
        self._runner = ToolRunner(
            self.registry,
            timeout_s=self.settings.session.tool_timeout_s,
            emit=self._emit,
            respond=self._respond,
            clock=self._clock,
        )
        try:
            await self._drive()
            self._finish(ev.SessionClosed())
        except _Fatal as exc:
            self._finish(ev.Fatal(message=exc.message, code=exc.code))
        except UserError as exc:
            self._finish(ev.Fatal(message=str(exc)))
        except asyncio.CancelledError:
            self._finish(ev.SessionClosed())
            raise
        except Exception as exc:  # a bug of ours: still one clear line for the user, details in the log
            log.exception("live session failed")
            self._finish(ev.Fatal(message=f"internal error: {type(exc).__name__}: {exc}"))
        finally:
            self.connected = False
            self._session = None
            if self._runner is not None:
                await self._runner.aclose()

    async def _drive(self) -> None:
        """Run the lifecycle; a ``close()`` that lands while connecting or backing off cancels it at once (a serving
        connection ends by itself when its socket closes)."""
        life = asyncio.create_task(self._lifecycle(), name="live-lifecycle")
        closing = asyncio.create_task(self._closing.wait(), name="live-close-request")
        try:
            await asyncio.wait({life, closing}, return_when=asyncio.FIRST_COMPLETED)
            if not life.done():
                if self._phase != "serving":
                    life.cancel()
                await asyncio.wait({life}, timeout=5)
                if not life.done():
                    life.cancel()
                    await asyncio.wait({life})
            if not life.cancelled():
                life.result()  # re-raises _Fatal and friends for run()
        finally:
            closing.cancel()
            if not life.done():
                life.cancel()
                await asyncio.gather(life, return_exceptions=True)

    async def _lifecycle(self) -> None:
        from tui.live.client import build_client, redacted_url

        self._client = build_client(self.settings, tap=self._tap, credentials=self._credentials)
        url = redacted_url(self.settings)
        conn = self.settings.connection
        failures = 0
        cause: Literal["drop", "go_away"] = "drop"
        first = True
        last_problem = ""
        while not self._closing.is_set():
            if not first:
                delay = 0.0 if cause == "go_away" and failures == 0 else self._backoff(failures)
                self.counters.reconnects += 1
                self._emit(ev.Reconnecting(attempt=failures + 1, delay_s=delay, cause=cause))
                if delay > 0 and await self._sleep_or_close(delay * self._wait_scale):
                    return
            handle = self.state.resumption_handle if self.settings.session.resumption else None
            self._emit(ev.Connecting(attempt=failures + 1, url=url, resuming=handle is not None))
            started = self._clock()
            try:
                ended = await self._connection(handle, resumed=not first and handle is not None, started=started)
            except _Retryable as exc:
                last_problem = exc.message
                ended = _Ended("drop", exc.code, exc.message, handle_rejected=exc.handle_rejected)
            first = False
            if ended.cause == "closed" or self._closing.is_set():
                return
            lived = (self._clock() - self._connected_at) if self._connected_at is not None else 0.0
            self._connected_at = None
            stable = lived >= conn.stable_after_s
            if stable:
                failures = 0
            elif ended.cause == "drop" or (lived < 1.0 and self._turns_this_connection == 0):
                # A goAway counts as a failure only when the connection made no progress at all (no storm when a
                # server says goAway right after every setupComplete).
                failures += 1
            cause = ended.cause if ended.cause == "go_away" else "drop"
            if ended.cause == "drop":
                last_problem = _describe_close(ended.code, ended.reason)
            will_retry = failures <= conn.max_reconnects
            self._emit(ev.Disconnected(code=ended.code, reason=ended.reason, will_retry=will_retry))
            if not will_retry:
                raise _Fatal(
                    f"lost the connection to {url} and could not get it back after {conn.max_reconnects} "
                    f"attempts (last: {last_problem})",
                    ended.code,
                )
            if ended.handle_rejected:
                # Handles expire (and a server may not know one): start over rather than give up on the session.
                self.state.forget_resumption_handle()
                self._emit(
                    ev.Notice("warning", f"the server refused to resume ({ended.reason}); starting a new session")
                )
            elif not self.settings.session.resumption or self.state.resumption_handle is None:
                why = "session resumption is off" if not self.settings.session.resumption else "no handle yet"
                self._emit(ev.Notice("warning", f"reconnecting as a new session ({why}): the model will not remember"))

    async def _connection(self, handle: str | None, *, resumed: bool, started: float) -> _Ended:
        """One connection, from connect to close. Returns how it ended; raises _Fatal or _Retryable."""
        from google.genai import errors

        from tui.live.setup import build_live_config

        assert self._client is not None
        config = build_live_config(self.settings, registry=self.registry, resumption_handle=handle)
        stack = contextlib.AsyncExitStack()
        self._phase = "connecting"
        try:
            try:
                async with asyncio.timeout(self.settings.connection.connect_timeout_s):
                    with warnings.catch_warnings():
                        # generation_config carries stop sequences (setup.py); ephemeral tokens are "experimental".
                        warnings.simplefilter("ignore", DeprecationWarning)
                        warnings.filterwarnings("ignore", message=".*ephemeral token.*")
                        session = await stack.enter_async_context(
                            self._client.aio.live.connect(model=self.settings.session.model, config=config)
                        )
            except TimeoutError:
                raise _Retryable(
                    f"no setupComplete within {self.settings.connection.connect_timeout_s:g} s", None
                ) from None
            except errors.APIError as exc:
                if handle is not None and exc.code in (1007, 1008):
                    raise _Retryable(_describe_close(exc.code, _reason(exc)), exc.code, handle_rejected=True) from None
                _raise_for_close(exc.code, _reason(exc))
                raise _Retryable(_describe_close(exc.code, _reason(exc)), exc.code) from None
            except Exception as exc:
                _raise_for_connect_error(exc, self.settings)
                raise _Retryable(f"{type(exc).__name__}: {exc}", None) from None

            self._session = session
            self._epoch += 1
            self._phase = "serving"
            self.connected = True
            self._connected_at = self._clock()
            self._turns_this_connection = 0
            self._handle_due_since = None
            self._go_away.clear()
            self._go_away_deadline = None
            setup_ms = (self._clock() - started) * 1000.0
            if resumed:
                self.counters.resumptions += 1
            self._emit(
                ev.Connected(session_id=getattr(session, "session_id", None), resumed=resumed, setup_ms=setup_ms)
            )
            await self._flush_pending_texts(session)
            return await self._serve(session, resuming=handle is not None)
        finally:
            self.connected = False
            self._session = None
            self._phase = "idle"
            with contextlib.suppress(Exception):
                await stack.aclose()

    async def _serve(self, session: Any, *, resuming: bool) -> _Ended:
        """Run the receive loop until the socket closes, ``close()`` is called, or a goAway resumption is due."""
        recv = asyncio.create_task(self._receive_loop(session, resuming=resuming), name="live-receive")
        closing = asyncio.create_task(self._closing.wait(), name="live-closing")
        go_away = asyncio.create_task(self._go_away_due(), name="live-go-away")
        silence = asyncio.create_task(self._watch_reply_silence(), name="live-reply-silence")
        try:
            done, _ = await asyncio.wait({recv, closing, go_away}, return_when=asyncio.FIRST_COMPLETED)
            if recv in done:
                try:
                    ended = recv.result()
                except _Fatal:
                    self._cut_open_generation("drop")  # the session ends here: the reply will never finish
                    raise
                if ended.cause == "drop" and self._go_away_deadline is not None:
                    ended.cause = "go_away"  # the server closed at the end of its goAway notice
                if ended.cause != "closed":
                    # The reply in flight is lost with this socket: a resumed session does not continue it, and
                    # leaving it open would keep the model "busy" forever and merge the next reply into it.
                    self._cut_open_generation(ended.cause)
                return ended
            if closing in done:
                return _Ended("closed", 1000, "closed by the client")
            # goAway: cut the turn if it is still running, then close this socket before resuming.
            self._cut_open_generation("go_away")
            return _Ended("go_away", None, "goAway")
        finally:
            for t in (recv, closing, go_away, silence):
                t.cancel()
            await asyncio.gather(recv, closing, go_away, silence, return_exceptions=True)

    async def _receive_loop(self, session: Any, *, resuming: bool) -> _Ended:
        from google.genai import errors

        bad = 0
        received = 0
        while True:
            stream = session.receive()  # the SDK ends this iterator after each turn, and after it raised
            while True:
                try:
                    msg = await anext(stream)
                except StopAsyncIteration:
                    break
                except errors.APIError as exc:
                    if self._closing.is_set():
                        return _Ended("closed", exc.code, _reason(exc))
                    if resuming and received == 0 and exc.code in (1007, 1008):
                        return _Ended("drop", exc.code, _reason(exc), handle_rejected=True)
                    _raise_for_close(exc.code, _reason(exc))
                    return _Ended("drop", exc.code, _reason(exc))
                except (ValueError, TypeError, KeyError) as exc:
                    # The SDK consumed an unreadable frame (not JSON, an unknown kind); the socket itself is fine.
                    bad += 1
                    self.counters.bad_frames += 1
                    self._emit(ev.Notice("warning", f"ignored an unreadable server message ({type(exc).__name__})"))
                    if bad >= MAX_BAD_FRAMES:
                        raise _Fatal(f"the server sent {bad} unreadable messages in a row; giving up") from None
                    break
                except Exception as exc:  # websockets errors outside the SDK's translation
                    if self._closing.is_set():
                        return _Ended("closed", None, str(exc))
                    return _Ended("drop", None, f"{type(exc).__name__}: {exc}")
                bad = 0
                received += 1
                self._last_rx = self._clock()
                self.counters.messages += 1
                # Outside the try on purpose: a failure here is a bug of ours, not a bad frame or a network drop;
                # run() turns it into one Fatal line instead of a reconnect loop that hides it.
                self._handle(self._converter.convert(msg))
                await self._queue.wait_for_space()

    def _handle(self, events: list[ev.SessionEvent]) -> None:
        runner = self._runner
        for event in events:
            self._emit(event)
            if isinstance(event, ev.ToolCall) and runner is not None:
                for call in event.calls:
                    self._call_epoch[call.id] = self._epoch
                while len(self._call_epoch) > MAX_TRACKED_CALLS:
                    self._call_epoch.pop(next(iter(self._call_epoch)))
                runner.submit(event.calls)
            elif isinstance(event, ev.ToolCallCancelled) and runner is not None:
                runner.cancel(event.ids)
            elif isinstance(event, ev.TurnComplete):
                self._turns_this_connection += 1
                if self.settings.session.resumption:
                    self._handle_due_since = self._clock()
            elif isinstance(event, ev.ResumptionUpdate) and event.resumable and event.handle:
                self._handle_due_since = None
            elif isinstance(event, ev.GoAway):
                margin = self.settings.connection.go_away_margin_s
                self._go_away_deadline = self._clock() + max(0.0, event.time_left_s - margin)
                self._go_away.set()

    async def _watch_reply_silence(self) -> None:
        """One notice per wait when a reply is due and the server has been silent for ``reply_silence_notice_s``.

        A server can keep answering pings while sending nothing (tau2-bench PR #461: it goes quiet before closing),
        so neither the socket nor the keepalive says anything; without this the user just waits."""
        limit = self.settings.connection.reply_silence_notice_s
        waiting_since: float | None = None
        warned = False
        while True:
            await asyncio.sleep(min(1.0, limit / 4))
            now = self._clock()
            if not (self.state.awaiting_reply or self.state.model_busy):
                waiting_since, warned = None, False
                continue
            if waiting_since is None:
                waiting_since = now
            quiet = now - max(self._last_rx, waiting_since)
            if quiet < limit:
                warned = False
            elif not warned:
                warned = True
                self._emit(
                    ev.Notice(
                        "warning",
                        f"no reply from the server for {quiet:.0f} s; the connection is still open (the server may "
                        "be overloaded). Keep waiting, or send the turn again.",
                    )
                )

    async def _go_away_due(self) -> None:
        """Returns when a goAway resumption should start: the current turn ended, or the deadline is near."""
        await self._go_away.wait()
        while True:
            deadline = self._go_away_deadline
            if deadline is None:
                return
            if not self.state.model_busy and not self.state.awaiting_reply:
                # Nothing in flight (a typed turn still waiting for its reply holds us back): resume now, unless the
                # turn that just ended has no handle yet; the one that covers it follows turnComplete.
                due = self._handle_due_since
                if due is None or self._clock() - due >= HANDLE_AFTER_TURN_WAIT_S:
                    return
            left = deadline - self._clock()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.05))

    # ------------------------------------------------------------------------------------------ helpers

    def _cut_open_generation(self, cause: Literal["go_away", "drop"]) -> None:
        """Close a generation still streaming when its connection goes; say so once."""
        cut = self._converter.cut()
        if cut is None:
            return
        self._emit(ev.Interrupted(generation=cut, cause=cause))
        if cause == "go_away":
            self._emit(ev.Notice("warning", "the server is going away: the current reply was cut short"))
        else:
            self._emit(ev.Notice("warning", "the connection ended mid-reply: the rest of the reply was lost"))

    def _emit(self, event: ev.SessionEvent) -> None:
        if self._finished:
            return
        self.state.apply(event, self._clock())
        before = self._queue.dropped_audio
        self._queue.put(event)
        self.counters.audio_dropped += self._queue.dropped_audio - before

    def _finish(self, event: ev.Fatal | ev.SessionClosed) -> None:
        if self._finished:
            return
        self._emit(event)
        self._finished = True
        self._queue.close()

    def _input(self, kind: str, data: dict[str, Any]) -> None:
        tap = self._tap
        if tap is None:
            return
        try:
            tap.on_input(time.monotonic_ns(), kind, data)
        except Exception:  # a broken tap never breaks the session
            log.exception("frame tap on_input failed; tap disabled")
            self._tap = None

    def _queue_text(self, text: str) -> None:
        if len(self._pending_texts) >= MAX_PENDING_TEXTS:
            self._pending_texts.popleft()
            self.counters.texts_dropped += 1
            self._emit(ev.Notice("warning", "offline: too many messages queued; the oldest was dropped"))
        self._pending_texts.append(text)

    async def _flush_pending_texts(self, session: Any) -> None:
        while self._pending_texts:
            text = self._pending_texts[0]
            try:
                await self._send_text_now(session, text)
            except Exception:
                return  # still broken: keep them for the next connection
            self._pending_texts.popleft()

    @staticmethod
    async def _send_text_now(session: Any, text: str) -> None:
        from google.genai import types

        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text=text)]), turn_complete=True
        )

    async def _activity(self, what: Literal["start", "end", "stream_end"]) -> None:
        self._input("activity", {"what": what})
        session = self._session if self.connected else None
        if session is None:
            self.counters.activity_not_sent += 1
            return
        from google.genai import types

        try:
            if what == "start":
                await session.send_realtime_input(activity_start=types.ActivityStart())
            elif what == "end":
                await session.send_realtime_input(activity_end=types.ActivityEnd())
            else:
                await session.send_realtime_input(audio_stream_end=True)
        except Exception:
            self.counters.activity_not_sent += 1

    async def _respond(self, responses: list[dict[str, Any]]) -> None:
        session = self._session if self.connected else None
        current = [r for r in responses if self._call_epoch.pop(str(r["id"]), None) == self._epoch]
        stale = [r for r in responses if r not in current]
        if session is None:
            stale, current = responses, []
        if stale:
            # A call made on an earlier connection is not answered on a new one: its id may be unknown there (and
            # could get the new connection closed); the user can simply ask again.
            names = ", ".join(sorted({str(r["name"]) for r in stale}))
            self._emit(ev.Notice("warning", f"the result of {names} was not delivered: the connection was replaced"))
        if not current or session is None:
            return
        from google.genai import types

        await session.send_tool_response(function_responses=[types.FunctionResponse(**r) for r in current])

    def _backoff(self, failures: int) -> float:
        conn = self.settings.connection
        return backoff_delay(
            failures,
            initial=conn.backoff_initial_s,
            maximum=conn.backoff_max_s,
            jitter=conn.backoff_jitter,
            rng=self._rng,
        )

    async def _sleep_or_close(self, delay: float) -> bool:
        """Sleep ``delay`` seconds; True if ``close()`` was called meanwhile."""
        if delay <= 0:
            return self._closing.is_set()
        try:
            await asyncio.wait_for(self._closing.wait(), timeout=delay)
        except TimeoutError:
            return False
        return True


def backoff_delay(failures: int, *, initial: float, maximum: float, jitter: float, rng: random.Random) -> float:
    """Seconds to wait before reconnect attempt ``failures + 1``: ``initial`` doubled per failure, capped at
    ``maximum``, then shortened by a random share in [0, ``jitter``) of itself. Always within
    ``[(1 - jitter) × capped, capped]``, so jitter spreads a crowd of clients without ever waiting longer."""
    capped = float(min(maximum, initial * (2 ** max(0, failures - 1))))
    return capped * (1.0 - min(1.0, max(0.0, jitter)) * rng.random())


class _Retryable(Exception):
    def __init__(self, message: str, code: int | None, *, handle_rejected: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.handle_rejected = handle_rejected


def _reason(exc: Any) -> str:
    details = getattr(exc, "details", None)
    if isinstance(details, str):
        return details
    return str(getattr(exc, "message", None) or details or "")


def _describe_close(code: int | None, reason: str) -> str:
    return f"closed with {code}: {reason}" if code is not None else reason or "connection lost"


def _raise_for_close(code: int | None, reason: str) -> None:
    """1007 and 1008 are fatal, with one message a person can act on."""
    if code == 1007:
        raise _Fatal(f"the server rejected a message as invalid: {reason or 'no reason given'}", code)
    if code == 1008:
        if any(w in reason.lower() for w in _KEY_WORDS):
            raise _Fatal(f"the server rejected the API key or credentials: {reason}", code)
        raise _Fatal(f"the server ended the session for a policy violation: {reason or 'no reason given'}", code)


def _raise_for_connect_error(exc: Exception, settings: Settings) -> None:
    """Errors that retrying cannot fix become one fatal line; the rest are retried."""
    from websockets.exceptions import InvalidStatus, InvalidURI

    from tui.live.client import redacted_url

    url = redacted_url(settings)
    if isinstance(exc, ssl.SSLCertVerificationError) or (
        isinstance(exc, ssl.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(exc)
    ):
        raise _Fatal(
            f"the TLS certificate of {url} is not trusted ({exc.args[-1] if exc.args else exc}); "
            "for a private server pass --ca-file PEM"
        )
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if status in (401, 403):
            raise _Fatal(f"the server refused the connection (HTTP {status}): check the API key or credentials")
        if status == 404:
            raise _Fatal(f"no Live endpoint at {url} (HTTP 404): check --base-url, --api-version and the model")
        if 400 <= status < 500:
            raise _Fatal(f"the server refused the connection (HTTP {status})")
    if isinstance(exc, InvalidURI | ValueError):
        raise _Fatal(f"cannot connect to {url}: {exc}")
