"""``replay --check``: the real client, headless, against the replay mock, fed the recorded inputs causally.

The real ``LiveSession`` (the same settings as recorded, pointed at an in-process TLS mock serving the recording)
is given the recorded local inputs (mic audio, frames, typed text, activity markers, actions). Each input is
injected at its causal point: once the client has opened, closed, sent and received as many frames as it had
when the input was recorded (counted by a frame tap on the replaying client), and, for an input the recording shows
was sent, once the session is connected. Everything the client then sends (its tool results, its reaction to
interruptions, its resumption) is compared by the replay backend. When the client has sent and received every
recorded frame, the harness closes the session, as the user did.

Time: tools that read the wall clock get the recorded time (the header's ``created_unix`` plus the recorded time of
the last server frame the client has seen). Event logs are normalised (timings dropped, media hashed) and split into
server-driven, local and lifecycle streams, each in order: two replays of one file give identical logs.

Threading: one asyncio loop for the mock and the client (``asyncio.run`` in :func:`run_check`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.errors import RecordingError
from tui.live import events as ev
from tui.live import wire
from tui.recording.format import Close, Frame, Input, Open
from tui.recording.reader import Recording, read_recording
from tui.replay.report import ReplayResult

if TYPE_CHECKING:
    from tui.config import Settings
    from tui.live.session import LiveSession
    from tui.live.tap import FrameTap

REPLAY_KEY = "replay-key"
"""The key the replaying client presents to the mock (it checks none)."""


@dataclass(frozen=True)
class CheckOptions:
    """How ``--check`` runs."""

    strict: bool = True
    pacing: float | None = None
    """None: causal (fast); 1.0: real time; N: N times real time."""
    wait_s: float = 20.0
    """Longest wait for any one causal step before calling the replay stuck."""
    record_to: Path | None = None
    """Record the replaying client too (the recorder-overhead benchmark)."""
    record_writer: str = "auto"
    """How that recorder writes: ``Recorder(writer=...)`` ("auto", "process", "thread")."""


@dataclass(frozen=True)
class Counts:
    opens: int = 0
    closes: int = 0
    sent: int = 0
    received: int = 0

    def reached_by(self, other: Counts) -> bool:
        return (
            other.opens >= self.opens
            and other.closes >= self.closes
            and other.sent >= self.sent
            and other.received >= self.received
        )


@dataclass(frozen=True)
class Planned:
    """One recorded input and when to inject it."""

    input: Input
    need: Counts
    sent: bool
    """The recording shows the client sent it (so wait for a live connection first)."""


def schedule(rec: Recording) -> tuple[list[Planned], Counts]:
    """The inputs with their causal points, and the final counts (closes excluded: the harness closes last)."""
    opens = closes = sent = received = 0
    planned: list[Planned] = []
    records = rec.records
    for i, r in enumerate(records):
        if isinstance(r, Open):
            opens += 1
        elif isinstance(r, Close):
            closes += 1
        elif isinstance(r, Frame):
            if r.direction == "c2s":
                sent += 1
            else:
                received += 1
        elif isinstance(r, Input):
            planned.append(Planned(r, Counts(opens, closes, sent, received), _was_sent(records, i)))
    return planned, Counts(opens, 0, sent, received)


def _was_sent(records: list[Any], i: int) -> bool:
    """Whether the client sent input ``i``: its frame follows before the next input of its kind or a close."""
    item: Input = records[i]
    kind = item.kind
    if kind == "action":
        return False
    for r in records[i + 1 :]:
        if isinstance(r, Close) or (isinstance(r, Input) and r.kind == kind):
            return False
        if isinstance(r, Frame) and r.direction == "c2s" and isinstance(r.msg, dict) and _carries(r.msg, item):
            return True
    return False


def _carries(msg: dict[str, Any], item: Input) -> bool:
    kind = item.kind
    rt = wire.pick(msg, "realtimeInput")
    if kind == "text":
        body = wire.pick(msg, "clientContent")
        text = json.dumps(str(item.data.get("text", "")), ensure_ascii=False)[1:-1]
        return isinstance(body, dict) and text in json.dumps(body, ensure_ascii=False)
    if not isinstance(rt, dict):
        return False
    if kind in ("audio", "frame"):
        blob = wire.pick(rt, "audio" if kind == "audio" else "video")
        payload = item.data.get("pcm" if kind == "audio" else "jpeg")
        if not isinstance(blob, dict) or not isinstance(payload, bytes):
            return False
        try:
            return wire.b64decode_any(str(blob.get("data", ""))) == payload
        except ValueError:
            return False
    if kind == "activity":
        what = item.data.get("what")
        key = {"start": "activityStart", "end": "activityEnd", "stream_end": "audioStreamEnd"}.get(str(what), "")
        return wire.has(rt, key)
    return False


class CountingTap:
    """A ``FrameTap`` on the replaying client that counts its traffic (and forwards to ``inner``, e.g. a recorder).

    :meth:`when` gives a future that the tap resolves as soon as a condition on the counts (or on anything else,
    re-checked by :meth:`recheck`) holds, so the harness wakes exactly when a causal point is reached instead of
    polling.
    """

    def __init__(self, inner: FrameTap | None = None) -> None:
        self.inner = inner
        self.counts = Counts()
        self.changed = asyncio.Event()
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    def when(self, cond: Callable[[], bool]) -> asyncio.Future[None]:
        """A future resolved once ``cond()`` is true (checked now, then after every change and every recheck)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if cond():
            fut.set_result(None)
        else:
            self._waiters.append((cond, fut))
        return fut

    def recheck(self) -> None:
        """Re-evaluate the pending conditions (call it when something they read besides the counts changed)."""
        if not self._waiters:
            return
        pending = []
        for cond, fut in self._waiters:
            if fut.done():
                continue
            if cond():
                fut.set_result(None)
            else:
                pending.append((cond, fut))
        self._waiters = pending

    def _changed(self) -> None:
        self.changed.set()
        if self._waiters:
            self.recheck()

    def on_open(self, t_ns: int, url: str, headers: dict[str, str]) -> None:
        if self.inner is not None:
            self.inner.on_open(t_ns, url, headers)
        c = self.counts
        self.counts = Counts(c.opens + 1, c.closes, c.sent, c.received)
        self._changed()

    def on_send(self, t_ns: int, data: str | bytes) -> None:
        if self.inner is not None:
            self.inner.on_send(t_ns, data)
        c = self.counts
        self.counts = Counts(c.opens, c.closes, c.sent + 1, c.received)
        self._changed()

    def on_recv(self, t_ns: int, data: bytes) -> None:
        if self.inner is not None:
            self.inner.on_recv(t_ns, data)
        c = self.counts
        self.counts = Counts(c.opens, c.closes, c.sent, c.received + 1)
        self._changed()

    def on_close_initiator(self, t_ns: int, by: str | None) -> None:
        hook = getattr(self.inner, "on_close_initiator", None)
        if hook is not None:
            hook(t_ns, by)

    def on_close(self, t_ns: int, code: int | None, reason: str) -> None:
        if self.inner is not None:
            self.inner.on_close(t_ns, code, reason)
        c = self.counts
        self.counts = Counts(c.opens, c.closes + 1, c.sent, c.received)
        self._changed()

    def on_input(self, t_ns: int, kind: str, data: dict[str, Any]) -> None:
        if self.inner is not None:
            self.inner.on_input(t_ns, kind, data)


