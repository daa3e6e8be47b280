"""Local function tools: a registry declared to the model from Python signatures, and a runner for tool calls.

The registry turns type hints and docstrings into ``FunctionDeclaration``s (JSON schema). The runner executes the
model's ``toolCall``s concurrently, each under a timeout, and answers each call by id; a call cancelled by
``toolCallCancellation`` gets no answer (the server has forgotten it). A tool that raises or times out is answered
with ``{"error": "..."}``; nothing a tool does can crash the session.

Threading: the runner lives on the event loop; synchronous tools run in worker threads (``asyncio.to_thread``).
A timed-out synchronous tool keeps its thread until it returns (Python cannot kill a thread), but its answer is
sent at the deadline and its late result is discarded.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import logging
import re
import sys
import time
import types as pytypes
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin, get_type_hints

from tui.errors import UserError
from tui.live import events as ev

if TYPE_CHECKING:
    from google.genai import types

    from tui.config import Settings

log = logging.getLogger(__name__)

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class LocalTool:
    """One declared function."""

    name: str
    func: Callable[..., Any]
    description: str
    parameters: dict[str, Any]
    """JSON schema of the arguments (an ``object``)."""

    def declaration(self) -> dict[str, Any]:
        """The declaration as JSON (``name``, ``description``, ``parameters_json_schema``)."""
        return {"name": self.name, "description": self.description, "parameters_json_schema": self.parameters}


class ToolRegistry:
    """Functions the model may call, by name. ``wall_clock`` feeds the demo clock (injectable for replay)."""

    def __init__(self, *, wall_clock: Callable[[], float] = time.time) -> None:
        self._tools: dict[str, LocalTool] = {}
        self.wall_clock = wall_clock

    @classmethod
    def from_settings(cls, settings: Settings, *, wall_clock: Callable[[], float] = time.time) -> ToolRegistry:
        """The demo tools (unless disabled) plus every public function of each ``--tools`` module."""
        registry = cls(wall_clock=wall_clock)
        if settings.session.demo_tools:
            registry.add_demo_tools()
        for path in settings.session.tools_files:
            for func in load_module_tools(path):
                registry.register(func)
        return registry

    def add_demo_tools(self) -> None:
        from tui.live.demo_tools import demo_tools

        for func in demo_tools(self.wall_clock):
            self.register(func)

    def register(self, func: Callable[..., Any], *, name: str | None = None) -> LocalTool:
        """Declare ``func``; its name, docstring and type hints become the declaration. Raises ``UserError``."""
        tool_name = name or func.__name__
        if not _NAME_RE.match(tool_name):
            raise UserError(f"tool name {tool_name!r} is not a valid function name")
        if tool_name in self._tools:
            raise UserError(f"two tools are named {tool_name!r}; rename one")
        description, parameters = _declared(func)
        tool = LocalTool(
            name=tool_name,
            func=func,
            description=description or f"The {tool_name} function.",
            parameters=parameters,
        )
        self._tools[tool_name] = tool
        return tool

    def get(self, name: str) -> LocalTool | None:
        return self._tools.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def declarations_json(self) -> list[dict[str, Any]]:
        """Every declaration as JSON, in registration order."""
        return [t.declaration() for t in self._tools.values()]

    def function_declarations(self) -> list[types.FunctionDeclaration]:
        """Every declaration as the SDK type (imports google.genai)."""
        from google.genai import types

        return [
            types.FunctionDeclaration(name=t.name, description=t.description, parameters_json_schema=t.parameters)
            for t in self._tools.values()
        ]


# ----------------------------------------------------------------------------------------------------------------
# Signatures → JSON schema
# ----------------------------------------------------------------------------------------------------------------


_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}

_DECLARED: dict[tuple[Any, ...], tuple[str, str]] = {}
"""(code, defaults, annotations, docstring) → (description, parameters as JSON): what ``_declared`` worked out."""
_DECLARED_MAX = 256


def _declared(func: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    """``func``'s description and parameter schema. Remembered per code, defaults, annotations and docstring: the demo
    tools are fresh closures for every registry (every replay builds one), and reading a signature and evaluating its
    hints is most of a registry's cost. Each caller gets its own copy of the schema."""
    doc = inspect.getdoc(func) or ""
    try:
        key: tuple[Any, ...] | None = (
            func.__code__,
            func.__defaults__,
            tuple(sorted((func.__kwdefaults__ or {}).items())),
            tuple(func.__annotations__.items()),
            doc,
        )
        hash(key)
    except (AttributeError, TypeError):  # not a plain function, or unhashable defaults: work it out every time
        key = None
    known = _DECLARED.get(key) if key is not None else None
    if known is None:
        description, param_docs = _parse_docstring(doc)
        known = (description, json.dumps(signature_schema(func, param_docs)))
        if key is not None and len(_DECLARED) < _DECLARED_MAX:
            _DECLARED[key] = known
    parameters: dict[str, Any] = json.loads(known[1])
    return known[0], parameters


