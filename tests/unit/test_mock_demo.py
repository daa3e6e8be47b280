"""The demo backend's pure parts: the synthetic voice, frame analysis and text parsing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tui.mock.demo import OUT_RATE, _find_city, _find_timezone, analyse_frame, synth_voice


def test_voice_is_deterministic_and_seeded() -> None:
    a = synth_voice("hello there, this is the demo", seed=1)
    assert a.dtype == np.dtype("<i2")
    assert np.array_equal(a, synth_voice("hello there, this is the demo", seed=1))
    assert not np.array_equal(a, synth_voice("hello there, this is the demo", seed=2))


def test_voice_sounds_like_speech() -> None:
    pcm = synth_voice("a sentence of several ordinary words to speak aloud", seed=0).astype(np.float64)
    seconds = len(pcm) / OUT_RATE
    assert 2.0 < seconds < 8.0  # roughly 15 characters per second
    # Pitch: the strongest low-frequency component sits in the 120-200 Hz voice range (harmonics above it).
    spectrum = np.abs(np.fft.rfft(pcm))
    freqs = np.fft.rfftfreq(len(pcm), 1 / OUT_RATE)
    band = (freqs > 60) & (freqs < 260)
    f0 = freqs[band][spectrum[band].argmax()]
    assert 110 <= f0 <= 215
    assert spectrum[(freqs > 300) & (freqs < 1600)].max() > 0.1 * spectrum[band].max()
    # Syllables: loud and quiet 20 ms windows alternate, so level meters move.
    frames = pcm[: len(pcm) // 480 * 480].reshape(-1, 480)
    rms = np.sqrt((frames**2).mean(axis=1))
    assert rms.max() > 5000
    assert (rms < 0.1 * rms.max()).mean() > 0.1
    crossings = np.sum(np.diff((rms > 0.3 * rms.max()).astype(int)) == 1)
    assert crossings >= seconds * 2  # at least ~2 syllable onsets per second


def _image(colour: tuple[int, int, int], size: tuple[int, int], fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((230, 20, 20), "red"),
        ((30, 160, 50), "green"),
        ((30, 60, 230), "blue"),
        ((250, 230, 30), "yellow"),
        ((0, 0, 0), "black"),
        ((255, 255, 255), "white"),
    ],
)
def test_frame_colour_names(rgb: tuple[int, int, int], name: str) -> None:
    info = analyse_frame(_image(rgb, (640, 480)))
    assert (info.width, info.height, info.colour, info.error) == (640, 480, name, None)


def test_frame_brightness_and_png() -> None:
    dark = analyse_frame(_image((20, 20, 20), (100, 50), "PNG"))
    light = analyse_frame(_image((240, 240, 240), (100, 50), "PNG"))
    assert dark.brightness < 0.15 < 0.85 < light.brightness


def test_frame_garbage_is_reported_not_raised() -> None:
    info = analyse_frame(b"\xff\xd8\xff\xe0 truncated")
    assert info.error is not None and "could not decode" in info.error


@pytest.mark.parametrize(
    ("text", "city"),
    [
        ("What's the weather in Paris today?", "Paris"),
        ("weather for New York please", "New York"),
        ("weather in paris please", "Paris"),
        ("weather in San Francisco", "San Francisco"),
        ("how is the weather?", "London"),
        ("weather at the coast", "London"),
    ],
)
def test_city_parsing(text: str, city: str) -> None:
    assert _find_city(text) == city


def test_timezone_parsing() -> None:
    assert _find_timezone("what time is it in Europe/Berlin?") == "Europe/Berlin"
    assert _find_timezone("what time is it?") == "UTC"
