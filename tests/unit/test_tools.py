"""Tool registry (signatures → declarations, --tools modules), demo tools, and the concurrent runner."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, Literal

import pytest

from tui.config import Settings
from tui.errors import UserError
from tui.live import events as ev
from tui.live.demo_tools import demo_tools
from tui.live.tools import ToolRegistry, ToolRunner, load_module_tools, signature_schema


def book(
    city: str,
    nights: int,
    budget: float | None = None,
    tags: list[str] | None = None,
    kind: Literal["hotel", "hostel"] = "hotel",
    pets: bool = False,
    extra: dict[str, Any] | None = None,
) -> str:
    """Book a room.

    More prose that is not the description.

    Args:
        city: Where to stay.
        nights: How many nights,
            at least one.
        budget: Per night, in euros.
    """
    return "ok"


def test_signature_and_docstring_become_a_json_schema() -> None:
    reg = ToolRegistry()
    tool = reg.register(book)
    assert tool.description == "Book a room."
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "Where to stay."},
            "nights": {"type": "integer", "description": "How many nights, at least one."},
            "budget": {"type": "number", "nullable": True, "description": "Per night, in euros.", "default": None},
            "tags": {"type": "array", "items": {"type": "string"}, "nullable": True, "default": None},
            "kind": {"type": "string", "enum": ["hotel", "hostel"], "default": "hotel"},
            "pets": {"type": "boolean", "default": False},
            "extra": {"type": "object", "nullable": True, "default": None},
        },
        "required": ["city", "nights"],
    }
    (decl,) = reg.function_declarations()
    assert decl.name == "book" and decl.parameters_json_schema == tool.parameters


def test_functions_sharing_code_are_declared_each_with_its_own_defaults_and_docs() -> None:
    """Declarations are remembered per code object (fresh closures of one function are cheap to declare): the
    defaults and docstring of each function still make its own declaration, and no two registries share one."""

    def make(default: int, doc: str) -> Any:
        def lookup(n: int = default) -> int:
            return n

        lookup.__doc__ = doc
        return lookup

    ta = ToolRegistry().register(make(3, "Look up a number."))
    tb = ToolRegistry().register(make(5, "Look up a number."))
    assert ta.parameters["properties"]["n"]["default"] == 3
    assert tb.parameters["properties"]["n"]["default"] == 5
    tc = ToolRegistry().register(make(3, "Look up three."))
    assert (ta.description, tc.description) == ("Look up a number.", "Look up three.")
    again = ToolRegistry().register(make(3, "Look up a number."))
    assert again.parameters == ta.parameters
    again.parameters["properties"]["n"]["default"] = 99
    assert ta.parameters["properties"]["n"]["default"] == 3


def test_undeclarable_signatures_are_clear_user_errors() -> None:
    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    def star(*args: int) -> None: ...

    def weird(x: complex) -> None: ...

    with pytest.raises(UserError, match="parameter 'x' needs a type hint"):
        signature_schema(untyped)
    with pytest.raises(UserError, match=r"\*args/\*\*kwargs"):
        signature_schema(star)
    with pytest.raises(UserError, match="cannot be declared"):
        signature_schema(weird)
    reg = ToolRegistry()
    reg.register(book)
    with pytest.raises(UserError, match="two tools are named 'book'"):
        reg.register(book)


def test_tools_module_loads_public_functions_only(tmp_path: Path) -> None:
    mod = tmp_path / "mytools.py"
    mod.write_text(
        "from os.path import join\n"
        "def lights(room: str, on: bool = True) -> dict:\n"
        '    """Switch the lights."""\n'
        "    return {'room': room, 'on': on}\n"
        "def _helper() -> None: ...\n"
    )
    funcs = load_module_tools(mod)
    assert [f.__name__ for f in funcs] == ["lights"]
    settings = Settings(session={"tools_files": (mod,), "demo_tools": True})
    reg = ToolRegistry.from_settings(settings)
    assert reg.names == ("get_weather", "get_time", "lights")
    assert ToolRegistry.from_settings(Settings(session={"demo_tools": False})).names == ()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("def f(:\n", "syntax error on line 1"),
        ("raise RuntimeError('nope')\n", "importing it failed: RuntimeError: nope"),
        ("X = 1\n", "defines no public functions"),
    ],
)
def test_bad_tools_module_is_one_clear_user_error(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "bad.py"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match=message) as info:
        load_module_tools(path)
    assert str(path) in str(info.value)


def test_demo_tools_are_deterministic_labelled_and_use_the_injected_clock() -> None:
    get_weather, get_time = demo_tools(lambda: 1_700_000_000.0)
    first = get_weather("Paris")
    assert first == get_weather(" paris ".strip().title())
    assert first["source"] == "demo data (not a real forecast)"
    assert get_weather("Paris") != get_weather("Rome")
    assert get_time() == {"timezone": "UTC", "iso": "2023-11-14T22:13:20+00:00", "weekday": "Tuesday"}
    assert get_time("Europe/Paris")["iso"] == "2023-11-14T23:13:20+01:00"
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        get_time("Mars/Olympus")


# ------------------------------------------------------------------------------------------------------------------
# Runner
# ------------------------------------------------------------------------------------------------------------------


class Harness:
    def __init__(self, registry: ToolRegistry, timeout_s: float = 5.0) -> None:
        self.events: list[ev.SessionEvent] = []
        self.responses: list[dict[str, Any]] = []
        self.runner = ToolRunner(registry, timeout_s=timeout_s, emit=self.events.append, respond=self._respond)

    async def _respond(self, responses: list[dict[str, Any]]) -> None:
        self.responses.extend(responses)

    def statuses(self, call_id: str) -> list[str]:
        return [e.status for e in self.events if isinstance(e, ev.ToolStatusChanged) and e.id == call_id]

    async def settle(self) -> None:
        for _ in range(200):
            if self.runner.pending == 0:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("tool calls did not settle")


async def test_calls_run_concurrently_and_are_answered_by_id() -> None:
    gate = asyncio.Event()
    reg = ToolRegistry()

    async def wait_for_gate() -> str:
        """Waits until open_gate runs: only possible if both run at once."""
        await asyncio.wait_for(gate.wait(), timeout=2)
        return "passed"

    async def open_gate() -> int:
        """Opens the gate."""
        gate.set()
        return 7

    reg.register(wait_for_gate)
    reg.register(open_gate)
    h = Harness(reg)
    h.runner.submit([ev.FunctionCall(id="a", name="wait_for_gate"), ev.FunctionCall(id="b", name="open_gate")])
    await h.settle()
    assert sorted((r["id"], r["name"], r["response"]) for r in h.responses) == [
        ("a", "wait_for_gate", {"result": "passed"}),
        ("b", "open_gate", {"result": 7}),
    ]
    assert h.statuses("a") == ["pending", "running", "ok"]


async def test_sync_tool_runs_in_a_worker_thread() -> None:
    loop_thread = threading.get_ident()
    reg = ToolRegistry()

    def where() -> dict[str, bool]:
        """Reports its thread."""
        return {"off_loop": threading.get_ident() != loop_thread}

    reg.register(where)
    h = Harness(reg)
    h.runner.submit([ev.FunctionCall(id="w", name="where")])
    await h.settle()
    assert h.responses == [{"id": "w", "name": "where", "response": {"off_loop": True}}]


async def test_raising_timeout_unknown_and_bad_args_become_error_responses() -> None:
    reg = ToolRegistry()

    def boom(x: int) -> int:
        """Fails."""
        raise RuntimeError(f"bad {x}")

    async def slow() -> None:
        """Never finishes in time."""
        await asyncio.sleep(30)

    reg.register(boom)
    reg.register(slow)
    h = Harness(reg)
    h.runner.submit(
        [
            ev.FunctionCall(id="1", name="boom", args={"x": 3}),
            ev.FunctionCall(id="3", name="nope"),
            ev.FunctionCall(id="4", name="boom", args={"y": 1}),
        ]
    )
    await h.settle()
    # Its own runner, so the short timeout cannot catch a sync call whose worker thread is slow to start.
    timed = Harness(reg, timeout_s=0.2)
    timed.runner.submit([ev.FunctionCall(id="2", name="slow")])
    await timed.settle()
    by_id = {r["id"]: r["response"] for r in h.responses + timed.responses}
    assert by_id["1"] == {"error": "RuntimeError: bad 3"}
    assert by_id["2"] == {"error": "timed out after 0.2 s"}
    assert by_id["3"] == {"error": "unknown function 'nope'"}
    assert by_id["4"]["error"].startswith("TypeError:")
    assert (h.statuses("1")[-1], timed.statuses("2")[-1], h.statuses("3")[-1]) == ("error", "timeout", "error")


async def test_cancelled_call_gets_no_response() -> None:
    reg = ToolRegistry()
    started = asyncio.Event()

    async def long_job() -> str:
        """Runs until cancelled."""
        started.set()
        await asyncio.sleep(30)
        return "never"

    reg.register(long_job)
    h = Harness(reg)
    h.runner.submit([ev.FunctionCall(id="c", name="long_job")])
    await asyncio.wait_for(started.wait(), 2)
    h.runner.cancel(["c", "unknown-id"])
    await h.settle()
    assert h.responses == []
    assert h.statuses("c") == ["pending", "running", "cancelled"]


async def test_a_failing_respond_does_not_crash_the_runner() -> None:
    reg = ToolRegistry()
    reg.add_demo_tools()
    events: list[ev.SessionEvent] = []

    async def broken(_: list[dict[str, Any]]) -> None:
        raise ConnectionError("socket gone")

    runner = ToolRunner(reg, timeout_s=1, emit=events.append, respond=broken)
    runner.submit([ev.FunctionCall(id="t", name="get_time", args={})])
    for _ in range(100):
        if runner.pending == 0:
            break
        await asyncio.sleep(0.01)
    assert runner.pending == 0 and runner.completed == 1
    await runner.aclose()
