"""Reading recordings: streaming or whole, tolerant of a torn tail, strict about foreign or future files.

A file cut short (SIGKILL, crash, power loss that zero-filled the tail) reads back to its last whole record and
says so ("truncated at byte N"). A file whose major version is unknown is refused with a message saying which
versions this reader understands; older minor versions are migrated record by record (``format.MIGRATIONS``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import msgpack

from tui import __version__
from tui.errors import RecordingError
from tui.recording.format import (
    FORMAT_NAME,
    REF_WINDOW,
    VERSION,
    Close,
    End,
    Frame,
    Gap,
    Header,
    Input,
    Open,
    Record,
    Ref,
    StringTable,
    decode_frame,
    frame_text,
    migrate,
)

_MAX_RECORD: Final = 256 << 20
"""Largest record accepted (a declared length beyond this is corruption, not a frame)."""
_HEADER_KEYS: Final = {"k", "format", "version", "created", "app", "sdk", "model", "config", "description", "redacted"}


@dataclass
class Recording:
    """A whole recording in memory."""

    path: Path
    header: Header
    records: list[Record]
    size: int
    truncated_at: int | None = None
    """Byte offset where a torn or zero-filled tail starts (None: the file ends on a record boundary)."""
    problems: list[str] = field(default_factory=list)
    """Things a person should know: a torn tail, no clean end, gaps, a newer minor version, unknown records."""

    @property
    def ended_cleanly(self) -> bool:
        return bool(self.records) and isinstance(self.records[-1], End)

    @property
    def frames(self) -> list[Frame]:
        return [r for r in self.records if isinstance(r, Frame)]

    @property
    def duration_s(self) -> float:
        return max((r.t_us for r in self.records), default=0) / 1e6

    @property
    def wire_bytes(self) -> int:
        from tui.recording.format import wire_len

        return sum(wire_len(f.data) for f in self.frames)


class RecordingReader:
    """Iterates the records of one file. ``header`` is read on construction; problems accumulate as it reads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self._f: IO[bytes] = open(self.path, "rb")  # noqa: SIM115 - closed by close()/iteration end
        except FileNotFoundError:
            raise RecordingError("no such file", path=str(self.path)) from None
        except IsADirectoryError:
            raise RecordingError("is a directory, not a recording", path=str(self.path)) from None
        except OSError as exc:
            raise RecordingError(f"cannot open: {exc.strerror or exc}", path=str(self.path)) from None
        self.size = self.path.stat().st_size
        self.truncated_at: int | None = None
        self.problems: list[str] = []
        self._strings = StringTable()
        self._unpacker = msgpack.Unpacker(
            self._f,
            raw=False,
            strict_map_key=False,
            ext_hook=self._strings.ext_hook,
            max_buffer_size=_MAX_RECORD,
            read_size=1 << 20,
        )
        self._blobs: OrderedDict[int, bytes] = OrderedDict()
        self._index = 0
        self._seg = 0
        self._unknown: set[str] = set()
        try:
            self.header = self._read_header()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- header -------------------------------------------------------------------------------------

    def _err(self, message: str, offset: int | None = None) -> RecordingError:
        return RecordingError(message, path=str(self.path), offset=offset)

    def _read_header(self) -> Header:
        if self.size == 0:
            raise self._err("empty file: no recording header")
        try:
            raw = next(iter(self._unpacker))
        except StopIteration:
            raise self._err(
                f"truncated before the header was complete ({self.size} bytes): nothing to read", 0
            ) from None
        except Exception:
            raise self._err("not a gemini-live recording (does not start with a msgpack header)", 0) from None
        if not isinstance(raw, dict) or raw.get("k") != "header" or raw.get("format") != FORMAT_NAME:
            raise self._err(f"not a gemini-live recording (no {FORMAT_NAME!r} header)", 0)
        version = raw.get("version")
        # Non-negative plain ints only: a negative minor would send ``migrate`` counting up to 0 (a hang, found by
        # tests/reliability/test_reader_fuzz.py); a bool is not a version.
        if (
            not isinstance(version, list | tuple)
            or len(version) != 2
            or not all(type(v) is int and v >= 0 for v in version)
        ):
            raise self._err(f"header has no valid version: {version!r}", 0)
        major, minor = int(version[0]), int(version[1])
        if major != VERSION[0]:
            raise self._err(
                f"recording format {major}.{minor} is not supported: gemini-live-tui {__version__} reads format "
                f"{VERSION[0]}.x only (up to {VERSION[0]}.{VERSION[1]}). "
                + (
                    "Upgrade gemini-live-tui to read it."
                    if major > VERSION[0]
                    else "Convert it with an older gemini-live-tui release."
                )
            )
        self.version = (major, minor)
        self._fast = self.version == VERSION
        if (major, minor) > VERSION:
            self.problems.append(
                f"written by a newer format {major}.{minor} (this reader knows {VERSION[0]}.{VERSION[1]}): "
                "unknown fields and records are ignored"
            )
        raw = migrate(raw, self.version)
        self._index = 1
        return Header(
            version=(major, minor),
            created=str(raw.get("created", "")),
            app=str(raw.get("app", "")),
            sdk=str(raw.get("sdk", "")),
            model=str(raw.get("model", "")),
            config=dict(raw["config"]) if isinstance(raw.get("config"), dict) else {},
            description=str(raw.get("description", "")),
            redacted=bool(raw.get("redacted", True)),
            extra={k: v for k, v in raw.items() if k not in _HEADER_KEYS},
        )

    # -- records ------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Record]:
        up = self._unpacker
        while True:
            offset = up.tell()
            try:
                raw = up.unpack()
            except msgpack.OutOfData:
                # tell() is not reliable after a partial object; the last good offset is where the tail starts.
                if offset < self.size:
                    self._stop_at(offset, "torn final record")
                return
            except Exception as exc:
                self._stop_at(offset, f"corrupt data ({type(exc).__name__})")
                return
            if not isinstance(raw, dict):
                self._stop_at(offset, "corrupt data (not a record)")
                return
            try:
                rec: Record | None
                if self._fast and _plain_frame(raw):
                    rec = self._frame(raw)
                else:
                    raw = self._strings.resolve(raw)
                    if not isinstance(raw.get("k"), str):
                        raise ValueError("no record kind")
                    rec = self._convert(migrate(raw, self.version), offset)
            except RecordingError:
                raise
            except Exception as exc:
                self._stop_at(offset, f"corrupt {raw.get('k')!r} record ({type(exc).__name__}: {exc})")
                return
            self._index += 1
            if rec is not None:
                yield rec

    def _stop_at(self, offset: int, what: str) -> None:
        """Record where reading stopped: a torn or zero-filled tail is truncation; anything else is corruption."""
        self.truncated_at = offset
        tail = self._tail_is_zero(offset)
        if what == "torn final record" or tail:
            why = "zero-filled tail" if tail else "the last record is incomplete"
            self.problems.append(
                f"truncated at byte {offset} of {self.size} ({why}; the session was cut short, "
                "everything before it was read)"
            )
        else:
            self.problems.append(
                f"{what} at byte {offset} of {self.size}; reading stopped there, everything before it was read"
            )

    def _tail_is_zero(self, offset: int) -> bool:
        with open(self.path, "rb") as f:
            f.seek(offset)
            while chunk := f.read(1 << 20):
                if chunk.strip(b"\x00"):
                    return False
        return self.size > offset

    def _resolve(self, ref: Ref) -> bytes:
        blob = self._blobs.get(ref.index)
        if blob is None:
            raise ValueError(f"reference to record {ref.index}, which holds no payload in reach")
        return blob

    def _frame(self, raw: dict[str, Any]) -> Frame:
        """A frame record of the current version (see :func:`_plain_frame`) in one walk: the string table resolved,
        payloads restored, the skeleton built and the keys checked together (``_convert`` takes three walks)."""
        table = self._strings
        fields: dict[str, Any] = {}
        payloads: list[str] = []
        msg = skel = None
        flavour = raw.get("b", "u")
        for key, x in raw.items():  # in order, so strings are registered as the writer numbered them
            if key == "m":
                msg, skel = table.restore_split(x, flavour, self._resolve, payloads)
            else:
                fields[key] = x if type(x) is int else table.resolve(x)
        data = frame_text(fields, msg, skel, payloads)
        return Frame(int(fields.get("t", 0)), "c2s" if raw["k"] == "c" else "s2c", data, msg, self._seg, self._index)

    def _convert(self, raw: dict[str, Any], offset: int) -> Record | None:
        k = raw["k"]
        t = int(raw.get("t", 0))
        if k in ("c", "s"):
            data, msg = decode_frame(raw, self._resolve)
            _check_json_keys(msg)
            return Frame(t, "c2s" if k == "c" else "s2c", data, msg, self._seg, self._index)
        if k == "open":
            self._seg = int(raw["seg"])
            return Open(t, self._seg, str(raw.get("url", "")), dict(raw.get("headers") or {}))
        if k == "close":
            code = raw.get("code")
            by = raw.get("by")
            return Close(
                t,
                int(raw.get("seg", self._seg)),
                None if code is None else int(code),
                str(raw["reason"]),
                by if by in ("client", "server") else None,
            )
        if k == "in":
            d = raw.get("d") or {}
            if not isinstance(d, dict):
                raise ValueError("input data is not a map")
            blob = next((v for v in d.values() if isinstance(v, bytes) and len(v) >= 16), None)
            if blob is not None:
                self._blobs[self._index] = blob
                while self._blobs and next(iter(self._blobs)) < self._index - REF_WINDOW:
                    self._blobs.popitem(last=False)
            return Input(t, str(raw["kind"]), d)
        if k == "gap":
            gap = Gap(t, int(raw.get("n", 0)), int(raw.get("bytes", 0)), str(raw.get("why", "")))
            self.problems.append(
                f"gap at {t / 1e6:.3f}s: the recorder dropped {gap.dropped} records ({gap.reason}); "
                "the recording is incomplete there"
            )
            return gap
        if k == "end":
            return End(t, int(raw.get("n", 0)), int(raw.get("wire", 0)))
        if k == "header":
            raise ValueError("a second header")
        if k not in self._unknown:
            self._unknown.add(k)
            self.problems.append(f"unknown record kind {k!r} skipped (written by a newer version?)")
        return None


