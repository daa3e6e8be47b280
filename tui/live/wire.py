"""Pure helpers for the Live API wire format, shared by the mock server, the recorder and replay.

The SDK sends mixed casing (``setup`` and ``contextUpdate`` camelCase; ``client_content``, ``realtime_input`` and
``tool_response`` snake_case; nested keys either way) and URL-safe base64 (``live-protocol.md`` §4.7). Real
servers parse proto3 JSON, which accepts both spellings of every field, so everything here does too.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Mapping
from typing import Any, Final

CLIENT_KINDS: Final = ("setup", "clientContent", "realtimeInput", "toolResponse", "contextUpdate")
"""Top-level client message kinds, camelCase."""

SERVER_KINDS: Final = (
    "setupComplete",
    "serverContent",
    "toolCall",
    "toolCallCancellation",
    "usageMetadata",
    "goAway",
    "sessionResumptionUpdate",
    "voiceActivityDetectionSignal",
    "voiceActivity",
)
"""Top-level server message kinds the SDK recognises (``live-protocol.md`` §5.1). Only these may be sent."""

_CAMEL_RE: Final = re.compile(r"_([a-z0-9])")
_SNAKE_RE: Final = re.compile(r"(?<!^)([A-Z])")


@functools.lru_cache(maxsize=4096)  # the same few dozen field names, once per key of every frame (bounded)
def to_camel(name: str) -> str:
    """``turn_complete`` → ``turnComplete``; camelCase names pass through."""
    return _CAMEL_RE.sub(lambda m: m.group(1).upper(), name)


@functools.lru_cache(maxsize=4096)
def to_snake(name: str) -> str:
    """``turnComplete`` → ``turn_complete``; snake_case names pass through."""
    return _SNAKE_RE.sub(r"_\1", name).lower()


def pick(obj: Mapping[str, Any] | None, camel: str, default: Any = None) -> Any:
    """Read a field under either spelling (``camel`` or its snake_case form)."""
    if not obj:
        return default
    if camel in obj:
        return obj[camel]
    snake = to_snake(camel)
    if snake in obj:
        return obj[snake]
    return default


def has(obj: Mapping[str, Any] | None, camel: str) -> bool:
    """True when the field is present under either spelling."""
    return bool(obj) and (camel in obj or to_snake(camel) in obj)  # type: ignore[operator]


def camelize(value: Any) -> Any:
    """Recursively rewrite dict keys to camelCase (for comparing frames whatever their casing)."""
    if isinstance(value, dict):
        return {to_camel(k) if isinstance(k, str) else k: camelize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camelize(v) for v in value]
    return value


def b64decode_any(data: str | bytes) -> bytes:
    """Decode standard or URL-safe base64, padded or not, strictly.

    ``base64.b64decode(s)`` silently discards ``-`` and ``_`` and corrupts URL-safe audio; this maps the URL-safe
    alphabet first and validates, so garbage raises ``ValueError`` instead of decoding to noise.
    """
    if isinstance(data, bytes):
        data = data.decode("ascii", errors="strict")
    s = data.strip().replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64: {exc}") from None


def b64encode_std(data: bytes) -> str:
    """Standard base64 (what the mock sends; the SDK accepts either alphabet)."""
    return base64.b64encode(data).decode("ascii")


def b64encode_urlsafe(data: bytes) -> str:
    """URL-safe base64 with padding, as the SDK sends client bytes."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def message_kind(frame: Mapping[str, Any]) -> str:
    """The camelCase top-level kind of a client or server frame, or ``"unknown"``.

    A server frame may carry ``serverContent`` and ``usageMetadata`` together; the first recognised key wins, in
    protocol order, so ``serverContent`` is reported.
    """
    for kind in (*SERVER_KINDS, *CLIENT_KINDS):
        if kind in frame or to_snake(kind) in frame:
            return kind
    return "unknown"


def parse_duration_s(value: Any) -> float | None:
    """Parse a protobuf Duration as JSON (``"10s"``, ``"1.5s"``) or a number of seconds."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if text.endswith("s"):
        text = text[:-1]
    try:
        return float(text)
    except ValueError:
        return None
