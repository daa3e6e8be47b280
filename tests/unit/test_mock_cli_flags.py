"""``gemini-live mock`` flags map onto MockOptions and FaultPlan exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.errors import UserError
from tui.mock.cli import build_parser, options_from_args
from tui.mock.faults import FaultPlan

ROOT = Path(__file__).resolve().parents[2]


def test_fault_flags_build_the_plan() -> None:
    args = build_parser().parse_args(
        [
            "--goaway-after", "5", "--goaway-time-left", "2", "--drop-after-chunks", "3",
            "--close-code", "1011", "--close-on-message", "4", "--slow-pongs", "1.5", "--no-pongs",
            "--silence-after", "2", "--bursty-audio", "--oversized", "--phantom-interrupted",
            "--fault-sessions", "1", "--repeat-faults", "--fault", "close:1011#4",
        ]
    )  # fmt: skip
    plan = options_from_args(args).faults
    assert plan == FaultPlan(
        go_away_after_s=5,
        go_away_time_left_s=2,
        drop_after_chunks=3,
        close_code=1011,
        close_on_message=4,
        pong_delay_s=1.5,
        no_pongs=True,
        silence_after_s=2,
        bursty_audio=True,
        oversized_bytes=1_200_000,
        phantom_interrupted_after=1,
        repeat=True,
        sessions=1,
    )


def test_plain_flags() -> None:
    args = build_parser().parse_args(
        [
            "--port",
            "8765",
            "--no-tls",
            "--pace",
            "0.5",
            "--seed",
            "7",
            "--require-key",
            "sekrit-key-123",
            "--max-sessions",
            "3",
        ]
    )
    o = options_from_args(args)
    assert (o.host, o.port, o.tls, o.pace, o.seed, o.require_key, o.max_sessions) == (
        "127.0.0.1", 8765, False, 0.5, 7, "sekrit-key-123", 3,
    )  # fmt: skip
    assert o.backend == "demo" and not o.faults.active
    assert "sekrit" not in repr(o)  # the key never shows in logs or reprs


RECORDING = ROOT / "recordings" / "barge-in.glrec"


@pytest.mark.skipif(not RECORDING.is_file(), reason="recordings/barge-in.glrec is not in this tree")
@pytest.mark.parametrize(
    ("flags", "strict", "pacing"),
    [([], True, None), (["--replay-lenient"], False, None), (["--replay-pacing", "realtime"], True, 1.0),
     (["--replay-pacing", "x4"], True, 4.0)],
)  # fmt: skip
def test_replay_flags_reach_the_backend(flags: list[str], strict: bool, pacing: float | None) -> None:
    o = options_from_args(build_parser().parse_args(["--replay", str(RECORDING), *flags]))
    assert o.backend == "replay"
    assert o.backend_options["strict"] is strict
    assert o.backend_options.get("pacing") == pacing
    assert callable(o.backend_options["on_finish"])


def test_bad_replay_pacing_is_a_user_error() -> None:
    with pytest.raises(UserError, match="--replay-pacing"):
        options_from_args(
            build_parser().parse_args(["--replay", str(ROOT / "pyproject.toml"), "--replay-pacing", "x0"])
        )
