"""The recorder's writer process: a recording is encoded, redacted and written on another core.

Why: a live session and a replay are one busy event loop, and the recorder's work per frame (decoding each
base64 payload, redaction checks, msgpack, the string table) is ~35-40 µs of Python holding the GIL. In a writer
*thread* that is time the event loop does not run: +20-33 % on a replay at hundreds of times real time. Here the
event loop only copies each record into shared memory (~10 µs for an 11 KB frame in a busy replay on the project's
VM, most of it the copy; ``writer._RING_BYTES`` says why the ring is 4 MiB and populated) and a child process does
the rest.

How (``WriterProcess`` is the parent's side, ``_child_main`` the child's):

- The parent creates the file and writes its header itself (``RecordWriter``: O_EXCL, 0600, every error at
  once), then starts ``python -m tui.recording.ring`` with the file's descriptor, a memfd holding the ring and a
  pipe (``pass_fds``), and closes its copy of the file. A fresh interpreter, not a fork: after a fork every page
  the busy parent writes to is copied once (Python's reference counts write everywhere), which cost the parent
  ~100 ms per recording here. While the child starts (~50-100 ms on the other core) what does not fit the ring
  waits in the parent (``Recorder``'s overflow, bounded; frames wait there as they came, other items packed).
- The first record in the ring is the child's brief (the path, the counts to continue from, and the secrets to
  redact: they never go through argv, the environment or a file); the child continues the file with
  ``RecordWriter.adopt``, so the bytes are exactly what the writer thread would write.
- A single-producer, single-consumer byte ring in a shared mapping carries the recorder's items (frames and mic
  audio as a small header and their bytes, other items as msgpack; each behind a 4-byte length, pieces of a
  record larger than the ring flagged as such). The parent (``Ring``) publishes a record by storing ``head``
  after its bytes, with a fence in between; the child (``take``) frees space by storing ``tail`` once it has
  copied records out. On x86 stores become visible in program order, which is all this needs; other machines use
  the writer thread (``supported``).
- The child gathers a burst (``linger``), writes it with one ``writev``, fsyncs about once a second and every
  2 MiB (so the fsync at close, which the app waits for, is short), and
  publishes its counts (records, bytes, wire bytes, items done) and any error in the ring's header, where the
  parent reads them without a system call. When the ring is empty the child raises a flag and sleeps on a pipe;
  the parent writes a byte to it only when the flag is up (and the child also wakes every 250 ms, which covers a
  wake-up lost to the flag and ``head`` crossing).
- The parent closing its end of that pipe is the child's cue to finish: it writes what is in the ring, fsyncs and
  exits. So a clean close is "put an ``end`` item, close the pipe, wait", and a parent that is SIGKILLed loses
  nothing it had put in the ring: the child sees the pipe close and writes it all (the file then has no ``end``
  record, as after any crash). If a process the app forked still holds the pipe open, the child notices instead
  that its parent changed (it is told the app's pid), at its next wake-up.
- The child runs in its own session (a Ctrl+C or Ctrl+Z in the terminal is for the app, which ends the child by
  closing the pipe) and ignores SIGXFSZ (a file-size limit is a write error to report, not a silent kill).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import platform
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgpack

if TYPE_CHECKING:
    from tui.recording.writer import RecordWriter

_HEADER: Final = 4096
"""Bytes before the ring's data: the shared counters and the error text."""
# Each field the two sides write often has a cache line of its own: ``head`` (the parent, every record) and ``tail``
# (the child, every burst) sharing one would bounce it between the cores on every record.
_HEAD, _TAIL, _WAITING, _STATE, _RECORDS, _ERROR_LEN, _ERROR = 0, 64, 128, 192, 256, 320, 384
_ERROR_MAX: Final = 2048
_RUNNING, _FINISHED, _FAILED = 0, 1, 2
_WRAP: Final = 0xFFFFFFFF
"""Length word meaning "the rest of this lap is unused: go on at the start"."""
_MORE: Final = 0x80000000
"""Flag in a length word: this is a piece of a record, and the next one continues it."""
_RAW: Final = 0x40000000
"""Flag in a length word: a frame or mic audio as ``_FRAME`` + its bytes, not msgpack (one copy less for the app)."""
_FRAME: Final = struct.Struct("<BBQ")  # code (0 c2s, 1 s2c, MIC_AUDIO), text (1) or bytes (0), t_us
MIC_AUDIO: Final = 2
"""Raw record code: the ``in`` record of a chunk of mic audio at ``MIC_RATE`` (``{"pcm": …, "rate": …}``)."""
MIC_RATE: Final = 16000
_FRAME_HEAD: Final = struct.Struct("<IBBQ")
"""A frame's length word and ``_FRAME`` in one (the fast path packs both at once)."""
_DIRECTIONS: Final = ("c2s", "s2c")
_IDLE_WAKE_S: Final = 0.25
_SYNC_BYTES: Final = 2 << 20
"""The child also fsyncs whenever this much more has been written since the last fsync."""
_U32: Final = struct.Struct("<I")
_H, _T, _C = _HEAD // 8, _TAIL // 8, _RECORDS // 8
"""``head``, ``tail`` and the counts (records, bytes written, wire bytes, items done) as indices of the header's
64-bit words, read and written through a native ``memoryview`` cast to "Q": each item is one aligned 8-byte load
or store, which x86 makes atomic, so the other side never sees half of a new value."""


