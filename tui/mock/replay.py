"""The mock's replay backend: plays the server side of a recording causally and checks what the client sends.

Causality: a recorded server frame is sent only once every client frame recorded before it has arrived; each client
frame is compared with the recorded one after normalisation (``tui.replay.normalize``). A recording holds one
segment per connection; each new connection of the client takes the next segment, so reconnects and resumptions
continue the cursor. The mock itself answers ``setup`` with its own ``setupComplete``; the backend checks the setup
against the recorded one and skips the recorded ``setupComplete``. Resumption handles the recording hands out are
registered with the mock so that the client may resume with them.

Modes: strict (the first divergence closes the connection with 1008 and a reason) or lenient (divergences are
collected and the replay goes on, still one client frame per recorded client frame: there is no resynchronisation,
so a client that sends one extra frame diverges on every frame after it). Pacing: causal (as fast as causality
allows, the default), real time, or scaled (``pacing`` = speed multiple). Completeness: what was never replayed is
listed by :meth:`ReplayState.result`.

Who closed a recorded connection: the close record says so when the tap reported it (``by``); otherwise it is
inferred: code None (no close frame) was a drop (the backend aborts TCP); 1000/1001 with an empty reason was the
client (websockets echoes the client's close frame; the backend waits for the client to close); anything else was
the server (the backend closes with the recorded code and reason).

Threading: one asyncio loop (the mock's). ``ReplayState`` is shared by the sessions of one replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from tui.errors import RecordingError
from tui.live import wire
from tui.mock.server import ClientMessage, MockConnection, MockOptions, SessionClosed, register_backend
from tui.recording.format import Close, Frame, Gap, Open
from tui.recording.reader import Recording, read_recording
from tui.recording.redact import Redactor
from tui.replay.normalize import diff, frame_summary, kind_of, normalise
from tui.replay.report import Divergence, ReplayResult, Unconsumed

log = logging.getLogger(__name__)

CONTEXT_FRAMES: Final = 6
MAX_DIVERGENCES: Final = 200


@dataclass(frozen=True)
class ReplayOptions:
    """How to replay."""

    strict: bool = True
    pacing: float | None = None
    """None: causal (as fast as possible); 1.0: real time; N: N times faster than real time."""
    frame_timeout_s: float = 20.0
    """How long to wait for a client frame the recording expects before calling it a divergence."""
    close_wait_s: float = 20.0
    """How long to wait for the client to close a connection the recording says the client closed."""
    secrets: tuple[str, ...] = ()
    """Values to redact from the client's frames before comparing (the recording is redacted already)."""


@dataclass(frozen=True)
class Step:
    """One thing that happens in a segment after the handshake."""

    kind: Literal["c2s", "s2c", "close"]
    index: int
    t_us: int
    frame: Frame | None = None
    close: Close | None = None


@dataclass
class Segment:
    """One recorded connection."""

    seg: int
    open: Open | None
    setup: Frame | None
    setup_complete: Frame | None
    steps: list[Step] = field(default_factory=list)


def plan_segments(rec: Recording) -> list[Segment]:
    """Split a recording into connections. Raises ``RecordingError`` if it cannot be replayed at all."""
    if any(isinstance(r, Gap) for r in rec.records):
        raise RecordingError(
            "the recording has gaps (the recorder dropped data while recording); it cannot be replayed exactly",
            path=str(rec.path),
        )
    segments: list[Segment] = []
    current: Segment | None = None
    for r in rec.records:
        if isinstance(r, Open):
            current = Segment(r.seg, r, None, None)
            segments.append(current)
        elif isinstance(r, Frame):
            if current is None:  # a file that starts mid-connection (recording switched on while live)
                current = Segment(r.seg, None, None, None)
                segments.append(current)
            if r.direction == "c2s" and current.setup is None and not current.steps:
                current.setup = r
            elif (
                r.direction == "s2c"
                and current.setup_complete is None
                and not any(s.kind == "s2c" for s in current.steps)
                and isinstance(r.msg, dict)
                and wire.message_kind(r.msg) == "setupComplete"
            ):
                # The mock sends its own setupComplete. Some clients send before it arrives (captures show it).
                current.setup_complete = r
            else:
                current.steps.append(Step(r.direction, r.index, r.t_us, frame=r))
        elif isinstance(r, Close) and current is not None:
            current.steps.append(Step("close", -1, r.t_us, close=r))
            current = None
    if not segments:
        raise RecordingError("the recording holds no connection (no frames at all)", path=str(rec.path))
    if segments[0].setup is None or not _is_setup(segments[0].setup):
        raise RecordingError(
            "the recording does not start with a setup frame (recording was switched on mid-session?); "
            "only whole sessions can be replayed",
            path=str(rec.path),
        )
    return segments


