"""The pytest plugin, tested with pytester: record from a demo mock, replay, divergence and completeness failures."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tui.mock.server import MockOptions, MockServer, serve_mock

# The pytester fixture here is conftest.py's: library modules an in-process run imports stay loaded afterwards.
pytest_plugins = ["pytester"]

APP = '''
import asyncio

import pytest

MODEL = "gemini-live-2.5-flash-preview"


async def ask(client, *questions):
    """A tiny Live API app: one text turn per question, returns the model's answers."""
    answers = []
    async with client.aio.live.connect(model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
        for question in questions:
            await session.send_client_content(
                turns={"role": "user", "parts": [{"text": question}]}, turn_complete=True
            )
            text = []
            async for msg in session.receive():
                if msg.text:
                    text.append(msg.text)
                if msg.server_content and msg.server_content.turn_complete:
                    break
            answers.append("".join(text))
    return answers
'''


class DemoServer:
    """A demo mock (standing in for the real API when recording) on its own loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._cm: Any = serve_mock(MockOptions(pace=0))
        self.mock: MockServer = asyncio.run_coroutine_threadsafe(self._cm.__aenter__(), self.loop).result(30)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._cm.__aexit__(None, None, None), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def args(self) -> list[str]:
        return [f"--live-record-base-url={self.mock.base_url}", f"--live-record-ca-file={self.mock.ca_file}"]


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    server = DemoServer()
    try:
        yield server
    finally:
        server.close()


def _record(pytester: pytest.Pytester, demo: DemoServer, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """Record ``body`` (a test module using ``ask``) from the demo mock; returns the tests' folder."""
    pytester.makepyfile(test_app=APP + body)
    monkeypatch.setenv("GEMINI_API_KEY", "AIza" + "FakeKeyForRecordingTests0123456789abc")
    result = _run(pytester, "--live-record-mode=once", *demo.args())
    result.assert_outcomes(passed=1)
    monkeypatch.delenv("GEMINI_API_KEY")
    return pytester.path


INNER_ARGS = ("-p", "no:cacheprovider", "-p", "no:textual-snapshot", "-p", "no:syrupy")
"""Inner runs skip plugins that keep session-wide temporary state (textual's snapshot report breaks when nested)."""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    if not (pytester.path / "tox.ini").exists():
        pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester.runpytest(*args, *INNER_ARGS)


TWO_TURNS = """
@pytest.mark.live_recording("greeting")
def test_greeting(live_api):
    first, second = asyncio.run(ask(live_api.client, "My name is Ada.", "What is my name?"))
    assert "Ada" in first
    assert "Your name is Ada" in second
"""


def test_record_once_then_replay_passes_without_a_key(
    pytester: pytest.Pytester, demo: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _record(pytester, demo, monkeypatch, TWO_TURNS)
    path = root / "recordings" / "greeting.glrec"
    assert path.is_file()
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"AIzaFakeKey" not in path.read_bytes()
    sessions_before = demo.mock.stats.sessions_started
    result = _run(pytester)  # default mode none, no key, no --live-record-base-url
    result.assert_outcomes(passed=1)
    assert demo.mock.stats.sessions_started == sessions_before  # the replay never touched the "real" server


def test_a_changed_question_fails_with_the_divergence_report(
    pytester: pytest.Pytester, demo: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _record(pytester, demo, monkeypatch, TWO_TURNS)
    changed = (root / "test_app.py").read_text().replace('"What is my name?"', '"Who am I?"')
    (root / "test_app.py").write_text(changed)
    result = _run(pytester)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "did not replay" in out
    assert "the client sent a different frame" in out
    assert "Who am I?" in out and "What is my name?" in out
    assert "last matched turn: turn 1" in out
    assert "Traceback" not in out


def test_an_app_that_stops_early_fails_the_completeness_gate(
    pytester: pytest.Pytester, demo: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _record(pytester, demo, monkeypatch, TWO_TURNS)
    body = (root / "test_app.py").read_text()
    body = body.replace(
        'first, second = asyncio.run(ask(live_api.client, "My name is Ada.", "What is my name?"))',
        'first, second = asyncio.run(ask(live_api.client, "My name is Ada.")) + ["Your name is Ada"]',
    )
    (root / "test_app.py").write_text(body)
    result = _run(pytester)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "did not replay" in out
    # the recording still held the second question and its answer when the app closed the connection
    assert "What is my name?" in out


def test_missing_recording_in_none_mode_fails_clearly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=APP + TWO_TURNS)
    result = _run(pytester)
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "no recording at" in out and "greeting.glrec" in out
    assert "--live-record-mode=once" in out


@pytest.mark.parametrize("mode", ["once", "all", "rewrite"])
def test_recording_without_a_key_fails_clearly(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(test_app=APP + TWO_TURNS)
    result = _run(pytester, f"--live-record-mode={mode}")
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "needs a real Gemini API key" in out and "GEMINI_API_KEY" in out
    assert not (pytester.path / "recordings").exists() or not list((pytester.path / "recordings").iterdir())


def test_default_path_is_per_module_and_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_paths="""
import pytest
from tui.pytest_plugin import recording_path

def test_plain(request):
    assert recording_path(request.node).relative_to(request.path.parent).as_posix() == \\
        "recordings/test_paths/test_plain.glrec"

@pytest.mark.parametrize("city", ["Paris", "New York"])
def test_param(request, city):
    assert recording_path(request.node).name == f"test_param_{city.replace(' ', '_')}.glrec"

@pytest.mark.live_recording("shared/weather")
def test_named(request):
    assert recording_path(request.node) == request.path.parent / "recordings" / "shared" / "weather.glrec"
"""
    )
    result = _run(pytester)
    result.assert_outcomes(passed=4)


def test_a_failing_recording_is_not_saved(
    pytester: pytest.Pytester, demo: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_app=APP
        + """
@pytest.mark.live_recording("flaky")
def test_flaky(live_api):
    asyncio.run(ask(live_api.client, "My name is Ada."))
    assert False, "the app was wrong"
"""
    )
    monkeypatch.setenv("GEMINI_API_KEY", "AIza" + "FakeKeyForRecordingTests0123456789abc")
    result = _run(pytester, "--live-record-mode=all", *demo.args(), "-rA")
    result.assert_outcomes(failed=1)
    assert not (pytester.path / "recordings" / "flaky.glrec").exists()
    assert list((pytester.path / "recordings").iterdir()) == []  # no temporary file left behind
    assert "not saved" in result.stdout.str()


def test_a_corrupt_recording_is_a_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=APP + TWO_TURNS)
    (pytester.path / "recordings").mkdir()
    (pytester.path / "recordings" / "greeting.glrec").write_bytes(b"not a recording at all")
    result = _run(pytester)
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "cannot replay" in out and "not a gemini-live recording" in out


def test_the_entry_point_loads_the_plugin_in_a_fresh_process(pytester: pytest.Pytester) -> None:
    """Installed by ``pip install -e .``: a plain ``pytest`` run has the marker and the fixture, no -p needed."""
    pytester.makepyfile(
        test_ep="""
def test_fixture_is_there(request):
    assert "live_api" in request.fixturenames or request.getfixturevalue is not None
    import pytest
    assert request.config.pluginmanager.has_plugin("gemini_live")
"""
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--markers", "-p", "no:cacheprovider"],
        cwd=pytester.path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "@pytest.mark.live_recording" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=pytester.path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_replay_works_from_an_async_test_too(
    pytester: pytest.Pytester, demo: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mock runs on its own loop, so a pytest-asyncio test (the client on the test's loop) replays the same."""
    root = _record(pytester, demo, monkeypatch, TWO_TURNS)
    body = (root / "test_app.py").read_text()
    body = body.replace(
        "def test_greeting(live_api):\n"
        '    first, second = asyncio.run(ask(live_api.client, "My name is Ada.", "What is my name?"))',
        "@pytest.mark.asyncio\nasync def test_greeting(live_api):\n"
        '    first, second = await ask(live_api.client, "My name is Ada.", "What is my name?")',
    )
    assert "async def test_greeting" in body
    (root / "test_app.py").write_text(body)
    result = _run(pytester)
    result.assert_outcomes(passed=1)


def test_a_skip_inside_a_replayed_test_stays_a_skip(
    pytester: pytest.Pytester, demo: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _record(pytester, demo, monkeypatch, TWO_TURNS)
    body = (root / "test_app.py").read_text()
    # the app diverges first (and the mock closes on it), then the test decides to skip: a skip is the user's call
    body = body.replace(
        "    first, second = asyncio.run(",
        "    try:\n"
        '        asyncio.run(ask(live_api.client, "My name is Ada.", "Who am I?"))\n'
        "    except Exception:\n"
        "        pass\n"
        '    pytest.skip("not today")\n'
        "    first, second = asyncio.run(",
    )
    assert "Who am I?" in body
    (root / "test_app.py").write_text(body)
    result = _run(pytester, "-rs")
    result.assert_outcomes(skipped=1)
    assert "not today" in result.stdout.str()