def _words(mm: mmap.mmap) -> memoryview:
    return memoryview(mm)[:_HEADER].cast("Q")


def supported() -> bool:
    """Whether recordings can be written by a writer process here (Linux on x86: memfd, and ordered stores)."""
    return (
        sys.platform == "linux"
        and hasattr(os, "memfd_create")
        and bool(sys.executable)
        and not getattr(sys, "frozen", False)  # a frozen app's executable cannot run ``-m tui.recording.ring``
        and platform.machine().lower() in ("x86_64", "amd64")
    )


_FENCE: Final = threading.Lock()
_POPULATE: Final = getattr(mmap, "MAP_POPULATE", 0)


def raw_frame(direction: str, data: str | bytes) -> tuple[int, int, bytes]:
    """A websocket frame as ``Ring.put_raw`` takes it: (code, text, bytes)."""
    if isinstance(data, str):
        return direction == "s2c", 1, data.encode("utf-8", "surrogatepass")
    return direction == "s2c", 0, data


class Ring:
    """The producer's side of the ring in ``mm`` (``capacity`` bytes after the header): one thread at a time."""

    def __init__(self, mm: mmap.mmap, capacity: int) -> None:
        self._mm = mm
        self.words = self._w = _words(mm)
        """The header's 64-bit words (``_H``, ``_T``, ``_C``…), shared with ``WriterProcess``."""
        self._cap = self.capacity = capacity
        self._head = 0
        self._tail_seen = 0
        self.items_put = 0
        """Whole records published (pieces of one count once, with its last)."""

    def release(self) -> None:
        self._w.release()

    def put(self, blob: bytes, more: bool = False) -> bool:
        """Publish one record, or a piece of one (``more``: the next piece continues it; see ``pieces``); False
        when the ring has no room for it (the child is behind, or gone)."""
        start = self._reserve(len(blob))
        if start < 0:
            return False
        n = len(blob)
        _U32.pack_into(self._mm, start, n | _MORE if more else n)
        self._mm[start + 4 : start + 4 + n] = blob
        self._publish(4 + n, not more)
        return True

    def put_raw(self, code: int, text: int, t_us: int, data: bytes) -> bool:
        """Publish ``data`` as a raw record: ``code`` 0 a frame sent, 1 a frame received (``text``: 1 if it was a
        text frame; see ``raw_frame``), ``MIC_AUDIO`` an ``in`` record of 16 kHz mic audio (no msgpack copy). False: no
        room, or too large for the ring in one piece (then ``put`` it as msgpack in pieces)."""
        n = _FRAME.size + len(data)
        if n + 4 > self._cap // 4:
            return False
        start = self._reserve(n)
        if start < 0:
            return False
        _FRAME_HEAD.pack_into(self._mm, start, n | _RAW, code, text, t_us)
        self._mm[start + 4 + _FRAME.size : start + 4 + n] = data
        self._publish(4 + n, True)
        return True

    def pieces(self, blob: bytes) -> list[bytes]:
        """``blob`` cut into pieces that each fit the ring (a quarter of it at most, so the end of a lap never
        blocks one): a record larger than the ring goes through it a piece at a time."""
        step = self._cap // 4 - 4
        if len(blob) <= step:
            return [blob]
        view = memoryview(blob)
        return [bytes(view[i : i + step]) for i in range(0, len(blob), step)]

    def _reserve(self, n: int) -> int:
        """Where a record of ``n`` bytes goes (its length word), a wrap marker written if the lap's end is too
        short; -1 when there is no room."""
        cap, head = self._cap, self._head
        need = 4 + n
        pos = head % cap
        skip = cap - pos if cap - pos < need else 0
        if need + skip > cap - (head - self._tail_seen):  # the tail as last read; read it again only when short
            self._tail_seen = self._w[_T]
            if need + skip > cap - (head - self._tail_seen):
                return -1
        if skip:
            if skip >= 4:
                _U32.pack_into(self._mm, _HEADER + pos, _WRAP)
            self._head = head + skip
            pos = 0
        return _HEADER + pos

    def _publish(self, size: int, whole: bool) -> None:
        """Make the record of ``size`` bytes (length word included) at the head, as reserved, the child's."""
        self._head += size
        # A full barrier between the record's bytes and the head that publishes them: x86 keeps ordinary stores
        # in order, but memcpy may use string or streaming stores that are weakly ordered (AMD documents this for
        # REP MOVS). An uncontended lock is one locked instruction (~50 ns), which orders everything before it.
        with _FENCE:
            pass
        self._w[_H] = self._head  # after the bytes: the child never reads past a published head
        self.items_put += whole


