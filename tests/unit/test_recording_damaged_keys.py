"""Damage that decodes to a frame with non-string keys is reported as corruption, never a crash downstream."""

from __future__ import annotations

import pytest

from tui.recording.reader import _check_json_keys
from tui.replay.normalize import kind_of


def test_non_string_key_anywhere_in_a_frame_is_corruption() -> None:
    _check_json_keys({"serverContent": {"modelTurn": {"parts": [{"text": "ok"}]}}})
    with pytest.raises(ValueError, match="non-string key 7"):
        _check_json_keys({"serverContent": {"modelTurn": {"parts": [{7: "x"}]}}})


def test_kind_of_survives_a_map_with_numeric_keys() -> None:
    assert kind_of({"serverContent": {1: True}}) == "serverContent.?"
    assert kind_of({"serverContent": {1: True, "turnComplete": True}}) == "serverContent.turnComplete"
