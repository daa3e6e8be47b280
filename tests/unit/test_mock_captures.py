"""Honesty check: every client frame that real clients sent to the real Live API passes the mock's validation.

The captures (``/work/shared/data/real-live-captures``) are what google-genai (Python, JS, .NET, Kotlin) and
pydantic-ai really sent, so a frame the mock rejects would be a mock stricter than Google. Client media there is
truncated on purpose (cut to 64 base64 characters by the extraction, or to 44 characters upstream by pydantic-ai's
recorder, which decodes to an odd 33 bytes): such frames may fail, but only on the media ``data`` field, and only when
the file or frame says its audio was truncated. Everything else (structure, casing, field names, mime types) must pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import real_captures_dir
from tui.live import wire
from tui.mock.server import InvalidFrame, parse_client_frame, parse_setup

CAPTURES = real_captures_dir()
FILES = sorted(CAPTURES.glob("*/*.jsonl")) if CAPTURES.is_dir() else []


def _load(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines[0], lines[1:]


@pytest.mark.skipif(not FILES, reason="the real captures are not on this machine (/work/shared/data)")
def test_captures_are_present_in_quantity() -> None:
    assert len(FILES) >= 90  # the README lists 95 sessions; a near-empty glob would make the next test hollow


@pytest.mark.skipif(not FILES, reason="the real captures are not on this machine (/work/shared/data)")
@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem[:60]}")
def test_real_client_frames_pass_validation(path: Path) -> None:
    header, records = _load(path)
    mode = "vertex" if "vertex" in str(header.get("api", "")).lower() else "gemini"
    truncated_upstream = "trunc" in str(header.get("audio", "")).lower()
    client = [r for r in records if r["dir"] == "c2s"]
    assert client, "a capture without client frames"
    setup = parse_setup(json.dumps(client[0]["frame"]))
    assert setup.model
    for index, record in enumerate(client[1:], start=1):
        text = json.dumps(record["frame"])
        problem = ""
        try:
            message = parse_client_frame(text, index=index, mode=mode)  # type: ignore[arg-type]
        except InvalidFrame as exc:
            problem = str(exc)
        if problem:
            truncated = truncated_upstream or bool(record.get("elided"))
            assert truncated and ".data" in problem, f"{path.name} frame {index}: {problem}"
        else:
            assert message.kind == wire.message_kind(record["frame"])


@pytest.mark.skipif(not FILES, reason="the real captures are not on this machine (/work/shared/data)")
def test_most_real_client_frames_validate_fully() -> None:
    passed = failed = 0
    for path in FILES:
        header, records = _load(path)
        mode = "vertex" if "vertex" in str(header.get("api", "")).lower() else "gemini"
        for index, record in enumerate((r for r in records if r["dir"] == "c2s"), start=0):
            text = json.dumps(record["frame"])
            try:
                if index == 0:
                    parse_setup(text)
                else:
                    parse_client_frame(text, index=index, mode=mode)  # type: ignore[arg-type]
                passed += 1
            except InvalidFrame:
                failed += 1
    # 617 client frames; the only failures are pydantic-ai's 33-byte truncated audio snippets (184 at the time).
    assert passed >= 400
    assert failed <= 200
