"""Writing recordings: ``RecordWriter`` appends records to a file; ``Recorder`` is the live ``FrameTap``.

Who does the work:
- ``Recorder``'s tap methods run on the event loop and never encode, redact or do file I/O themselves.
- By default (Linux on x86) a writer *process* does the work (``tui.recording.ring``): the tap methods copy each
  item into a shared ring (a frame as its bytes, anything else as msgpack: ~6 µs for an 8 KB frame on the
  project's VM, most of it the copy to another core), and the child decodes, redacts, interns and writes on
  another core. A writer thread holds the GIL for all of that (~35-40 µs a frame): +20-33 % on a replay at
  hundreds of times real time, against +3-14 % with the process in the same rounds (BENCHMARKS.md). If the app is
  killed, the child still writes everything that was in the ring.
- Elsewhere (or with ``writer="thread"``) one writer thread per recorder does it: it takes the queue in bursts
  (it waits ``_LINGER_S`` after the first record of a burst, so a busy stream costs one wake-up per burst, not per
  frame) and a SIGKILL loses what was still queued (~20 ms of traffic plus any backlog).
- Either way, a burst's records go to the kernel whole and in order in one ``writev`` (a crash tears at most one
  record), with an fsync about once a second and on close.
- What waits is bounded in bytes and items (the ring, then ``max_queue_bytes``/``max_queue_items``). When the disk
  cannot keep up the recorder drops, never blocks the live session: it counts what it dropped, writes a ``gap``
  record where the loss happened, logs an error and calls ``on_problem`` once per burst. A write error (disk
  full…) or a dead writer process stops the recording the same loud way; the file stays readable up to its last
  whole record.
- ``on_problem`` is called from the event loop (drops; the writer process's errors) or from the writer thread
  (its write errors): make it thread-safe (e.g. ``loop.call_soon_threadsafe``).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import msgpack

from tui import __version__
from tui.errors import RecordingError
from tui.recording import ring
from tui.recording.format import (
    FORMAT_NAME,
    REF_WINDOW,
    VERSION,
    Direction,
    Header,
    StringTable,
    b64_body_end,
    b64_decode_bodies,
    b64_decode_exact,
    bin_header,
    encode_frame,
    encode_prepared,
    make_template,
    pack_payload,
    prepare_frame,
    span_flavour,
    splice_spans,
)
from tui.recording.redact import Redactor
from tui.recording.ring import WriterProcess

if TYPE_CHECKING:
    from tui.config import Settings

log = logging.getLogger(__name__)

FILE_SUFFIX: Final = ".glrec"
"""Extension of recordings written by the client."""

_TEMPLATES_MAX: Final = 64
"""Frame shapes whose packed record is kept as a template (see ``RecordWriter.write_frame``)."""

_REF_BYTES_MAX: Final = 16 << 20
"""Bytes of recent input payloads kept for de-duplication (mic chunks and frames sent right after)."""


@functools.cache  # reading package metadata takes milliseconds; it cannot change while we run
def sdk_version() -> str:
    """The installed google-genai version (without importing the SDK)."""
    try:
        from importlib.metadata import version

        return version("google-genai")
    except Exception:
        return "unknown"


_LINGER_S: Final = 0.02
"""After the first record of a burst arrives, the writer thread waits this long for more before writing them all
(records reach the kernel at most this much later; a SIGKILL loses what is still queued)."""

_PROCESS_LINGER_S: Final = 0.005
"""The writer process's linger: its wake-ups cost the app nothing, and a short one leaves less to write at close."""

_PREPARE_CHUNK: Final = 64
"""Queued records whose payloads the writer thread decodes together (``RecordWriter.prepare_frames``)."""

_RING_BYTES: Final = 4 << 20
"""The writer process's shared ring. Larger than a core's L2 (1 MiB here): the tap's copy into it then lands on lines
the writer process read a lap ago and no longer holds, instead of taking each one back from the other core (on a
flat-out replay a received frame cost 16-18 µs with a 1 MiB ring, 11-12 with 4 MiB; /tmp probe, 5 replays of the
3.4-min session). Its pages are made when the ring is (``MAP_POPULATE``, ~5 ms here). It also holds ~200 ms of a
fast replay's traffic, so the writer process starting up (~100 ms) rarely sends anything to the parent's backlog
(bounded by ``max_queue_bytes``)."""

_BATCH_RECORDS: Final = 256
_BATCH_BYTES: Final = 4 << 20
"""A held batch is written once it has this many records or bytes (``RecordWriter.begin_batch``)."""


def _write_all(fd: int, blobs: list[bytes]) -> None:
    """Write ``blobs`` in order with as few calls as the kernel allows (it may take part of a call)."""
    n = os.writev(fd, blobs)  # a regular file takes it all unless the disk fills up
    if n == sum(map(len, blobs)):
        return
    views = [memoryview(b) for b in blobs if b]
    while views:
        while views and n >= len(views[0]):
            n -= len(views[0])
            views.pop(0)
        if views and n:
            views[0] = views[0][n:]
        if views:
            n = os.writev(fd, views)


