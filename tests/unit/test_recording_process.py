"""The recorder's writer process (``tui.recording.ring``): the failures of a real process, made for real.

A stalled writer (SIGSTOP), a full disk (RLIMIT_FSIZE on the writer), a killed writer (SIGKILL), a killed app with
records still in the ring, a record larger than the ring; and the same bytes as the writer thread.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgpack
import pytest

from tui.recording import ring
from tui.recording.format import Gap, Input
from tui.recording.reader import read_recording
from tui.recording.writer import _RING_BYTES, Recorder

pytestmark = pytest.mark.skipif(not ring.supported(), reason="the writer process needs Linux on x86 (memfd)")

ROOT = Path(__file__).resolve().parents[2]
SECRET = "AIza" + "SyTHISisNOTaREALkeyBUTlooksLIKEone"  # built, so no key-shaped literal sits in the tree
MIC = bytes(range(256)) * 12


def _frame(i: int, pad: int = 0) -> bytes:
    return json.dumps({"serverContent": {"i": i}, "pad": "x" * pad}).encode()


def _audio(i: int, n: int = 9600) -> bytes:
    pcm = bytes((i * 7 + k) % 251 for k in range(n))
    part = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(pcm).decode()}}
    return json.dumps({"serverContent": {"modelTurn": {"parts": [part]}}}).encode()


def _wait_for(cond: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def _writing(path: Path, frames: int, *, pad: int = 0, **kwargs: Any) -> tuple[Recorder, int, list[str], int]:
    """A recorder on its writer process that has written ``frames`` frames (``i`` = 0…): (recorder, the writer's
    pid, the problems it reports, the base time)."""
    problems: list[str] = []
    rec = Recorder(path, model="m", on_problem=problems.append, **kwargs)
    pid = rec.writer_pid
    assert pid is not None
    t = time.monotonic_ns()
    for i in range(frames):
        rec.on_recv(t + i, _frame(i, pad=pad))
    _wait_for(lambda: rec.stats().records >= frames + 1)  # the header too: the child is writing
    return rec, pid, problems, t


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie of ours counts as gone
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].startswith("Z")


def test_the_writer_process_is_the_default_and_never_sees_the_secret_in_argv_or_environment(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "r.glrec", model="m", secrets=(SECRET,))
    pid = rec.writer_pid
    assert pid is not None
    try:
        # (Right after the spawn the child may not have exec'd yet: its command line is then empty.)
        _wait_for(lambda: b"tui.recording.ring" in Path(f"/proc/{pid}/cmdline").read_bytes())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert SECRET.encode() not in cmdline and SECRET.encode() not in environ
        rec.on_open(0, f"wss://x/ws?key={SECRET}", {"x-goog-api-key": SECRET})
        rec.on_recv(1000, json.dumps({"echo": SECRET}).encode())
    finally:
        stats = rec.close()
    assert stats.error is None and _gone(pid)
    data = (tmp_path / "r.glrec").read_bytes()
    assert SECRET.encode() not in data
    assert oct((tmp_path / "r.glrec").stat().st_mode & 0o777) == "0o600"


def test_the_writer_process_writes_what_the_thread_writes(tmp_path: Path) -> None:
    frames = [_audio(i) for i in range(40)] + [_frame(i, pad=30) for i in range(5)]
    frames.append(json.dumps({"key": SECRET}).encode())
    big = _audio(99, n=_RING_BYTES)  # 4/3 of the ring as base64 JSON: larger than it, so it goes through in pieces
    out = {}
    for writer in ("process", "thread"):
        path = tmp_path / f"{writer}.glrec"
        rec = Recorder(path, model="m", secrets=(SECRET,), created_unix=1.0, writer=writer, clock_ns=lambda: 0)
        assert (rec.writer_pid is not None) == (writer == "process")
        rec.on_open(0, "wss://x/ws?key=" + SECRET, {"x-goog-api-key": SECRET})
        for i, data in enumerate(frames):
            rec.on_recv(i * 1000, data)
            rec.on_send(i * 1000 + 1, data.decode())
        rec.on_input(10**6, "audio", {"pcm": frames[0]})
        # Mic audio as LiveSession records it (the process takes it unpacked, once nothing waits before it), then
        # the frame that carries it (a reference to it in the file), then one at another rate (packed).
        _wait_for(lambda rec=rec: rec.stats().queued == 0)
        rec.on_input(10**6 + 1, "audio", {"pcm": MIC, "rate": 16000})
        rt = {"realtimeInput": {"audio": {"data": base64.urlsafe_b64encode(MIC).decode(), "mimeType": "x"}}}
        rec.on_send(10**6 + 2, json.dumps(rt))
        rec.on_input(10**6 + 3, "audio", {"pcm": MIC, "rate": 8000})
        rec.on_recv(2 * 10**6, big)
        rec.on_close(3 * 10**6, 1000, "bye")
        stats = rec.close()
        assert stats.error is None and stats.dropped == 0 and stats.queued == 0
        assert stats.records == 2 * len(frames) + 9 and stats.bytes_written == path.stat().st_size
        out[writer] = path.read_bytes()
    assert SECRET.encode() not in out["process"]
    r1, r2 = read_recording(tmp_path / "process.glrec"), read_recording(tmp_path / "thread.glrec")
    assert [(x.t_us, x.direction, x.data) for x in r1.frames] == [(x.t_us, x.direction, x.data) for x in r2.frames]
    assert r1.frames[-1].data == big and r1.ended_cleanly and r2.ended_cleanly
    mics = [r.data for r in r1.records if isinstance(r, Input) and r.data.get("pcm") == MIC]
    assert mics == [{"pcm": MIC, "rate": 16000}, {"pcm": MIC, "rate": 8000}]
    # Byte for byte between the header and the end record (both hold wall-clock times): the same records, encoded
    # the same way (interned strings, payload references, templates).
    assert _between_header_and_end(out["process"]) == _between_header_and_end(out["thread"])


def _between_header_and_end(blob: bytes) -> bytes:
    up = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=len(blob))
    up.feed(blob)
    offsets = []
    for _ in up:
        offsets.append(up.tell())
    return blob[offsets[0] : offsets[-2]]


def test_a_stalled_writer_process_makes_a_loud_gap_not_a_silent_loss(tmp_path: Path) -> None:
    rec, pid, problems, t = _writing(tmp_path / "stalled.glrec", 1, max_queue_items=5)
    os.kill(pid, signal.SIGSTOP)  # a disk that stopped answering, as the app sees it: nobody empties the ring
    try:
        for i in range(1, 40):
            rec.on_recv(t + i * 1000, _frame(i, pad=200_000))  # 8 MB: more than the ring and the queue hold
    finally:
        os.kill(pid, signal.SIGCONT)
    _wait_for(lambda: rec.stats().queued == 0)
    rec.on_recv(t + 10**6, b'{"serverContent": {"turnComplete": true}}')
    stats = rec.close()
    assert stats.dropped > 0 and stats.error is None
    assert problems and all("not keeping up" in p for p in problems)
    r = read_recording(tmp_path / "stalled.glrec")
    gaps = [x for x in r.records if isinstance(x, Gap)]
    assert len(gaps) == len(problems) and sum(g.dropped for g in gaps) == stats.dropped
    assert len(r.frames) + stats.dropped == 41
    got = [f.msg["serverContent"]["i"] for f in r.frames[:-1]]
    assert got[0] == 0 and got == sorted(got)  # in order, the loss in the middle where the gap says
    assert r.frames[-1].msg == {"serverContent": {"turnComplete": True}}
    assert r.ended_cleanly


def test_a_full_disk_under_the_writer_process_stops_the_recording_loudly(tmp_path: Path) -> None:
    path = tmp_path / "full.glrec"
    rec, pid, problems, t = _writing(path, 3, pad=100)
    limit = path.stat().st_size + 1000  # room for a few more records, then EFBIG: the disk is full for this file
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, limit))
    for i in range(3, 40):
        rec.on_recv(t + i, _frame(i, pad=100))
        time.sleep(0.005)
    stats = rec.close()
    assert stats.error is not None and "File too large" in stats.error
    assert len(problems) == 1 and "File too large" in problems[0]
    r = read_recording(path)
    got = [f.msg["serverContent"]["i"] for f in r.frames]
    assert 3 <= len(got) < 40 and got == list(range(len(got)))  # everything up to the failure, in order
    assert not r.ended_cleanly


def test_a_killed_writer_process_stops_the_recording_loudly_and_keeps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "orphan.glrec"
    rec, pid, problems, t = _writing(path, 5)
    os.kill(pid, signal.SIGKILL)
    for i in range(5, 200):
        rec.on_recv(t + i, _frame(i, pad=10_000))  # more than the ring holds: the recorder finds the writer gone
        time.sleep(0.001)
    stats = rec.close()
    assert stats.error is not None and "writer process ended unexpectedly (signal 9)" in stats.error
    assert len(problems) == 1 and "writer process" in problems[0]
    r = read_recording(path)
    got = [f.msg["serverContent"]["i"] for f in r.frames]
    assert got[:5] == [0, 1, 2, 3, 4] and got == list(range(len(got)))


APP = r"""
import json, sys, time
from pathlib import Path
from tui.recording.writer import _RING_BYTES, Recorder

