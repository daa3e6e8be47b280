"""The writer's template path (frames shaped like an earlier one) writes exactly what the general path writes."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

from tui.recording.format import b64_body_end, b64_decode, b64_decode_bodies, b64_decode_exact, b64_encode
from tui.recording.reader import read_recording
from tui.recording.redact import Redactor
from tui.recording.writer import RecordWriter, make_header

SECRET = "tmpl-" + "secret-value-0042"


def _audio_frame(payload: str, *, key: str = "data", mime: str = "audio/pcm;rate=24000") -> str:
    msg = {"serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType": mime, key: payload}}]}}}
    return json.dumps(msg, separators=(",", ":"))


def _frames(rng: random.Random) -> list[tuple[str, str | bytes, bool]]:
    """(direction, data, holds a secret) for frames of a few shapes: most with ordinary payloads, some with every
    kind of oddity the template path's checks are there for."""
    out: list[tuple[str, str | bytes, bool]] = []

    def pcm(n: int) -> bytes:
        return rng.randbytes(n)

    for i in range(60):
        raw = pcm(4801 if i % 12 == 3 else rng.choice([96, 301, 4802, 9600]))
        payload = base64.b64encode(raw).decode()
        odd = i % 12
        if odd == 1:  # URL-safe flavour
            payload = base64.urlsafe_b64encode(raw).decode()
        elif odd == 2:  # unpadded
            payload = payload.rstrip("=")
        elif odd == 3:  # non-canonical: unused bits set in the last quantum
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            payload = payload[:-3] + alphabet[alphabet.index(payload[-3]) ^ 1] + "=="
        elif odd == 4:  # the secret's bytes inside the audio
            payload = base64.b64encode(raw[:50] + SECRET.encode() + raw[50:]).decode()
        elif odd == 5:  # the secret as text inside the base64 characters
            payload = payload[:40] + SECRET + payload[40 + len(SECRET) :]
        elif odd == 6:  # not base64 at all (long text under "data"), with an escape and non-ASCII
            payload = 'a long \\" quoted text ' + "é" * 70
        elif odd == 7:  # shaped like a credential
            payload = "ya29." + "x" * 80
        text = _audio_frame(payload)
        if odd == 8:
            text = text.replace('"data":', '"data": ')
        out.append(("s2c", text.encode("utf-8") if i % 3 else text, odd in (4, 5, 7)))
        mic = base64.b64encode(pcm(1280)).decode()
        audio = {"realtime_input": {"audio": {"data": mic, "mime_type": "audio/pcm;rate=16000"}}}
        out.append(("c2s", json.dumps(audio), False))
    return out


def _write(path: Path, frames: list[tuple[str, str | bytes, bool]], *, templates: bool, batch: int = 0) -> bytes:
    """The file ``frames`` make: through the template path or not; in batches of ``batch`` prepared together (as
    the recorder's writer thread does) or one by one."""
    header = make_header(model="m", created="2026-01-01T00:00:00Z", extra={"python": "3", "created_unix": 0})
    w = RecordWriter(path, header, Redactor([SECRET]))
    if not templates:
        w._write_like_before = lambda *a: False  # type: ignore[method-assign]
    for t, (direction, data, _) in enumerate(frames):
        if batch and t % batch == 0:
            w.flush()
            w.begin_batch()
            w.prepare_frames([d for _, d, _ in frames[t : t + batch]])
        w.write_frame(t, direction, data)  # type: ignore[arg-type]
    w.flush()
    w.write_end(len(frames))
    w.close()
    return path.read_bytes()


def test_template_path_writes_the_same_bytes_as_the_general_path(tmp_path: Path) -> None:
    frames = _frames(random.Random(7))
    fast = _write(tmp_path / "fast.glrec", frames, templates=True)
    slow = _write(tmp_path / "slow.glrec", frames, templates=False)
    assert fast == slow
    for size in (7, 50, 500):  # payloads decoded together per batch, a bad one among them or not
        assert _write(tmp_path / f"batched{size}.glrec", frames, templates=True, batch=size) == slow
    rec = read_recording(tmp_path / "fast.glrec")
    back = [f.data for f in rec.frames]
    assert len(back) == len(frames)
    redacted = 0
    for (direction, data, secret), got in zip(frames, back, strict=True):
        if secret:
            assert got != data
            text = got if isinstance(got, str) else got.decode()
            assert SECRET not in text and "ya29." + "x" * 80 not in text
            assert "REDACTED" in text or SECRET.encode() not in base64.b64decode(
                json.loads(text)["serverContent"]["modelTurn"]["parts"][0]["inlineData"]["data"]
            )
            redacted += 1
        else:
            assert got == data, direction  # everything else comes back exactly, str as str and bytes as bytes
    assert redacted == 15


def _reference(v: bytes, flavour: str) -> bytes | None:
    """Decode, then accept only when a full re-encoding gives back ``v`` (what the general path checks)."""
    raw = b64_decode(v.decode("ascii"))
    return raw if raw is not None and b64_encode(raw, flavour) == v.decode("ascii") else None


def test_exact_decoding_agrees_with_decoding_and_re_encoding() -> None:
    rng = random.Random(3)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=. \n\x00"
    checked = accepted = 0
    for _ in range(20000):
        raw = rng.randbytes(rng.randrange(0, 40))
        flavour = rng.choice(["u", "s", "un", "sn"])
        v = bytearray(b64_encode(raw, rng.choice(["u", "s", "un", "sn"])).encode())
        for _ in range(rng.choice([0, 0, 1, 2])):  # mutate: a random character anywhere, or one more/less
            what = rng.randrange(3)
            pos = rng.randrange(len(v) + 1)
            if what == 0 and v:
                v[min(pos, len(v) - 1)] = rng.choice(alphabet)
            elif what == 1:
                v.insert(pos, rng.choice(alphabet))
            elif v:
                del v[min(pos, len(v) - 1)]
        got = b64_decode_exact(bytes(v), flavour)
        assert got == _reference(bytes(v), flavour), (bytes(v), flavour)
        # The same with the whole groups decoded beforehand, together with a valid neighbour (the writer's batches).
        whole = bytes(v)[: b64_body_end(bytes(v), 0, len(v))]
        bodies = b64_decode_bodies([whole, b"QUJD"], flavour)
        if bodies is not None:
            assert bodies[1] == b"ABC"
            assert b64_decode_exact(bytes(v), flavour, bodies[0]) == got, (bytes(v), flavour)
        checked += 1
        accepted += got is not None
    assert checked == 20000 and 2000 < accepted < 18000  # both outcomes well exercised