class _RawFrame(NamedTuple):
    """A websocket frame waiting in the recorder's overflow for room in the writer process's ring."""

    direction: str
    t_us: int
    data: str | bytes


_RAW_FRAME_OVERHEAD: Final = 32
"""What a waiting ``_RawFrame`` counts for besides its data (against ``max_queue_bytes``)."""
_DIRECTIONS: Final = frozenset(("c2s", "s2c"))


def _pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)  # type: ignore[no-any-return]


def _check_ext_packing() -> None:
    """Refuse to write when msgpack would silently pack the format's ext references as plain arrays.

    ``ExtType`` is a namedtuple: if msgpack was imported twice in one process (a test harness that reloads modules),
    the packer no longer recognises the format module's ``ExtType`` and packs it as a list, corrupting every
    interned string without an error. Checked once per file, before anything is written.
    """
    from tui.recording import format as fmt

    # The format module's ExtType, packed by this module's msgpack: what every interned string goes through.
    probe = _pack({"p": vars(fmt)["msgpack"].ExtType(fmt.STR_EXT, b"\x00")})
    if probe[3] != 0xD4:  # 0xd4 = fixext 1
        raise RecordingError(
            "msgpack is loaded twice in this process, so ext records would be written as plain arrays; "
            "refusing to write a corrupt recording"
        )


