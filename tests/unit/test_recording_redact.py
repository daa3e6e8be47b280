"""Redaction at write time: a fake key in every form it can take never reaches the file."""

from __future__ import annotations

import base64
import json
import random
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tui.config import Settings
from tui.recording.format import Frame, Input, Open
from tui.recording.reader import read_recording
from tui.recording.redact import REDACTED, Redactor
from tui.recording.writer import Recorder

FAKE_KEY = "AIza" + "SyFAKE-key_0123456789abcdefghijklmno"
"""Shaped like a Google API key (AIza + 35), with URL-unsafe-looking characters."""
ODD_KEY = 's3cr3t/with+odd=chars&"quote'
"""A configured value with no recognisable shape: only exact matching can find it."""
TOKEN = "auth_tokens/ephemeral-0123456789"
OAUTH = "ya29.a0AfH6SMBfakeoauthtoken_0123456789"


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [
        raw,
        quote(secret, safe="").encode(),
        json.dumps(secret)[1:-1].encode(),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw),
        base64.b64encode(raw).rstrip(b"="),
    ]


def _record_everything(path: Path, *, redact: bool = True) -> None:
    rec = Recorder(
        path,
        model="models/m",
        config={"api_key_echo": FAKE_KEY, "nested": {"list": [ODD_KEY]}, FAKE_KEY: "as a key"},
        description=f"made with {FAKE_KEY} and {ODD_KEY}",
        secrets=(FAKE_KEY, ODD_KEY),
        redact=redact,
    )
    t = time.monotonic_ns()
    rec.on_open(
        t,
        f"wss://host/ws/x?key={quote(FAKE_KEY, safe='')}&access_token={OAUTH}&alt=sse&other={quote(ODD_KEY, safe='')}",
        {
            "x-goog-api-key": FAKE_KEY,
            "Authorization": f"Bearer {OAUTH}",
            "X-Other": f"Token {TOKEN}",
            "user-agent": "google-genai-sdk/3.4.0",
        },
    )
    pcm = bytes(200) + FAKE_KEY.encode() + bytes(200)  # the key's bytes inside a media payload
    rec.on_input(t, "audio", {"pcm": pcm, "rate": 16000})
    rec.on_input(t, "text", {"text": f"my key is {FAKE_KEY}, token {TOKEN}, other {ODD_KEY}"})
    frames: list[str | bytes] = [
        json.dumps({"setup": {"model": "models/m", "systemInstruction": {"parts": [{"text": f"key={FAKE_KEY}"}]}}}),
        json.dumps({"realtime_input": {"audio": {"data": base64.urlsafe_b64encode(pcm).decode()}}}),
        json.dumps({"client_content": {"turns": [{"parts": [{"text": f"use {ODD_KEY} and {OAUTH}"}]}]}}),
        json.dumps({"tool_response": {"functionResponses": [{"id": "1", "response": {FAKE_KEY: TOKEN}}]}}),
        json.dumps({"x": {"data": FAKE_KEY}}),  # the key itself where base64 media would be
        json.dumps({"x": {"data": base64.b64encode(FAKE_KEY.encode()).decode()}}),
        json.dumps({"x": {"data": base64.b64encode(ODD_KEY.encode() * 3).decode()}}),
        f"not json: {FAKE_KEY} {ODD_KEY}".encode(),
        json.dumps({"url": f"https://h/p?key={FAKE_KEY}", "h": f"Bearer {OAUTH}"}, separators=(",", ":")),
    ]
    for f in frames:
        rec.on_send(t, f)
    rec.on_recv(t, json.dumps({"serverContent": {"outputTranscription": {"text": f"you said {FAKE_KEY}"}}}).encode())
    rec.on_close(t, 1008, f"bad key {FAKE_KEY}")
    assert rec.close().error is None


def test_no_secret_in_any_form_reaches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.glrec"
    _record_everything(path)
    blob = path.read_bytes()
    for secret in (FAKE_KEY, ODD_KEY, TOKEN, OAUTH):
        for form in _forms(secret):
            assert form not in blob, (secret, form)
    # Nothing was lost but the secrets: the session still reads back whole and says where it redacted.
    r = read_recording(path)
    assert r.problems == []
    assert r.header.redacted
    assert REDACTED in r.header.description
    opened = next(x for x in r.records if isinstance(x, Open))
    assert opened.headers["x-goog-api-key"] == REDACTED
    assert opened.headers["Authorization"] == f"Bearer {REDACTED}"
    assert opened.headers["user-agent"] == "google-genai-sdk/3.4.0"
    assert "alt=sse" in opened.url
    assert "key=REDACTED" in opened.url
    typed = next(x for x in r.records if isinstance(x, Input) and x.kind == "text")
    assert typed.data["text"] == f"my key is {REDACTED}, token {REDACTED}, other {REDACTED}"
    assert len(r.frames) == 10


def test_redaction_off_keeps_the_key_which_proves_the_test_can_fail(tmp_path: Path) -> None:
    path = tmp_path / "plain.glrec"
    _record_everything(path, redact=False)
    assert FAKE_KEY.encode() in path.read_bytes()
    assert not read_recording(path).header.redacted


def test_settings_secrets_are_redacted_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", FAKE_KEY)
    settings = Settings()
    assert settings.recording.redact
    rec = Recorder.for_settings(settings, path=tmp_path / "s.glrec", description=f"k={FAKE_KEY}")
    rec.on_send(time.monotonic_ns(), json.dumps({"client_content": {"turns": [{"parts": [{"text": FAKE_KEY}]}]}}))
    rec.close()
    blob = (tmp_path / "s.glrec").read_bytes()
    assert FAKE_KEY.encode() not in blob
    assert b"api_key" not in blob  # the secret fields of the settings are not even named in the header


def test_media_that_happens_to_look_like_a_key_is_left_alone() -> None:
    """Random audio contains ``AIza…``-shaped runs in its base64; shape patterns must not corrupt it."""
    rng = random.Random(3)
    red = Redactor([FAKE_KEY])
    shaped = "AIza" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(35))
    for _ in range(50):
        b64 = base64.urlsafe_b64encode(rng.randbytes(3000)).decode()
        cut = rng.randrange(0, len(b64) - 100) // 4 * 4
        b64 = b64[:cut] + shaped + b64[cut + len(shaped) :]
        frame = json.dumps({"realtime_input": {"audio": {"data": b64, "mime_type": "audio/pcm;rate=16000"}}})
        assert red.frame(frame) == frame
    # …while the same shape in text is caught.
    assert red.text(f"key {shaped}") == f"key {REDACTED}"


def test_recorded_frames_still_decode_after_redaction(tmp_path: Path) -> None:
    path = tmp_path / "r.glrec"
    _record_everything(path)
    frames = [f for f in read_recording(path).frames if isinstance(f, Frame)]
    assert all(f.msg is not None for f in frames[:7])
    audio = frames[1].msg["realtime_input"]["audio"]["data"]
    assert base64.urlsafe_b64decode(audio) == bytes(200) + REDACTED.encode() + bytes(200)


def test_record_into_a_folder_makes_a_fresh_file_there(tmp_path: Path) -> None:
    settings = Settings(recording={"enabled": True, "path": tmp_path})
    first = Recorder.for_settings(settings)
    second = Recorder.for_settings(settings)
    first.close()
    second.close()
    assert first.path.parent == tmp_path and second.path.parent == tmp_path
    assert first.path != second.path and first.path.suffix == ".glrec"
