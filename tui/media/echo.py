"""Echo handling without AEC: a half-duplex gate for the mic, and a detector for the model hearing itself.

The detector compares the input transcription (what the server heard on the mic) with the output transcription
of the last ``window_s`` seconds (what the model said). When most of the user's recent word pairs are pairs the
model just spoke, the mic is picking up the speaker: one warning ``Notice`` is raised, then it stays quiet for
``cooldown_s``. Word pairs rather than single words, so "yes, the weather" does not match on "the".

Invariants: pure and clock-driven (callers pass ``now``); bounded (output words older than ``window_s`` are
dropped, at most ``MAX_WORDS`` kept); event-loop only.
"""

from __future__ import annotations

import itertools
import re
from collections import deque

from tui.live.events import Notice

MAX_WORDS = 2000
"""Recent output words kept, whatever the window."""

LAST_INPUT_WORDS = 16
"""Input words judged at each check."""

_WORD = re.compile(r"[\w']+")

ECHO_WARNING = (
    "The mic is picking up the model's own voice (echo), so it may interrupt or answer itself. "
    "Use headphones, or turn on half-duplex (--half-duplex) to mute the mic while the model speaks."
)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


class EchoDetector:
    """Word-pair overlap between the input transcript and the recent output transcript."""

    def __init__(
        self, *, window_s: float = 20.0, min_words: int = 4, threshold: float = 0.6, cooldown_s: float = 30.0
    ) -> None:
        self.window_s = window_s
        self.min_words = min_words
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._out_text: deque[tuple[float, str]] = deque()  # (time, piece) of the output transcript
        self._out_chars = 0
        self._in_text = ""
        self._last_warning: float | None = None
        self.warnings = 0
        self.last_overlap = 0.0
        """The overlap ratio of the latest check (0..1), for a debug view."""

    def model_said(self, text: str, now: float) -> None:
        """A piece of the output transcription (pieces are deltas: they are joined as they come)."""
        if text:
            self._out_text.append((now, text))
            self._out_chars += len(text)
        self._expire(now)

    def _expire(self, now: float) -> None:
        while self._out_text and (now - self._out_text[0][0] > self.window_s or self._out_chars > MAX_WORDS * 8):
            self._out_chars -= len(self._out_text.popleft()[1])

    def user_said(self, text: str, now: float, *, finished: bool = False) -> Notice | None:
        """A piece of the input transcription; returns a warning ``Notice`` when it echoes recent model speech."""
        self._in_text = (self._in_text + text)[-4000:]
        self._expire(now)
        notice = self._check(now)
        if finished:
            self._in_text = ""
        return notice

    def _check(self, now: float) -> Notice | None:
        # Only the latest words: the Gemini API does not always mark input transcripts finished, and an old
        # utterance must not dilute (or carry) the verdict on what the mic hears now.
        user = _words(self._in_text)[-LAST_INPUT_WORDS:]
        if len(user) < self.min_words:
            return None
        model = _words("".join(piece for _, piece in self._out_text))
        if len(model) < 2:
            self.last_overlap = 0.0
            return None
        model_pairs = set(itertools.pairwise(model))
        user_pairs = list(itertools.pairwise(user))
        hits = sum(1 for pair in user_pairs if pair in model_pairs)
        self.last_overlap = hits / len(user_pairs)
        if self.last_overlap < self.threshold:
            return None
        if self._last_warning is not None and now - self._last_warning < self.cooldown_s:
            return None
        self._last_warning = now
        self.warnings += 1
        return Notice("warning", ECHO_WARNING)


class HalfDuplexGate:
    """Closed (mic not sent) while the model's audio is playing and for ``tail_s`` after the last audible block."""

    def __init__(self, *, enabled: bool = False, tail_s: float = 0.3) -> None:
        self.enabled = enabled
        self.tail_s = tail_s
        self.gated_chunks = 0
        """Mic chunks withheld by the gate."""

    def closed(self, *, playing: bool, last_audible_at: float | None, now: float) -> bool:
        if not self.enabled:
            return False
        if playing:
            return True
        return last_audible_at is not None and now - last_audible_at < self.tail_s