def _plain_frame(raw: dict[str, Any]) -> bool:
    """``raw`` is a stored (not verbatim) frame whose top level needs no resolving: the shape :meth:`_frame` reads.
    (Top-level keys and the flavour are too short to be interned, so a writer never turns them into references.)"""
    k = raw.get("k")
    return (
        (k == "c" or k == "s")
        and "m" in raw
        and "raw" not in raw  # (the general path prefers "raw": a damaged record holding both goes there too)
        and type(raw.get("b", "u")) is str
        and all(type(x) is str for x in raw)
    )


def _check_json_keys(msg: Any) -> None:
    """A frame's JSON view has string keys only; damage that decodes to a map with other keys is corruption, not a
    frame (downstream code, e.g. the replay normaliser, may rely on it). Raises ValueError, which the iterator turns
    into "corrupt data at byte N"."""
    stack = [msg]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    raise ValueError(f"frame has a non-string key {k!r}")
                stack.append(x)
        elif isinstance(v, list):
            stack.extend(v)


def read_recording(path: Path | str) -> Recording:
    """Read a whole file. Raises ``RecordingError`` only when nothing usable can be read (no header, foreign file,
    unknown major version); a torn tail or mid-file corruption is reported in ``problems`` with what was read."""
    with RecordingReader(path) as reader:
        records = list(reader)
        rec = Recording(
            path=reader.path,
            header=reader.header,
            records=records,
            size=reader.size,
            truncated_at=reader.truncated_at,
            problems=list(reader.problems),
        )
    if not rec.ended_cleanly and reader.truncated_at is None:
        rec.problems.append("no end record: the recorder did not close cleanly (crash or kill)")
    return rec