class WriterProcess:
    """The parent's handle on a writer process. ``put`` is for one thread (the event loop); the counters may be
    read from any."""

    def __init__(
        self,
        writer: RecordWriter,
        *,
        capacity: int,
        fsync_interval_s: float,
        linger_s: float,
        secrets: tuple[str, ...],
        redact: bool,
    ) -> None:
        fds: list[int] = []
        try:
            ring_fd = os.memfd_create("gemini-live-recorder", os.MFD_CLOEXEC)
            fds.append(ring_fd)
            os.ftruncate(ring_fd, _HEADER + capacity)
            # Populated now: a page first touched by the tap would cost a fault (~1.5 µs per KB here) in the middle
            # of the session's work; this way the ring's pages are made once, at the start (~1.2 ms per MiB).
            self._mm = mmap.mmap(ring_fd, _HEADER + capacity, flags=mmap.MAP_SHARED | _POPULATE)
            self.ring = Ring(self._mm, capacity)
            self._w = w = self.ring.words
            w[_C], w[_C + 1], w[_C + 2], w[_C + 3] = writer.records, writer.bytes_written, writer.wire_bytes, 0
            self._bell: int | None = None
            bell_r, bell_w = os.pipe()
            fds += [bell_r, bell_w]
            file_fd = writer.fileno()
            brief = {
                "path": str(writer.path),
                "secrets": list(secrets),
                "redact": redact,
                "numbered": writer.numbered,
                "records": writer.records,
                "written": writer.bytes_written,
                "fsync_interval_s": fsync_interval_s,
                "linger_s": linger_s,
            }
            if not self.ring.put(msgpack.packb(brief, use_bin_type=True)):
                raise OSError("the recorder's ring is too small for its brief")
            self.ring.items_put = 0
            root = str(Path(__file__).resolve().parents[2])  # so ``-m tui…`` resolves wherever the app runs from
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tui.recording.ring",
                    *(str(n) for n in (ring_fd, capacity, bell_r, file_fd, os.getpid())),
                ],
                pass_fds=(ring_fd, bell_r, file_fd),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise
        self.pid = self._proc.pid
        os.close(ring_fd)  # the mapping stays
        os.close(bell_r)
        os.close(writer.hand_over())  # the file is the child's now
        os.set_blocking(bell_w, False)
        self._bell = bell_w
        self._exit: int | None = None
        """The child's exit code once reaped (negative: the signal that killed it)."""

    # -- the producer (event loop) --------------------------------------------------------------------

    def put(self, blob: bytes, more: bool = False) -> bool:
        """``Ring.put``, waking the child if it sleeps."""
        if not self.ring.put(blob, more):
            return False
        self._wake()
        return True

    def put_raw(self, code: int, text: int, t_us: int, data: bytes) -> bool:
        """``Ring.put_raw``, waking the child if it sleeps."""
        if not self.ring.put_raw(code, text, t_us, data):
            return False
        self._wake()
        return True

    def pieces(self, blob: bytes) -> list[bytes]:
        return self.ring.pieces(blob)

    def takes_frame(self, data: str | bytes) -> bool:
        """Whether ``put_raw`` can ever take the frame ``data`` (it fits a quarter of the ring, counting a text frame's
        UTF-8 at its longest), so a frame that must wait for room can wait unpacked."""
        n = len(data) * (4 if isinstance(data, str) else 1)
        return _FRAME.size + n + 4 <= self.ring.capacity // 4

    @property
    def items_put(self) -> int:
        return self.ring.items_put

    def _wake(self) -> None:
        if self._mm[_WAITING] and self._bell is not None:
            with contextlib.suppress(BlockingIOError, BrokenPipeError):  # a byte is already there / it is gone
                os.write(self._bell, b"!")

    # -- read-outs ------------------------------------------------------------------------------------

    def counts(self) -> tuple[int, int, int, int]:
        """(records written, bytes written, wire bytes, items done) as the child last published them."""
        w = self._w
        return w[_C], w[_C + 1], w[_C + 2], w[_C + 3]

    def failed(self) -> bool:
        """Whether the child reported an error (no system call: for every ``put``)."""
        return not self._mm.closed and self._mm[_STATE] == _FAILED

    def error(self) -> str | None:
        """The child's error (it stopped), how it died (one system call), or None."""
        if self._mm.closed:
            return self._final_error
        if self._mm[_STATE] == _FAILED:
            n = _U32.unpack_from(self._mm, _ERROR_LEN)[0]
            return bytes(self._mm[_ERROR : _ERROR + min(n, _ERROR_MAX)]).decode("utf-8", "replace")
        return self._died()

    _final_error: str | None = None

    def _died(self) -> str | None:
        if self._exit is None:
            code = self._proc.poll()
            if code is None:
                return None
            self._exit = code
        if self._mm.closed or self._mm[_STATE] == _FINISHED:
            return None
        how = f"signal {-self._exit}" if self._exit < 0 else f"code {self._exit}"
        return f"the recording's writer process ended unexpectedly ({how})"

    # -- the end --------------------------------------------------------------------------------------

    def finish(self, end_item: bytes | None, timeout: float | None) -> None:
        """Put ``end_item`` (waiting for room: blocking is fine at the end), let the child finish, wait for it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if end_item is not None:
            while not self.put(end_item) and self._died() is None:
                if deadline is not None and time.monotonic() > deadline:
                    break
                time.sleep(0.002)
        if self._bell is not None:
            os.close(self._bell)
            self._bell = None
        try:
            self._exit = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return  # still writing: it finishes on its own
        self._final_error = self.error()
        self._final_counts = self.counts()
        self.ring.release()
        self._mm.close()

    _final_counts: tuple[int, int, int, int] = (0, 0, 0, 0)

    def final_or_live_counts(self) -> tuple[int, int, int, int]:
        return self._final_counts if self._mm.closed else self.counts()


# ------------------------------------------------------------------------------------------------ the child


class RingError(RuntimeError):
    """The ring's contents do not add up (a bug: the child reports it and stops)."""