# --------------------------------------------------------------------------------------------------- settings


def _filter_fields(model: Any, data: dict[str, Any], dropped: list[str], prefix: str = "") -> dict[str, Any]:
    from pydantic import BaseModel

    out: dict[str, Any] = {}
    for key, value in data.items():
        info = model.model_fields.get(key)
        if info is None:
            dropped.append(prefix + key)
            continue
        ann = info.annotation
        if isinstance(value, dict) and isinstance(ann, type) and issubclass(ann, BaseModel):
            out[key] = _filter_fields(ann, value, dropped, f"{prefix}{key}.")
        else:
            out[key] = value
    return out


def replay_settings(
    config: dict[str, Any], base_url: str, ca_file: Path | None, *, recording: Path | None = None
) -> tuple[Settings, list[str]]:
    """Settings as recorded, pointed at the replay mock, without devices or recording. Returns notes too.

    ``--tools`` modules named by a relative path are looked up from the current folder, then next to the recording,
    then one folder up (curated recordings name them relative to the repository).
    """
    from pydantic import SecretStr, ValidationError

    from tui.config import RecordedSettings, Settings

    notes: list[str] = []
    dropped: list[str] = []
    clean = _filter_fields(Settings, dict(config), dropped)
    if dropped:
        notes.append(f"recorded settings unknown to this version were ignored: {', '.join(sorted(dropped))}")
    for secret in ("api_key", "ephemeral_token", "credentials_file"):
        clean.pop(secret, None)
    connection = dict(clean.get("connection") or {})
    connection.update({"base_url": base_url, "ca_file": str(ca_file) if ca_file else None})
    connection["backoff_seed"] = 0  # reconnect jitter pinned: two replays log the same waits
    if clean.get("vertexai"):
        # Vertex with a custom URL and no project uses the URL verbatim (live-protocol.md §2.5).
        host = base_url.split("://", 1)[1]
        connection["base_url"] = f"wss://{host}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
        clean["project"] = None
        clean["location"] = None
    clean["connection"] = connection
    session = dict(clean.get("session") or {})
    tools = session.get("tools_files") or []
    if tools and recording is not None:
        resolved = []
        for name in tools:
            p = Path(name)
            candidates = [p] if p.is_absolute() else [p, recording.parent / p, recording.parent.parent / p]
            resolved.append(str(next((c for c in candidates if c.is_file()), p)))
        session["tools_files"] = resolved
        clean["session"] = session
    clean["demo"] = False
    clean["recording"] = {**dict(clean.get("recording") or {}), "enabled": False, "path": None}
    clean["audio"] = {**dict(clean.get("audio") or {}), "enabled": False}
    clean["video"] = {**dict(clean.get("video") or {}), "source": "none"}
    try:
        # Only what was recorded: the environment and the user's config file (which Settings would merge in for
        # whatever the recording leaves out, ~1.5 ms) are no part of a replay.
        settings = RecordedSettings.model_validate(
            {**clean, "api_key": None if clean.get("vertexai") else SecretStr(REPLAY_KEY)}
        )
    except ValidationError as exc:
        raise RecordingError(
            f"the recorded settings are not valid for this version: {exc.errors()[0]['msg']}"
        ) from None
    return settings, notes


