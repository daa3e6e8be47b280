"""Fuzzing the recording reader: cut, flipped, random, absurd and foreign files.

Contract under test (``tui.recording.reader``): reading any file either returns a ``Recording`` (whatever could be
read, with each stop reported in ``problems`` naming the byte offset) or raises ``RecordingError`` — never another
exception type, never unbounded memory or time. A cut file reads back to its last whole record.

CI runs a bounded sample (a few hundred cases per property); ``tools/check --full`` runs thousands.
"""

from __future__ import annotations

import base64
import json
import time
import tracemalloc
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FULL
from tui.errors import RecordingError
from tui.recording import format as fmt
from tui.recording import reader as reader_module
from tui.recording.format import Frame, Input
from tui.recording.reader import Recording, read_recording
from tui.recording.writer import Recorder

EXAMPLES = 3000 if FULL else 200

pytestmark = pytest.mark.timeout(900 if FULL else 120)  # --full runs thousands of cases per test
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)

MAX_SECONDS = 5.0
MAX_PEAK_BYTES = 64 << 20
"""A few-KB file must never make the reader hold more than this (absurd declared lengths included)."""


def _base_file(path: Path) -> bytes:
    """A small but complete recording: every record kind, payload references, interned strings, two segments."""
    rec = Recorder(path, model="models/m", config={"session": {"voice": "Kore"}}, description="fuzz base")
    t0 = 10**9
    pcm = bytes(range(256)) * 4
    rec.on_open(t0, "wss://127.0.0.1:1/ws/x", {"Host": "127.0.0.1:1"})
    rec.on_send(t0 + 1, json.dumps({"setup": {"model": "models/m"}}))
    rec.on_recv(t0 + 2, b'{"setupComplete": {}}')
    rec.on_input(t0 + 3, "text", {"text": "hello"})
    rec.on_input(t0 + 4, "audio", {"pcm": pcm, "rate": 16000})
    audio = {"audio": {"data": base64.urlsafe_b64encode(pcm).decode(), "mime_type": "audio/pcm;rate=16000"}}
    rec.on_send(t0 + 5, json.dumps({"realtime_input": audio}))
    part = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(pcm[:600]).decode()}}
    for i in range(3):
        rec.on_recv(t0 + 10 + i, json.dumps({"serverContent": {"modelTurn": {"parts": [part]}}}).encode())
    rec.on_recv(t0 + 20, b'{"serverContent": {"turnComplete": true}}')
    rec.on_close(t0 + 30, 1011, "internal")
    rec.on_open(t0 + 40, "wss://127.0.0.1:1/ws/x", {})
    rec.on_recv(t0 + 41, b'{"setupComplete": {}}')
    rec.on_input(t0 + 42, "action", {"name": "mute"})
    rec.on_close(t0 + 50, None, "connection lost")
    assert rec.close().error is None
    return path.read_bytes()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _base_file(tmp_path_factory.mktemp("fuzz") / "base.glrec")


def read_bounded(path: Path, max_peak: int = MAX_PEAK_BYTES) -> Recording | RecordingError:
    """Read ``path`` and hold the reader to the contract; returns the recording or the clean error."""
    tracemalloc.start()
    t0 = time.perf_counter()
    rec: Recording | RecordingError
    try:
        rec = read_recording(path)
    except RecordingError as exc:
        rec = exc
    finally:
        elapsed = time.perf_counter() - t0
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < MAX_SECONDS, f"reading took {elapsed:.1f} s"
    assert peak < max_peak, f"reading held {peak >> 20} MiB"
    if isinstance(rec, RecordingError):
        assert str(rec) and "Traceback" not in str(rec)
        if rec.offset is not None:
            assert f"at byte {rec.offset}" in str(rec)
        return rec
    for f in rec.records:  # everything returned is usable
        if isinstance(f, Frame):
            assert isinstance(f.data, str | bytes)
        if isinstance(f, Input):
            assert isinstance(f.data, dict)
    for p in rec.problems:
        assert "\n" not in p
    if rec.truncated_at is not None:
        assert any(f"byte {rec.truncated_at}" in p for p in rec.problems), rec.problems
    return rec


# ---------------------------------------------------------------------------------------------- truncation


