"""The writer refuses to write when msgpack would pack the format's ext references as plain arrays."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from tui.errors import RecordingError
from tui.recording import format as fmt
from tui.recording import writer


def test_a_second_copy_of_msgpack_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a reloaded msgpack looks like to the packer: an ExtType class that is merely an equal-shaped namedtuple.
    foreign = collections.namedtuple("ExtType", "code data")

    class _Shadow:
        ExtType = foreign

    monkeypatch.setitem(vars(fmt), "msgpack", _Shadow)
    with pytest.raises(RecordingError, match="loaded twice"):
        writer._check_ext_packing()


def test_the_normal_process_passes_the_probe() -> None:
    writer._check_ext_packing()