def signature_schema(func: Callable[..., Any], param_docs: dict[str, str] | None = None) -> dict[str, Any]:
    """The JSON schema (``type: object``) of ``func``'s parameters. Raises ``UserError`` for an untyped one."""
    name = getattr(func, "__name__", repr(func))
    try:
        sig = inspect.signature(func)
        hints = get_type_hints(func)
    except (TypeError, ValueError, NameError) as exc:
        raise UserError(f"tool {name}: cannot read its signature ({exc})") from None
    props: dict[str, Any] = {}
    required: list[str] = []
    for pname, param in sig.parameters.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise UserError(f"tool {name}: *args/**kwargs cannot be declared to the model; name each parameter")
        if pname not in hints:
            raise UserError(f"tool {name}: parameter {pname!r} needs a type hint (str, int, float, bool, list, ...)")
        schema = _type_schema(hints[pname], f"tool {name}: parameter {pname!r}")
        if param_docs and pname in param_docs:
            schema["description"] = param_docs[pname]
        if param.default is inspect.Parameter.empty:
            required.append(pname)
        elif _jsonable(param.default):
            schema["default"] = param.default
        props[pname] = schema
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def _type_schema(tp: Any, where: str) -> dict[str, Any]:
    if tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    if tp is Any:
        raise UserError(f"{where}: Any cannot be declared; use a concrete type")
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is Literal:
        values = list(args)
        kinds = {type(v) for v in values}
        if len(kinds) == 1 and next(iter(kinds)) in _SCALARS:
            return {"type": _SCALARS[next(iter(kinds))], "enum": values}
        raise UserError(f"{where}: Literal values must all be of one scalar type")
    if origin in (Union, pytypes.UnionType):
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            inner = _type_schema(members[0], where)
            if len(args) > len(members):
                inner["nullable"] = True
            return inner
        return {"anyOf": [_type_schema(a, where) for a in members]}
    if tp in (list, tuple, set) or origin in (list, tuple, set):
        items = args[0] if args and args[0] is not Ellipsis else None
        return {"type": "array", "items": _type_schema(items, where)} if items is not None else {"type": "array"}
    if tp is dict or origin is dict:
        return {"type": "object"}
    raise UserError(f"{where}: type {tp!r} cannot be declared; use str, int, float, bool, list, dict or Literal")


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """First paragraph → description; Google-style ``Args:`` and ``:param x:`` lines → parameter descriptions."""
    paragraphs = doc.strip().split("\n\n")
    description = " ".join(paragraphs[0].split()) if paragraphs and paragraphs[0] else ""
    params: dict[str, str] = {}
    in_args = False
    current: str | None = None
    for raw in doc.splitlines():
        line = raw.strip()
        m = re.match(r":param\s+(\w+):\s*(.*)", line)
        if m:
            params[m.group(1)] = m.group(2)
            continue
        if line in ("Args:", "Arguments:", "Parameters:"):
            in_args, current = True, None
            continue
        if in_args:
            if not line:
                current = None
                continue
            if line.endswith(":") and " " not in line:  # the next section (Returns:, Raises:)
                in_args = False
                continue
            m = re.match(r"(\w+)(?:\s*\([^)]*\))?:\s*(.*)", line)
            if m:
                current = m.group(1)
                params[current] = m.group(2)
            elif current:
                params[current] = f"{params[current]} {line}".strip()
    return description, params


