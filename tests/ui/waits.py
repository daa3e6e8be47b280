"""Waiting on a Pilot-driven app for something the user would see, instead of a fixed pause that a loaded machine
outruns."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.css.query import NoMatches


async def until(pilot: Any, cond: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll ``cond`` every 50 ms of app time; AssertionError after ``timeout`` s. A widget ``cond`` queries that is
    not mounted yet (a dialog still composing) counts as not yet, not as a failure."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            if cond():
                return
        except NoMatches:
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)
