"""Recording tools on real files: the timeline, turn-aware diff, trim, atomic redact, dump and export."""

from __future__ import annotations

import base64
import io
import json
import math
import os
import wave
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tui.errors import UserError
from tui.recording.format import Close, End, Frame, Open
from tui.recording.reader import read_recording
from tui.recording.redact import Redactor
from tui.recording.tools import edit
from tui.recording.tools.compare import compare, format_diff
from tui.recording.tools.edit import parse_turns, redact_in_place, trim
from tui.recording.tools.export import WAV_RATE, export, place_audio, resample
from tui.recording.tools.show import dump_lines, info_dict
from tui.recording.tools.timeline import build_timeline
from tui.recording.writer import RecordWriter, make_header

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
SETUP = json.dumps({"setup": {"model": "models/m", "generationConfig": {"responseModalities": ["AUDIO"]}}})


def _tone(seconds: float, rate: int, hz: float = 440.0, amp: int = 8000) -> bytes:
    n = int(seconds * rate)
    t = np.arange(n) / rate
    return (np.sin(2 * np.pi * hz * t) * amp).astype("<i2").tobytes()


def _mic(pcm: bytes) -> str:
    return json.dumps(
        {
            "realtime_input": {
                "audio": {"data": base64.urlsafe_b64encode(pcm).decode(), "mime_type": "audio/pcm;rate=16000"}
            }
        }
    )


def _speak(pcm: bytes) -> bytes:
    b64 = base64.b64encode(pcm).decode()
    part = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": b64}}
    return json.dumps({"serverContent": {"modelTurn": {"parts": [part]}}}).encode()


def _voice_session(path: Path) -> None:
    """User speaks 0.5 s at 1.0 s; the model answers with 1.0 s of audio at 2.0 s and is interrupted at 2.25 s."""
    w = RecordWriter(path, make_header(model="m", redacted=False), Redactor(enabled=False))
    w.write_open(0, 0, "wss://example/ws", {})
    w.write_frame(1_000, "c2s", SETUP)
    w.write_frame(2_000, "s2c", b'{"setupComplete": {}}')
    w.write_frame(1_000_000, "c2s", _mic(_tone(0.5, 16000)))
    w.write_frame(2_000_000, "s2c", _speak(_tone(0.5, 24000, 220)))
    w.write_frame(2_010_000, "s2c", _speak(_tone(0.5, 24000, 220)))
    w.write_frame(2_250_000, "s2c", b'{"serverContent": {"interrupted": true}}')
    w.write_frame(2_260_000, "s2c", _speak(_tone(0.2, 24000, 220)))  # sent after the interruption: never played
    w.write_frame(2_270_000, "s2c", b'{"serverContent": {"turnComplete": true}}')
    w.write_close(3_000_000, 0, 1000, "")
    w.write_end(3_000_000)
    w.close()


# ---------------------------------------------------------------------------------------------------- timeline


def test_timeline_of_a_cancelled_tool_call() -> None:
    tl = build_timeline(read_recording(RECORDINGS / "tool-cancelled.glrec"))
    assert len(tl.turns) == 2
    first = tl.turns[0]
    assert first.user_text == [
        "Please run lookup_manual for the XR-7 espresso machine.",
        "Never mind, cancel that. What is the weather in Oslo?",
    ]
    assert [(c.name, c.cancelled_us is not None, c.response_us is not None) for c in tl.tool_calls] == [
        ("lookup_manual", True, False),
        ("get_weather", False, True),
    ]
    assert first.interrupted_us is not None
    assert tl.turns[1].tool_calls[0].response == {
        "city": "Oslo",
        "temperature_c": -3,
        "condition": "partly cloudy",
        "humidity_percent": 69,
        "source": "demo data (not a real forecast)",
    }


def test_timeline_of_goaway_and_resumption() -> None:
    tl = build_timeline(read_recording(RECORDINGS / "goaway-resume.glrec"))
    assert [(s.seg, s.resumed, s.code) for s in tl.segments] == [(0, False, 1000), (1, True, 1000)]
    assert [left for _, left in tl.go_aways] == [10.0]
    assert [t.seg for t in tl.turns] == [0, 0, 1]
    assert tl.turns[2].model_text.endswith("Your name is Ada.")
    assert all(t.ended == "complete" for t in tl.turns)


