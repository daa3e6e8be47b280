"""pytester for the plugin tests, with library modules kept loaded once per process (as in any real process).

Why: pytester's in-process runs snapshot ``sys.modules`` (when the fixture is created and around each
``runpytest``) and restore the snapshot afterwards, which drops every module first imported in between, libraries
included. Our modules do not survive that: ``numpy`` is a C extension that refuses a second import ("cannot load
module more than once per process"), yet arrays made by the first copy lazily import ``numpy`` again
(``ndarray.max()``); ``tui.mock.server``'s backend registry keeps the dropped ``tui.mock.demo``'s class;
msgpack's C packer keeps the first ExtType class. So a plugin test that first loaded the demo mock made a *later*
AUDIO session in the same process hang (the demo's voice synthesis failed on the numpy re-import).

The restore here drops only what pytester must drop: modules loaded from files under pytest's base temporary
directory (the inner runs' test modules and conftests, so the next inner run imports its new files afresh).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import _pytest.pytester
import pytest

_Snapshot = _pytest.pytester.SysModulesSnapshot


def _from_under(base: Path) -> Callable[[str], bool]:
    """True for a module loaded from a file under ``base``."""

    def inside(name: str) -> bool:
        file = getattr(sys.modules.get(name), "__file__", None)
        return bool(file) and Path(str(file)).resolve().is_relative_to(base)

    return inside


@pytest.fixture
def _keep_library_modules(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    base = tmp_path_factory.getbasetemp().resolve()
    inner = _from_under(base)

    class KeepLibraries(_Snapshot):
        """pytester's snapshot whose restore keeps every module not loaded from an inner run's files."""

        def __init__(self, preserve: Callable[[str], bool] | None = None) -> None:
            super().__init__(preserve=lambda name: not inner(name) or bool(preserve and preserve(name)))

    # pytester builds its snapshots through this module attribute (Pytester.__init__ and inline_run); patching it
    # before the pytester fixture exists covers both. A pytest without it fails here loudly (raising=True).
    monkeypatch.setattr(_pytest.pytester, "SysModulesSnapshot", KeepLibraries)
    yield


@pytest.fixture
def pytester(_keep_library_modules: None, pytester: pytest.Pytester) -> pytest.Pytester:
    """pytest's pytester, but library modules first imported during the test stay loaded (see the module doc)."""
    return pytester
