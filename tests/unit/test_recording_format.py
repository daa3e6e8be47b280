"""The recording format: round trip of every record kind, exact wire bytes, size, torn tails, versions."""

from __future__ import annotations

import base64
import json
import os
import random
import stat
import time
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.errors import RecordingError
from tui.recording import format as fmt
from tui.recording.format import Close, End, Frame, Gap, Input, Open, decode_frame, encode_frame
from tui.recording.reader import read_recording
from tui.recording.writer import Recorder, RecordWriter, make_header


def _pcm(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def _sdk_audio_frame(pcm: bytes) -> str:
    """A mic chunk exactly as google-genai 3.4 sends it (URL-safe base64, Python's default json.dumps)."""
    b64 = base64.urlsafe_b64encode(pcm).decode()
    return json.dumps({"realtime_input": {"audio": {"data": b64, "mime_type": "audio/pcm;rate=16000"}}})


def _server_audio_frame(pcm: bytes) -> bytes:
    b64 = base64.b64encode(pcm).decode()
    msg = {
        "serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": b64}}]}}
    }
    return json.dumps(msg).encode()


def _write_all_kinds(path: Path) -> list[tuple[str, Any]]:
    """Write one of every record kind through the real Recorder; return what was fed in."""
    rec = Recorder(path, model="models/m", config={"session": {"voice": "Kore"}}, description="all kinds")
    t0 = time.monotonic_ns()
    fed: list[tuple[str, Any]] = []
    jpeg = b"\xff\xd8\xff\xe0" + _pcm(3000, 7) + b"\xff\xd9"
    mic = _pcm(1280, 1)
    frames: list[tuple[str, str | bytes]] = [
        ("c2s", json.dumps({"setup": {"model": "models/m", "generationConfig": {"responseModalities": ["AUDIO"]}}})),
        ("s2c", b'{"setupComplete": {}}'),
        ("c2s", _sdk_audio_frame(mic)),
        ("c2s", json.dumps({"realtime_input": {"video": {"data": base64.urlsafe_b64encode(jpeg).decode()}}})),
        ("s2c", _server_audio_frame(_pcm(4800, 2))),
        ("s2c", b'{"serverContent":{"turnComplete":true},"usageMetadata":{"totalTokenCount":9}}'),
        ("s2c", b'{\n  "serverContent": {\n    "outputTranscription": {\n      "text": "h\xc3\xa9"\n    }\n  }\n}'),
        ("s2c", b"not json at all \xff\xfe"),
        ("c2s", b'{"client_content": {"turnComplete": true}}'),  # a binary send
        ("c2s", '{"tool_response":{"functionResponses":[{"id":"c1","response":{"x":1.50}}]}}'),  # 1.50: verbatim
        ("s2c", json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "AAA"}}]}}}).encode()),
    ]
    rec.on_open(t0, "wss://127.0.0.1:1/ws/x", {"Host": "127.0.0.1:1"})
    fed.append(("open", "wss://127.0.0.1:1/ws/x"))
    rec.on_input(t0 + 1, "text", {"text": "hello"})
    rec.on_input(t0 + 2, "audio", {"pcm": mic, "rate": 16000})
    rec.on_input(t0 + 3, "frame", {"jpeg": jpeg, "width": 64, "height": 48, "source": "camera"})
    rec.on_input(t0 + 4, "activity", {"what": "start"})
    rec.on_input(t0 + 5, "action", {"name": "mute"})
    fed += [("in", k) for k in ("text", "audio", "frame", "activity", "action")]
    for i, (d, data) in enumerate(frames):
        (rec.on_send if d == "c2s" else rec.on_recv)(t0 + 10_000 * (i + 1), data)  # type: ignore[operator]
        fed.append((d, data))
    rec.on_close_initiator(t0 + 10**9, "server")
    rec.on_close(t0 + 10**9, 1011, "internal")
    rec.on_open(t0 + 2 * 10**9, "wss://127.0.0.1:1/ws/x", {})
    rec.on_recv(t0 + 2 * 10**9 + 5, b'{"setupComplete": {}}')
    rec.on_close(t0 + 3 * 10**9, None, "connection lost")
    fed += [("close", 1011), ("open", 1), ("s2c", b'{"setupComplete": {}}'), ("close", None)]
    stats = rec.close()
    assert stats.error is None
    assert stats.dropped == 0
    return fed


