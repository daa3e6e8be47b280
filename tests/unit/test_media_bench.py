"""tools/bench_audio.py keeps running, and its fake-clock figures keep the speaker's promises (no wall clock here)."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_audio", ROOT / "tools" / "bench_audio.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_audio"] = module
    spec.loader.exec_module(module)
    return module


def test_interrupt_tail_is_at_most_one_device_block() -> None:
    bench = load_bench()
    r = bench.bench_interrupt(40, 10.0, random.Random(3))
    assert max(r.heard_after_ms) <= 10.0
    assert max(r.pulled_after_ms) == 0.0  # nothing is pulled from the buffer after the flush
    assert r.late_dropped >= 40 * 3  # every chunk of the cut generation arriving after it was discarded


def test_bursty_run_reports_latency_and_the_script_prints() -> None:
    bench = load_bench()
    r = bench.bench_bursty("fast+gaps", 120.0, 5, 10.0, 1, adaptive=False)
    assert r.turns == 5 and len(r.latency_ms) == 5
    assert all(120.0 <= lat <= 130.0 for lat in r.latency_ms)  # the pre-buffer plus at most one block
    assert bench.main(["--turns", "2", "--trials", "3"]) == 0
