"""``rec trim`` and ``rec redact``: rewrite a recording through the normal writer, never losing the original.

Both read the whole file with the normal reader and write a new one with :class:`RecordWriter` (so the result is
a valid file of the current format: payload references and the string table are rebuilt, files are 0600). Redact
writes to a temporary file beside the original (0600, same folder, so the final rename is atomic), fsyncs it and
renames it over the original only when everything was written; on any failure the temporary file is removed and
the original is untouched.

Trim keeps the header, every connection that holds a kept turn (its ``open``, ``setup``, ``setupComplete`` and
``close``), the records of turns N..M (frames and the local inputs of those turns) and an ``end`` record when the
source had one. Timestamps stay as recorded. A trimmed file replays only if the kept turns do not depend on what was
cut: a later connection's resumption handle or a tool call answered in a cut turn will show up as a divergence.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from tui.errors import UserError
from tui.recording.format import Close, End, Frame, Gap, Input, Open, Record
from tui.recording.reader import Recording
from tui.recording.redact import Redactor
from tui.recording.tools.timeline import build_timeline
from tui.recording.writer import RecordWriter


def parse_turns(text: str) -> tuple[int, int | None]:
    """``3`` → (3, 3); ``2..5`` → (2, 5); ``4..`` → (4, None: to the end); ``..3`` → (1, 3). Turns count from 1."""
    raw = text.strip()
    try:
        if ".." in raw:
            lo, hi = raw.split("..", 1)
            first = int(lo) if lo.strip() else 1
            last = int(hi) if hi.strip() else None
        else:
            first = last = int(raw)
    except ValueError:
        raise UserError(f"--turns wants N, N..M, N.. or ..M (turns count from 1), not {text!r}") from None
    if first < 1 or (last is not None and last < first):
        raise UserError(f"--turns {text!r}: turns count from 1 and the range must not be empty")
    return first, last


def _write_record(w: RecordWriter, r: Record) -> None:
    if isinstance(r, Frame):
        w.write_frame(r.t_us, r.direction, r.data)
    elif isinstance(r, Input):
        w.write_input(r.t_us, r.kind, r.data)
    elif isinstance(r, Open):
        w.write_open(r.t_us, r.seg, r.url, r.headers)
    elif isinstance(r, Close):
        w.write_close(r.t_us, r.seg, r.code, r.reason)
    elif isinstance(r, Gap):
        w.write_gap(r.t_us, r.dropped, r.dropped_bytes, r.reason)


@dataclass(frozen=True)
class TrimResult:
    path: Path
    turns: tuple[int, int]
    records: int
    segments: list[int]


def trim(
    rec: Recording, first: int, last: int | None, out: Path, *, overwrite: bool = False,
    tick: Callable[[int], None] | None = None,
) -> TrimResult:  # fmt: skip
    """Write turns ``first..last`` of ``rec`` to ``out`` (see the module docstring)."""
    tl = build_timeline(rec)
    total = len(tl.turns)
    if total == 0:
        raise UserError(f"{rec.path}: the recording has no turns to trim")
    if first > total:
        raise UserError(f"{rec.path}: --turns starts at {first}, but the recording has {total} turn(s)")
    last = total if last is None else min(last, total)
    kept_turns = set(range(first, last + 1))
    segs = {t.seg for t in tl.turns if t.number in kept_turns}
    keep: list[Record] = []
    seg_of_open = -1
    for pos, r in enumerate(rec.records):
        turn = tl.turn_of.get(pos)
        if turn is not None:
            if turn in kept_turns:
                keep.append(r)
            continue
        if isinstance(r, Open):
            seg_of_open = r.seg
            if r.seg in segs:
                keep.append(r)
        elif isinstance(r, Frame | Close):  # handshake frames and closes belong to their connection
            if r.seg in segs:
                keep.append(r)
        elif isinstance(r, Gap) and seg_of_open in segs:
            keep.append(r)
    if out.resolve() == rec.path.resolve():
        raise UserError(f"{out}: trim will not overwrite its input; choose another -o")
    header = replace(
        rec.header,
        description=(rec.header.description + " " if rec.header.description else "")
        + f"(turns {first}..{last} of {rec.path.name})",
    )
    w = RecordWriter(out, header, Redactor(enabled=False), overwrite=overwrite)
    try:
        for n, r in enumerate(keep):
            if tick is not None and n % 200 == 0:
                tick(n)
            _write_record(w, r)
        if rec.ended_cleanly:
            end = rec.records[-1]
            assert isinstance(end, End)
            w.write_end(end.t_us)
    except BaseException:
        w.close()
        with contextlib.suppress(OSError):
            out.unlink()
        raise
    w.close()
    return TrimResult(out, (first, last), w.records, sorted(segs))


@dataclass(frozen=True)
class RedactResult:
    path: Path
    changed: int
    """Records whose stored content changed."""
    records: int


def redact_in_place(
    rec: Recording, secrets: tuple[str, ...], *, tick: Callable[[int], None] | None = None
) -> RedactResult:
    """Re-apply redaction to ``rec``'s file, atomically (see the module docstring)."""
    red = Redactor(secrets, enabled=True)
    path = rec.path
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)  # RecordWriter opens it itself (0600, truncating)
    tmp = Path(tmp_name)
    changed = 0
    try:
        header = replace(rec.header, redacted=True)
        w = RecordWriter(tmp, header, red, overwrite=True)
        try:
            changed += int(
                red.value(rec.header.config) != rec.header.config
                or red.text(rec.header.description) != rec.header.description
                or not rec.header.redacted
            )
            for n, r in enumerate(rec.records):
                if tick is not None and n % 200 == 0:
                    tick(n)
                changed += _changes(red, r)
                _write_record(w, r)
            if rec.ended_cleanly:
                end = rec.records[-1]
                assert isinstance(end, End)
                w.write_end(end.t_us)
            w.fsync()
        finally:
            w.close()
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        with contextlib.suppress(OSError):  # make the rename durable
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return RedactResult(path, changed, len(rec.records))


def _changes(red: Redactor, r: Record) -> int:
    if isinstance(r, Frame):
        return int(red.frame(r.data) != r.data)
    if isinstance(r, Input):
        return int(red.value(r.data) != r.data)
    if isinstance(r, Open):
        return int(red.url(r.url) != r.url or red.headers(r.headers) != r.headers)
    if isinstance(r, Close):
        return int(red.text(r.reason) != r.reason)
    return 0