def take(mm: mmap.mmap, cap: int, tail: int, head: int, pieces: list[bytes]) -> tuple[list[Any], int]:
    """The items published between ``tail`` and ``head`` (copied out, in order) and the new tail. ``pieces`` holds
    the pieces of a record that is larger than the ring, across calls."""
    items: list[Any] = []
    while tail < head:
        pos = tail % cap
        if cap - pos < 4:
            tail += cap - pos
            continue
        n = _U32.unpack_from(mm, _HEADER + pos)[0]
        if n == _WRAP:
            tail += cap - pos
            continue
        more, is_raw, n = bool(n & _MORE), bool(n & _RAW), n & ~(_MORE | _RAW)
        if tail > head or n > head - tail - 4:
            raise RingError(f"the recorder's ring is inconsistent at {tail} (length {n}, head {head})")
        blob = mm[_HEADER + pos + 4 : _HEADER + pos + 4 + n]
        tail += 4 + n
        if is_raw:
            code, text, t_us = _FRAME.unpack_from(blob)
            if code > MIC_AUDIO or text > 1:
                raise RingError(f"the recorder's ring holds a damaged frame at {tail - 4 - n}")
            data = blob[_FRAME.size :]
            if code == MIC_AUDIO:
                items.append(["in", t_us, "audio", {"pcm": data, "rate": MIC_RATE}])
            else:
                items.append([_DIRECTIONS[code], t_us, data.decode("utf-8", "surrogatepass") if text else data])
            continue
        if more or pieces:
            pieces.append(blob)
            if more:
                continue
            blob = b"".join(pieces)
            pieces.clear()
        items.append(msgpack.unpackb(blob, raw=False, strict_map_key=False))
    if tail != head:
        raise RingError(f"the recorder's ring is inconsistent: read to {tail}, published to {head}")
    return items, tail


def _report_failure(mm: mmap.mmap, text: str) -> None:
    """The child's one way to say it stopped: the text, then the state the parent looks at (in that order)."""
    raw = text.encode("utf-8")[:_ERROR_MAX]
    mm[_ERROR : _ERROR + len(raw)] = raw
    _U32.pack_into(mm, _ERROR_LEN, len(raw))
    mm[_STATE] = _FAILED


