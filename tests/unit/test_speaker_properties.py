"""PlaybackBuffer invariants under random pushes, pulls, interruptions and ends (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.media.playback import PlaybackBuffer

RATE = 24_000

# An operation: ("push", generation offset, ms) | ("pull", frames) | ("interrupt",) | ("end",) | ("wait", ms)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.integers(0, 1), st.integers(1, 250)),
        st.tuples(st.just("pull"), st.sampled_from([120, 240, 480, 1000])),
        st.tuples(st.just("interrupt")),
        st.tuples(st.just("end")),
        st.tuples(st.just("wait"), st.integers(1, 200)),
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(ops, st.sampled_from([0.0, 60.0, 120.0]))
def test_audio_is_conserved_and_never_heard_after_its_cut(operations: list[tuple], prebuffer: float) -> None:  # type: ignore[type-arg]
    buf = PlaybackBuffer(rate=RATE, prebuffer_ms=prebuffer)
    now = 0.0
    gen = 0
    cut = -1
    accepted: dict[int, int] = {}
    heard: dict[int, int] = {}
    dropped_frames = 0
    for op in operations:
        if op[0] == "push":
            g = gen + op[1]  # the current generation, or (rarely) a chunk of the next one already
            frames = int(op[2] * RATE / 1000)
            # Every sample carries its generation (+1, so that silence is 0) so what is heard can be traced.
            if buf.push((np.full(frames, g + 1, dtype="<i2")).tobytes(), g, now):
                accepted[g] = accepted.get(g, 0) + frames
                assert g > cut
            else:
                assert g <= cut  # only chunks of a cut generation are refused
        elif op[0] == "pull":
            out = buf.pull(op[1], now)
            assert len(out) == op[1] * 2
            values = np.frombuffer(out, dtype="<i2")
            for v in np.unique(values[values > 0]):
                g = int(v) - 1
                assert g > cut, "audio of an interrupted generation was heard after the interruption"
                heard[g] = heard.get(g, 0) + int(np.count_nonzero(values == v))
            now += op[1] / RATE
        elif op[0] == "interrupt":
            dropped_frames += round(buf.interrupt(gen) * RATE / 1000)
            cut = max(cut, gen)
            gen += 1
        elif op[0] == "end":
            buf.mark_end(gen)
            gen += 1
        else:
            now += op[1] / 1000
        assert buf.buffered_ms() >= 0
    buffered = round(buf.buffered_ms() * RATE / 1000)
    assert sum(accepted.values()) == sum(heard.values()) + dropped_frames + buffered
    for g, frames in heard.items():
        figures = buf.turn_playback(g)
        assert figures is not None and round(figures.played_ms * RATE / 1000) == frames