def test_timeline_marks_a_turn_cut_by_a_dropped_connection() -> None:
    tl = build_timeline(read_recording(RECORDINGS / "drop-reconnect.glrec"))
    assert [t.ended for t in tl.turns] == ["complete", "cut", "complete"]
    assert tl.segments[0].code is None and tl.segments[0].close_us is not None


def test_latency_runs_from_the_end_of_speech_not_the_last_silent_chunk(tmp_path: Path) -> None:
    path = tmp_path / "v.glrec"
    _voice_session(path)
    turn = build_timeline(read_recording(path)).turns[0]
    # speech ends at 1.0 s + 0.5 s of audio; the model's first audio arrives at 2.0 s
    assert turn.latency_ms == pytest.approx(500.0)


# ------------------------------------------------------------------------------------------------------- audio


def test_resample_keeps_the_pitch_and_the_length() -> None:
    out = resample(_tone(1.0, 16000, 440.0), 16000, 24000)
    assert len(out) == 24000
    crossings = int(np.sum((out[:-1] < 0) & (out[1:] >= 0)))
    assert crossings in (439, 440, 441)


def test_wav_places_both_sides_on_the_timeline_and_cuts_unplayed_audio(tmp_path: Path) -> None:
    path = tmp_path / "v.glrec"
    _voice_session(path)
    result = export(read_recording(path), tmp_path / "out")
    with wave.open(str(tmp_path / "out" / "session.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, WAV_RATE)
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    user, model = frames[:, 0], frames[:, 1]

    def loud(ch: np.ndarray, a: float, b: float) -> bool:
        seg = ch[int(a * WAV_RATE) : int(b * WAV_RATE)].astype(float)
        return bool(len(seg)) and math.sqrt(float(np.mean(seg * seg))) > 1000

    assert not loud(user, 0.0, 0.99) and loud(user, 1.01, 1.49) and not loud(user, 1.51, 3.0)
    assert not loud(model, 0.0, 1.99) and loud(model, 2.01, 2.24)
    assert not loud(model, 2.251, 3.0)  # interrupted at 2.25 s: the rest was never heard
    # 1.0 s arrived before the interruption, 0.25 s of it played; plus 0.2 s sent after it
    assert result.unplayed_s == pytest.approx(0.75 + 0.2, abs=0.01)
    md = (tmp_path / "out" / "transcript.md").read_text()
    assert "interrupted at 0:02.250" in md and "0.95 s of the model's audio was never played" in md


def test_barge_in_recording_places_no_model_audio_after_the_interruption() -> None:
    rec = read_recording(RECORDINGS / "barge-in.glrec")
    tl = build_timeline(rec)
    placement = place_audio(tl)
    cut = tl.turns[0].interrupted_us
    assert cut is not None
    first_turn = [p for p in placement.model if p.turn == 1]
    assert first_turn and max(p.end for p in first_turn) <= cut * WAV_RATE // 1_000_000
    assert placement.unplayed_s > 0.3


# -------------------------------------------------------------------------------------------------------- diff


def _rewrite(src: Path, dst: Path, change: dict[bytes, bytes], time_scale: float = 1.0) -> None:
    """Copy a recording, replacing bytes in its frames and stretching its timestamps."""
    from tui.recording.tools.edit import _write_record

    rec = read_recording(src)
    w = RecordWriter(dst, rec.header, Redactor(enabled=False))
    for r in rec.records:
        if isinstance(r, Frame):
            data = r.data if isinstance(r.data, bytes) else r.data.encode()
            for a, b in change.items():
                data = data.replace(a, b)
            w.write_frame(int(r.t_us * time_scale), r.direction, data if isinstance(r.data, bytes) else data.decode())
        else:
            _write_record(w, r)
    w.write_end(int(rec.records[-1].t_us * time_scale))
    w.close()


def test_diff_ignores_timing_tool_call_ids_and_resumption_handles(tmp_path: Path) -> None:
    src = RECORDINGS / "weather-tool.glrec"
    other = tmp_path / "other.glrec"
    _rewrite(src, other, {b"mock-call-1-1": b"zz-77", b"mock-call-1-2": b"zz-78", b"mock-00001": b"handle-x"}, 3.0)
    assert b"zz-77" in b"".join(
        f.data if isinstance(f.data, bytes) else f.data.encode() for f in read_recording(other).frames
    )
    d = compare(read_recording(src), read_recording(other))
    assert d.same, format_diff(d)


def test_diff_names_the_turn_and_field_of_a_changed_tool_result(tmp_path: Path) -> None:
    src = RECORDINGS / "weather-tool.glrec"
    other = tmp_path / "other.glrec"
    _rewrite(src, other, {b'"temperature_c": 17': b'"temperature_c": 18'})
    d = compare(read_recording(src), read_recording(other))
    assert not d.same
    assert [(t.a and t.a.number, t.b and t.b.number) for t in d.turns] == [(1, 1)]
    paths = [f.path for f in d.turns[0].diffs]
    assert "tool_calls[0].result.temperature_c" in paths
    text = format_diff(d)
    assert "turn 1" in text and "17" in text and "18" in text


def test_diff_reports_turns_present_on_one_side_only(tmp_path: Path) -> None:
    short = tmp_path / "short.glrec"
    trim(read_recording(RECORDINGS / "text-chat-memory.glrec"), 1, 2, short)
    d = compare(read_recording(RECORDINGS / "text-chat-memory.glrec"), read_recording(short))
    assert [(t.a and t.a.number, t.b) for t in d.turns] == [(3, None)]
    assert "turn 3 of A is only in A" in format_diff(d) and "What is my name?" in format_diff(d)


def test_diff_aligns_turns_around_a_missing_one(tmp_path: Path) -> None:
    """B lacks turn 2 of A: that is one difference, and A's turn 3 is compared with B's turn 2 (the same)."""
    src = read_recording(RECORDINGS / "text-chat-memory.glrec")
    first, last = tmp_path / "first.glrec", tmp_path / "last.glrec"
    trim(src, 1, 1, first)
    trim(src, 3, 3, last)
    joined = tmp_path / "joined.glrec"
    from tui.recording.tools.edit import _write_record

    w = RecordWriter(joined, src.header, Redactor(enabled=False))
    for r in read_recording(first).records[:-1]:  # without its close and end: the connection goes on
        if not isinstance(r, (Close, End)):
            _write_record(w, r)
    for r in read_recording(last).records:
        if isinstance(r, Frame) and r.msg and next(iter(r.msg)) in ("setup", "setupComplete"):
            continue
        if not isinstance(r, (Open, End)):
            _write_record(w, r)
    w.write_end(src.records[-1].t_us)
    w.close()
    d = compare(src, read_recording(joined))
    assert [(t.a and t.a.number, t.b and t.b.number) for t in d.turns] == [(2, None)], format_diff(d)


def test_diff_summarises_audio_instead_of_showing_it(tmp_path: Path) -> None:
    a, b = tmp_path / "a.glrec", tmp_path / "b.glrec"
    _voice_session(a)
    loud = base64.b64encode(_tone(0.5, 24000, 220)).decode().encode()
    _rewrite(a, b, {loud[:400]: base64.b64encode(b"\x01\x02\x03" * 100).decode().encode()})
    d = compare(read_recording(a), read_recording(b))
    assert not d.same
    fd = next(f for f in d.turns[0].diffs if f.path == "model_audio")
    assert "s at 24000 Hz" in fd.recorded and "sha" in fd.recorded
    assert len(format_diff(d)) < 2000  # no wall of base64


# -------------------------------------------------------------------------------------------------------- trim


def test_parse_turns() -> None:
    assert parse_turns("3") == (3, 3)
    assert parse_turns("2..5") == (2, 5)
    assert parse_turns("4..") == (4, None)
    assert parse_turns("..2") == (1, 2)
    for bad in ("0", "3..1", "x", "1..b", ""):
        with pytest.raises(UserError):
            parse_turns(bad)


def test_trim_keeps_the_turns_and_their_connections(tmp_path: Path) -> None:
    out = tmp_path / "t.glrec"
    res = trim(read_recording(RECORDINGS / "goaway-resume.glrec"), 3, 3, out)
    assert res.segments == [1]
    rec = read_recording(out)
    assert rec.ended_cleanly and not rec.problems
    tl = build_timeline(rec)
    assert len(tl.turns) == 1 and tl.turns[0].user_text == ["What is my name?"]
    assert [(s.seg, s.resumed) for s in tl.segments] == [(1, True)]
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    kinds = [f.msg and next(iter(f.msg)) for f in rec.frames]
    assert kinds[:2] == ["setup", "setupComplete"]


def test_trim_refuses_a_range_beyond_the_recording(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="has 2 turn"):
        trim(read_recording(RECORDINGS / "weather-tool.glrec"), 3, 4, tmp_path / "x.glrec")


# ------------------------------------------------------------------------------------------------------ redact

SECRET = "sk-test-0123456789-secret"


def _leaky(path: Path) -> bytes:
    """A recording made with redaction off that holds a key in a header, a URL and a typed message."""
    w = RecordWriter(path, make_header(model="m", redacted=False, description=f"key {SECRET}"), Redactor(enabled=False))
    w.write_open(0, 0, f"wss://example/ws?key={SECRET}", {"x-goog-api-key": SECRET, "Host": "example"})
    w.write_frame(10, "c2s", SETUP)
    w.write_frame(20, "s2c", b'{"setupComplete": {}}')
    w.write_input(25, "text", {"text": f"my key is {SECRET}"})
    text = {"client_content": {"turns": [{"parts": [{"text": f"my key is {SECRET}"}], "role": "user"}]}}
    w.write_frame(30, "c2s", json.dumps(text))
    w.write_frame(40, "s2c", b'{"serverContent": {"turnComplete": true}}')
    w.write_close(50, 0, 1000, "")
    w.write_end(60)
    w.close()
    return path.read_bytes()


def test_redact_in_place_removes_the_secret_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "leaky.glrec"
    assert SECRET.encode() in _leaky(path)
    before = read_recording(path)
    res = redact_in_place(before, (SECRET,))
    assert res.changed >= 4
    data = path.read_bytes()
    assert SECRET.encode() not in data
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    after = read_recording(path)
    assert after.header.redacted and after.ended_cleanly and not after.problems
    assert len(after.records) == len(before.records)
    assert "my key is REDACTED" in str(after.frames[2].msg)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leaky.glrec"]  # no temporary file left


def test_redact_failure_leaves_the_original_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "leaky.glrec"
    original = _leaky(path)
    calls = {"n": 0}
    real = RecordWriter.write_frame

    def failing(self: RecordWriter, t_us: int, direction: str, data: str | bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real(self, t_us, direction, data)  # type: ignore[arg-type]

    monkeypatch.setattr(RecordWriter, "write_frame", failing)
    with pytest.raises(OSError, match="No space"):
        edit.redact_in_place(read_recording(path), (SECRET,))
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leaky.glrec"]


# ------------------------------------------------------------------------------------------------ info and dump


def test_info_counts_frames_connections_and_turns() -> None:
    d = info_dict(read_recording(RECORDINGS / "goaway-resume.glrec"))
    assert d["frames"] == {"c2s": 5, "s2c": 24}
    assert d["frames_by_kind"]["s2c"]["goAway"] == 1
    assert d["reconnects"] == 1 and [s["resumed"] for s in d["segments"]] == [False, True]
    assert len(d["turns"]) == 3 and d["ended_cleanly"]
    assert d["sizes"]["file_bytes"] == (RECORDINGS / "goaway-resume.glrec").stat().st_size


def test_dump_summarises_media_unless_full(tmp_path: Path) -> None:
    path = tmp_path / "v.glrec"
    _voice_session(path)
    rec = read_recording(path)
    lines = list(dump_lines(rec.header, rec.records))
    assert len(lines) == len(rec.records) + 1
    rows = [json.loads(line) for line in lines]
    assert rows[0]["k"] == "header"
    mic = rows[4]["msg"]["realtime_input"]["audio"]["data"]
    assert mic.startswith("<audio 16000 B (0.50 s,") and len(max(lines, key=len)) < 1000
    full = [json.loads(line) for line in dump_lines(rec.header, rec.records, full=True)]
    raw = base64.urlsafe_b64decode(full[4]["msg"]["realtime_input"]["audio"]["data"])
    assert raw == _tone(0.5, 16000)


# ------------------------------------------------------------------------------------------------------ export


def test_export_writes_a_contact_sheet_and_a_timeline(tmp_path: Path) -> None:
    res = export(read_recording(RECORDINGS / "furniture-assembly.glrec"), tmp_path)
    names = sorted(p.name for p in res.files)
    assert names == ["frames.png", "session.wav", "timeline.svg", "transcript.md"]
    with Image.open(tmp_path / "frames.png") as im:
        assert im.format == "PNG" and im.width > 3 * 150
    root = ET.parse(tmp_path / "timeline.svg").getroot()
    titles = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert any(t.startswith("model audio") for t in titles)
    assert (
        sum(t.startswith("image sent at") for t in titles)
        == len(build_timeline(read_recording(RECORDINGS / "furniture-assembly.glrec")).images)
        > 0
    )
    assert "bookshelf" in (tmp_path / "transcript.md").read_text()


def test_timeline_plot_shows_goaway_interruptions_cancellations_and_latency(tmp_path: Path) -> None:
    def titles(name: str) -> list[str]:
        export(read_recording(RECORDINGS / name), tmp_path / name)
        root = ET.parse(tmp_path / name / "timeline.svg").getroot()
        return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}title")]

    goaway = titles("goaway-resume.glrec")
    away_us = build_timeline(read_recording(RECORDINGS / "goaway-resume.glrec")).go_aways[0][0]
    assert any(t.startswith(f"goAway at {away_us / 1e6:.3f} s") for t in goaway)
    assert any("connection 1 (resumed)" in t for t in goaway)
    assert sum(t.startswith("turn ") and t.endswith(" ms") for t in goaway) == 3
    cancelled = titles("tool-cancelled.glrec")
    assert any(t.startswith("lookup_manual: cancelled") for t in cancelled)
    cut_us = build_timeline(read_recording(RECORDINGS / "tool-cancelled.glrec")).turns[0].interrupted_us
    assert cut_us is not None
    assert any(t.startswith(f"interrupted at {cut_us / 1e6:.3f} s") for t in cancelled)
    dropped = titles("drop-reconnect.glrec")
    assert "connection 0 dropped" in dropped


def test_contact_sheet_marks_an_undecodable_frame(tmp_path: Path) -> None:
    from tui.recording.tools.export import contact_sheet
    from tui.recording.tools.timeline import Image as Sent

    buf = io.BytesIO()
    Image.new("RGB", (320, 240), "blue").save(buf, "JPEG")
    shown, total, bad = contact_sheet(
        [Sent(0, buf.getvalue(), "image/jpeg", 0), Sent(1000, b"\xff\xd8 junk", "image/jpeg", 0)], tmp_path / "s.png"
    )
    assert (shown, total, bad) == (2, 2, 1)
    with Image.open(tmp_path / "s.png") as im:
        px = im.convert("RGB").getpixel((6 + 96, 24 + 72))
    assert px[2] > 200 and px[0] < 60  # the blue thumbnail is really there


def test_export_without_audio_writes_no_wav_and_nothing_outside_its_folder(tmp_path: Path) -> None:
    res = export(read_recording(RECORDINGS / "text-chat-memory.glrec"), tmp_path / "o")
    assert all(p.parent == tmp_path / "o" for p in res.files)
    assert not (tmp_path / "o" / "session.wav").exists()  # no audio: no WAV
    assert os.listdir(tmp_path) == ["o"]


def test_wav_blocks_do_not_change_a_sample(tmp_path: Path) -> None:
    from tui.recording.tools.export import write_wav

    tl = build_timeline(read_recording(RECORDINGS / "barge-in.glrec"))
    placement = place_audio(tl)
    write_wav(tmp_path / "one.wav", tl, placement, block_s=3600)
    write_wav(tmp_path / "many.wav", tl, placement, block_s=0.0137)  # boundaries inside nearly every chunk
    assert (tmp_path / "one.wav").read_bytes() == (tmp_path / "many.wav").read_bytes()


def test_diff_ignores_silence_streamed_around_speech_but_not_speech(tmp_path: Path) -> None:
    from tui.recording.tools.edit import _write_record
    from tui.recording.tools.timeline import dbfs

    src = read_recording(RECORDINGS / "barge-in.glrec")
    tl = build_timeline(src)
    silent = next(a.pcm for a in tl.turns[1].user_audio[::-1] if dbfs(a.pcm) < -60)
    loud = next(a.pcm for a in tl.turns[1].user_audio if dbfs(a.pcm) > -30)

    def copy(dst: Path, extra: bytes) -> Path:
        w = RecordWriter(dst, src.header, Redactor(enabled=False))
        done = False
        for r in src.records:
            _write_record(w, r)
            if not done and isinstance(r, Frame) and r.direction == "c2s" and _mic(silent) == r.data:
                w.write_frame(r.t_us + 1, "c2s", _mic(extra))  # one more chunk streamed after the speech
                done = True
        assert done
        w.write_end(src.records[-1].t_us)
        w.close()
        return dst

    more_silence = compare(src, read_recording(copy(tmp_path / "s.glrec", silent)))
    assert more_silence.same, format_diff(more_silence)
    more_speech = compare(src, read_recording(copy(tmp_path / "l.glrec", loud)))
    assert [f.path for f in more_speech.turns[0].diffs] == ["user_audio"]
