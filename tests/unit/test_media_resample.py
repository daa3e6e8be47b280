"""The streaming resampler: rates, band-limiting, block-size independence."""

from __future__ import annotations

import numpy as np
import pytest

from tui.media.resample import Resampler


def tone(freq: float, rate: int, seconds: float = 1.0, amp: float = 16000.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amp * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


def samples(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype="<i2").astype(np.float64)


@pytest.mark.parametrize(("rate_in", "rate_out"), [(48000, 16000), (44100, 16000), (8000, 16000), (16000, 24000)])
def test_tone_keeps_frequency_amplitude_and_length(rate_in: int, rate_out: int) -> None:
    r = Resampler(rate_in, rate_out)
    out = samples(r.process(tone(1000, rate_in)) + r.flush())
    assert len(out) == rate_out  # one second in, one second out
    body = out[200:-200]
    assert np.sqrt(np.mean(body**2)) == pytest.approx(16000 / np.sqrt(2), rel=0.005)
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    peak_hz = np.argmax(spectrum) * rate_out / len(out)
    assert peak_hz == pytest.approx(1000, abs=2)


def test_out_of_band_tone_is_filtered_not_aliased() -> None:
    r = Resampler(48000, 16000)
    out = samples(r.process(tone(10000, 48000)) + r.flush())
    level_db = 20 * np.log10(np.sqrt(np.mean(out[200:-200] ** 2)) / (16000 / np.sqrt(2)))
    assert level_db < -40  # a 10 kHz tone would alias to 6 kHz without the low-pass


def test_block_sizes_do_not_change_the_output() -> None:
    data = tone(440, 44100) + tone(3000, 44100, 0.5)
    whole = Resampler(44100, 16000)
    expected = whole.process(data) + whole.flush()
    rng = np.random.default_rng(7)
    r = Resampler(44100, 16000)
    got, i = b"", 0
    while i < len(data):
        n = int(rng.integers(1, 2000))  # odd byte counts too: a sample may straddle two blocks
        got += r.process(data[i : i + n])
        i += n
    assert got + r.flush() == expected


def test_dc_passes_exactly_and_same_rate_is_passthrough() -> None:
    r = Resampler(48000, 16000)
    out = samples(r.process(np.full(4800, 1234, dtype="<i2").tobytes()))
    assert np.all(out[40:] == 1234)
    same = Resampler(16000, 16000)
    assert same.process(b"\x01\x02\x03\x04") == b"\x01\x02\x03\x04"
    with pytest.raises(ValueError, match="positive"):
        Resampler(0, 16000)
