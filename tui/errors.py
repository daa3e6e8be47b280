"""Errors meant for a person: the CLI prints their message and exits non-zero, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input, a missing device, a wrong key: something the user can fix. ``str(exc)`` says how."""

    exit_code: int = 2


class RecordingError(UserError):
    """A recording cannot be read or written (corrupt, truncated, foreign, unknown version)."""

    def __init__(self, message: str, *, path: str | None = None, offset: int | None = None) -> None:
        where = ""
        if path is not None:
            where += f"{path}"
        if offset is not None:
            where += f" at byte {offset}"
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.offset = offset