def test_every_record_kind_round_trips_exactly(tmp_path: Path) -> None:
    path = tmp_path / "all.glrec"
    fed = _write_all_kinds(path)
    r = read_recording(path)
    assert r.problems == []
    assert r.ended_cleanly
    assert r.header.model == "models/m"
    assert r.header.config == {"session": {"voice": "Kore"}}
    assert r.header.description == "all kinds"
    assert r.header.version == fmt.VERSION
    got: list[tuple[str, Any]] = []
    for rec in r.records:
        if isinstance(rec, Open):
            got.append(("open", rec.url if rec.seg == 0 else rec.seg))
        elif isinstance(rec, Input):
            got.append(("in", rec.kind))
        elif isinstance(rec, Frame):
            got.append((rec.direction, rec.data))
        elif isinstance(rec, Close):
            got.append(("close", rec.code))
    assert got == fed
    # Segments follow the opens; timestamps are monotonic microseconds.
    frames = r.frames
    assert [f.seg for f in frames] == [0] * 11 + [1]
    ts = [rec.t_us for rec in r.records]
    assert ts == sorted(ts)
    first_open = next(x for x in r.records if isinstance(x, Open))
    assert frames[-1].t_us - first_open.t_us == pytest.approx(2_000_000, abs=1)
    # Inputs come back with their payloads and the frames that carried them decode to the same bytes.
    audio_in = next(x for x in r.records if isinstance(x, Input) and x.kind == "audio")
    assert audio_in.data["rate"] == 16000
    assert base64.urlsafe_b64decode(frames[2].msg["realtime_input"]["audio"]["data"]) == audio_in.data["pcm"]
    assert isinstance(r.records[-1], End)
    # The tap's optional hook says who started each close; the recorder keeps it.
    assert [c.by for c in r.records if isinstance(c, Close)] == ["server", None]


def _raw_records(path: Path) -> list[dict[str, Any]]:
    """The stored maps, with only the string table undone (as another tool would read them)."""
    with open(path, "rb") as f:
        up = msgpack.Unpacker(f, raw=False, strict_map_key=False, ext_hook=fmt.ext_hook)
        table = fmt.StringTable()
        out = [next(up)]
        out += [table.resolve(r) for r in up]
    return out


def test_media_is_stored_as_raw_bytes_not_base64(tmp_path: Path) -> None:
    path = tmp_path / "raw.glrec"
    _write_all_kinds(path)
    stored = _raw_records(path)
    server_audio = next(
        r
        for r in stored
        if r["k"] == "s"
        and "m" in r
        and "serverContent" in r["m"]
        and "modelTurn" in r["m"]["serverContent"]
        and isinstance(r["m"]["serverContent"]["modelTurn"]["parts"][0]["inlineData"]["data"], bytes)
    )
    assert server_audio["m"]["serverContent"]["modelTurn"]["parts"][0]["inlineData"]["data"] == _pcm(4800, 2)
    assert server_audio["b"] == "s"  # standard alphabet remembered, so the exact frame comes back
    # The mic chunk is stored once: the frame refers to the input record that holds the PCM.
    mic = next(
        r
        for r in stored
        if r["k"] == "c" and "realtime_input" in r.get("m", {}) and "audio" in r["m"]["realtime_input"]
    )
    assert isinstance(mic["m"]["realtime_input"]["audio"]["data"], fmt.Ref)
    assert b"".join(r["d"]["pcm"] for r in stored if r["k"] == "in" and r["kind"] == "audio") == _pcm(1280, 1)


def test_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "p.glrec"
    old = os.umask(0)
    try:
        Recorder(path, model="m").close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(RecordingError, match="already exists"):
        Recorder(path, model="m")


