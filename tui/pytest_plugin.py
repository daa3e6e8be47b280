"""A pytest plugin for testing your own Live API app against a recording, replayed by the gemini-live mock.

Registered through the ``pytest11`` entry point, so installing gemini-live-tui makes it available. It gives:

- the ``live_api`` fixture: a :class:`LiveAPI` whose ``client`` is a ``google.genai.Client`` already set up for the
  test: in replay mode pointed at a local TLS mock (base URL and CA trust) that plays the recording's server side
  causally and checks every frame your app sends; in record mode pointed at the real API with our recorder on the
  websocket (keys redacted before anything reaches the disk);
- the ``@pytest.mark.live_recording("name")`` marker naming the recording (a path relative to a ``recordings/``
  folder beside the test file, ``.glrec`` added); without it, ``recordings/<module>/<test>.glrec``;
- record modes as in pytest-recording: ``--live-record-mode=none`` (the default: replay only, a missing recording
  is a failure), ``once`` (record what is missing, replay what exists), ``all``/``rewrite`` (record everything
  again). Recording needs a real key in ``GEMINI_API_KEY`` or ``GOOGLE_API_KEY``;
- at the end of the test, the replay's verdict: a divergence (your app sent something else than recorded) or an
  incomplete replay (frames the recording still holds; the completeness gate) fails the test with the divergence
  report (``tui.replay.report.format_report``).

Threading: the mock runs on its own event loop in a daemon thread for the duration of one test, so the test may use
``asyncio.run``, pytest-asyncio or anything else; the client's sockets live on the test's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import ssl
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from google import genai

    from tui.mock.replay import ReplayState
    from tui.mock.server import MockServer
    from tui.recording.writer import Recorder
    from tui.replay.report import ReplayResult

MODES: Final = ("none", "once", "all", "rewrite")
KEY_VARS: Final = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
REPLAY_KEY: Final = "replay-key"
"""The key the client shows the mock (it checks none; a real key is never needed to replay)."""
MARKER: Final = "live_recording"
SUFFIX: Final = ".glrec"
_MAX_FRAME: Final = 16 << 20

_STATE_KEY = pytest.StashKey["LiveAPI"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gemini-live", "Live API recordings (gemini-live-tui)")
    group.addoption(
        "--live-record-mode",
        choices=MODES,
        default=None,
        help="none (default): replay recordings, a missing one fails; once: record missing recordings; "
        "all/rewrite: record every live_api test again. Recording needs GEMINI_API_KEY or GOOGLE_API_KEY.",
    )
    group.addoption(
        "--live-record-base-url",
        default=None,
        metavar="URL",
        help="record against this endpoint instead of Google's (e.g. a proxy, or a gemini-live mock)",
    )
    group.addoption(
        "--live-record-ca-file",
        default=None,
        metavar="PEM",
        help="trust this CA when recording against --live-record-base-url",
    )
    parser.addini("live_record_mode", "default for --live-record-mode", default="none")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name=None, *, strict=True, timeout=10.0, model=''): the recording the live_api fixture replays "
        "or records (a path relative to recordings/ beside the test; .glrec is added). strict=False collects every "
        "divergence instead of stopping at the first; timeout is the longest wait for one frame from your app.",
    )


def _mode(config: pytest.Config) -> str:
    mode = config.getoption("--live-record-mode") or config.getini("live_record_mode") or "none"
    if mode not in MODES:
        raise pytest.UsageError(f"live_record_mode = {mode!r}: choose one of {', '.join(MODES)}")
    return str(mode)


def recording_path(item: pytest.Item) -> Path:
    """Where the recording for ``item`` lives (see the module docstring)."""
    base = Path(str(item.path)).parent / "recordings"
    marker = item.get_closest_marker(MARKER)
    name = (marker.args[0] if marker and marker.args else None) or (marker.kwargs.get("name") if marker else None)
    if name:
        path = Path(str(name))
        if path.suffix != SUFFIX:
            path = path.with_name(path.name + SUFFIX)
        return path if path.is_absolute() else base / path
    module = Path(str(item.path)).stem
    test = re.sub(r"[^\w.\-]+", "_", item.name).strip("_") or "test"
    return base / module / f"{test}{SUFFIX}"


def _key() -> str | None:
    return next((os.environ[v] for v in KEY_VARS if os.environ.get(v)), None)


@dataclass(frozen=True)
class _Options:
    strict: bool
    timeout: float
    model: str


def _options(item: pytest.Item) -> _Options:
    marker = item.get_closest_marker(MARKER)
    kw = marker.kwargs if marker else {}
    return _Options(bool(kw.get("strict", True)), float(kw.get("timeout", 10.0)), str(kw.get("model", "")))


class _MockThread:
    """The replay mock on its own loop in a daemon thread (the test keeps its own loop)."""

    def __init__(self, path: Path, options: _Options) -> None:
        self.path = path
        self.options = options
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="gemini-live-mock", daemon=True)
        self.thread.start()
        self.state: ReplayState | None = None
        self.mock: MockServer | None = None
        self._cm: Any = None
        try:
            self._call(self._start(), 30)
        except BaseException:
            self.stop()
            raise

    def _call(self, coro: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        from tui.mock.replay import ReplayBackend, ReplayOptions, ReplayState
        from tui.mock.server import MockOptions, serve_mock
        from tui.recording.reader import read_recording

        state = ReplayState(
            read_recording(self.path),
            ReplayOptions(
                strict=self.options.strict,
                frame_timeout_s=self.options.timeout,
                close_wait_s=self.options.timeout,
                secrets=tuple(os.environ[v] for v in KEY_VARS if os.environ.get(v)),
            ),
        )
        self.state = state
        self._cm = serve_mock(MockOptions(backend="replay", pace=0), backend_factory=lambda _o: ReplayBackend(state))
        self.mock = await self._cm.__aenter__()

    async def _settle(self, timeout: float) -> None:
        """Wait until the replay is finished, or no connection is open any more (nothing else can happen)."""
        assert self.state is not None and self.mock is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        idle_since: float | None = None
        while not self.state.finished.is_set() and loop.time() < deadline:
            if self.mock.stats.sessions_active == 0:
                idle_since = idle_since or loop.time()
                if loop.time() - idle_since > 0.3:
                    return
            else:
                idle_since = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.state.finished.wait(), 0.05)

    def result(self, settle_s: float) -> ReplayResult:
        assert self.state is not None
        with contextlib.suppress(FutureTimeout, TimeoutError):
            self._call(self._settle(settle_s), settle_s + 5)
        state = self.state
        return self._call(_result(state), 10)  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self._cm is not None:
            cm, self._cm = self._cm, None
            with contextlib.suppress(Exception):
                self._call(cm.__aexit__(None, None, None), 15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()


async def _result(state: ReplayState) -> ReplayResult:
    return state.result()


def _client_ssl(ca_file: Path | str | None) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=str(ca_file)) if ca_file else None


class LiveAPI:
    """What the ``live_api`` fixture hands a test: a configured ``client`` and facts about the recording."""

    def __init__(self, item: pytest.Item, mode: str) -> None:
        self.path = recording_path(item)
        """The recording this test replays or records."""
        self.options = _options(item)
        self.nodeid = item.nodeid
        exists = self.path.is_file()
        self.recording = mode in ("all", "rewrite") or (mode == "once" and not exists)
        """True when this test records (talks to the real API) rather than replays."""
        self.mode = mode
        self._mock: _MockThread | None = None
        self._recorder: Recorder | None = None
        self._tmp: Path | None = None
        self._verified = False
        self.client: genai.Client
        if self.recording:
            self._start_recording(item)
        elif not exists:
            pytest.fail(
                f"no recording at {self.path} (live record mode {mode!r}). Record it with "
                "`pytest --live-record-mode=once` and a real GEMINI_API_KEY, or name an existing one with "
                f"@pytest.mark.{MARKER}('name')",
                pytrace=False,
            )
        else:
            self._start_replay()

    # -- replay ---------------------------------------------------------------------------------------------

    def _start_replay(self) -> None:
        from google import genai
        from google.genai import types

        from tui.errors import UserError

        try:
            self._mock = _MockThread(self.path, self.options)
        except UserError as exc:  # RecordingError included: a corrupt, foreign or unreplayable file
            pytest.fail(f"cannot replay {self.path}: {exc}", pytrace=False)
        except Exception as exc:  # damaged content the replay planner did not foresee: still one clear line
            pytest.fail(f"cannot replay {self.path}: {type(exc).__name__}: {exc} (is the file damaged?)", pytrace=False)
        mock = self._mock.mock
        assert mock is not None
        args: dict[str, Any] = {"ssl": mock.client_ssl_context(), "max_size": _MAX_FRAME, "compression": None}
        self.client = genai.Client(
            api_key=REPLAY_KEY, http_options=types.HttpOptions(base_url=mock.base_url, async_client_args=args)
        )

    @property
    def base_url(self) -> str | None:
        """The mock's ``https://127.0.0.1:PORT`` in replay mode (None when recording)."""
        return self._mock.mock.base_url if self._mock and self._mock.mock else None

    @property
    def ca_file(self) -> Path | None:
        """The PEM the mock's certificate chains to, in replay mode (for apps that build their own client)."""
        return self._mock.mock.ca_file if self._mock and self._mock.mock else None

    def result(self, settle_s: float = 5.0) -> ReplayResult | None:
        """The replay's verdict so far (None when recording); waits up to ``settle_s`` for open connections."""
        return self._mock.result(settle_s) if self._mock else None

    # -- record ---------------------------------------------------------------------------------------------

    def _start_recording(self, item: pytest.Item) -> None:
        from google import genai
        from google.genai import types

        from tui.live.tap import tapped_connection_class
        from tui.recording.writer import Recorder

        key = _key()
        if key is None:
            pytest.fail(
                f"recording {self.path} (live record mode {self.mode!r}) needs a real Gemini API key: set "
                "GEMINI_API_KEY or GOOGLE_API_KEY. To replay an existing recording, use "
                "--live-record-mode=none (the default)"
                + ("" if self.path.is_file() else "; this recording does not exist yet"),
                pytrace=False,
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".recording", dir=self.path.parent)
        os.close(fd)
        os.unlink(tmp)  # the recorder creates it itself, exclusively and 0600
        self._tmp = Path(tmp)
        self._recorder = Recorder(
            self._tmp,
            model=self.options.model,
            config={},
            description=f"recorded by the gemini-live pytest plugin for {item.nodeid}",
            secrets=(key,),
        )
        config = item.config
        base_url = config.getoption("--live-record-base-url")
        args: dict[str, Any] = {
            "create_connection": tapped_connection_class(self._recorder),
            "max_size": _MAX_FRAME,
            "compression": None,
        }
        ctx = _client_ssl(config.getoption("--live-record-ca-file"))
        if ctx is not None:
            args["ssl"] = ctx
        self.client = genai.Client(
            api_key=key, http_options=types.HttpOptions(base_url=base_url, async_client_args=args)
        )

    # -- end of the test ------------------------------------------------------------------------------------

    def verify(self) -> None:
        """Fail the test with the divergence report if the replay did not go exactly as recorded."""
        if self._verified or self._mock is None:
            return
        self._verified = True
        from tui.replay.report import format_report

        result = self._mock.result(5.0)
        if not result.ok:
            pytest.fail(
                f"the app did not replay {self.path} as recorded:\n{format_report(result, max_divergences=5)}",
                pytrace=False,
            )

    def finish(self, passed: bool) -> str | None:
        """Stop the mock or the recorder; keep a new recording only if the test passed. Returns a note."""
        note = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if self._recorder is not None and self._tmp is not None:
            stats = self._recorder.close(timeout=30)
            tmp, self._tmp = self._tmp, None
            if passed and stats.error is None and tmp.is_file():
                os.replace(tmp, self.path)
                note = f"recorded {self.path} ({stats.records} records)"
            else:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                why = stats.error or "the test did not pass"
                note = f"not saved: {self.path} ({why}); the previous recording, if any, is unchanged"
        return note


