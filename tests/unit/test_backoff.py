"""Reconnect backoff: doubling, capped, with bounded jitter that is reproducible under a seed and spreads clients."""

from __future__ import annotations

import random

import pytest

from tui.live.session import backoff_delay


def _delays(rng: random.Random, jitter: float = 0.2, n: int = 6) -> list[float]:
    return [backoff_delay(f, initial=0.5, maximum=8.0, jitter=jitter, rng=rng) for f in range(1, n + 1)]


def test_without_jitter_the_delay_doubles_up_to_the_cap() -> None:
    assert _delays(random.Random(1), jitter=0.0) == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_jitter_only_shortens_and_stays_within_its_bound() -> None:
    exact = _delays(random.Random(0), jitter=0.0)
    for seed in range(200):
        for got, cap in zip(_delays(random.Random(seed)), exact, strict=True):
            assert 0.8 * cap <= got <= cap


def test_the_same_seed_gives_the_same_delays_and_different_seeds_spread_out() -> None:
    assert _delays(random.Random(42)) == _delays(random.Random(42))
    first_retry = {round(backoff_delay(1, initial=0.5, maximum=8.0, jitter=0.2, rng=random.Random(s)), 6)
                   for s in range(100)}  # fmt: skip
    # A hundred clients dropped together do not come back in lockstep: their first retries are spread over the band.
    assert len(first_retry) > 90
    assert max(first_retry) - min(first_retry) > 0.08


@pytest.mark.parametrize("jitter", [-1.0, 2.0])
def test_an_out_of_range_jitter_is_clamped(jitter: float) -> None:
    got = backoff_delay(3, initial=0.5, maximum=8.0, jitter=jitter, rng=random.Random(3))
    assert 0.0 <= got <= 2.0