rec = Recorder(Path(sys.argv[1]), model="m")
print(rec.writer_pid, flush=True)
sys.stdin.readline()  # the test has stopped the writer
for i in range(int(sys.argv[2])):
    rec.on_recv(time.monotonic_ns(), json.dumps({"serverContent": {"i": i}}).encode())
if len(sys.argv) > 3:  # the app forks a helper, which inherits (and holds open) the app's end of the pipe
    import os
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
print("put", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("forked_helper", [False, True], ids=["alone", "with-a-forked-helper"])
def test_records_handed_to_the_writer_survive_a_sigkill_of_the_app(tmp_path: Path, forked_helper: bool) -> None:
    path = tmp_path / "killed.glrec"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-c", APP, str(path), "300"] + (["fork"] if forked_helper else [])
    app = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert app.stdin is not None and app.stdout is not None
    writer = int(app.stdout.readline())
    try:
        os.kill(writer, signal.SIGSTOP)  # so that nothing is written before the app dies: all of it is in the ring
        app.stdin.write("go\n")
        app.stdin.flush()
        assert app.stdout.readline().strip() == "put"
        app.kill()
        app.wait(10)
    finally:
        os.kill(writer, signal.SIGCONT)
    # It sees the app's end of the pipe close (or, when a forked helper still holds it, that its parent is gone),
    # writes the ring out and exits.
    try:
        _wait_for(lambda: _gone(writer))
    finally:
        subprocess.run(["pkill", "-KILL", "-f", str(path)], check=False)  # the helper, if any
    r = read_recording(path)
    assert [f.msg["serverContent"]["i"] for f in r.frames] == list(range(300))
    assert r.truncated_at is None and not r.ended_cleanly  # whole records, and no end: the app never closed it


def test_many_records_of_every_size_arrive_whole_and_in_order(tmp_path: Path) -> None:
    """The ring under load: tens of thousands of frames, tiny to larger than the ring (pieces), landing on every
    offset of a lap, while the child drains concurrently; every byte must come back. (A head stored a byte at a
    time was once read half-written by the child, about once in 50 000 records: this is what would catch it.)"""
    import random

    rng = random.Random(7)
    path = tmp_path / "many.glrec"
    rec = Recorder(path, model="m", max_queue_items=10**6, max_queue_bytes=1 << 30)
    sent: list[bytes] = []
    for i in range(40_000):
        size = rng.choice((0, 1, 7, 60, 300, 2_000, 9_600)) if i % 500 else rng.randrange(300_000, 700_000)
        pad = rng.randbytes(size).hex()[:size]
        data = json.dumps({"serverContent": {"i": i}, "pad": pad}).encode()
        if i % 3:
            rec.on_recv(i, data)
        else:
            rec.on_send(i, data.decode())
        sent.append(data)
        if i % 2000 == 0:
            time.sleep(0.01)  # let the child catch up now and then, so both the ring and the overflow are used
    stats = rec.close()
    assert stats.error is None and stats.dropped == 0
    r = read_recording(path)
    got = [f.data if isinstance(f.data, bytes) else f.data.encode() for f in r.frames]
    assert len(got) == len(sent) and got == sent and r.ended_cleanly


@pytest.mark.parametrize("seed", range(6))
def test_the_ring_gives_back_every_record_whole_and_in_order_under_any_interleaving(seed: int) -> None:
    """The ring's bookkeeping alone (no processes): a producer (``Ring``) and the reader (``take``) interleaved at
    random over a small ring, with records of every size (0 bytes to pieces of records larger than the ring),
    so laps end on every offset, wrap markers and the under-4-byte lap ends included."""
    import mmap
    import random

    rng = random.Random(seed)
    cap = 4096 + rng.randrange(0, 64)
    mm = mmap.mmap(-1, ring._HEADER + cap)
    producer = ring.Ring(mm, cap)
    words = ring._words(mm)
    tail = 0
    pieces: list[bytes] = []
    expected: list[Any] = []
    got: list[Any] = []
    pending: list[tuple[bytes, bool]] = []  # pieces that did not fit yet (the recorder's overflow)

    def drain() -> None:
        nonlocal tail
        items, tail = ring.take(mm, cap, tail, words[ring._H], pieces)
        words[ring._T] = tail
        got.extend(items)

    for i in range(3000):
        if rng.random() < 0.3:
            drain()
        while pending and producer.put(*pending[0]):
            pending.pop(0)
        if pending:
            continue
        kind = rng.random()
        size = rng.choice((0, 1, 2, 3, 5, rng.randrange(0, cap // 4), rng.randrange(cap // 4, cap * 3)))
        if kind < 0.5 and size + 14 + 4 <= cap // 4:
            data: str | bytes = rng.randbytes(size) if rng.random() < 0.5 else "é" * (size // 2)
            code, text, raw = ring.raw_frame("s2c" if i % 2 else "c2s", data)
            if producer.put_raw(code, text, i, raw):
                expected.append(["s2c" if i % 2 else "c2s", i, data])
            continue
        if kind < 0.65 and size + 14 + 4 <= cap // 4:
            pcm = rng.randbytes(size)
            if producer.put_raw(ring.MIC_AUDIO, 0, i, pcm):  # mic audio as the recorder puts it unpacked
                expected.append(["in", i, "audio", {"pcm": pcm, "rate": ring.MIC_RATE}])
            continue
        item = ["in", i, "audio", {"pcm": rng.randbytes(size)}]
        blob = msgpack.packb(item, use_bin_type=True)
        parts = producer.pieces(blob)
        pending = [(p, k < len(parts) - 1) for k, p in enumerate(parts)]
        expected.append(item)
    while pending:
        drain()
        while pending and producer.put(*pending[0]):
            pending.pop(0)
    drain()
    assert got == expected
    assert len(expected) > 1000 and producer.items_put == len(expected)


def test_a_close_that_times_out_on_a_stalled_writer_leaves_no_clean_end(tmp_path: Path) -> None:
    """``close(timeout)`` with the writer stalled and items still waiting in the app: those are counted as dropped
    and the file gets no ``end`` record (a reader says it was cut short), instead of ending cleanly without them."""
    path = tmp_path / "stuck.glrec"
    frames = _RING_BYTES // 100_000 + 10
    rec, pid, _problems, t = _writing(path, 1)
    os.kill(pid, signal.SIGSTOP)
    try:
        for i in range(1, frames):
            rec.on_recv(t + i, _frame(i, pad=100_000))  # more than the ring holds
        stats = rec.close(timeout=0.3)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert stats.dropped > 0
    _wait_for(lambda: _gone(pid))  # it writes out the ring on its own and exits
    r = read_recording(path)
    got = [f.msg["serverContent"]["i"] for f in r.frames]
    assert got == list(range(len(got))) and len(got) + stats.dropped == frames
    assert not r.ended_cleanly and any("no end record" in p for p in r.problems)