class RecordWriter:
    """Appends records to a new file (0600), redacting everything on the way in. Not thread-safe: one owner."""

    _strings: StringTable | None

    def __init__(
        self, path: Path, header: Header, redactor: Redactor | None = None, *, overwrite: bool = False
    ) -> None:
        _check_ext_packing()
        self._start(Path(path), redactor or Redactor(enabled=header.redacted), None, 0, 0, 0)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        flags |= os.O_TRUNC if overwrite else os.O_EXCL
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._fd: int | None = os.open(self.path, flags, 0o600)
        except FileExistsError:
            raise RecordingError("already exists; choose another file name", path=str(self.path)) from None
        except OSError as exc:
            raise RecordingError(f"cannot create recording: {exc.strerror or exc}", path=str(self.path)) from None
        os.fchmod(self._fd, 0o600)  # even when it existed (overwrite) or the umask was odd
        red = self.redactor
        head: dict[str, Any] = {
            "k": "header",
            "format": FORMAT_NAME,
            "version": list(header.version),
            "created": header.created,
            "app": header.app,
            "sdk": header.sdk,
            "model": red.text(header.model),
            "config": red.value(header.config),
            "description": red.text(header.description),
            "redacted": red.enabled,
        }
        for key, value in header.extra.items():
            head.setdefault(key, red.value(value))
        self._write(head)
        self._strings = StringTable()

    @classmethod
    def adopt(
        cls, fd: int, path: Path, redactor: Redactor, *, numbered: int, records: int, written: int
    ) -> RecordWriter:
        """Go on writing a file whose header another ``RecordWriter`` wrote (the recorder's writer process).

        After its header a writer's state is its counts alone (the string table and payload references start
        empty), so ``numbered``, ``records`` and ``written`` from the original make this one continue the file
        byte for byte as the original would have.
        """
        _check_ext_packing()
        w = cls.__new__(cls)
        w._start(Path(path), redactor, StringTable(), numbered, records, written)
        w._fd = fd
        return w

    def _start(
        self, path: Path, redactor: Redactor, strings: StringTable | None, numbered: int, records: int, written: int
    ) -> None:
        self.path = path
        self.redactor = redactor
        self.records = records
        """Records handed to the kernel."""
        self._numbered = numbered
        """Records numbered so far (held ones included): the index of the next record in the file."""
        self.bytes_written = written
        self.wire_bytes = 0
        self.last_t_us = 0
        self._recent: OrderedDict[bytes, int] = OrderedDict()
        self._recent_bytes = 0
        self._recent_sizes: Counter[int] = Counter()
        """Lengths of the payloads in ``_recent``: a payload of another length is not looked up (no hashing)."""
        self._strings = strings  # None while the header is written (it is literal)
        self._batch: list[bytes] | None = None
        self._batch_bytes = 0
        self._prepared: dict[int, tuple[Any, ...]] = {}
        """id(frame data) → what :meth:`prepare_frames` worked out for it."""
        self._templates: dict[tuple[bool, str, bytes], tuple[bytes, ...]] = {}
        """(binary frame, base64 flavour, skeleton as UTF-8) → the packed record cut at its time and payloads."""

    @property
    def numbered(self) -> int:
        """Records numbered so far: the index the next record will have."""
        return self._numbered

    def fileno(self) -> int:
        if self._fd is None:
            raise RecordingError("recording already closed", path=str(self.path))
        return self._fd

    def hand_over(self) -> int:
        """Give up the file descriptor without closing it (it now belongs to the writer process)."""
        fd = self.fileno()
        if self._batch:
            self.flush()
        self._fd = None
        return fd

    # -- records ------------------------------------------------------------------------------------

    def write_open(self, t_us: int, seg: int, url: str, headers: Mapping[str, str]) -> None:
        red = self.redactor
        self._write({"k": "open", "t": t_us, "seg": seg, "url": red.url(url), "headers": red.headers(headers)})

    def write_frame(self, t_us: int, direction: Direction, data: str | bytes) -> None:
        """Redact, encode and append one frame.

        A frame shaped like an earlier one (the same text once its long payloads are cut out, the same base64
        flavour) is written from that one's packed record with its time and payloads filled in: the bytes are the
        same as encoding it afresh (the skeleton was encoded, redaction-checked and verified with the first frame;
        each payload is checked here to decode and re-encode to exactly its text and to hold no secret), at a
        fraction of the cost. Anything else takes the general path.
        """
        wire = data if isinstance(data, bytes) else data.encode("utf-8")
        self.wire_bytes += len(wire)
        kind = "c" if direction == "c2s" else "s"
        if self._templates and self._write_like_before(t_us, kind, data, wire):
            return
        prepared = prepare_frame(data)
        if prepared is not None and self.redactor.prepared_is_clean(prepared):
            fields = encode_prepared(prepared, self._find_ref)  # the common case: nothing to redact
            self._write({"k": kind, "t": t_us, **fields})
            if prepared.blobs and self._strings is not None and not self.redactor.needs_frame_work(prepared.skeleton):
                made = make_template(kind, prepared, fields, self._strings)
                if made is not None:
                    if len(self._templates) >= _TEMPLATES_MAX:
                        self._templates.clear()
                    flavour, chunks = made
                    self._templates[(isinstance(data, bytes), flavour, prepared.skeleton.encode("utf-8"))] = chunks
            return
        fields = encode_frame(self.redactor.frame(data), self._find_ref)
        self._write({"k": kind, "t": t_us, **fields})

    def prepare_frames(self, frames: list[str | bytes]) -> None:
        """Get ready to write ``frames`` (a batch, in order): what the template path of :meth:`write_frame` needs
        for each is worked out now, and all their payloads are decoded together (``format.b64_decode_bodies``: one
        call per batch, not per frame). Pure preparation: nothing is written, and :meth:`write_frame` checks each
        payload as before. Dropped at :meth:`flush`."""
        self._prepared.clear()
        groups: dict[str, list[tuple[list[bytes | None], int, bytes]]] = {}
        for data in frames:
            try:
                wire = data if isinstance(data, bytes) else data.encode("utf-8")
            except UnicodeEncodeError:
                continue  # write_frame reports it
            spliced = splice_spans(wire)
            if spliced is None:
                continue
            skeleton, spans = spliced
            flavour = span_flavour(wire, spans)
            if flavour is None:
                continue
            bodies: list[bytes | None] = [None] * len(spans)
            # The entry holds ``data`` itself, so its id cannot be reused while the entry exists.
            self._prepared[id(data)] = (data, wire, skeleton, spans, flavour, bodies)
            group = groups.setdefault(flavour[0], [])
            for k, (start, end) in enumerate(spans):
                group.append((bodies, k, wire[start : b64_body_end(wire, start, end)]))
        for letter, slots in groups.items():
            decoded = b64_decode_bodies([body for _, _, body in slots], letter)
            if decoded is not None:  # else each payload is decoded on its own, as without this
                for (bodies, k, _), raw in zip(slots, decoded, strict=True):
                    bodies[k] = raw

    def _write_like_before(self, t_us: int, kind: str, data: str | bytes, wire: bytes) -> bool:
        """The template path of :meth:`write_frame`, on the frame's UTF-8 bytes ``wire`` (False: not written)."""
        prepared = self._prepared.pop(id(data), None)
        bodies: list[bytes | None]
        if prepared is not None and prepared[0] is data:
            _, wire, skeleton, spans, flavour, bodies = prepared
        else:
            spliced = splice_spans(wire)
            if spliced is None:
                return False
            skeleton, spans = spliced
            found = span_flavour(wire, spans)
            if found is None:
                return False
            flavour = found
            bodies = [None] * len(spans)
        chunks = self._templates.get((isinstance(data, bytes), flavour, skeleton))
        if chunks is None:
            return False
        red = self.redactor
        parts = [chunks[0], _pack(t_us), chunks[1]]
        for (start, end), body, chunk in zip(spans, bodies, chunks[2:], strict=True):
            v = wire[start:end]
            raw = b64_decode_exact(v, flavour, body)
            # The safety net: the stored bytes must give back exactly this text, and hold no secret.
            if raw is None or not red.payload_bytes_is_clean(v, raw):
                return False
            ref = self._find_ref(raw)
            if ref is None:
                parts += (bin_header(len(raw)), raw, chunk)
            else:
                parts += (pack_payload(raw, ref), chunk)
        self._write_packed(b"".join(parts), t_us)
        return True

    def write_close(self, t_us: int, seg: int, code: int | None, reason: str, by: str | None = None) -> None:
        record: dict[str, Any] = {
            "k": "close",
            "t": t_us,
            "seg": seg,
            "code": code,
            "reason": self.redactor.text(reason),
        }
        if by is not None:
            record["by"] = by
        self._write(record)

    def write_input(self, t_us: int, kind: str, data: Mapping[str, Any]) -> None:
        clean = self.redactor.value(dict(data))
        index = self._numbered
        self._write({"k": "in", "t": t_us, "kind": kind, "d": clean})
        blob = next((v for v in clean.values() if isinstance(v, bytes) and len(v) >= 16), None)
        if blob is not None:
            self._remember(blob, index)

    def write_gap(self, t_us: int, dropped: int, dropped_bytes: int, reason: str) -> None:
        self._write({"k": "gap", "t": t_us, "n": dropped, "bytes": dropped_bytes, "why": reason})

    def write_end(self, t_us: int) -> None:
        t_us = max(t_us, self.last_t_us)  # timestamps never go backwards in a file
        self._write({"k": "end", "t": t_us, "n": self._numbered + 1, "wire": self.wire_bytes})

    # -- plumbing -----------------------------------------------------------------------------------

    def fsync(self) -> None:
        if self._batch:
            self.flush()
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        """fsync and close (idempotent). ``write_end`` first for a clean end."""
        if self._fd is None:
            return
        if self._batch:
            self.flush()
        fd, self._fd = self._fd, None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @property
    def closed(self) -> bool:
        return self._fd is None

    def _write(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            raise RecordingError("recording already closed", path=str(self.path))
        blob = _pack(self._strings.intern(record) if self._strings is not None else record)
        t = record.get("t")
        self._write_packed(blob, t if isinstance(t, int) else None)

    def _write_packed(self, blob: bytes, t_us: int | None) -> None:
        if self._fd is None:
            raise RecordingError("recording already closed", path=str(self.path))
        self._numbered += 1
        if self._batch is not None:
            self._batch.append(blob)
            self._batch_bytes += len(blob)
            if len(self._batch) >= _BATCH_RECORDS or self._batch_bytes >= _BATCH_BYTES:
                self._write_held()
        else:
            _write_all(self._fd, [blob])
            self.records += 1
            self.bytes_written += len(blob)
        if t_us is not None:
            self.last_t_us = t_us

    def begin_batch(self) -> None:
        """Hold the following records until :meth:`flush`, which hands them to the kernel in one ``writev``.

        For the recorder's writer thread: every system call gives up the GIL, and getting it back from a busy
        event loop costs far more than the call, so a batch of records is one call instead of one each. A crash
        still loses at most what had not been handed over, and a torn write still tears one record at most:
        the records go out whole and in order.
        """
        if self._batch is None:
            self._batch = []
            self._batch_bytes = 0

    def flush(self) -> None:
        """Write the held records (see :meth:`begin_batch`) and stop holding. Raises ``OSError`` like a write."""
        self._prepared.clear()
        try:
            self._write_held()
        finally:
            self._batch = None

    def _write_held(self) -> None:
        """Hand the held records to the kernel, and go on holding."""
        batch = self._batch
        if batch and self._fd is not None:
            self._batch = []
            self._batch_bytes = 0
            _write_all(self._fd, batch)
            self.records += len(batch)
            self.bytes_written += sum(len(b) for b in batch)

    def _find_ref(self, payload: bytes) -> int | None:
        if len(payload) not in self._recent_sizes:
            return None
        index = self._recent.get(payload)
        if index is None or self._numbered - index > REF_WINDOW:
            return None
        return index

    def _remember(self, blob: bytes, index: int) -> None:
        old = self._recent.pop(blob, None)
        if old is None:
            self._recent_bytes += len(blob)
            self._recent_sizes[len(blob)] += 1
        self._recent[blob] = index
        while self._recent and (self._recent_bytes > _REF_BYTES_MAX or len(self._recent) > 512):
            gone, _ = self._recent.popitem(last=False)
            self._recent_bytes -= len(gone)
            self._recent_sizes[len(gone)] -= 1
            if not self._recent_sizes[len(gone)]:
                del self._recent_sizes[len(gone)]


def make_header(
    *,
    model: str,
    config: Mapping[str, Any] | None = None,
    description: str = "",
    redacted: bool = True,
    extra: Mapping[str, Any] | None = None,
    created: str | None = None,
) -> Header:
    """A header for this app and SDK, created now."""
    return Header(
        version=VERSION,
        created=created or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        app=f"gemini-live-tui {__version__}",
        sdk=f"google-genai {sdk_version()}",
        model=model,
        config=dict(config or {}),
        description=description,
        redacted=redacted,
        extra={"python": sys.version.split()[0], "clock": "monotonic", "time_unit": "us", **(extra or {})},
    )


def settings_config(settings: Settings) -> dict[str, Any]:
    """The settings to store in a header: everything but the secrets (which are never written anywhere)."""
    dumped = settings.model_dump(mode="json", exclude={"api_key", "ephemeral_token", "credentials_file"})
    return dumped


def default_path(folder: Path | None = None) -> Path:
    """A fresh timestamped file in ``folder`` (default: the recordings folder under the data dir)."""
    from tui import paths

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = (folder or paths.recordings_dir()) / f"session-{stamp}"
    path = base.with_suffix(FILE_SUFFIX)
    n = 1
    while path.exists():
        n += 1
        path = Path(f"{base}-{n}{FILE_SUFFIX}")
    return path


@dataclass(frozen=True, slots=True)
class RecorderStats:
    """What a recorder did, for the status line and the report at exit."""

    path: Path
    records: int
    bytes_written: int
    wire_bytes: int
    queued: int
    dropped: int
    dropped_bytes: int
    error: str | None


class Recorder:
    """The live ``FrameTap`` that writes a recording. Start it before connecting; ``close()`` it at the end."""

    def __init__(
        self,
        path: Path,
        *,
        model: str,
        config: Mapping[str, Any] | None = None,
        description: str = "",
        secrets: tuple[str, ...] = (),
        redact: bool = True,
        on_problem: Callable[[str], None] | None = None,
        max_queue_bytes: int = 64 << 20,
        max_queue_items: int = 50_000,
        fsync_interval_s: float = 1.0,
        linger_s: float = _LINGER_S,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        created_unix: float | None = None,
        writer: str = "auto",
    ) -> None:
        """``writer``: "process" (a writer process; see ``tui.recording.ring``), "thread", or "auto" (the process
        where that is supported, else the thread)."""
        self._redactor = Redactor(secrets, enabled=redact)
        self._t0 = clock_ns()
        # The wall-clock time of t = 0, so replay can give time-dependent tools (a clock) the recorded time.
        header = make_header(
            model=model,
            config=config,
            description=description,
            redacted=redact,
            extra={"created_unix": time.time() if created_unix is None else created_unix},
        )
        self.last_recv_us = 0
        """Recorded time of the last frame received: replay's wall clock for tools is ``created_unix`` plus this."""
        self._writer = RecordWriter(path, header, self._redactor)
        self.path = self._writer.path
        self._on_problem = on_problem
        self._max_bytes = max_queue_bytes
        self._max_items = max_queue_items
        self._fsync_interval = fsync_interval_s
        self._linger = linger_s
        self._idle = False
        """The writer thread is waiting for records (only then does ``_put`` wake it)."""
        self._cond = threading.Condition()
        self._items: deque[tuple[Any, ...]] = deque()
        self._queued_bytes = 0
        self._closing = False
        self._error: str | None = None
        self._dropped = 0
        self._dropped_bytes = 0
        self._gap: list[int] | None = None  # [count, bytes, first t_us] of the current unreported burst
        self._seg = -1
        self._close_by: str | None = None
        self._proc: WriterProcess | None = None
        self._ring_lock = threading.RLock()
        """Writer process: one producer at a time (the loop's tap calls; ``stats`` and ``close`` from other threads
        move waiting items too). Reentrant: ``on_problem`` may ask for ``stats``."""
        self._overflow: deque[tuple[bytes | _RawFrame, bool]] = deque()
        """Writer process: items waiting for room in its ring (bounded like the thread's queue), in order: packed
        items or pieces of one (``more``: the next piece continues it), or frames as they came (``_RawFrame``),
        which go in later as a frame goes in on the fast path, unpacked."""
        self._overflow_bytes = 0
        self._thread: threading.Thread | None = None
        if writer not in ("auto", "process", "thread"):
            raise ValueError(f"writer must be auto, process or thread, not {writer!r}")
        if writer == "process" or (writer == "auto" and ring.supported()):
            try:
                self._proc = WriterProcess(
                    self._writer,
                    capacity=_RING_BYTES,
                    fsync_interval_s=fsync_interval_s,
                    linger_s=min(linger_s, _PROCESS_LINGER_S),
                    secrets=tuple(secrets),
                    redact=redact,
                )
            except OSError as exc:  # no process could be started (limits, no memfd): write from a thread instead
                log.warning("recording %s: no writer process (%s); writing from a thread", self.path.name, exc)
        if self._proc is None:
            self._thread = threading.Thread(target=self._run, name=f"recorder:{self.path.name}", daemon=True)
            self._thread.start()

    @classmethod
    def for_settings(
        cls,
        settings: Settings,
        *,
        path: Path | None = None,
        description: str | None = None,
        on_problem: Callable[[str], None] | None = None,
    ) -> Recorder:
        """A recorder configured from ``settings`` (path, redaction, description, secrets to scrub)."""
        from tui.config import secret_values

        rec = settings.recording
        target = path or rec.path
        if target is not None and target.is_dir():  # --record SOME_FOLDER/: a fresh file in it
            target = default_path(target)
        return cls(
            target or default_path(),
            model=settings.session.model,
            config=settings_config(settings),
            description=rec.description if description is None else description,
            secrets=secret_values(settings),
            redact=rec.redact,
            on_problem=on_problem,
        )

    # -- FrameTap (event loop: enqueue only) ----------------------------------------------------------

    def on_open(self, t_ns: int, url: str, headers: dict[str, str]) -> None:
        self._seg += 1
        self._put(("open", self._us(t_ns), self._seg, url, dict(headers)), 256)

    def on_send(self, t_ns: int, data: str | bytes) -> None:
        t_us = max(0, (t_ns - self._t0) // 1000)
        if not self._put_frame_fast("c2s", t_us, data):
            self._put(("c2s", t_us, data), len(data))

    def on_recv(self, t_ns: int, data: bytes) -> None:
        self.last_recv_us = t_us = max(0, (t_ns - self._t0) // 1000)
        if not self._put_frame_fast("s2c", t_us, data):
            self._put(("s2c", t_us, data), len(data))

    def _put_frame_fast(self, direction: str, t_us: int, data: str | bytes) -> bool:
        """A frame straight into the writer process's ring (``_put_raw_fast``). False: take ``_put``."""
        if self._proc is None:
            return False
        code, text, raw = ring.raw_frame(direction, data)
        return self._put_raw_fast(code, text, t_us, raw)

    def _put_raw_fast(self, code: int, text: int, t_us: int, data: bytes) -> bool:
        """A frame or mic chunk straight into the writer process's ring, unpacked, when nothing waits before it (the
        common case: every frame of a session comes this way). False: take ``_put``."""
        proc = self._proc
        if proc is None or self._overflow or self._gap is not None or self._error is not None:
            return False
        with self._ring_lock:
            return not self._closing and proc.put_raw(code, text, t_us, data)

    def on_close_initiator(self, t_ns: int, by: str | None) -> None:
        """Who started the close that ``on_close`` reports next (the tap's optional hook)."""
        self._close_by = by

    def on_close(self, t_ns: int, code: int | None, reason: str) -> None:
        by, self._close_by = self._close_by, None
        self._put(("close", self._us(t_ns), max(self._seg, 0), code, reason, by), 64)

    def on_input(self, t_ns: int, kind: str, data: dict[str, Any]) -> None:
        t_us = self._us(t_ns)
        if kind == "audio" and self._put_mic_fast(t_us, data):
            return
        size = sum(len(v) for v in data.values() if isinstance(v, bytes | str)) + 64
        self._put(("in", t_us, kind, dict(data)), size)

    def _put_mic_fast(self, t_us: int, data: dict[str, Any]) -> bool:
        """A chunk of mic audio as ``LiveSession`` records it, through ``_put_raw_fast`` like a frame. False: take
        ``_put``."""
        pcm = data.get("pcm")
        if len(data) != 2 or data.get("rate") != ring.MIC_RATE or type(pcm) is not bytes or next(iter(data)) != "pcm":
            return False  # (the child re-creates exactly {"pcm": …, "rate": MIC_RATE}, in that order)
        return self._put_raw_fast(ring.MIC_AUDIO, 0, t_us, pcm)

    # -- control --------------------------------------------------------------------------------------

    def stats(self) -> RecorderStats:
        proc = self._proc
        if proc is not None:
            self._check_process()
            if self._overflow:
                with self._ring_lock:
                    if not self._closing:
                        self._push_overflow(proc)  # (the UI asks often: a quiet session's backlog moves on)
            records, written, wire, done = proc.final_or_live_counts()
            with self._cond:
                return RecorderStats(
                    path=self.path,
                    records=records,
                    bytes_written=written,
                    wire_bytes=wire,
                    queued=max(0, proc.items_put - done) + sum(not more for _, more in self._overflow),
                    dropped=self._dropped,
                    dropped_bytes=self._dropped_bytes,
                    error=self._error,
                )
        with self._cond:
            return RecorderStats(
                path=self.path,
                records=self._writer.records,
                bytes_written=self._writer.bytes_written,
                wire_bytes=self._writer.wire_bytes,
                queued=len(self._items),
                dropped=self._dropped,
                dropped_bytes=self._dropped_bytes,
                error=self._error,
            )

    def close(self, timeout: float | None = None) -> RecorderStats:
        """Write what is queued, an ``end`` record, fsync and close. Blocking: use ``aclose`` on a loop."""
        with self._ring_lock, self._cond:  # (the ring lock: a tap call on the loop is not half-way through a put)
            already = self._closing
            self._closing = True
            self._cond.notify_all()
        proc = self._proc
        if proc is not None:
            if not already:
                self._close_process(proc, timeout)
            return self.stats()
        assert self._thread is not None
        self._thread.join(timeout)
        return self.stats()

    @property
    def writer_pid(self) -> int | None:
        """The writer process's pid (None when a thread writes)."""
        return None if self._proc is None else self._proc.pid

    async def aclose(self) -> RecorderStats:
        import asyncio  # here, not at the top: the writer process imports this module and needs no event loop

        return await asyncio.to_thread(self.close)

    @property
    def closed(self) -> bool:
        return self._closing

    # -- internals ------------------------------------------------------------------------------------

    def _us(self, t_ns: int) -> int:
        return max(0, (t_ns - self._t0) // 1000)

    def _put(self, item: tuple[Any, ...], size: int) -> None:
        if self._proc is not None:
            with self._ring_lock:
                self._put_process(self._proc, item, size)
            return
        problem: str | None = None
        with self._cond:
            if self._closing:
                return
            full = self._queued_bytes + size > self._max_bytes or len(self._items) >= self._max_items
            if full or self._error is not None:
                self._dropped += 1
                self._dropped_bytes += size
                if self._gap is None:
                    self._gap = [0, 0, item[1]]
                    if self._error is None:
                        problem = (
                            f"recording {self.path.name}: the disk is not keeping up; dropping data "
                            "(the file will show a gap here)"
                        )
                self._gap[0] += 1
                self._gap[1] += size
            else:
                if self._gap is not None:
                    count, nbytes, t_us = self._gap
                    self._gap = None
                    self._items.append(("gap", t_us, count, nbytes, "recorder queue full (disk too slow)"))
                self._items.append(item)
                self._queued_bytes += size
                if self._idle:
                    self._idle = False
                    self._cond.notify()
        if problem is not None:
            log.error("%s", problem)
            self._report(problem)

    # -- the writer process ---------------------------------------------------------------------------

    def _put_process(self, proc: WriterProcess, item: tuple[Any, ...], size: int) -> None:
        """``_put`` when a process writes: copy the item into the ring. While the ring is full (the child is
        starting, or behind) items wait in ``_overflow`` and go in first, in order; beyond ``max_queue_bytes`` or
        ``max_queue_items`` they are dropped and counted (and said once per burst), as with the thread."""
        if self._closing:
            return
        if self._error is None and not (proc.failed() and self._check_process()):
            pending = self._overflow  # (a frame comes here when ``_put_frame_fast`` could not put it)
            pieces: list[bytes | _RawFrame]
            if item[0] in _DIRECTIONS and proc.takes_frame(item[2]):
                # Waiting as it came: packing it now would cost a copy and an encoding the fast path never pays.
                pieces = [_RawFrame(item[0], item[1], item[2])]
                held = len(item[2]) + _RAW_FRAME_OVERHEAD
            else:
                try:
                    blob = _pack(item)
                except (TypeError, ValueError, OverflowError) as exc:  # a value msgpack cannot hold: not recordable
                    log.error("recording %s: cannot record a %s item (%s); skipped", self.path.name, item[0], exc)
                    return
                pieces = list(proc.pieces(blob))
                held = len(blob)
                if not pending and self._gap is None and len(pieces) == 1 and proc.put(blob):
                    return
            waiting = proc.items_put - proc.counts()[3] + len(pending)  # (pieces count as items here: a bound)
            if self._check_process():
                pass  # it stopped or died: nothing more can be written
            elif self._overflow_bytes + held <= self._max_bytes and waiting < self._max_items:
                if self._gap is not None:
                    count, nbytes, t_us = self._gap
                    self._gap = None
                    gap = _pack(("gap", t_us, count, nbytes, "recorder queue full (disk too slow)"))
                    pending.append((gap, False))
                    self._overflow_bytes += len(gap)
                last = len(pieces) - 1
                pending.extend((piece, i < last) for i, piece in enumerate(pieces))
                self._overflow_bytes += held
                self._push_overflow(proc)
                return
        self._drop_process(item, size, "the disk is not keeping up")

    def _push_overflow(self, proc: WriterProcess) -> bool:
        """Move waiting items into the ring, oldest first; True when none are left waiting."""
        pending = self._overflow
        while pending:
            blob, more = pending[0]
            if type(blob) is _RawFrame:
                code, text, raw = ring.raw_frame(blob.direction, blob.data)
                if not proc.put_raw(code, text, blob.t_us, raw):
                    return False
                self._overflow_bytes -= len(blob.data) + _RAW_FRAME_OVERHEAD
            else:
                assert isinstance(blob, bytes)
                if not proc.put(blob, more):
                    return False
                self._overflow_bytes -= len(blob)
            pending.popleft()
        return True

    def _drop_process(self, item: tuple[Any, ...], size: int, why: str) -> None:
        self._dropped += 1
        self._dropped_bytes += size
        if self._error is not None:
            return  # stopped: the one message was given
        if self._gap is None:
            self._gap = [0, 0, item[1]]
            problem = f"recording {self.path.name}: {why}; dropping data (the file will show a gap here)"
            log.error("%s", problem)
            self._report(problem)
        self._gap[0] += 1
        self._gap[1] += size

    def _check_process(self) -> bool:
        """Take note (once, loudly) if the writer process stopped on an error or died. True when it has."""
        proc = self._proc
        if proc is None or self._error is not None:
            return self._error is not None
        problem = proc.error()
        if problem is None:
            return False
        message = f"recording {self.path.name} stopped: {problem}"
        with self._cond:
            self._error = message
        log.error("%s; the file holds everything written before this point", message)
        self._report(message)
        return True

    def _close_process(self, proc: WriterProcess, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        end: bytes | None = None
        if not self._check_process():
            if self._gap is not None:
                count, nbytes, t_us = self._gap
                self._gap = None
                gap = _pack(("gap", t_us, count, nbytes, "recorder queue full (disk too slow)"))
                self._overflow.append((gap, False))
            # Blocking is fine at the end: hand over what waited for room, as the child makes it.
            while not self._push_overflow(proc) and not self._check_process():
                if deadline is not None and time.monotonic() > deadline:
                    break
                time.sleep(0.002)
            if self._error is None and not self._overflow:  # (what could not be handed over: no clean end)
                end = _pack(("end", self._us(time.monotonic_ns())))
        self._dropped += sum(not more for _, more in self._overflow)
        self._overflow.clear()
        proc.finish(end, None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._check_process()

    def _report(self, message: str) -> None:
        if self._on_problem is not None:
            try:
                self._on_problem(message)
            except Exception:
                log.exception("recorder on_problem callback failed")

    def _run(self) -> None:
        w = self._writer
        last_sync = time.monotonic()
        dirty = False
        while True:
            with self._cond:
                while not self._items and not self._closing:
                    wait = self._fsync_interval - (time.monotonic() - last_sync) if dirty else None
                    if wait is not None and wait <= 0:
                        break
                    self._idle = True
                    self._cond.wait(wait)
                    self._idle = False
                if self._items and not self._closing and self._linger > 0:
                    # Let a burst gather before taking it: one wake-up (and one GIL hand-over from the busy event
                    # loop) per batch instead of one per frame. ``close`` still wakes the thread at once.
                    self._cond.wait(self._linger)
                batch = list(self._items)
                self._items.clear()
                self._queued_bytes = 0
                closing = self._closing
            try:
                if batch:
                    write_items(w, batch)
                    dirty = True
                if dirty and (closing or time.monotonic() - last_sync >= self._fsync_interval):
                    w.fsync()
                    last_sync = time.monotonic()
                    dirty = False
                if closing:
                    with self._cond:
                        gap, self._gap = self._gap, None
                    if gap is not None:
                        w.write_gap(gap[2], gap[0], gap[1], "recorder queue full (disk too slow)")
                    if self._error is None:
                        w.write_end(self._us(time.monotonic_ns()))
                    w.close()
                    return
            except OSError as exc:
                dirty = False
                self._fail(f"recording {self.path.name} stopped: {exc.strerror or exc}")
                if closing:
                    return
            except Exception as exc:  # a bug must not kill the thread silently
                dirty = False
                log.exception("recorder writer failed")
                self._fail(f"recording {self.path.name} stopped: internal error {exc!r}")
                if closing:
                    return

    def _fail(self, message: str) -> None:
        with self._cond:
            already = self._error is not None
            self._error = message
            self._dropped += len(self._items)
            self._items.clear()
            self._queued_bytes = 0
        if not already:
            log.error("%s; the file holds everything written before this point", message)
            self._report(message)
        try:
            self._writer.close()
        except OSError:
            pass


def write_items(w: RecordWriter, batch: list[Any]) -> None:
    """Write a burst of recorder items (as ``Recorder``'s tap methods build them) in one ``writev``, payloads
    decoded a slice at a time. Used by the writer thread and the writer process alike."""
    if len(batch) > 1:
        w.begin_batch()
    for i, item in enumerate(batch):
        if i % _PREPARE_CHUNK == 0 and len(batch) > 1:  # a slice at a time: bounded, still in cache
            chunk = batch[i : i + _PREPARE_CHUNK]
            w.prepare_frames([it[2] for it in chunk if it[0] in ("c2s", "s2c")])
        write_item(w, item)
    w.flush()


def write_item(w: RecordWriter, item: Sequence[Any]) -> None:
    """Write one recorder item: ``(kind, t_us, ...)``."""
    if w.closed:
        return
    kind = item[0]
    if kind in ("c2s", "s2c"):
        w.write_frame(item[1], kind, item[2])
    elif kind == "open":
        w.write_open(item[1], item[2], item[3], item[4])
    elif kind == "close":
        w.write_close(item[1], item[2], item[3], item[4], item[5])
    elif kind == "in":
        w.write_input(item[1], item[2], item[3])
    elif kind == "gap":
        w.write_gap(item[1], item[2], item[3], item[4])


def run_headless_recorded(settings: Settings, *, media: Any = None) -> int:
    """``gemini-live --headless --record [FILE]``: the headless session with a recorder as its frame tap.

    The recorder is closed (drained, fsynced) when the session ends; its path and any recording problem go to
    stderr, so stdout stays the session's own lines.
    """
    from tui.headless import run_headless

    made: list[Recorder] = []

    def problem(message: str) -> None:
        print(f"gemini-live: {message}", file=sys.stderr, flush=True)

    def factory(live_settings: Settings) -> Recorder:
        rec = Recorder.for_settings(live_settings, path=settings.recording.path or default_path(), on_problem=problem)
        made.append(rec)
        return rec

    try:
        return run_headless(settings, tap_factory=factory, media=media)
    finally:
        for rec in made:
            stats = rec.close()
            print(
                f"gemini-live: recording saved to {stats.path} ({stats.records} records, "
                f"{stats.bytes_written / 1024:.1f} KiB)" + (f"; {stats.error}" if stats.error else ""),
                file=sys.stderr,
            )
