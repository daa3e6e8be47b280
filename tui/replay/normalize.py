"""Normalising frames for comparison, field-level diffs and media summaries (pure functions).

Two client frames are "the same" when they say the same thing to a Live server, whatever legitimately varies:
- key casing (``realtime_input`` vs ``realtimeInput``, nested snake vs camel): keys are camelised, except inside
  user data (function args and results, JSON schemas), which servers never rename;
- base64 flavour (URL-safe or standard, padded or not): media payloads are compared as bytes;
- secrets: both sides go through the redactor (the recording is already redacted);
- ids the client echoes (tool-call ids): replaced by ``<server-id-N>``, N being the order in which the *server*
  first sent them, so an echo of the right call matches and an echo of the wrong call does not;
- setup frames across SDK versions: ``models/`` prefixes, and ``None`` or empty lists that one version sends and
  another omits.
Media is summarised for people (duration, RMS in dBFS, hash), never shown as base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tui.live import wire
from tui.recording.redact import Redactor

OPAQUE_KEYS: Final = frozenset(
    {"args", "response", "parameters", "parametersJsonSchema", "responseJsonSchema", "responseSchema", "labels"}
)
"""Values kept verbatim (user data), as the mock's ``normalise`` does."""

ID_PATHS: Final = ("functionResponses",)
"""Lists whose items carry an ``id`` the client echoes from the server."""


@dataclass(frozen=True, slots=True)
class Media:
    """A media payload as compared and shown: its size, hash and (for PCM) duration and level."""

    nbytes: int
    sha: str
    mime: str = ""

    def describe(self) -> str:
        return f"<{self.mime or 'bytes'} {self.nbytes} B sha {self.sha[:12]}>"


def _b64(s: str) -> bytes | None:
    t = s.strip().replace("-", "+").replace("_", "/")
    t += "=" * (-len(t) % 4)
    try:
        return base64.b64decode(t, validate=True)
    except (binascii.Error, ValueError):
        return None


def pcm_summary(pcm: bytes, rate: int) -> str:
    """``1.20 s, -23.4 dBFS, sha 1a2b3c4d5e6f`` for s16le mono PCM."""
    n = len(pcm) // 2
    secs = n / rate if rate else 0.0
    if n:
        import array

        samples = array.array("h")
        samples.frombytes(pcm[: n * 2])
        mean_sq = sum(s * s for s in samples) / n
        rms = math.sqrt(mean_sq)
        level = f"{20 * math.log10(rms / 32768):.1f} dBFS" if rms > 0 else "silence"
    else:
        level = "empty"
    return f"{secs:.2f} s, {level}, sha {hashlib.sha256(pcm).hexdigest()[:12]}"


def _rate(mime: str) -> int:
    low = mime.lower().replace(" ", "")
    if "rate=" in low:
        try:
            return int(low.split("rate=", 1)[1].split(";", 1)[0])
        except ValueError:
            return 16000
    return 24000 if "pcm" in low else 16000


def media_summary(data: bytes, mime: str) -> str:
    """A person-readable summary of one payload."""
    if mime.lower().startswith("audio/pcm"):
        return f"audio {len(data)} B ({pcm_summary(data, _rate(mime))})"
    return f"{mime or 'data'} {len(data)} B sha {hashlib.sha256(data).hexdigest()[:12]}"


def normalise(
    msg: Any,
    *,
    redactor: Redactor | None = None,
    ids: Mapping[str, int] | None = None,
) -> Any:
    """The canonical form of one frame's JSON (see the module docstring). Media becomes :class:`Media`."""
    return _norm(msg, None, redactor, ids or {}, "")