def test_size_is_at_most_076_of_the_wire_bytes_for_a_voice_session(tmp_path: Path) -> None:
    """A realistic mix: 40 ms mic chunks (recorded as inputs and frames), 24 kHz replies, text frames."""
    path = tmp_path / "size.glrec"
    rec = Recorder(path, model="models/gemini-live-2.5-flash-preview", config={"session": {"modality": "AUDIO"}})
    t = time.monotonic_ns()
    rec.on_send(t, json.dumps({"setup": {"model": "models/gemini-live-2.5-flash-preview"}}))
    rec.on_recv(t, b'{"setupComplete": {}}')
    for turn in range(5):
        for i in range(50):  # 2 s of mic
            pcm = _pcm(1280, turn * 1000 + i)
            rec.on_input(t, "audio", {"pcm": pcm, "rate": 16000})
            rec.on_send(t, _sdk_audio_frame(pcm))
        rec.on_recv(t, json.dumps({"serverContent": {"inputTranscription": {"text": "what is this"}}}).encode())
        for i in range(20):  # 2 s of reply in 100 ms chunks
            rec.on_recv(t, _server_audio_frame(_pcm(4800, 50_000 + turn * 100 + i)))
            rec.on_recv(t, json.dumps({"serverContent": {"outputTranscription": {"text": "word "}}}).encode())
        rec.on_recv(t, b'{"serverContent": {"turnComplete": true}, "usageMetadata": {"totalTokenCount": 99}}')
    stats = rec.close()
    ratio = path.stat().st_size / stats.wire_bytes
    assert ratio <= 0.76, ratio
    assert read_recording(path).problems == []


# --------------------------------------------------------------------------------------------------
# Frame codec (pure)
# --------------------------------------------------------------------------------------------------

_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=20))
_json = st.recursive(
    _json_scalars,
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    body=st.dictionaries(st.text(min_size=1, max_size=10), _json, min_size=1, max_size=4),
    blobs=st.lists(st.binary(min_size=0, max_size=64), max_size=3),
    flavour=st.sampled_from(["u", "s", "un", "sn"]),
    style=st.integers(0, 5),
    as_bytes=st.booleans(),
)
def test_any_json_frame_comes_back_byte_identical(
    body: dict[str, Any], blobs: list[bytes], flavour: str, style: int, as_bytes: bool
) -> None:
    msg = dict(body)
    msg["parts"] = [{"inlineData": {"data": fmt.b64_encode(b, flavour), "mimeType": "x"}} for b in blobs]
    text = json.dumps(msg, **fmt._JSON_STYLES[style])
    data: str | bytes = text.encode() if as_bytes else text
    fields = encode_frame(data)
    packed = msgpack.unpackb(msgpack.packb(fields, use_bin_type=True), raw=False, ext_hook=fmt.ext_hook)
    again, parsed = decode_frame(packed, lambda r: b"")
    assert again == data
    assert parsed == json.loads(text)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_frames_come_back(data: bytes) -> None:
    fields = encode_frame(data)
    packed = msgpack.unpackb(msgpack.packb(fields, use_bin_type=True), raw=False, ext_hook=fmt.ext_hook)
    assert decode_frame(packed, lambda r: b"")[0] == data


def test_mixed_base64_flavours_in_one_frame_stay_exact() -> None:
    a, b = bytes(range(250, 256)) * 4, bytes(range(0, 30))
    text = json.dumps(
        {
            "x": [
                {"data": base64.urlsafe_b64encode(a).decode()},
                {"data": base64.b64encode(a).decode()},
                {"data": base64.b64encode(b).decode().rstrip("=")},
            ]
        }
    )
    fields = encode_frame(text)
    assert decode_frame(fields, lambda r: b"")[0] == text


# --------------------------------------------------------------------------------------------------
# Torn tails, corruption, versions
# --------------------------------------------------------------------------------------------------


def _simple_file(path: Path, n: int = 6) -> list[int]:
    """Write n frames with RecordWriter; return the byte offset where each record ends."""
    w = RecordWriter(path, make_header(model="m"))
    ends = [w.bytes_written]
    for i in range(n):
        w.write_frame(i * 1000, "s2c", _server_audio_frame(_pcm(200 + i, i)))
        ends.append(w.bytes_written)
    w.close()
    return ends


def test_torn_tail_reads_back_to_the_last_whole_record(tmp_path: Path) -> None:
    src = tmp_path / "whole.glrec"
    ends = _simple_file(src)
    data = src.read_bytes()
    for cut in range(ends[0] + 1, len(data)):
        if cut in ends:
            continue
        p = tmp_path / f"cut{cut}.glrec"
        p.write_bytes(data[:cut])
        r = read_recording(p)
        whole = max(i for i, e in enumerate(ends) if e <= cut)
        assert len(r.frames) == whole
        assert r.truncated_at == ends[whole]
        assert any(f"truncated at byte {ends[whole]}" in m for m in r.problems), r.problems
        p.unlink()


