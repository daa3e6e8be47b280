"""A streaming band-limited resampler for s16le mono PCM (windowed-sinc, polyphase table), pure numpy.

Used when a device cannot open at the rate the API wants (mic → 16 kHz) or gives (model audio, 24 kHz).

Invariants:
- Streaming is exact: feeding a signal in blocks of any sizes gives the same samples as feeding it whole.
- The output stays band-limited: the low-pass cut-off is 95 % of the lower Nyquist frequency, so downsampling
  does not fold high frequencies back into speech (a 10 kHz tone taken from 48 kHz to 16 kHz is attenuated by
  more than 40 dB); the DC gain of every phase is exactly 1.
- Latency is 16 samples at the lower of the two rates (1 ms at 16 kHz); ``flush()`` returns the tail.
- Not thread-safe: one instance belongs to one consumer (the event loop side, never a PortAudio callback).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt


def _kernel_table(up: int, down: int, half_taps: int) -> npt.NDArray[np.float64]:
    """``table[p, k]``: weight of input sample ``i + k - half_taps + 1`` for an output at ``i + p / up``.

    ``half_taps`` is in input samples; callers widen it by the decimation factor so the filter keeps the same
    sharpness relative to the output rate."""
    cutoff = 0.95 * min(1.0, up / down)  # relative to the input Nyquist frequency
    offsets = np.arange(-half_taps + 1, half_taps + 1, dtype=np.float64)  # k - half_taps + 1
    frac = np.arange(up, dtype=np.float64)[:, None] / up
    d = frac - offsets[None, :]  # distance in input samples from the output instant to each tap
    window = np.where(
        np.abs(d) < half_taps,
        0.42 + 0.5 * np.cos(np.pi * d / half_taps) + 0.08 * np.cos(2 * np.pi * d / half_taps),
        0.0,
    )
    table = cutoff * np.sinc(cutoff * d) * window
    table /= table.sum(axis=1, keepdims=True)
    return table


class Resampler:
    """Converts a stream of s16le mono PCM from ``rate_in`` to ``rate_out`` Hz, block by block."""

    def __init__(self, rate_in: int, rate_out: int, *, half_taps: int = 16) -> None:
        if rate_in <= 0 or rate_out <= 0:
            raise ValueError("sample rates must be positive")
        g = math.gcd(rate_in, rate_out)
        self.rate_in = rate_in
        self.rate_out = rate_out
        self.up = rate_out // g
        self.down = rate_in // g
        # The kernel spans half_taps samples of the slower side, so decimation keeps a sharp low-pass.
        half_taps = math.ceil(half_taps * max(1.0, self.down / self.up))
        self.half_taps = half_taps
        self.passthrough = rate_in == rate_out
        self._table = _kernel_table(self.up, self.down, half_taps) if not self.passthrough else None
        self._taps = np.arange(-half_taps + 1, half_taps + 1)
        self.reset()

    def reset(self) -> None:
        """Forget the stream so far (a new stream starts; e.g. after a flush on interruption)."""
        # The history starts with half_taps zeros so the first outputs have their left taps.
        self._x = np.zeros(self.half_taps, dtype=np.float64)
        self._x0 = -self.half_taps  # absolute input index of self._x[0]
        self._n = 0  # absolute index of the next output sample
        self._odd = b""

    def process(self, pcm: bytes) -> bytes:
        """Resample the next block; returns whatever output samples the input so far fully determines."""
        if self.passthrough:
            return pcm
        pcm = self._odd + pcm
        if len(pcm) % 2:
            self._odd, pcm = pcm[-1:], pcm[:-1]
        else:
            self._odd = b""
        block = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        self._x = np.concatenate((self._x, block))
        return self._emit()

    def flush(self) -> bytes:
        """The tail: outputs up to the end of the input, with zeros after it. Then the stream is reset."""
        if self.passthrough:
            return b""
        self._x = np.concatenate((self._x, np.zeros(self.half_taps, dtype=np.float64)))
        out = self._emit()
        self.reset()
        return out

    def _emit(self) -> bytes:
        assert self._table is not None
        end = self._x0 + len(self._x)  # one past the last input index held
        # Output n sits at input position n*down/up; it needs inputs up to floor(...) + half_taps.
        last_base = end - 1 - self.half_taps  # the largest floor(n*down/up) whose taps are all here
        # floor(n*down/up) <= last_base  <=>  n < (last_base + 1) * up / down
        n_end = max(0, ((last_base + 1) * self.up + self.down - 1) // self.down)
        if n_end <= self._n:
            return b""
        ns = np.arange(self._n, n_end, dtype=np.int64)
        pos = ns * self.down
        base = pos // self.up
        phase = pos % self.up
        idx = (base - self._x0)[:, None] + self._taps[None, :]
        y = np.einsum("ij,ij->i", self._x[idx], self._table[phase])
        self._n = n_end
        # Keep only the inputs the next output can still need.
        next_base = (self._n * self.down) // self.up
        keep_from = next_base - self.half_taps + 1 - self._x0
        if keep_from > 0:
            self._x = self._x[keep_from:]
            self._x0 += keep_from
        out: bytes = np.clip(np.rint(y), -32768, 32767).astype("<i2").tobytes()
        return out
