"""Redaction of keys and tokens, applied at write time (on by default) and again when replay normalises frames.

What is removed, wherever it appears (header values, URL query strings, any string or key inside a frame, typed
text, the stored config, the description, and raw payload bytes):
- the exact configured secret values (``tui.config.secret_values``) in plain, URL-encoded, JSON-escaped and
  base64 forms;
- secret-bearing headers (``x-goog-api-key``, ``Authorization``, cookies…) and query parameters (``key=``,
  ``access_token=``…);
- things shaped like credentials: Google API keys (``AIza…``), ephemeral tokens (``auth_tokens/…``), OAuth
  access tokens (``ya29.…``) and ``Bearer …`` values.

Shape patterns are never applied inside base64 media payloads (random audio would match ``AIza…`` every few
minutes and be corrupted); exact secret values are checked there too, as text and as decoded bytes.

Pure and thread-safe (immutable after construction): the recorder's writer thread calls it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from tui.recording.format import PreparedFrame, b64_decode, b64_encode, b64_flavour_of, json_style

REDACTED: Final = "REDACTED"

SECRET_HEADERS: Final = frozenset(
    {
        "x-goog-api-key",
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "cookie",
        "set-cookie",
        "x-goog-iam-authorization-token",
        "x-goog-iam-authority-selector",
    }
)
"""Header names (lower case) whose values are always replaced."""

SECRET_QUERY: Final = frozenset(
    {
        "key",
        "api_key",
        "apikey",
        "access_token",
        "token",
        "id_token",
        "refresh_token",
        "auth",
        "client_secret",
        "sig",
        "signature",
        "x-goog-api-key",
    }
)
"""Query parameter names (lower case) whose values are always replaced."""

_SHAPES: Final = re.compile(
    r"(?P<p>[Bb]earer\s+)[0-9A-Za-z._~+/\-]{8,}=*"
    r"|(?P<q>[?&;](?:key|token|api_key|apikey|access_token|id_token|refresh_token|client_secret)=)[^&#\s\"'<>]+"
    r"|AIza[0-9A-Za-z_\-]{35}"
    r"|auth_tokens/[0-9A-Za-z_\-.]+"
    r"|ya29\.[0-9A-Za-z_\-.]+"
)
"""Credential shapes found anywhere in text (the ``Bearer ``/``key=`` prefix is kept, so the text stays readable)."""


_SHAPES_B: Final = re.compile(_SHAPES.pattern.encode("ascii"))
"""``_SHAPES`` for ASCII bytes (only used on base64 text, where ``\\s`` in either form matches nothing)."""


def _shape_sub(m: re.Match[str]) -> str:
    return (m.group("p") or m.group("q") or "") + REDACTED


_TRIGGERS: Final = ("AIza", "auth_tokens/", "ya29.", "earer", "key=", "token=", "secret=")
"""A cheap pre-check (plain substring tests, far faster than a regex over a frame of base64): text without any of
these, and without a configured secret, is returned untouched."""


def _triggered(s: str) -> bool:
    return any(t in s for t in _TRIGGERS)


_MIN_BYTES_SECRET: Final = 8
"""Shorter secrets are not searched for inside raw media bytes (a 4-byte value would match audio by chance)."""


def _forms(secret: str) -> set[str]:
    """The spellings a secret can take in text."""
    raw = secret.encode("utf-8")
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret, safe="/"),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    if len(secret) >= _MIN_BYTES_SECRET:
        for enc in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
            forms.add(enc)
            forms.add(enc.rstrip("="))
    return {f for f in forms if f}


class Redactor:
    """Removes secrets from everything the recorder stores. ``enabled=False`` turns it into the identity."""

    def __init__(self, secrets: Iterable[str] = (), *, enabled: bool = True) -> None:
        self.enabled = enabled
        values = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        forms: set[str] = set()
        for s in values:
            forms |= _forms(s)
        # Longest first, so a secret's URL-encoded form is replaced whole before a shorter form inside it.
        self._forms: tuple[str, ...] = tuple(sorted(forms, key=len, reverse=True))
        self._bytes: tuple[bytes, ...] = tuple(
            sorted({s.encode("utf-8") for s in values if len(s) >= _MIN_BYTES_SECRET}, key=len, reverse=True)
        )
        # The base64 text of a payload holding a secret at any byte offset contains one of these (the characters
        # that depend only on the secret, for each of the three alignments): a cheap trigger for the full check.
        self._b64_cores: tuple[str, ...] = tuple(sorted({c for b in self._bytes for c in _b64_cores(b)}))
        # The forms that can occur inside base64 text (only base64 characters), minus any that contains another
        # (if the longer one is there, so is the shorter): what :meth:`prepared_is_clean` looks for in payloads.
        in_b64 = [f for f in self._forms if _B64_CHARS.fullmatch(f)]
        self._blob_forms: tuple[str, ...] = tuple(f for f in in_b64 if not any(g != f and g in f for g in in_b64))
        self._blob_forms_b: tuple[bytes, ...] = tuple(f.encode("ascii") for f in self._blob_forms)

    # -- plain values -------------------------------------------------------------------------------

    def text(self, s: str) -> str:
        """Redact a piece of free text (patterns and exact values)."""
        if not self.enabled or not s:
            return s
        for form in self._forms:
            if form in s:
                s = s.replace(form, REDACTED)
        if _triggered(s):
            s = _SHAPES.sub(_shape_sub, s)
        return s

    def data(self, b: bytes) -> bytes:
        """Redact raw bytes (exact configured values only: shapes would corrupt media)."""
        if not self.enabled:
            return b
        for secret in self._bytes:
            if secret in b:
                b = b.replace(secret, REDACTED.encode())
        return b

    def url(self, url: str) -> str:
        """Redact credentials in a URL's query string and userinfo, then any remaining secret text."""
        if not self.enabled:
            return url
        try:
            parts = urlsplit(url)
        except ValueError:
            return self.text(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode(
                [(k, REDACTED if k.lower() in SECRET_QUERY else v) for k, v in pairs], safe="/", quote_via=quote
            )
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Redact secret-bearing header values (whole) and secrets in any other header."""
        if not self.enabled:
            return dict(headers)
        out: dict[str, str] = {}
        for name, value in headers.items():
            lname = name.lower()
            if lname in SECRET_HEADERS:
                scheme = value.split(" ", 1)[0] if " " in value and lname.endswith("authorization") else ""
                out[name] = f"{scheme} {REDACTED}" if scheme else REDACTED
            else:
                out[name] = self.text(value)
        return out

    def value(self, v: Any) -> Any:
        """Redact a JSON-like tree: every key and string (shapes skipped inside base64 ``data``), and bytes."""
        if not self.enabled:
            return v
        return self._walk(v, None)

    # -- frames -----------------------------------------------------------------------------------

    def needs_frame_work(self, text: str) -> bool:
        """Cheap test: could this frame text contain anything to redact?"""
        if not self.enabled:
            return False
        return _triggered(text) or any(f in text for f in self._forms) or any(c in text for c in self._b64_cores)

    def prepared_is_clean(self, p: PreparedFrame) -> bool:
        """True when :meth:`frame` would return ``p.data`` unchanged, decided without scanning the payloads as text
        for every pattern: the skeleton is checked like a frame (:meth:`needs_frame_work`) and each spliced-out
        ``data`` value as :meth:`frame` treats base64 there (the exact secret forms that can occur in base64 text,
        a whole value shaped like a credential, the exact secret values in the decoded bytes via ``bytes in``).
        False means "maybe": call :meth:`frame`."""
        if not self.enabled:
            return True
        if not p.blobs:
            return not self.needs_frame_work(p.text)
        if self.needs_frame_work(p.skeleton):
            return False
        return all(self.payload_is_clean(v, b64_decode(v)) for v in p.blobs)

    def payload_is_clean(self, v: str, raw: bytes | None) -> bool:
        """True when :meth:`frame` leaves the base64 ``data`` value ``v`` (decoded: ``raw``) as it is."""
        if not self.enabled:
            return True
        pad = v.find("=")
        if raw is None or (pad >= 0 and v[pad:].strip("=")):
            return False  # not plain base64: frame() may treat it as text
        if any(f in v for f in self._blob_forms) or _SHAPES.fullmatch(v):
            return False
        return not any(secret in raw for secret in self._bytes)

    def payload_bytes_is_clean(self, v: bytes, raw: bytes) -> bool:
        """:meth:`payload_is_clean` for a value given as its ASCII bytes ``v`` that decoded strictly to ``raw``
        (so ``v`` holds only base64 characters, where the bytes and text forms of each check agree)."""
        if not self.enabled:
            return True
        pad = v.find(b"=")
        if pad >= 0 and v[pad:].strip(b"="):
            return False
        if any(f in v for f in self._blob_forms_b) or _SHAPES_B.fullmatch(v):
            return False
        return not any(secret in raw for secret in self._bytes)

    def frame(self, data: str | bytes) -> str | bytes:
        """Redact one websocket frame, keeping its JSON shape (and so its re-encodability) where possible."""
        if not self.enabled:
            return data
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError:
            return self.data(data) if isinstance(data, bytes) else data
        if not self.needs_frame_work(text):
            return data
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        out_text: str | None = None
        if isinstance(obj, dict):
            style = json_style(obj, text)
            if style is not None:
                clean = self._walk(obj, None)
                out_text = text if clean == obj else json.dumps(clean, **style)
        if out_text is None:
            out_text = self.text(text)
        return out_text.encode("utf-8") if isinstance(data, bytes) else out_text

    def _walk(self, v: Any, key: str | None) -> Any:
        if isinstance(v, dict):
            return {(self.text(k) if isinstance(k, str) else k): self._walk(x, k) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [self._walk(x, key) for x in v]
        if isinstance(v, bytes):
            return self.data(v)
        if isinstance(v, str):
            if key == "data" and len(v) >= 16 and _looks_b64(v):
                return self._blob_text(v)
            return self.text(v)
        return v

    def _blob_text(self, v: str) -> str:
        """A base64 payload: exact secrets as text, secret-shaped whole values, and secrets in the decoded bytes."""
        for form in self._forms:
            if form in v:
                v = v.replace(form, REDACTED)
        if _SHAPES.fullmatch(v):
            return REDACTED
        if self._bytes:
            flavour = b64_flavour_of(v)
            if flavour is not None:
                raw = _decode(v)
                if raw is not None:
                    clean = self.data(raw)
                    if clean != raw:
                        return b64_encode(clean, flavour)
        return v


def _b64_cores(secret: bytes) -> set[str]:
    cores: set[str] = set()
    for align in range(3):
        enc = base64.b64encode(bytes(align) + secret + bytes(3)).decode()
        first = 4 if align else 0  # the first group mixes in bytes before the secret
        last = (align + len(secret)) // 3 * 4  # groups after this mix in bytes after it
        core = enc[first:last]
        if len(core) >= 8:
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))
    return cores


_B64_CHARS: Final = re.compile(r"[A-Za-z0-9+/_\-]+=*")


def _looks_b64(v: str) -> bool:
    return bool(_B64_CHARS.fullmatch(v))


def _decode(v: str) -> bytes | None:
    t = v.replace("-", "+").replace("_", "/")
    t += "=" * (-len(t) % 4)
    try:
        return base64.b64decode(t, validate=True)
    except ValueError:
        return None
