"""Registers the mock's ``replay`` backend (``tui.mock.replay``) under the module name the mock imports on demand."""

from __future__ import annotations

from tui.mock import replay as _replay  # noqa: F401  (importing it registers the backend)