def test_every_truncation_reads_back_to_the_last_whole_record(base: bytes, tmp_path: Path) -> None:
    """Cut at every byte: a cut header is a clean error; any later cut keeps every whole record before it."""
    whole = read_recording_bytes(base, tmp_path)
    assert isinstance(whole, Recording) and whole.ended_cleanly
    boundaries = _record_ends(base)
    p = tmp_path / "cut.glrec"
    step = 1 if FULL else max(1, len(base) // 400)
    for cut in range(0, len(base), step):
        p.write_bytes(base[:cut])
        got = read_bounded(p)
        if cut < boundaries[0]:
            assert isinstance(got, RecordingError)
            continue
        assert isinstance(got, Recording), f"cut at {cut}: {got}"
        whole_records = sum(1 for end in boundaries[1:] if end <= cut)
        assert len(got.records) == whole_records, f"cut at {cut}"
        assert got.records == whole.records[:whole_records]
        if cut not in boundaries:
            assert got.truncated_at is not None and "truncated at byte" in " ".join(got.problems)


def read_recording_bytes(data: bytes, tmp_path: Path, max_peak: int = MAX_PEAK_BYTES) -> Recording | RecordingError:
    p = tmp_path / "x.glrec"
    p.write_bytes(data)
    return read_bounded(p, max_peak)


def _record_ends(data: bytes) -> list[int]:
    up = msgpack.Unpacker(raw=False, strict_map_key=False, ext_hook=fmt.ext_hook)
    up.feed(data)
    ends = []
    for _ in up:
        ends.append(up.tell())
    return ends


# ---------------------------------------------------------------------------------------------- mutations


@FUZZ
@given(data=st.data())
def test_bit_flips_never_escape_as_another_exception(base: bytes, tmp_path_factory: Any, data: st.DataObject) -> None:
    buf = bytearray(base)
    for _ in range(data.draw(st.integers(1, 8), label="flips")):
        i = data.draw(st.integers(0, len(buf) - 1), label="offset")
        buf[i] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    read_recording_bytes(bytes(buf), tmp_path_factory.mktemp("flip"))


def _outcome(path: Path) -> tuple[Any, ...]:
    try:
        rec = read_recording(path)
    except RecordingError as exc:
        return ("error", str(exc))
    return ("read", rec.records, rec.problems, rec.truncated_at)


@FUZZ
@given(data=st.data())
def test_frames_read_in_one_walk_as_in_the_general_path(
    base: bytes, tmp_path_factory: Any, data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader's one-walk path for frames (``RecordingReader._frame``) gives what the general path (resolve the
    string table, then decode) gives, damaged files included: the same records, problems and stops."""
    buf = bytearray(base)
    for _ in range(data.draw(st.integers(0, 4), label="flips")):
        i = data.draw(st.integers(0, len(buf) - 1), label="offset")
        buf[i] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    p = tmp_path_factory.mktemp("paths") / "x.glrec"
    p.write_bytes(bytes(buf))
    fast = _outcome(p)
    with monkeypatch.context() as m:
        m.setattr(reader_module, "_plain_frame", lambda raw: False)
        general = _outcome(p)
    assert fast == general


@FUZZ
@given(data=st.data())
def test_spliced_random_bytes_never_escape(base: bytes, tmp_path_factory: Any, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(base)), label="start")
    end = data.draw(st.integers(start, min(len(base), start + 64)), label="end")
    junk = data.draw(st.binary(max_size=64), label="junk")
    read_recording_bytes(base[:start] + junk + base[end:], tmp_path_factory.mktemp("splice"))


@FUZZ
@given(blob=st.binary(max_size=4096))
def test_random_files_are_a_clean_error(tmp_path_factory: Any, blob: bytes) -> None:
    got = read_recording_bytes(blob, tmp_path_factory.mktemp("rand"))
    assert isinstance(got, RecordingError)  # random bytes are never taken for a recording


ABSURD = [
    b"\xc6\xff\xff\xff\xff",  # bin32 of 4 GiB
    b"\xc6\x0f\xff\xff\xff",  # bin32 of 256 MiB (just under the reader's record limit)
    b"\xdb\xff\xff\xff\xff",  # str32 of 4 GiB
    b"\xdd\xff\xff\xff\xff",  # array32 of 4 G items
    b"\xdf\xff\xff\xff\xff",  # map32 of 4 G pairs
    b"\xc9\xff\xff\xff\xff\x01",  # ext32 of 4 GiB
    b"\x91" * 5000,  # nesting far deeper than any record
]


@pytest.mark.parametrize("header", ABSURD, ids=lambda h: h[:2].hex())
@pytest.mark.parametrize("where", ["record", "inside"])
def test_absurd_declared_lengths_are_refused_without_allocating(
    base: bytes, tmp_path: Path, header: bytes, where: str
) -> None:
    ends = _record_ends(base)
    if where == "record":
        data = base[: ends[3]] + header + b"\x00" * 32 + base[ends[3] :]
    else:  # as the value of the first key of a record map: "k" → absurd
        data = base[: ends[3]] + b"\x81\xa1k" + header + b"\x00" * 32
    got = read_recording_bytes(data, tmp_path)
    assert isinstance(got, Recording)
    assert got.truncated_at == ends[3] and len(got.records) == 3


def _header(version: Any, **extra: Any) -> bytes:
    head = {"k": "header", "format": fmt.FORMAT_NAME, "version": version, "created": "x", "app": "a", "sdk": "s",
            "model": "m", "config": {}, "description": "", "redacted": True, **extra}  # fmt: skip
    return msgpack.packb(head, use_bin_type=True)  # type: ignore[no-any-return]


VERSIONS = st.one_of(
    st.lists(st.integers(-(2**63), 2**64 - 1), min_size=0, max_size=3),
    st.tuples(st.just(1), st.integers(-(2**63), 2**64 - 1)).map(list),
    st.lists(st.one_of(st.floats(allow_nan=True), st.text(max_size=3), st.none(), st.booleans()), max_size=2),
    st.integers(-(2**63), 2**64 - 1),
    st.text(max_size=5),
    st.none(),
)


@FUZZ
@given(version=VERSIONS)
def test_wrong_versions_are_refused_or_read_never_hang(tmp_path_factory: Any, version: Any) -> None:
    body = msgpack.packb({"k": "open", "t": 1, "seg": 0, "url": "wss://x", "headers": {}})
    got = read_recording_bytes(_header(version) + body, tmp_path_factory.mktemp("ver"))
    ok = isinstance(version, list) and len(version) == 2 and version[0] == 1 and type(version[1]) is int
    if not ok or version[1] < 0:
        assert isinstance(got, RecordingError), f"version {version!r} was accepted"


@pytest.mark.parametrize("code", [0, 3, 5, 42, 127])
def test_foreign_extension_types_are_refused(base: bytes, tmp_path: Path, code: int) -> None:
    """Only ext 1 (payload reference) and ext 2 (interned string) exist; any other ext type is not a record."""
    ends = _record_ends(base)
    ext = msgpack.ExtType(code, b"\x01\x02\x03")
    rogue_frame = msgpack.packb({"k": "s", "t": 5, "raw": ext}, use_bin_type=True)
    rogue_input = msgpack.packb({"k": "in", "t": 5, "kind": "text", "d": {"text": ext}}, use_bin_type=True)
    for rogue in (rogue_frame, rogue_input):
        got = read_recording_bytes(base[: ends[3]] + rogue + base[ends[3] :], tmp_path)
        assert isinstance(got, Recording)
        assert got.truncated_at == ends[3], f"ext type {code} was accepted in a record"
        assert any(f"byte {ends[3]}" in p for p in got.problems)
    got = read_recording_bytes(_header([1, 0], extra=ext), tmp_path)
    assert isinstance(got, RecordingError), f"ext type {code} was accepted in the header"


def test_a_msgpack_timestamp_is_not_taken_for_a_frame(base: bytes, tmp_path: Path) -> None:
    """msgpack's own ext -1 (timestamp) bypasses the ext hook; a frame holding one still stops the reading."""
    ends = _record_ends(base)
    rogue = msgpack.packb({"k": "s", "t": 5, "raw": msgpack.Timestamp(1, 0)}, use_bin_type=True)
    got = read_recording_bytes(base[: ends[3]] + rogue + base[ends[3] :], tmp_path)
    assert isinstance(got, Recording) and got.truncated_at == ends[3]


@pytest.mark.skipif(not FULL, reason="writes a 256 MiB file and reads it (~0.5 GB of memory); runs under --full")
def test_an_oversized_record_is_refused(base: bytes, tmp_path: Path) -> None:
    """A single record larger than the reader's limit (256 MiB) is corruption, not a frame to load. The reader's
    buffer grows by doubling, so it may hold about twice the limit before refusing: bounded, not small."""
    ends = _record_ends(base)
    big = msgpack.packb({"k": "s", "t": 5, "raw": b"x" * ((256 << 20) + 16)}, use_bin_type=True)
    data = base[: ends[3]] + big
    del big  # the reader may buffer up to its limit, not more
    got = read_recording_bytes(data, tmp_path, max_peak=(512 << 20) + (32 << 20))
    assert isinstance(got, Recording) and got.truncated_at == ends[3] and len(got.records) == 3