def _child_main(ring_fd: int, cap: int, bell_r: int, file_fd: int, app_pid: int) -> int:
    """``python -m tui.recording.ring RING_FD CAPACITY BELL_FD FILE_FD APP_PID`` (started by ``WriterProcess``)."""
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    mm = mmap.mmap(ring_fd, _HEADER + cap)
    os.close(ring_fd)

    try:
        from tui.recording.redact import Redactor
        from tui.recording.writer import RecordWriter, write_items
    except BaseException as exc:  # reported in the ring's header like any failure, not lost on a closed stderr
        _report_failure(mm, f"the writer process could not start: {exc!r}")
        return 1

    n = _U32.unpack_from(mm, _HEADER)[0]
    brief = msgpack.unpackb(mm[_HEADER + 4 : _HEADER + 4 + n], raw=False)
    tail = 4 + n
    words = _words(mm)
    words[_T] = tail
    fsync_interval = float(brief["fsync_interval_s"])
    linger = float(brief["linger_s"])
    writer = RecordWriter.adopt(
        file_fd,
        Path(brief["path"]),
        Redactor(brief["secrets"], enabled=bool(brief["redact"])),
        numbered=int(brief["numbered"]),
        records=int(brief["records"]),
        written=int(brief["written"]),
    )
    del brief
    done = 0
    dirty = False
    last_sync = time.monotonic()
    parent_gone = False
    pieces: list[bytes] = []  # of a record that is larger than the ring, so far
    synced = writer.bytes_written

    def publish() -> None:
        words[_C + 1], words[_C + 2], words[_C + 3] = writer.bytes_written, writer.wire_bytes, done
        words[_C] = writer.records

    def fail(exc: BaseException) -> int:
        publish()
        _report_failure(
            mm, f"{exc.strerror or exc}" if isinstance(exc, OSError) else f"internal error in the writer: {exc!r}"
        )
        with contextlib.suppress(OSError):
            writer.close()
        return 0

    def wait(timeout: float) -> None:
        nonlocal parent_gone
        if select.select([bell_r], [], [], max(0.0, timeout))[0]:
            try:
                if not os.read(bell_r, 4096):
                    parent_gone = True
            except OSError:
                parent_gone = True
        elif os.getppid() != app_pid:
            parent_gone = True  # the app died, but a process it forked holds its end of the pipe open

    while True:
        head = words[_H]
        if head == tail:
            if parent_gone:
                break
            if dirty and time.monotonic() - last_sync >= fsync_interval:
                try:
                    writer.fsync()
                except OSError as exc:
                    return fail(exc)
                dirty, last_sync, synced = False, time.monotonic(), writer.bytes_written
            mm[_WAITING] = 1
            if words[_H] == tail:
                wait(fsync_interval - (time.monotonic() - last_sync) if dirty else _IDLE_WAKE_S)
            mm[_WAITING] = 0
            continue
        try:
            items, tail = take(mm, cap, tail, head, pieces)
        except RingError as exc:
            return fail(exc)
        words[_T] = tail  # copied out: the space is the parent's again
        end: int | None = None
        for k, item in enumerate(items):
            if item[0] == "end":  # the last thing the app sends
                end, items = int(item[1]), items[:k]
                break
        try:
            if items:
                write_items(writer, items)
                dirty = True
            done += len(items) + (end is not None)
            if end is not None:
                writer.write_end(end)
                writer.close()  # fsyncs
                publish()
                mm[_STATE] = _FINISHED
                return 0
            # About once a second, and every few MiB: a fast replay then leaves little for the fsync at close,
            # which the app waits for.
            if dirty and (
                time.monotonic() - last_sync >= fsync_interval or writer.bytes_written - synced >= _SYNC_BYTES
            ):
                writer.fsync()
                dirty, last_sync, synced = False, time.monotonic(), writer.bytes_written
        except Exception as exc:  # an OSError (disk full) or a bug: one clear report, never a silent stop
            return fail(exc)
        publish()
        if linger > 0 and not parent_gone:
            wait(linger)  # let the next burst gather: one wake-up and one writev per burst, not per frame
    try:
        writer.close()  # the parent went away without an end: fsync what we have (the file has no end record)
    except OSError as exc:
        return fail(exc)
    publish()
    mm[_STATE] = _FINISHED
    return 0


if __name__ == "__main__":
    code = 70
    try:
        code = _child_main(*(int(a) for a in sys.argv[1:6]))
    finally:
        os._exit(code)  # the file is closed and synced: no interpreter tear-down for the parent to wait out
