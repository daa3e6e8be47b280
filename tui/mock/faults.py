"""Fault plans for the mock Live server: what goes wrong, when, and how often.

A :class:`FaultPlan` is immutable and parsed from a small spec language shared by the CLI flags
(``gemini-live mock --fault SPEC``) and the per-session request header ``x-mock-fault: SPEC`` (the SDK passes
``HttpOptions.headers`` through, ``live-protocol.md`` §2.2), so one server can serve many test cases. A header plan
is merged over the server's plan (header fields win).

Spec: comma-separated items, each ``name`` or ``name:value`` or ``name:value@when``::

    goaway:T[@LEFT]        send goAway T s after setupComplete with timeLeft LEFT s (default 10); close 1000 after it
    drop-mid-turn[:N]      abort the TCP connection (no close frame → client sees 1006) after N model chunks (default 2)
    close:CODE@Ts          close with CODE (1007, 1008, 1011, ...) T seconds after setupComplete
    close:CODE#N           close with CODE on the Nth client message after setup (N >= 1)
    slow-pongs[:S]         answer pings S seconds late (default 15)
    no-pongs               never answer pings
    silence[:T]            stop sending anything T s after setupComplete (default 0; the socket stays open)
    bursty-audio           send model audio in bursts of several 40-240 ms chunks, then a gap (like the real server)
    oversized[:BYTES]      make the first model audio chunk one frame larger than 1 MiB (default 1.2 MB)
    phantom-interrupted[:N] send ``interrupted: true`` after N model chunks (default 1) though nobody spoke; the turn
                           goes on
    repeat                 oversized / phantom-interrupted fire on every turn instead of once per session
    sessions:N             this plan applies to the first N sessions that carry it (server-wide); later ones are clean

Each fault fires at most once per session unless ``repeat`` says otherwise, so a client that reconnects does not meet
a storm; ``sessions:1`` makes "drop once, then let the resumed session live" easy to ask for.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from tui.errors import UserError

MAX_FRAME_BYTES = 1 << 20
"""The SDK's default ``max_size``: a server frame larger than this kills the client's session (§2.3)."""

_CLOSE_CODES = frozenset({1000, 1001, 1007, 1008, 1011, 1013})


class FaultSpecError(UserError):
    """A fault spec (flag or ``x-mock-fault`` header) that cannot be parsed."""


@dataclass(frozen=True)
class FaultPlan:
    """What the mock does wrong in a session. All ``None``/``False`` = a well-behaved server."""

    go_away_after_s: float | None = None
    go_away_time_left_s: float = 10.0
    drop_after_chunks: int | None = None
    close_code: int | None = None
    close_after_s: float | None = None
    close_on_message: int | None = None
    close_reason: str | None = None
    pong_delay_s: float | None = None
    no_pongs: bool = False
    silence_after_s: float | None = None
    bursty_audio: bool = False
    oversized_bytes: int | None = None
    phantom_interrupted_after: int | None = None
    repeat: bool = False
    sessions: int | None = None

    @property
    def active(self) -> bool:
        """True when any fault is set (``repeat``/``sessions`` alone change nothing)."""
        clean = dataclasses.replace(self, repeat=False, sessions=None, go_away_time_left_s=10.0)
        return clean != FaultPlan()

    def merged(self, other: FaultPlan) -> FaultPlan:
        """``other``'s set fields over this plan's."""
        changes: dict[str, Any] = {}
        default = FaultPlan()
        for f in dataclasses.fields(self):
            value = getattr(other, f.name)
            if value != getattr(default, f.name):
                changes[f.name] = value
        return dataclasses.replace(self, **changes)

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """Parse a spec (see the module docstring). Raises :class:`FaultSpecError` naming the bad item."""
        changes: dict[str, Any] = {}
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            name, _, value = item.partition(":")
            name = name.strip().lower().replace("_", "-")
            value = value.strip()
            try:
                _apply(name, value, changes)
            except (ValueError, TypeError) as exc:
                raise FaultSpecError(f"bad fault {item!r}: {exc}") from None
        return dataclasses.replace(cls(), **changes)

    def describe(self) -> str:
        """A spec string equivalent to this plan (for logs and the CLI banner)."""
        parts: list[str] = []
        if self.go_away_after_s is not None:
            parts.append(f"goaway:{self.go_away_after_s:g}@{self.go_away_time_left_s:g}")
        if self.drop_after_chunks is not None:
            parts.append(f"drop-mid-turn:{self.drop_after_chunks}")
        if self.close_code is not None:
            if self.close_on_message is not None:
                parts.append(f"close:{self.close_code}#{self.close_on_message}")
            else:
                parts.append(f"close:{self.close_code}@{self.close_after_s or 0:g}s")
        if self.pong_delay_s is not None:
            parts.append(f"slow-pongs:{self.pong_delay_s:g}")
        if self.no_pongs:
            parts.append("no-pongs")
        if self.silence_after_s is not None:
            parts.append(f"silence:{self.silence_after_s:g}")
        if self.bursty_audio:
            parts.append("bursty-audio")
        if self.oversized_bytes is not None:
            parts.append(f"oversized:{self.oversized_bytes}")
        if self.phantom_interrupted_after is not None:
            parts.append(f"phantom-interrupted:{self.phantom_interrupted_after}")
        if self.repeat:
            parts.append("repeat")
        if self.sessions is not None:
            parts.append(f"sessions:{self.sessions}")
        return ",".join(parts) or "none"


def _seconds(text: str) -> float:
    text = text.strip().removesuffix("s")
    value = float(text)
    if not 0 <= value <= 86_400:
        raise ValueError("seconds must be between 0 and 86400")
    return value


def _count(text: str, *, minimum: int = 0) -> int:
    value = int(text)
    if value < minimum:
        raise ValueError(f"must be >= {minimum}")
    return value


def _apply(name: str, value: str, changes: dict[str, Any]) -> None:
    if name in ("goaway", "go-away"):
        after, _, left = value.partition("@")
        changes["go_away_after_s"] = _seconds(after) if after else 0.0
        if left:
            changes["go_away_time_left_s"] = _seconds(left)
    elif name in ("drop-mid-turn", "drop"):
        changes["drop_after_chunks"] = _count(value, minimum=0) if value else 2
    elif name == "close":
        code_text, sep, when = value.partition("#")
        if sep:
            changes["close_on_message"] = _count(when, minimum=1)
        else:
            code_text, _, when = value.partition("@")
            changes["close_after_s"] = _seconds(when) if when else 0.0
        code = _count(code_text or "1011")
        if code not in _CLOSE_CODES:
            raise ValueError(f"close code must be one of {sorted(_CLOSE_CODES)}")
        changes["close_code"] = code
    elif name == "slow-pongs":
        changes["pong_delay_s"] = _seconds(value) if value else 15.0
    elif name == "no-pongs":
        changes["no_pongs"] = True
    elif name == "silence":
        changes["silence_after_s"] = _seconds(value) if value else 0.0
    elif name in ("bursty-audio", "bursty"):
        changes["bursty_audio"] = True
    elif name == "oversized":
        size = _count(value) if value else 1_200_000
        if size <= MAX_FRAME_BYTES:
            raise ValueError(f"an oversized frame must exceed {MAX_FRAME_BYTES} bytes")
        changes["oversized_bytes"] = size
    elif name in ("phantom-interrupted", "phantom"):
        changes["phantom_interrupted_after"] = _count(value) if value else 1
    elif name == "repeat":
        changes["repeat"] = True
    elif name == "sessions":
        changes["sessions"] = _count(value, minimum=1)
    else:
        raise ValueError("unknown fault name")
