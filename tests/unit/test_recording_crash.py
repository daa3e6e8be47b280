"""Crash safety and back-pressure: SIGKILL mid-recording, a disk that cannot keep up, a disk that fails."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FULL
from tui.recording.format import Frame, Gap
from tui.recording.reader import read_recording
from tui.recording.writer import Recorder, RecordWriter

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import base64, json, random, sys, time
from pathlib import Path
from tui.recording.writer import Recorder

def frame(i):
    rng = random.Random(i)
    pcm = rng.randbytes(rng.randrange(10, 60000))
    return json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": {
        "mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(pcm).decode()}}]}}, "i": i}).encode()

rec = Recorder(Path(sys.argv[1]), model="m", fsync_interval_s=0.02)
t = time.monotonic_ns()
i = 0
while True:
    rec.on_recv(t + i * 1000, frame(i))
    i += 1
    if i % 10 == 0:
        print(rec.stats().records, flush=True)  # records the writer has handed to the kernel
"""


def _expected(i: int) -> bytes:
    import base64

    rng = random.Random(i)
    pcm = rng.randbytes(rng.randrange(10, 60000))
    msg = {
        "serverContent": {
            "modelTurn": {
                "parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(pcm).decode()}}]
            }
        },
        "i": i,
    }
    return json.dumps(msg).encode()


@pytest.mark.parametrize("seed", range(30 if FULL else 4))
def test_sigkill_at_a_random_point_leaves_a_readable_file(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "killed.glrec"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    confirmed = 0
    lines = rng.randrange(1, 30)
    try:
        for _ in range(lines):
            line = proc.stdout.readline()
            if not line:
                break
            confirmed = int(line)
        time.sleep(rng.random() * 0.05)  # land anywhere, including in the middle of a write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    r = read_recording(path)
    frames = r.frames
    # Everything the writer had handed to the kernel before the last report survived (header included)…
    assert len(frames) + 1 >= confirmed
    # …every record read back is exactly what was recorded, in order…
    for i, f in enumerate(frames):
        assert isinstance(f, Frame)
        assert f.data == _expected(i)
    # …and at most the record being written is lost: the tail after the last whole record is shorter than one.
    if r.truncated_at is not None:
        assert r.size - r.truncated_at < len(_expected(len(frames))) + 64
        assert any("truncated at byte" in p for p in r.problems)
    assert not r.ended_cleanly


def test_a_disk_that_cannot_keep_up_makes_a_loud_gap_not_a_silent_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = RecordWriter.write_frame

    def slow(self: RecordWriter, *a: Any) -> None:
        time.sleep(0.01)
        real(self, *a)

    monkeypatch.setattr(RecordWriter, "write_frame", slow)
    problems: list[str] = []
    rec = Recorder(tmp_path / "slow.glrec", model="m", max_queue_items=5, on_problem=problems.append, writer="thread")
    t = time.monotonic_ns()
    for i in range(60):
        rec.on_recv(t + i * 1000, json.dumps({"serverContent": {"i": i}}).encode())
    deadline = time.monotonic() + 10
    while rec.stats().queued and time.monotonic() < deadline:  # let the slow disk catch up
        time.sleep(0.02)
    rec.on_recv(t + 10**6, b'{"serverContent": {"turnComplete": true}}')
    stats = rec.close()
    assert stats.dropped > 0
    # Each burst of drops is reported once (a loaded machine may split the loss into several bursts)…
    assert problems and all("not keeping up" in p for p in problems)
    r = read_recording(tmp_path / "slow.glrec")
    gaps = [x for x in r.records if isinstance(x, Gap)]
    # …and leaves one gap record where it happened, together accounting for everything dropped.
    assert len(gaps) == len(problems)
    assert sum(g.dropped for g in gaps) == stats.dropped
    assert len(r.frames) + stats.dropped == 61
    assert any("dropped" in p for p in r.problems)  # a reader (and replay) is told the file is incomplete
    assert r.frames[-1].msg == {"serverContent": {"turnComplete": True}}


def test_a_failing_disk_stops_the_recording_loudly_and_keeps_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = RecordWriter._write
    calls = {"n": 0}

    def failing(self: RecordWriter, record: dict[str, Any]) -> None:
        calls["n"] += 1
        if calls["n"] > 6:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, record)

    monkeypatch.setattr(RecordWriter, "_write", failing)
    problems: list[str] = []
    rec = Recorder(tmp_path / "full.glrec", model="m", on_problem=problems.append, writer="thread")
    t = time.monotonic_ns()
    for i in range(20):
        rec.on_recv(t + i, json.dumps({"serverContent": {"i": i}}).encode())
        time.sleep(0.002)
    stats = rec.close()
    assert stats.error is not None and "No space left" in stats.error
    assert problems and "No space left" in problems[0]
    r = read_recording(tmp_path / "full.glrec")
    assert [f.msg["serverContent"]["i"] for f in r.frames] == list(range(5))
    assert any("no end record" in p for p in r.problems)