@pytest.fixture
def live_api(request: pytest.FixtureRequest) -> Iterator[LiveAPI]:
    """A ``google.genai`` client set up to replay (or record) this test's Live API recording.

    Use ``live_api.client.aio.live.connect(...)`` as your app would. See :mod:`tui.pytest_plugin`.
    """
    item = request.node
    api = LiveAPI(item, _mode(request.config))
    item.stash[_STATE_KEY] = api
    try:
        yield api
    finally:
        call = getattr(item, "_live_api_passed", None)
        note = api.finish(passed=bool(call))
        if note:
            item.add_report_section("teardown", "live_api", note)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    api = item.stash.get(_STATE_KEY, None)
    try:
        result = yield
    except BaseException as exc:
        skipped = isinstance(exc, pytest.skip.Exception | pytest.xfail.Exception | KeyboardInterrupt)
        if api is not None and api._mock is not None and not skipped:
            _explain_failure(item, api, exc)
        raise
    if api is not None:
        api.verify()
        item._live_api_passed = True  # type: ignore[attr-defined]
    return result


def _explain_failure(item: pytest.Item, api: LiveAPI, exc: BaseException) -> None:
    """The test raised: if the replay diverged, that is the real story (the mock closed on the app)."""
    from tui.replay.report import format_report

    api._verified = True
    assert api._mock is not None
    result = api._mock.result(2.0)
    if result.divergences:
        raise pytest.fail.Exception(
            f"the app did not replay {api.path} as recorded (the test then raised "
            f"{type(exc).__name__}: {str(exc)[:200]}):\n{format_report(result, max_divergences=5)}",
            pytrace=False,
        ) from None  # the report already says what the app raised; the chain would only repeat it
    if not result.ok:
        item.add_report_section("call", "live_api replay", format_report(result))