def _is_setup(frame: Frame) -> bool:
    return isinstance(frame.msg, dict) and wire.message_kind(frame.msg) == "setup"


def client_initiated(close: Close) -> bool:
    """Whether a recorded close was the client's doing: as recorded, else inferred (see the module docstring)."""
    if close.code is None:
        return False
    if close.by is not None:
        return close.by == "client"
    return close.code in (1000, 1001) and not close.reason


class ReplayState:
    """One replay of one recording, shared by the mock sessions it spans."""

    def __init__(self, rec: Recording, options: ReplayOptions | None = None) -> None:
        self.rec = rec
        self.options = options or ReplayOptions()
        self.segments = plan_segments(rec)
        self.redactor = Redactor(self.options.secrets)
        self.divergences: list[Divergence] = []
        self.consumed: set[tuple[int, int]] = set()
        """(segment position, step position) pairs that were replayed."""
        self.claimed = 0
        self.setups_matched: set[int] = set()
        self.history: deque[Frame] = deque(maxlen=CONTEXT_FRAMES)
        """The last frames played, summarised only when a divergence needs them (a summary decodes media)."""
        self.last_turn = ""
        self.failed = asyncio.Event()
        """Set at the first divergence in strict mode (the harness stops feeding input)."""
        self.finished = asyncio.Event()
        """Set when the last segment's steps are all done (or the replay cannot go on)."""
        self.server_ids: dict[str, int] = {}
        self.sent_frames = 0
        self.started = time.monotonic()
        self.ended: float | None = None
        self.on_finish: Callable[[ReplayState], None] | None = None
        self._turn = 0
        self._user_said = ""

    # -- bookkeeping --------------------------------------------------------------------------------------

    def claim(self) -> tuple[int, Segment] | None:
        if self.claimed >= len(self.segments):
            return None
        pos = self.claimed
        self.claimed += 1
        return pos, self.segments[pos]

    def diverge(
        self,
        *,
        frame_index: int,
        t_us: int,
        seg: int,
        direction: str,
        kind: str,
        what: str,
        recorded: Any = None,
        actual: Any = None,
        recorded_text: str = "",
        actual_text: str = "",
    ) -> None:
        diffs = tuple(diff(recorded, actual)) if recorded is not None and actual is not None else ()
        if len(self.divergences) < MAX_DIVERGENCES:
            self.divergences.append(
                Divergence(
                    index=frame_index,
                    t_s=t_us / 1e6,
                    seg=seg,
                    direction=direction,
                    kind=kind,
                    what=what,
                    diffs=diffs,
                    expected=recorded_text,
                    actual=actual_text,
                    context=tuple(_history_line(f) for f in self.history),
                    last_matched_turn=self.last_turn or "none (it diverged in the first turn)",
                )
            )
        if self.options.strict:
            self.failed.set()

    def note_frame(self, frame: Frame, *, replayed: bool = True) -> None:
        self.history.append(frame)
        msg = frame.msg if isinstance(frame.msg, dict) else {}
        if frame.direction == "c2s":
            said = _user_text(msg)
            if said:
                self._user_said = said
        else:
            content = wire.pick(msg, "serverContent")
            heard = wire.pick(wire.pick(content, "inputTranscription"), "text") if isinstance(content, dict) else None
            if isinstance(heard, str) and heard.strip():
                self._user_said = (self._user_said + " " + heard).strip()[-80:]
            if isinstance(content, dict) and wire.pick(content, "turnComplete"):
                self._turn += 1
                user = f", after the user said {self._user_said[-60:]!r}" if self._user_said else ""
                self.last_turn = f"turn {self._turn} ended at frame #{frame.index} ({frame.t_us / 1e6:.3f} s){user}"
                self._user_said = ""

    def finish(self) -> None:
        if not self.finished.is_set():
            self.ended = time.monotonic()
            self.finished.set()
            if self.on_finish is not None:
                try:
                    self.on_finish(self)
                except Exception:
                    log.exception("replay on_finish callback failed")

    def result(self) -> ReplayResult:
        """The outcome so far, with the completeness gate applied."""
        unconsumed: list[Unconsumed] = []
        frames_total = 0
        frames_replayed = 0
        for pos, seg in enumerate(self.segments):
            frames_total += (
                sum(1 for s in seg.steps if s.kind != "close")
                + (seg.setup is not None)
                + (seg.setup_complete is not None)
            )
            if pos < self.claimed:
                frames_replayed += (seg.setup is not None) + (seg.setup_complete is not None)
            elif seg.setup is not None:
                unconsumed.append(
                    Unconsumed(
                        seg.setup.index,
                        seg.setup.t_us / 1e6,
                        seg.seg,
                        "c2s",
                        "setup",
                        "the client never opened this connection",
                    )
                )
            for i, step in enumerate(seg.steps):
                if (pos, i) in self.consumed:
                    frames_replayed += step.kind != "close"
                    continue
                if step.frame is not None:
                    f = step.frame
                    unconsumed.append(
                        Unconsumed(
                            f.index,
                            f.t_us / 1e6,
                            seg.seg,
                            f.direction,
                            kind_of(f.msg),
                            frame_summary(f.msg, f.data, width=120),
                        )
                    )
                elif step.close is not None:
                    c = step.close
                    unconsumed.append(
                        Unconsumed(
                            -1,
                            c.t_us / 1e6,
                            seg.seg,
                            "connection",
                            "close",
                            f"recorded close {c.code} {c.reason!r} never happened",
                        )
                    )
        end = self.ended if self.ended is not None else time.monotonic()
        return ReplayResult(
            path=str(self.rec.path),
            divergences=list(self.divergences),
            unconsumed=unconsumed,
            frames_total=frames_total,
            frames_replayed=frames_replayed,
            segments_total=len(self.segments),
            segments_replayed=min(self.claimed, len(self.segments)),
            recorded_s=self.rec.duration_s,
            wall_s=end - self.started,
            notes=[p for p in self.rec.problems],
        )