def test_zero_filled_tail_is_truncation_not_corruption(tmp_path: Path) -> None:
    p = tmp_path / "z.glrec"
    ends = _simple_file(p)
    with open(p, "ab") as f:
        f.write(b"\x00" * 4096)
    r = read_recording(p)
    assert len(r.frames) == 6
    assert any(f"truncated at byte {ends[-1]}" in m and "zero-filled" in m for m in r.problems)


def test_garbage_in_the_middle_stops_reading_with_what_was_read(tmp_path: Path) -> None:
    p = tmp_path / "g.glrec"
    ends = _simple_file(p)
    data = bytearray(p.read_bytes())
    data[ends[3]] = 0xC1  # the one byte msgpack never uses
    p.write_bytes(bytes(data))
    r = read_recording(p)
    assert len(r.frames) == 3
    assert any("corrupt data" in m and f"byte {ends[3]}" in m for m in r.problems), r.problems


def test_a_header_cut_short_or_a_foreign_file_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "h.glrec"
    _simple_file(p)
    data = p.read_bytes()
    p.write_bytes(data[:20])
    with pytest.raises(RecordingError, match="truncated before the header"):
        read_recording(p)
    p.write_bytes(b"")
    with pytest.raises(RecordingError, match="empty file"):
        read_recording(p)
    p.write_bytes(msgpack.packb({"k": "header", "format": "something-else"}))
    with pytest.raises(RecordingError, match="not a gemini-live recording"):
        read_recording(p)
    p.write_text('{"dir": "c2s"}\n')
    with pytest.raises(RecordingError, match="not a gemini-live recording"):
        read_recording(p)
    with pytest.raises(RecordingError, match="no such file"):
        read_recording(tmp_path / "missing.glrec")


def _with_version(path: Path, version: list[int], extra: list[dict[str, Any]]) -> None:
    head = {
        "k": "header",
        "format": fmt.FORMAT_NAME,
        "version": version,
        "created": "x",
        "app": "a",
        "sdk": "s",
        "model": "m",
        "config": {},
        "description": "",
        "redacted": True,
    }
    path.write_bytes(b"".join(msgpack.packb(r, use_bin_type=True) for r in [head, *extra]))


def test_unknown_major_version_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    p = tmp_path / "v2.glrec"
    _with_version(p, [2, 0], [])
    with pytest.raises(RecordingError, match=r"format 2\.0 is not supported.*reads format 1\.x.*Upgrade"):
        read_recording(p)


def test_newer_minor_is_read_and_unknown_things_are_skipped_and_reported(tmp_path: Path) -> None:
    p = tmp_path / "v1x.glrec"
    _with_version(
        p,
        [1, 99],
        [
            {"k": "s", "t": 5, "m": {"setupComplete": {}}, "future_field": 1},
            {"k": "hologram", "t": 6, "x": 1},
            {"k": "end", "t": 7, "n": 4, "wire": 21},
        ],
    )
    r = read_recording(p)
    assert [f.msg for f in r.frames] == [{"setupComplete": {}}]
    assert any("newer format 1.99" in m for m in r.problems)
    assert any("unknown record kind 'hologram'" in m for m in r.problems)


def test_older_minor_records_go_through_the_migration_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []

    def step(n: int) -> Any:
        def f(raw: dict[str, Any]) -> dict[str, Any]:
            calls.append((1, n))
            return {**raw, "steps": [*raw.get("steps", []), n]}

        return f

    monkeypatch.setattr(fmt, "MIGRATIONS", {(1, 0): step(0), (1, 1): step(1)})
    assert fmt.migrate({"k": "s"}, (1, 0), target=(1, 2)) == {"k": "s", "steps": [0, 1]}
    assert fmt.migrate({"k": "s"}, (1, 1), target=(1, 2)) == {"k": "s", "steps": [1]}
    assert fmt.migrate({"k": "s"}, (1, 2), target=(1, 2)) == {"k": "s"}
    assert calls == [(1, 0), (1, 1), (1, 1)]


def test_gap_and_end_records_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "gap.glrec"
    w = RecordWriter(p, make_header(model="m"))
    w.write_gap(10, 3, 999, "recorder queue full (disk too slow)")
    w.write_end(20)
    w.close()
    r = read_recording(p)
    assert r.records == [Gap(10, 3, 999, "recorder queue full (disk too slow)"), End(20, 3, 0)]
    assert any("dropped 3 records" in m for m in r.problems)