# --------------------------------------------------------------------------------------------------- events


def normalise_event(event: Any) -> dict[str, Any]:
    """An event as plain data with timings dropped and bytes hashed (see the module docstring)."""
    out: dict[str, Any] = {"event": type(event).__name__}
    for f in dataclasses.fields(event):
        if f.name in ("setup_ms", "duration_ms"):
            continue
        value = getattr(event, f.name)
        if f.name == "url":
            value = "<replay mock>"  # a fresh port on every run
        out[f.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return f"{len(value)} B sha {hashlib.sha256(value).hexdigest()[:16]}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


_SERVER_EVENTS = (
    ev.ModelText, ev.ModelAudio, ev.InputTranscript, ev.OutputTranscript, ev.ExecutableCode, ev.CodeExecutionResult,
    ev.Grounding, ev.GenerationComplete, ev.Interrupted, ev.TurnComplete, ev.ToolCall, ev.ToolCallCancelled,
    ev.Usage, ev.VoiceActivity, ev.GoAway, ev.ResumptionUpdate,
)  # fmt: skip
_LOCAL_EVENTS = (ev.UserText, ev.FrameSent, ev.ToolStatusChanged)


def event_streams(events: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """The normalised event log, split into streams whose order is causal (so it is the same on every replay)."""
    streams: dict[str, list[dict[str, Any]]] = {"server": [], "local": [], "lifecycle": []}
    for e in events:
        name = "server" if isinstance(e, _SERVER_EVENTS) else "local" if isinstance(e, _LOCAL_EVENTS) else "lifecycle"
        if isinstance(e, ev.ToolStatusChanged):
            streams.setdefault(f"tool:{e.id}", []).append(normalise_event(e))
            continue
        streams[name].append(normalise_event(e))
    return streams


# --------------------------------------------------------------------------------------------------- harness


async def check(path: Path | str, options: CheckOptions | None = None) -> ReplayResult:
    """Replay ``path`` with the real client (see the module docstring). Raises ``RecordingError`` if unreplayable."""
    from tui.live.session import LiveSession
    from tui.live.tools import ToolRegistry
    from tui.mock.replay import ReplayBackend, ReplayOptions, ReplayState
    from tui.mock.server import MockOptions, serve_mock

    opts = options or CheckOptions()
    rec = read_recording(path)
    state = ReplayState(rec, ReplayOptions(strict=opts.strict, pacing=opts.pacing, frame_timeout_s=opts.wait_s,
                                           close_wait_s=opts.wait_s))  # fmt: skip
    planned, totals = schedule(rec)
    received_t = [f.t_us for f in rec.frames if f.direction == "s2c"]
    created = rec.header.extra.get("created_unix")
    base_wall = float(created) if isinstance(created, int | float) else 0.0
    recorder = None
    events: list[Any] = []
    problems: list[str] = []
    started = time.monotonic()
    closing: asyncio.Future[Any] | None = None
    try:
        async with serve_mock(
            MockOptions(backend="replay", pace=0, shared_tls=True), backend_factory=lambda _o: ReplayBackend(state)
        ) as mock:
            settings, notes = replay_settings(rec.header.config, mock.base_url, mock.ca_file, recording=Path(path))
            if opts.record_to is not None:
                from tui.recording.writer import Recorder, settings_config

                recorder = Recorder(
                    opts.record_to,
                    model=settings.session.model,
                    config=settings_config(settings),
                    description=f"a replay of {Path(path).name}",
                    created_unix=base_wall,
                    writer=opts.record_writer,
                )
            tap = CountingTap(recorder)

            def wall_clock() -> float:
                n = tap.counts.received
                return base_wall + (received_t[min(n, len(received_t)) - 1] / 1e6 if n else 0.0)

            registry = ToolRegistry.from_settings(settings, wall_clock=wall_clock)
            # Causal replay does not wait out the recorded reconnect backoff (the mock does not care when the client
            # comes back); paced replay waits it scaled like everything else.
            wait_scale = 1.0 / opts.pacing if opts.pacing else 0.0
            session = LiveSession(settings, tap=tap, registry=registry, wait_scale=wait_scale)
            runner = asyncio.create_task(session.run(), name="replay-session")

            async def consume() -> None:
                async for e in session.events():
                    events.append(e)
                    tap.recheck()  # a wait may be for ``session.connected``, which the counts do not show

            consumer = asyncio.create_task(consume(), name="replay-events")
            try:
                await _drive(session, tap, state, planned, totals, runner, opts, problems, started)
            finally:
                await session.close()
                await asyncio.gather(runner, return_exceptions=True)
                await asyncio.wait({consumer}, timeout=5)
                consumer.cancel()
                state.finish()
                if recorder is not None:
                    # Finishing the file (drain, end record, fsync: off the loop) overlaps the mock's teardown; it is
                    # awaited before check() returns, whatever happens.
                    closing = asyncio.ensure_future(recorder.aclose())
            with contextlib.suppress(TimeoutError):
                await mock.idle(5.0)  # so every session's summary is in
            for summary in mock.sessions:
                if summary.setup is None or (summary.close_code in (1007,) and not summary.frames_out):
                    problems.append(
                        f"the mock refused connection {summary.number}: {summary.close_code} {summary.close_reason}"
                    )
    finally:
        if closing is not None:
            await closing
    result = state.result()
    result.wall_s = time.monotonic() - started
    result.notes.extend(notes)
    result.problems.extend(problems)
    fatal = next((e for e in events if isinstance(e, ev.Fatal)), None)
    if fatal is not None and not result.divergences and not _recorded_fatal(rec):
        result.problems.append(f"the client ended with an error: {fatal.message}")
    result.client_events = events
    return result


def _recorded_fatal(rec: Recording) -> bool:
    """The recording itself ends with a server close the client cannot recover from (1007/1008)."""
    closes = [r for r in rec.records if isinstance(r, Close)]
    return bool(closes) and closes[-1].code in (1007, 1008)


RECHECK_S = 0.05
"""How often a wait re-checks its condition regardless: a caller whose event consumer does not call
``CountingTap.recheck`` would otherwise never see ``session.connected`` change. ``check`` rechecks on every event."""


async def _wait(
    tap: CountingTap,
    cond: Callable[[], bool],
    runner: asyncio.Task[None],
    state: Any,
    timeout: float,
) -> str | None:
    """Wait until ``cond()``; returns None when met, else why not (the client ended, a divergence, or a timeout)."""
    if cond():
        return None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    met = tap.when(cond)
    failed = asyncio.ensure_future(state.failed.wait())
    try:
        while True:
            if met.done():
                return None
            if runner.done():
                return "the client session ended"
            if state.failed.is_set():
                return "the replay diverged"
            left = deadline - loop.time()
            if left <= 0:
                return f"nothing happened for {timeout:g} s"
            await asyncio.wait({met, runner, failed}, timeout=min(left, RECHECK_S), return_when=asyncio.FIRST_COMPLETED)
            if not met.done() and cond():
                met.set_result(None)
    finally:
        failed.cancel()
        if not met.done():
            met.cancel()


async def _drive(
    session: LiveSession,
    tap: CountingTap,
    state: Any,
    planned: list[Planned],
    totals: Counts,
    runner: asyncio.Task[None],
    opts: CheckOptions,
    problems: list[str],
    started: float,
) -> None:
    for n, item in enumerate(planned):
        why = await _wait(tap, functools.partial(_reached, item.need, tap), runner, state, opts.wait_s)
        if why is None and item.sent:
            why = await _wait(tap, lambda: session.connected, runner, state, opts.wait_s)
        if why is not None:
            if not state.failed.is_set():
                problems.append(
                    f"{len(planned) - n} recorded input(s) were never injected: {why} before input "
                    f"{item.input.kind} at {item.input.t_us / 1e6:.3f} s could be given"
                )
            return
        if opts.pacing:
            delay = item.input.t_us / 1e6 / opts.pacing - (time.monotonic() - started)
            if delay > 0:
                await asyncio.sleep(delay)
        await _inject(session, item.input)
    why = await _wait(tap, lambda: totals.reached_by(tap.counts), runner, state, opts.wait_s)
    if why is not None and why != "the client session ended" and not state.failed.is_set():
        c = tap.counts
        problems.append(
            f"the client stopped short of the recording: {why} (sent {c.sent}/{totals.sent}, "
            f"received {c.received}/{totals.received}, connections {c.opens}/{totals.opens})"
        )


def _reached(need: Counts, tap: CountingTap) -> bool:
    return need.reached_by(tap.counts)


async def _inject(session: LiveSession, item: Input) -> None:
    d = item.data
    kind = item.kind
    if kind == "text":
        await session.send_text(str(d.get("text", "")))
    elif kind == "audio":
        await session.send_audio(bytes(d["pcm"]))
    elif kind == "frame":
        await session.send_frame(
            bytes(d["jpeg"]), width=int(d.get("width", 0)), height=int(d.get("height", 0)), source=str(d.get("source"))
        )
    elif kind == "activity":
        what = d.get("what")
        if what == "start":
            await session.activity_start()
        elif what == "end":
            await session.activity_end()
        else:
            await session.audio_stream_end()
    elif kind == "action":
        rest = {k: v for k, v in d.items() if k != "name"}
        session.note_action(str(d.get("name", "")), **rest)


def settle_heap() -> None:
    """Import what a replay needs, then move every object alive now out of the garbage collector's way.

    A replay allocates many short-lived containers (parsed frames, the SDK's pydantic models), and each collection of
    the older generations rescans the ~100k objects that google-genai and pydantic leave behind at import: about a
    quarter of a replay's time. ``gc.freeze`` keeps those out of every later collection. For processes that run
    replays and little else (``replay --check``, ``regress`` workers, the replay benchmark): call it once at start-up.
    """
    import gc

    import google.genai.live  # noqa: F401 - imported for its import-time objects

    import tui.live.session
    import tui.mock.replay  # noqa: F401

    gc.collect()
    gc.freeze()


def run_check(path: Path | str, options: CheckOptions | None = None) -> ReplayResult:
    """Synchronous wrapper of :func:`check`."""
    return asyncio.run(check(path, options))