def load_module_tools(path: Path) -> list[Callable[..., Any]]:
    """The public functions defined in the Python file ``path`` (``--tools``). Raises ``UserError`` clearly."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--tools {path}: no such file")
    if path.suffix != ".py":
        raise UserError(f"--tools {path}: expected a Python file (.py)")
    mod_name = f"gemini_live_user_tools_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"--tools {path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module  # so get_type_hints can resolve the module's own names
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(mod_name, None)
        raise UserError(f"--tools {path}: syntax error on line {exc.lineno}: {exc.msg}") from None
    except Exception as exc:
        sys.modules.pop(mod_name, None)
        raise UserError(f"--tools {path}: importing it failed: {type(exc).__name__}: {exc}") from None
    names = getattr(module, "__all__", None)
    funcs: list[Callable[..., Any]] = []
    for attr, value in vars(module).items():
        if names is not None and attr not in names:
            continue
        if attr.startswith("_") or not inspect.isfunction(value) or value.__module__ != mod_name:
            continue
        funcs.append(value)
    if not funcs:
        raise UserError(f"--tools {path}: defines no public functions to declare")
    return funcs


# ----------------------------------------------------------------------------------------------------------------
# Running tool calls
# ----------------------------------------------------------------------------------------------------------------


Respond = Callable[[list[dict[str, Any]]], Awaitable[None]]
"""Sends function responses (``[{"id", "name", "response"}]``) to the model."""


class ToolRunner:
    """Runs the model's function calls concurrently; see the module docstring for the rules."""

    def __init__(
        self,
        registry: ToolRegistry,
        *,
        timeout_s: float,
        emit: Callable[[ev.SessionEvent], None],
        respond: Respond,
        clock: Callable[[], float] = time.monotonic,
        max_concurrent: int = 16,
    ) -> None:
        self._registry = registry
        self._timeout = timeout_s
        self._emit = emit
        self._respond = respond
        self._clock = clock
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._sem = asyncio.Semaphore(max_concurrent)
        self.completed = 0

    @property
    def pending(self) -> int:
        """Calls accepted and not yet answered or cancelled."""
        return len(self._tasks)

    def submit(self, calls: Iterable[ev.FunctionCall]) -> None:
        """Start running each call (returns at once)."""
        for call in calls:
            if call.id in self._tasks:
                continue  # a repeated id: the first run answers it
            self._emit(ev.ToolStatusChanged(id=call.id, name=call.name, status="pending", args=dict(call.args)))
            task = asyncio.get_running_loop().create_task(self._run(call), name=f"tool:{call.name}:{call.id}")
            self._tasks[call.id] = task

    def cancel(self, ids: Iterable[str]) -> None:
        """``toolCallCancellation``: stop these calls; no response will be sent for them."""
        for call_id in ids:
            task = self._tasks.get(call_id)
            if task is not None and not task.done():
                task.cancel()

    async def aclose(self) -> None:
        """Cancel every running call and wait for them to settle."""
        tasks = list(self._tasks.values())
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def _run(self, call: ev.FunctionCall) -> None:
        start = self._clock()
        status: ev.ToolStatus = "ok"
        response: dict[str, Any]
        try:
            async with self._sem:
                self._emit(ev.ToolStatusChanged(id=call.id, name=call.name, status="running", args=dict(call.args)))
                tool = self._registry.get(call.name)
                if tool is None:
                    status, response = "error", {"error": f"unknown function {call.name!r}"}
                else:
                    try:
                        value = await asyncio.wait_for(self._invoke(tool, call.args), timeout=self._timeout)
                        response = _as_response(value)
                    except TimeoutError:
                        status, response = "timeout", {"error": f"timed out after {self._timeout:g} s"}
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:  # a tool's failure is the model's answer, never our crash
                        status, response = "error", {"error": f"{type(exc).__name__}: {exc}"}
        except asyncio.CancelledError:
            duration = (self._clock() - start) * 1000.0
            self._emit(
                ev.ToolStatusChanged(
                    id=call.id, name=call.name, status="cancelled", args=dict(call.args), duration_ms=duration
                )
            )
            self._tasks.pop(call.id, None)
            raise
        duration = (self._clock() - start) * 1000.0
        self._tasks.pop(call.id, None)
        self.completed += 1
        self._emit(
            ev.ToolStatusChanged(
                id=call.id,
                name=call.name,
                status=status,
                args=dict(call.args),
                result=response,
                duration_ms=duration,
            )
        )
        try:
            await self._respond([{"id": call.id, "name": call.name, "response": response}])
        except Exception as exc:  # the connection went away; the session reports that itself
            log.warning("could not send the response to tool call %s: %s", call.id, exc)

    @staticmethod
    async def _invoke(tool: LocalTool, args: dict[str, Any]) -> Any:
        if inspect.iscoroutinefunction(tool.func):
            return await tool.func(**args)
        result = await asyncio.to_thread(tool.func, **args)
        if inspect.isawaitable(result):
            return await result
        return result


def _as_response(value: Any) -> dict[str, Any]:
    """A tool's return value as the JSON object ``FunctionResponse.response`` must be."""
    if isinstance(value, dict) and all(isinstance(k, str) for k in value) and _jsonable(value):
        return value
    if _jsonable(value):
        return {"result": value}
    return {"result": str(value)}
