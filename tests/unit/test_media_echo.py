"""Echo detector and half-duplex gate."""

from __future__ import annotations

from tui.media.echo import ECHO_WARNING, EchoDetector, HalfDuplexGate


def test_echo_of_recent_model_speech_raises_one_warning() -> None:
    d = EchoDetector(window_s=20, min_words=4, threshold=0.6, cooldown_s=30)
    for piece in (" The weather in Par", "is is sunny", " with a high of twenty", " two degrees."):
        d.model_said(piece, now=1.0)
    assert d.user_said(" the weather in", now=2.0) is None  # too few words yet
    notice = d.user_said(" paris is sunny with a high", now=2.5)
    assert notice is not None and notice.level == "warning" and notice.message == ECHO_WARNING
    assert d.user_said(" of twenty two", now=3.0) is None  # cooldown: one warning, not a flood
    assert d.warnings == 1


def test_the_user_talking_about_the_same_topic_is_not_echo() -> None:
    d = EchoDetector()
    d.model_said("The weather in Paris is sunny with a high of twenty two degrees.", now=0.0)
    assert d.user_said("what about the weather in london tomorrow morning", now=1.0, finished=True) is None
    assert d.last_overlap < 0.6


def test_old_model_speech_leaves_the_window() -> None:
    d = EchoDetector(window_s=5)
    d.model_said("one two three four five six", now=0.0)
    assert d.user_said("one two three four five six", now=10.0, finished=True) is None
    d.model_said("seven eight nine ten eleven", now=11.0)
    assert d.user_said(" seven eight nine ten", now=11.5, finished=True) is not None


def test_half_duplex_gate_covers_playback_and_tail() -> None:
    g = HalfDuplexGate(enabled=True, tail_s=0.3)
    assert g.closed(playing=True, last_audible_at=None, now=0.0)
    assert g.closed(playing=False, last_audible_at=1.0, now=1.2)
    assert not g.closed(playing=False, last_audible_at=1.0, now=1.31)
    assert not HalfDuplexGate(enabled=False).closed(playing=True, last_audible_at=1.0, now=1.0)
