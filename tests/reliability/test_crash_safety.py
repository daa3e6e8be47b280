"""Crash safety of the whole recording client: SIGKILL ``gemini-live --headless --record`` at random points.

The child is the real CLI (offline demo at 5x real time, voice replies, so frames of all sizes stream into the
recorder while it runs). After the kill every file must read back without an exception, with no corruption in the
middle (only a torn tail, which must be the prefix of one single record), segments well formed, and every turn the
client had finished half a second before the kill present in the file. The unit-level version
(``tests/unit/test_recording_crash``) kills a process that only runs a ``Recorder``; this one kills the real client
mid-session. (A record is appended with one ``write()``, which SIGKILL does not tear, so in practice the file ends on
a record boundary here; torn tails, as a power loss leaves them, are covered cut by cut in ``test_reader_fuzz``.)
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgpack
import pytest

from tests.conftest import FULL, wait_for_recording_writers
from tui.recording import ring
from tui.recording.format import Close, Frame, Open, ext_hook
from tui.recording.reader import read_recording

ROOT = Path(__file__).resolve().parents[2]
CASES = 24 if FULL else 3

pytestmark = pytest.mark.timeout(60)

LINES = "".join(f"my name is Person{i}\n" for i in range(300))


def _tail_is_one_record_prefix(tail: bytes) -> bool:
    """True when ``tail`` is an incomplete msgpack object (a record cut short), not a whole one plus more."""
    up = msgpack.Unpacker(raw=False, strict_map_key=False, ext_hook=ext_hook, max_buffer_size=256 << 20)
    up.feed(tail)
    try:
        up.unpack()
    except msgpack.OutOfData:
        return True
    except Exception:
        return False
    return False


@pytest.mark.parametrize("seed", range(CASES))
def test_sigkill_of_the_recording_client_leaves_a_readable_file(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "killed.glrec"
    # Pace 0.2: five times real time, so several turns finish inside the kill window.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GEMINI_TUI_DEMO_PACE": "0.2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "--headless", "--record", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stdin is not None and proc.stdout is not None
    finished: list[float] = []  # when each "model:" line (a finished turn) was read
    try:
        proc.stdin.write(LINES)
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"the client exited early: {proc.stderr.read() if proc.stderr else ''}"
            if line.startswith("status: connected"):
                break
        kill_at = time.monotonic() + rng.uniform(0.0, 4.0)
        os.set_blocking(proc.stdout.fileno(), False)
        while time.monotonic() < kill_at:
            line = proc.stdout.readline()
            if line.startswith("model: "):
                finished.append(time.monotonic())
            elif not line:
                time.sleep(0.005)
        killed_at = time.monotonic()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except BrokenPipeError:
                    pass  # the killed child's end is gone; nothing to flush to

    wait_for_recording_writers(path)  # the killed client's writer process writes out what it was handed
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    rec = read_recording(path)  # never raises on a cut file
    assert not [p for p in rec.problems if "corrupt" in p], rec.problems
    assert not rec.ended_cleanly
    if rec.truncated_at is not None:
        tail = path.read_bytes()[rec.truncated_at :]
        assert _tail_is_one_record_prefix(tail), f"{len(tail)} bytes after the last whole record are not one record"
    # Segments are well formed: an open first, every frame after the open of its segment.
    assert rec.records and isinstance(rec.records[0], Open)
    seg = -1
    for r in rec.records:
        if isinstance(r, Open):
            seg = r.seg
        elif isinstance(r, Frame | Close):
            assert r.seg == seg
    # Every turn the client had finished before the kill is in the file: its frames were in the writer process's
    # hands before the client printed it. (A writer thread dies with the client: there, what had half a second.)
    safe = len(finished) if ring.supported() else sum(1 for t in finished if t < killed_at - 0.5)
    completes = sum(1 for f in rec.frames if f.direction == "s2c" and b"turnComplete" in _raw(f))
    assert completes >= safe


def _raw(f: Frame) -> bytes:
    return f.data if isinstance(f.data, bytes) else f.data.encode()
