"""dBFS maths and the LevelMeter: exact numbers against known signals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui.media.levels import SILENCE_DBFS, LevelMeter, block_levels, to_dbfs


def pcm(samples: np.ndarray) -> bytes:
    return np.asarray(samples).astype("<i2").tobytes()


def sine(amplitude: float, n: int = 16000, freq: float = 1000.0, rate: int = 16000) -> bytes:
    t = np.arange(n) / rate
    return pcm(np.round(amplitude * np.sin(2 * np.pi * freq * t)))  # 16 samples a cycle: the crest is sampled


def test_full_scale_sine_is_minus_3_01_dbfs_rms() -> None:
    rms, peak = block_levels(sine(32767))
    assert rms == pytest.approx(-3.0103, abs=0.005)
    assert peak == pytest.approx(20 * math.log10(32767 / 32768), abs=1e-4)


def test_full_scale_square_is_0_dbfs_and_min_sample_is_0_dbfs_peak() -> None:
    square = pcm(np.array([-32768, 32767] * 400))
    rms, peak = block_levels(square)
    assert rms == pytest.approx(0.0, abs=0.001)
    assert peak == 0.0


def test_half_scale_sine_is_6_02_db_lower() -> None:
    full, _ = block_levels(sine(32767))
    half, half_peak = block_levels(sine(16384))
    assert full - half == pytest.approx(6.0206, abs=0.01)
    assert half_peak == pytest.approx(-6.0206, abs=0.01)


def test_silence_empty_and_odd_blocks_give_the_floor_not_nan() -> None:
    assert block_levels(bytes(640)) == (SILENCE_DBFS, SILENCE_DBFS)
    assert block_levels(b"") == (SILENCE_DBFS, SILENCE_DBFS)
    assert block_levels(b"\x01") == (SILENCE_DBFS, SILENCE_DBFS)
    rms, peak = block_levels(pcm(np.array([1000])) + b"\x7f")  # trailing odd byte ignored
    assert rms == pytest.approx(20 * math.log10(1000 / 32768), abs=1e-4)
    assert peak == rms
    assert to_dbfs(float("nan")) == SILENCE_DBFS


def test_one_lsb_is_about_minus_90_dbfs() -> None:
    rms, _ = block_levels(pcm(np.ones(100)))
    assert rms == pytest.approx(-90.309, abs=0.001)


def test_meter_attack_is_instant_and_decay_follows_the_rate() -> None:
    m = LevelMeter(decay_db_per_s=30.0)
    m.update(-10.0, -5.0, now=1.0)
    assert m.read(1.0).level_dbfs == -10.0
    assert m.read(1.5).level_dbfs == pytest.approx(-25.0)
    m.update(-40.0, -40.0, now=1.5)  # quieter block: the displayed level keeps falling, not jumping down
    assert m.read(1.5).level_dbfs == pytest.approx(-25.0)
    m.update(-3.0, -1.0, now=1.6)
    assert m.read(1.6).level_dbfs == -3.0


def test_peak_holds_then_falls() -> None:
    m = LevelMeter(peak_hold_s=1.0, peak_fall_db_per_s=20.0)
    m.update(-20.0, -6.0, now=0.0)
    m.update(-30.0, -30.0, now=0.5)
    assert m.read(0.9).peak_dbfs == -6.0
    assert m.read(1.0).peak_dbfs == -6.0
    assert m.read(1.5).peak_dbfs == pytest.approx(-16.0)
    m.update(-10.0, -3.0, now=1.5)
    assert m.read(1.5).peak_dbfs == -3.0


def test_speaking_threshold_with_hangover() -> None:
    m = LevelMeter(speaking_threshold_dbfs=-45.0, hangover_s=0.3)
    m.update(-50.0, -40.0, now=0.0)
    assert not m.read(0.0).speaking
    m.update(-30.0, -20.0, now=1.0)
    assert m.read(1.0).speaking
    m.update(-70.0, -60.0, now=1.1)
    assert m.read(1.25).speaking  # within the hangover
    assert not m.read(1.31).speaking
    m.reset()
    assert m.read(2.0) == m.read(2.0) and not m.read(2.0).speaking and m.read(2.0).level_dbfs == SILENCE_DBFS