def _norm(v: Any, key: str | None, red: Redactor | None, ids: Mapping[str, int], mime: str) -> Any:
    if isinstance(v, dict):
        sibling_mime = v.get("mimeType", v.get("mime_type", mime))
        out: dict[str, Any] = {}
        for k, x in v.items():
            name = wire.to_camel(k) if isinstance(k, str) else k
            if red is not None and isinstance(name, str):
                name = red.text(name)
            if name in OPAQUE_KEYS:
                out[name] = _redact_only(x, red)
            elif name == "id" and isinstance(x, str) and x in ids:
                out[name] = f"<server-id-{ids[x]}>"
            elif name == "model" and isinstance(x, str) and key == "setup":
                out[name] = x.removeprefix("models/")
            elif x is None or (isinstance(x, list) and not x and name not in ("turns", "parts")):
                continue  # one SDK version sends null / [] where another omits the field
            else:
                out[name] = _norm(x, name, red, ids, str(sibling_mime) if isinstance(sibling_mime, str) else "")
        return out
    if isinstance(v, list):
        return [_norm(x, key, red, ids, mime) for x in v]
    if key == "data" and isinstance(v, str | bytes):
        raw = v if isinstance(v, bytes) else _b64(v)
        if raw is not None:
            if red is not None:
                raw = red.data(raw)
            return Media(len(raw), hashlib.sha256(raw).hexdigest(), mime)
    if isinstance(v, str) and red is not None:
        return red.text(v)
    return v


def _redact_only(v: Any, red: Redactor | None) -> Any:
    return red.value(v) if red is not None else v


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One field that differs: its path and the two values, shown (media summarised)."""

    path: str
    recorded: str
    actual: str


_MISSING = object()


def diff(recorded: Any, actual: Any, *, limit: int = 20) -> list[FieldDiff]:
    """Field-level differences between two normalised frames (at most ``limit``)."""
    out: list[FieldDiff] = []
    _diff(recorded, actual, "", out, limit)
    return out


def _show(v: Any) -> str:
    if v is _MISSING:
        return "(absent)"
    if isinstance(v, Media):
        return v.describe()
    text = json.dumps(v, default=lambda o: o.describe() if isinstance(o, Media) else repr(o), ensure_ascii=False)
    return text if len(text) <= 200 else text[:197] + "..."


def _diff(a: Any, b: Any, path: str, out: list[FieldDiff], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            _diff(a.get(k, _MISSING), b.get(k, _MISSING), f"{path}.{k}" if path else str(k), out, limit)
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(FieldDiff(f"{path} (length)", str(len(a)), str(len(b))))
        for i in range(min(len(a), len(b))):
            _diff(a[i], b[i], f"{path}[{i}]", out, limit)
        return
    if a != b:
        out.append(FieldDiff(path or "(frame)", _show(a), _show(b)))


def frame_summary(msg: Any, data: str | bytes | None = None, *, width: int = 160) -> str:
    """One line for a frame in a report: its kind and content with media summarised."""
    if not isinstance(msg, dict):
        raw = data if data is not None else msg
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        text = str(raw)
        return ("(not JSON) " + text)[:width]

    def shrink(v: Any, key: str | None, mime: str) -> Any:
        if isinstance(v, dict):
            m = v.get("mimeType", v.get("mime_type", mime))
            return {k: shrink(x, k, m if isinstance(m, str) else "") for k, x in v.items()}
        if isinstance(v, list):
            return [shrink(x, key, mime) for x in v]
        if key == "data" and isinstance(v, str) and len(v) > 24:
            raw = _b64(v)
            if raw is not None:
                return f"<{media_summary(raw, mime)}>"
        return v

    text = json.dumps(shrink(msg, None, ""), ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 3] + "..."


def kind_of(msg: Any) -> str:
    """The message kind with its most telling sub-field, e.g. ``serverContent.turnComplete``."""
    if not isinstance(msg, dict):
        return "non-JSON"
    kind = wire.message_kind(msg)
    body = wire.pick(msg, kind)
    if kind in ("serverContent", "realtimeInput") and isinstance(body, dict) and body:
        sub = [wire.to_camel(k) for k in body if isinstance(k, str)] or ["?"]
        if kind == "serverContent" and "modelTurn" in sub:
            return "serverContent.modelTurn"
        return f"{kind}.{sub[0]}"
    return kind