def _history_line(frame: Frame) -> str:
    arrow = "→" if frame.direction == "c2s" else "←"
    return f"#{frame.index} {frame.t_us / 1e6:8.3f}s {arrow} {frame.direction} {frame_summary(frame.msg, frame.data)}"


def _user_text(msg: dict[str, Any]) -> str:
    body = wire.pick(msg, "clientContent")
    if isinstance(body, dict):
        texts = [
            str(p.get("text"))
            for t in (wire.pick(body, "turns") or [])
            if isinstance(t, dict)
            for p in (t.get("parts") or [])
            if isinstance(p, dict) and p.get("text")
        ]
        return " ".join(texts)[-80:]
    rt = wire.pick(msg, "realtimeInput")
    if isinstance(rt, dict) and isinstance(rt.get("text"), str):
        return str(rt["text"])[-80:]
    return ""


class ReplayBackend:
    """One mock session of a replay: takes the next recorded segment and plays it (see the module docstring)."""

    def __init__(self, state: ReplayState) -> None:
        self.state = state

    async def run(self, conn: MockConnection) -> None:
        st = self.state
        claimed = st.claim()
        if claimed is None:
            st.diverge(
                frame_index=-1,
                t_us=int(st.rec.duration_s * 1e6),
                seg=len(st.segments),
                direction="connection",
                kind="open",
                what=f"the client opened connection {len(st.segments) + 1}; the recording has only {len(st.segments)}",
            )
            await conn.close(1008, "replay: the recording has no more connections")
            st.finish()
            return
        pos, seg = claimed
        try:
            await self._play(conn, pos, seg)
        finally:
            if pos == len(st.segments) - 1 or (st.options.strict and st.failed.is_set()):
                st.finish()

    async def _play(self, conn: MockConnection, pos: int, seg: Segment) -> None:
        st = self.state
        opts = st.options
        if seg.setup is not None:
            recorded = normalise(seg.setup.msg, redactor=st.redactor)
            actual = normalise({"setup": dict(conn.setup.raw)}, redactor=st.redactor)
            if recorded != actual:
                st.diverge(
                    frame_index=seg.setup.index, t_us=seg.setup.t_us, seg=seg.seg, direction="c2s", kind="setup",
                    what="the setup differs from the recorded one", recorded=recorded, actual=actual,
                )  # fmt: skip
                if opts.strict:
                    await conn.close(1008, _reason(seg.setup.index, "setup differs"))
                    return
            else:
                st.setups_matched.add(pos)
            st.note_frame(seg.setup)
        if seg.setup_complete is not None:
            st.note_frame(seg.setup_complete)
        base_us = seg.setup_complete.t_us if seg.setup_complete is not None else (seg.open.t_us if seg.open else 0)
        started = time.monotonic()
        for i, step in enumerate(seg.steps):
            if step.kind == "s2c":
                assert step.frame is not None
                if opts.pacing:
                    delay = (step.t_us - base_us) / 1e6 / opts.pacing - (time.monotonic() - started)
                    if delay > 0:
                        # Not conn.sleep: that scales by the mock's pace, which is 0 (no delays) under replay.
                        await asyncio.sleep(delay)
                        if conn.closed:
                            return
                try:
                    await self._send(conn, step.frame)
                except SessionClosed:
                    return
                st.consumed.add((pos, i))
                st.note_frame(step.frame)
            elif step.kind == "c2s":
                assert step.frame is not None
                ok = await self._expect(conn, seg, step.frame)
                if ok is None:
                    return  # the connection is over (closed, timed out, or strict divergence)
                st.consumed.add((pos, i))
                st.note_frame(step.frame)
                if not ok and opts.strict:
                    await conn.close(1008, _reason(step.frame.index, "client frame differs"))
                    return
            else:
                assert step.close is not None
                if not client_initiated(step.close):
                    # Counted before it happens: closing the connection makes the mock cancel this task.
                    st.consumed.add((pos, i))
                    await self._close(conn, seg, step.close)
                elif await self._close(conn, seg, step.close):
                    st.consumed.add((pos, i))
                return
        # The segment ends without a recorded close (the file was cut): let the client finish.
        with contextlib.suppress(SessionClosed, TimeoutError):
            while True:
                msg = await asyncio.wait_for(conn.recv(), opts.close_wait_s)
                st.diverge(
                    frame_index=-1, t_us=base_us, seg=seg.seg, direction="c2s", kind=msg.kind,
                    what="the client sent a frame after the end of the recording",
                    actual_text=frame_summary(_loads(msg.raw), msg.raw),
                )  # fmt: skip

    async def _send(self, conn: MockConnection, frame: Frame) -> None:
        st = self.state
        msg = frame.msg if isinstance(frame.msg, dict) else {}
        update = wire.pick(msg, "sessionResumptionUpdate")
        handle = wire.pick(update, "newHandle") if isinstance(update, dict) else None
        if isinstance(handle, str) and handle:
            # The mock checks resume handles against its own store before a session reaches the backend.
            conn.save_resumption_as(handle, {"replay": str(st.rec.path)})
        call = wire.pick(msg, "toolCall")
        for fc in (wire.pick(call, "functionCalls") or []) if isinstance(call, dict) else []:
            if isinstance(fc, dict) and isinstance(fc.get("id"), str) and fc["id"] not in st.server_ids:
                st.server_ids[fc["id"]] = len(st.server_ids) + 1
        data = frame.data
        if isinstance(data, bytes):
            # The client reads text and binary frames alike (the SDK calls recv(decode=False)); text unless the
            # bytes are not UTF-8, which only a binary frame can carry.
            with contextlib.suppress(UnicodeDecodeError):
                data = data.decode("utf-8")
        # The exact recorded bytes, verbatim: MockConnection.send would re-encode the frame, and send_raw refuses
        # frames the SDK would choke on, which a recording may legitimately hold (it replays what was seen).
        await conn.send_verbatim(data)
        st.sent_frames += 1

    async def _expect(self, conn: MockConnection, seg: Segment, frame: Frame) -> bool | None:
        """Wait for the client's next frame and compare. True: matched; False: differs; None: stop the segment."""
        st = self.state
        opts = st.options
        try:
            got: ClientMessage = await asyncio.wait_for(conn.recv(), opts.frame_timeout_s)
        except TimeoutError:
            st.diverge(
                frame_index=frame.index, t_us=frame.t_us, seg=seg.seg, direction="c2s", kind=kind_of(frame.msg),
                what=f"the client sent nothing for {opts.frame_timeout_s:g} s where the recording has this frame",
                recorded_text=frame_summary(frame.msg, frame.data),
            )  # fmt: skip
            await conn.close(1008, _reason(frame.index, "client sent nothing"))
            return None
        except SessionClosed:
            st.diverge(
                frame_index=frame.index, t_us=frame.t_us, seg=seg.seg, direction="c2s", kind=kind_of(frame.msg),
                what=f"the client closed the connection ({conn.close_code} {conn.close_reason!r}) where the "
                "recording has this frame",
                recorded_text=frame_summary(frame.msg, frame.data),
            )  # fmt: skip
            return None
        if isinstance(frame.msg, dict) and got.raw == frame.data:
            # The exact recorded text (``Frame.data`` is the wire text): both sides would normalise identically.
            return True
        actual_msg = _loads(got.raw)
        ids = st.server_ids
        if isinstance(frame.msg, dict) and isinstance(actual_msg, dict):
            recorded = normalise(frame.msg, redactor=st.redactor, ids=ids)
            actual = normalise(actual_msg, redactor=st.redactor, ids=ids)
        else:
            recorded = frame.data if isinstance(frame.data, str) else frame.data.decode("utf-8", "replace")
            actual = st.redactor.text(got.raw)
        if recorded == actual:
            return True
        st.diverge(
            frame_index=frame.index, t_us=frame.t_us, seg=seg.seg, direction="c2s", kind=kind_of(frame.msg),
            what="the client sent a different frame" + (
                f" ({kind_of(actual_msg)} instead)" if kind_of(actual_msg) != kind_of(frame.msg) else ""),
            recorded=recorded, actual=actual,
            recorded_text=frame_summary(frame.msg, frame.data), actual_text=frame_summary(actual_msg, got.raw),
        )  # fmt: skip
        return False

    async def _close(self, conn: MockConnection, seg: Segment, close: Close) -> bool:
        """Play a recorded close. True when it happened as recorded."""
        st = self.state
        if close.code is None:
            with contextlib.suppress(SessionClosed):
                await conn.abort()
            return True
        if not client_initiated(close):
            await conn.close(close.code, close.reason)
            return True
        try:
            while True:
                msg = await asyncio.wait_for(conn.recv(), st.options.close_wait_s)
                st.diverge(
                    frame_index=-1, t_us=close.t_us, seg=seg.seg, direction="c2s", kind=msg.kind,
                    what="the client sent a frame where the recording has it closing the connection",
                    actual_text=frame_summary(_loads(msg.raw), msg.raw),
                )  # fmt: skip
                if st.options.strict:
                    await conn.close(1008, "replay: unexpected client frame before close")
                    return False
        except SessionClosed:
            return True
        except TimeoutError:
            st.diverge(
                frame_index=-1, t_us=close.t_us, seg=seg.seg, direction="connection", kind="close",
                what=f"the client did not close the connection within {st.options.close_wait_s:g} s as recorded",
            )  # fmt: skip
            await conn.close(1000, "replay: the recorded connection ends here")
            return False


def _loads(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _reason(index: int, what: str) -> str:
    return f"replay diverged at frame #{index}: {what}"[:120]


# ---------------------------------------------------------------------------------------------- registration

_STATES: dict[int, ReplayState] = {}


def replay_options_from(backend_options: Any) -> ReplayOptions:
    """``MockOptions.backend_options`` → :class:`ReplayOptions` (keys ``strict``, ``pacing``, ``secrets``)."""
    opts = dict(backend_options or {})
    return ReplayOptions(
        strict=bool(opts.get("strict", True)),
        pacing=float(opts["pacing"]) if opts.get("pacing") else None,
        secrets=tuple(opts.get("secrets", ())),
    )


def _factory(options: MockOptions) -> ReplayBackend:
    key = id(options)
    state = _STATES.get(key)
    if state is None:
        path = options.backend_options.get("path")
        if path is None:
            raise RecordingError("the replay backend needs backend_options['path']")
        state = ReplayState(read_recording(Path(path)), replay_options_from(options.backend_options))
        report = options.backend_options.get("on_finish")
        if callable(report):
            state.on_finish = report
        _STATES.clear()  # one replay per server process (the CLI); keeps this bounded
        _STATES[key] = state
    return ReplayBackend(state)


register_backend("replay", _factory)
