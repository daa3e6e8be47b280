"""The speaker's core: a jitter buffer for the model's bursty audio, with flush-on-interrupt, driven by a clock.

The device shell (``tui.media.audio.Speaker``) pulls small blocks from here in its PortAudio callback; the event
loop pushes the model's chunks and interruptions. A benchmark or a test drives the same class with a fake clock.

Jitter logic (see ``anchors-clients.md`` §3.6, §4.2 and §5.1): the real server sends 100–240 ms chunks in bursts
with 150–180 ms gaps. Playback of a generation starts ``prebuffer_ms`` after its first chunk arrives (a delay in
time, not an amount of audio: a stream paced near real time needs time to absorb a late chunk, however big the
first chunk was) or at once when the generation is known to be complete. Running dry before the generation is
complete is an underrun: it is counted, playback waits ``prebuffer_ms`` again, and the pre-buffer grows by
``adapt_step_ms`` (up to ``max_prebuffer_ms``); each generation that plays out cleanly shrinks it back towards
the configured value.

Invariants and threading:
- ``push``, ``interrupt``, ``mark_end`` and the read-outs run on the event loop; ``pull`` runs on the audio thread.
  One ``threading.Lock`` guards all state; every critical section is short and bounded (no I/O, no logging, no
  waits), so the audio callback never blocks for longer than a push of one chunk.
- ``interrupt(g)`` drops everything buffered at once; the next ``pull`` returns silence, so at most the block
  already handed to the device (≤ one device block, 10 ms by default) is heard after it. Chunks of generation
  ``g`` or older that arrive later are discarded and counted.
- Memory is bounded: at most ``max_buffer_ms`` of audio is held (the oldest is dropped past it and counted), and
  per-generation statistics keep the last ``HISTORY`` generations.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

HISTORY = 256
"""Generations whose played/generated figures are kept."""


@dataclass(frozen=True, slots=True)
class TurnPlayback:
    """How much of one model generation was received and how much was actually heard."""

    generation: int
    generated_ms: float
    """Audio received for this generation (after late-chunk discards)."""
    played_ms: float
    """Audio handed to the device: the part of the turn the user heard."""
    interrupted: bool
    start_delay_ms: float | None
    """Time from the first chunk's arrival to the start of its playback (the jitter buffer's added latency)."""
    done: bool = False
    """True once nothing more of it will play (played out after its end, or interrupted)."""


@dataclass(slots=True)
class _Turn:
    generated: int = 0
    played: int = 0
    interrupted: bool = False
    start_delay_s: float | None = None
    done: bool = False


class PlaybackBuffer:
    """A jitter buffer of s16le mono PCM at ``rate`` Hz, tagged by generation. See the module docstring."""

    def __init__(
        self,
        *,
        rate: int = 24_000,
        prebuffer_ms: float = 140.0,
        max_prebuffer_ms: float = 300.0,
        adapt_step_ms: float = 40.0,
        max_buffer_ms: float = 120_000.0,
    ) -> None:
        self.rate = rate
        self.base_prebuffer_ms = prebuffer_ms
        self.prebuffer_ms = prebuffer_ms
        self.max_prebuffer_ms = max(max_prebuffer_ms, prebuffer_ms)
        self.adapt_step_ms = adapt_step_ms
        self._max_frames = int(max_buffer_ms * rate / 1000)
        self._lock = threading.Lock()
        self._segments: deque[list[object]] = deque()  # [generation, bytes, byte offset]
        self._frames = 0
        self._playing = False
        self._wait_since: float | None = None
        self._cut_generation = -1
        self._ended_generation = -1
        self._current_generation: int | None = None
        self._turns: OrderedDict[int, _Turn] = OrderedDict()
        self._finished: deque[int] = deque(maxlen=HISTORY)  # generations done since the last take_finished()
        self.underruns = 0
        """Times playback ran dry before its generation was complete."""
        self.late_chunks_dropped = 0
        """Chunks of an interrupted (or older) generation that arrived after the interruption."""
        self.overflow_frames_dropped = 0
        """Frames dropped because more than ``max_buffer_ms`` was queued."""

    # ---------------------------------------------------------------------------------- event loop side

    def _turn(self, generation: int) -> _Turn:
        turn = self._turns.get(generation)
        if turn is None:
            turn = self._turns[generation] = _Turn()
            while len(self._turns) > HISTORY:
                self._turns.popitem(last=False)
        return turn

    def push(self, pcm: bytes, generation: int, now: float) -> bool:
        """Queue a chunk of ``generation`` that arrived at ``now``. False when it was discarded as late."""
        if len(pcm) % 2:
            pcm = pcm[:-1]
        if not pcm:
            return True
        with self._lock:
            if generation <= self._cut_generation:
                self.late_chunks_dropped += 1
                return False
            frames = len(pcm) // 2
            self._segments.append([generation, pcm, 0])
            self._frames += frames
            self._turn(generation).generated += frames
            if not self._playing and self._wait_since is None:
                self._wait_since = now
            while self._frames > self._max_frames and self._segments:
                self._drop_oldest_locked()
            return True

    def _drop_oldest_locked(self) -> None:
        seg = self._segments.popleft()
        data = seg[1]
        assert isinstance(data, bytes)
        offset = seg[2]
        assert isinstance(offset, int)
        dropped = (len(data) - offset) // 2
        self._frames -= dropped
        self.overflow_frames_dropped += dropped

    def interrupt(self, generation: int) -> float:
        """Drop all buffered audio now and discard later chunks of ``generation`` or older. Returns ms dropped."""
        with self._lock:
            dropped = self._frames
            for seg in self._segments:
                gen = seg[0]
                assert isinstance(gen, int)
                if gen in self._turns:
                    self._turns[gen].interrupted = True
            self._segments.clear()
            self._frames = 0
            self._cut_generation = max(self._cut_generation, generation)
            self._turn(generation).interrupted = True
            for gen, turn in self._turns.items():
                if gen <= generation and not turn.done:
                    self._finish_locked(gen)
            self._playing = False
            self._wait_since = None
            return dropped * 1000.0 / self.rate

    def mark_end(self, generation: int) -> None:
        """No more audio will come for ``generation`` (generationComplete / turnComplete): play out, no underrun."""
        with self._lock:
            self._ended_generation = max(self._ended_generation, generation)

    def buffered_ms(self) -> float:
        with self._lock:
            return self._frames * 1000.0 / self.rate

    @property
    def playing(self) -> bool:
        return self._playing

    def turn_playback(self, generation: int) -> TurnPlayback | None:
        """Generated vs played figures of ``generation`` (None when unknown or too old)."""
        with self._lock:
            return self._playback_locked(generation)

    def _playback_locked(self, generation: int) -> TurnPlayback | None:
        turn = self._turns.get(generation)
        if turn is None:
            return None
        return TurnPlayback(
            generation,
            turn.generated * 1000.0 / self.rate,
            turn.played * 1000.0 / self.rate,
            turn.interrupted,
            None if turn.start_delay_s is None else turn.start_delay_s * 1000.0,
            turn.done,
        )

    def take_finished(self) -> list[TurnPlayback]:
        """Final figures of the generations that finished playing (or were cut) since the last call."""
        with self._lock:
            out = [p for gen in self._finished if (p := self._playback_locked(gen)) is not None]
            self._finished.clear()
            return out

    def _finish_locked(self, generation: int) -> None:
        turn = self._turns.get(generation)
        if turn is not None and not turn.done:
            turn.done = True
            self._finished.append(generation)

    # ---------------------------------------------------------------------------------- audio thread side

    def pull(self, frames: int, now: float) -> bytes:
        """Exactly ``frames`` frames for the device at ``now``: buffered audio, padded with silence."""
        want = frames * 2
        with self._lock:
            if not self._playing:
                if not self._segments or self._wait_since is None:
                    return bytes(want)
                first_gen = self._segments[0][0]
                last_gen = self._segments[-1][0]
                assert isinstance(first_gen, int) and isinstance(last_gen, int)
                complete = last_gen <= self._ended_generation
                if not complete and now - self._wait_since < self.prebuffer_ms / 1000.0 - 1e-9:
                    return bytes(want)
                self._playing = True
                first = self._turns.get(first_gen)
                if first is not None and first.start_delay_s is None:
                    first.start_delay_s = now - self._wait_since
                self._wait_since = None
            parts: list[bytes] = []
            got = 0
            while got < want and self._segments:
                seg = self._segments[0]
                gen, data, offset = seg
                assert isinstance(gen, int) and isinstance(data, bytes) and isinstance(offset, int)
                take = min(want - got, len(data) - offset)
                parts.append(data[offset : offset + take])
                got += take
                # Made by push (no allocation here); gone only if more than HISTORY turns were queued at once.
                playing = self._turns.get(gen)
                if playing is not None:
                    playing.played += take // 2
                previous = self._current_generation
                if previous is not None and previous != gen and previous <= self._ended_generation:
                    self._finish_locked(previous)  # the next turn followed without a gap
                self._current_generation = gen
                if offset + take >= len(data):
                    self._segments.popleft()
                else:
                    seg[2] = offset + take
            self._frames -= got // 2
            gen = self._current_generation
            ended = gen is not None and gen <= self._ended_generation
            if got < want or (ended and not self._segments):
                self._playing = False
                self._wait_since = None
                if ended:
                    # The turn played out: a clean end, not an underrun. Relax an earlier adaptation a little.
                    assert gen is not None
                    self._finish_locked(gen)
                    self.prebuffer_ms = max(self.base_prebuffer_ms, self.prebuffer_ms - self.adapt_step_ms / 4)
                else:
                    self.underruns += 1
                    self.prebuffer_ms = min(self.max_prebuffer_ms, self.prebuffer_ms + self.adapt_step_ms)
            if got < want:
                parts.append(bytes(want - got))
            return b"".join(parts)
