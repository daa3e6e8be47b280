"""Built-in demo tools: a fake weather lookup (labelled as demo data) and a clock (real, but injectable).

Both are made by ``demo_tools(wall_clock)`` so a recording replays identically: the clock is whatever the
registry was given (``time.time`` live, the recorded time in replay).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_CONDITIONS = ("sunny", "partly cloudy", "cloudy", "light rain", "windy", "clear")


def demo_tools(wall_clock: Callable[[], float]) -> list[Callable[..., Any]]:
    """The demo tools, bound to ``wall_clock`` (seconds since the epoch)."""

    def get_weather(city: str) -> dict[str, Any]:
        """Get the current weather for a city (demo data: made up, but the same city always gives the same answer).

        Args:
            city: The city name, e.g. "Paris".
        """
        name = city.strip()
        if not name:
            raise ValueError("city must not be empty")
        digest = hashlib.sha256(name.lower().encode("utf-8")).digest()
        return {
            "city": name,
            "temperature_c": digest[0] % 35 - 5,
            "condition": _CONDITIONS[digest[1] % len(_CONDITIONS)],
            "humidity_percent": 30 + digest[2] % 60,
            "source": "demo data (not a real forecast)",
        }

    def get_time(timezone: str = "UTC") -> dict[str, Any]:
        """Get the current date and time in a time zone.

        Args:
            timezone: An IANA time zone name such as "Europe/Paris" (default "UTC").
        """
        try:
            zone = ZoneInfo(timezone) if timezone.upper() != "UTC" else UTC
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        now = datetime.fromtimestamp(wall_clock(), tz=zone)
        return {"timezone": timezone, "iso": now.isoformat(timespec="seconds"), "weekday": now.strftime("%A")}

    return [get_weather, get_time]
