"""The speaker's core (PlaybackBuffer) on a fake clock: pre-buffer, flush on interrupt, late chunks, played ms."""

from __future__ import annotations

import pytest

from tui.media.playback import PlaybackBuffer

RATE = 24_000
BLOCK = 240  # 10 ms


def audio(ms: float, value: int = 1000) -> bytes:
    return value.to_bytes(2, "little", signed=True) * int(ms * RATE / 1000)


def audible_ms(block: bytes) -> float:
    return sum(1 for i in range(0, len(block), 2) if block[i : i + 2] != b"\x00\x00") * 1000 / RATE


def test_playback_waits_the_prebuffer_then_plays_in_order() -> None:
    buf = PlaybackBuffer(rate=RATE, prebuffer_ms=100)
    buf.push(audio(200, 1) + audio(200, 2), 0, now=0.0)
    assert buf.pull(BLOCK, now=0.05) == bytes(BLOCK * 2)  # still inside the pre-buffer: silence
    first = buf.pull(BLOCK, now=0.10)
    assert first == audio(10, 1)
    assert buf.turn_playback(0).start_delay_ms == pytest.approx(100.0)  # type: ignore[union-attr]
    played = first + b"".join(buf.pull(BLOCK, 0.11 + i * 0.01) for i in range(39))
    assert played == audio(200, 1) + audio(200, 2)


def test_complete_generation_starts_at_once_and_drains_without_underrun() -> None:
    buf = PlaybackBuffer(rate=RATE, prebuffer_ms=120)
    buf.push(audio(25), 3, now=1.0)
    buf.mark_end(3)
    out = b"".join(buf.pull(BLOCK, 1.0 + i * 0.01) for i in range(5))
    assert audible_ms(out) == pytest.approx(25.0)
    assert out[: len(audio(25))] == audio(25)  # no pre-buffer wait for a complete reply
    assert buf.underruns == 0
    assert not buf.playing


def test_running_dry_mid_turn_is_an_underrun_and_grows_the_prebuffer() -> None:
    buf = PlaybackBuffer(rate=RATE, prebuffer_ms=60, adapt_step_ms=40, max_prebuffer_ms=120)
    buf.push(audio(30), 0, now=0.0)
    for i in range(6):
        buf.pull(BLOCK, 0.06 + i * 0.01)
    assert buf.underruns == 1
    assert buf.prebuffer_ms == 100
    # The next chunk waits the (grown) pre-buffer again instead of stuttering.
    buf.push(audio(200), 0, now=0.2)
    assert buf.pull(BLOCK, 0.25) == bytes(BLOCK * 2)
    assert audible_ms(buf.pull(BLOCK, 0.30)) == 10.0


def test_interrupt_flushes_on_the_next_pull_and_drops_late_chunks() -> None:
    buf = PlaybackBuffer(rate=RATE, prebuffer_ms=0)
    buf.push(audio(500), 4, now=0.0)
    assert audible_ms(buf.pull(BLOCK, 0.0)) == 10.0
    dropped = buf.interrupt(4)
    assert dropped == pytest.approx(490.0)
    assert buf.pull(BLOCK, 0.01) == bytes(BLOCK * 2)
    assert buf.push(audio(200), 4, now=0.02) is False  # a late chunk of the interrupted generation
    assert buf.push(audio(200), 3, now=0.02) is False  # and of an older one
    assert buf.late_chunks_dropped == 2
    assert buf.pull(BLOCK, 0.03) == bytes(BLOCK * 2)
    assert buf.underruns == 0  # an interruption is not an underrun
    turn = buf.turn_playback(4)
    assert turn is not None and turn.interrupted and turn.played_ms == 10.0 and turn.generated_ms == 500.0


def test_next_generation_after_an_interrupt_plays() -> None:
    buf = PlaybackBuffer(rate=RATE, prebuffer_ms=0)
    buf.push(audio(100), 0, now=0.0)
    buf.pull(BLOCK, 0.0)
    buf.interrupt(0)
    assert buf.push(audio(50, 7), 1, now=0.1)
    buf.mark_end(1)
    out = b"".join(buf.pull(BLOCK, 0.1 + i * 0.01) for i in range(6))
    assert out.startswith(audio(50, 7))
    assert buf.turn_playback(1).played_ms == 50.0  # type: ignore[union-attr]


def test_played_ms_counts_only_what_the_device_took() -> None:
    buf = PlaybackBuffer(rate=RATE, prebuffer_ms=0)
    buf.push(audio(300), 0, now=0.0)
    for i in range(12):
        buf.pull(BLOCK, i * 0.01)
    buf.interrupt(0)
    turn = buf.turn_playback(0)
    assert turn is not None
    assert (turn.generated_ms, turn.played_ms, turn.interrupted) == (300.0, 120.0, True)
    assert buf.turn_playback(99) is None


def test_consecutive_generations_play_back_to_back_and_odd_bytes_are_trimmed() -> None:
    buf = PlaybackBuffer(rate=RATE, prebuffer_ms=0)
    buf.push(audio(10, 1) + b"\x05", 0, now=0.0)  # a torn sample is dropped, not shifted into the next one
    buf.push(audio(10, 2), 1, now=0.0)
    assert buf.pull(BLOCK * 2, 0.0) == audio(10, 1) + audio(10, 2)


def test_memory_is_bounded() -> None:
    buf = PlaybackBuffer(rate=RATE, prebuffer_ms=0, max_buffer_ms=1000)
    for i in range(30):
        buf.push(audio(100, i + 1), 0, now=0.0)
    assert buf.buffered_ms() <= 1000
    assert buf.overflow_frames_dropped == 2000 * RATE // 1000
    assert buf.pull(BLOCK, 0.0) == audio(10, 21)  # the oldest audio went first


def test_finished_turns_are_reported_once_with_their_final_figures() -> None:
    buf = PlaybackBuffer(rate=RATE, prebuffer_ms=0)
    buf.push(audio(20), 0, now=0.0)
    buf.push(audio(20), 1, now=0.0)  # the next turn queued right behind
    buf.mark_end(0)
    buf.pull(BLOCK, 0.0)
    assert buf.take_finished() == []  # turn 0 is still playing
    buf.pull(BLOCK, 0.01)
    buf.pull(BLOCK, 0.02)  # turn 1 started: turn 0 is over
    [t0] = buf.take_finished()
    assert (t0.generation, t0.played_ms, t0.interrupted, t0.done) == (0, 20.0, False, True)
    buf.interrupt(1)
    [t1] = buf.take_finished()
    assert (t1.generation, t1.generated_ms, t1.played_ms, t1.interrupted) == (1, 20.0, 10.0, True)
    assert buf.take_finished() == []
