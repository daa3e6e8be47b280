"""``gemini-live --headless`` end to end in a subprocess: no key → the in-process offline demo over TLS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(
    stdin: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tui", "--headless", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )


def prefixed(out: str, prefix: str) -> list[str]:
    return [line[len(prefix) + 2 :] for line in out.splitlines() if line.startswith(prefix + ": ")]


def test_text_turns_from_stdin_in_the_offline_demo() -> None:
    proc = run("my name is Ann\n\nwhat's the weather in Paris?\nwhat is my name?\n", "--modality", "TEXT")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.splitlines()[0].startswith("status: offline demo: no API key is set")
    assert all(line.split(": ", 1)[0] in {"status", "user", "model", "tool"} for line in out.splitlines()), out
    assert prefixed(out, "user") == ["my name is Ann", "what's the weather in Paris?", "what is my name?"]
    models = prefixed(out, "model")
    assert len(models) == 3
    assert models[2] == "(offline demo) Your name is Ann."
    tools = prefixed(out, "tool")
    assert tools[0].startswith('get_weather({"city": "Paris"}) requested')
    assert tools[1].startswith("get_weather ok in ") and '"source": "demo data (not a real forecast)"' in tools[1]
    assert '"city": "Paris"' in models[1]
    # Each reply follows its own question: the lines interleave in conversation order.
    order = [line.split(": ", 1)[0] for line in out.splitlines() if line.startswith(("user: ", "model: "))]
    assert order == ["user", "model", "user", "model", "user", "model"]
    assert proc.stderr == ""


def test_a_reply_lost_to_a_drop_says_so_and_the_next_line_is_still_answered() -> None:
    proc = run("my name is Bo\nmock:drop tell me a story\nwhat is my name?\n", "--modality", "TEXT")
    assert proc.returncode == 0, proc.stderr
    models = prefixed(proc.stdout, "model")
    assert len(models) == 3, proc.stdout
    assert models[1].endswith("[cut: connection lost]")
    assert models[2] == "(offline demo) Your name is Bo."  # typed during the reconnect, sent once resumed
    status = prefixed(proc.stdout, "status")
    assert "warning: the connection ended mid-reply: the rest of the reply was lost" in status
    assert not any("lost when the connection was replaced" in s for s in status)


def test_audio_replies_print_their_transcript() -> None:
    # The demo waits for its audio to "play" before turnComplete; pace 0 skips the waiting.
    proc = run("hello\n", env={"GEMINI_TUI_DEMO_PACE": "0"})
    assert proc.returncode == 0, proc.stderr
    (model,) = prefixed(proc.stdout, "model")
    assert model.startswith('(offline demo) You said: "hello"')
    summary = [s for s in prefixed(proc.stdout, "status") if s.startswith("turn 0")]
    assert summary and "audio" in summary[0] and "tokens" in summary[0]


def test_fatal_close_exits_non_zero_with_one_error_line() -> None:
    proc = run("mock:close=1007\nnever sent\n", "--modality", "TEXT")
    assert proc.returncode == 1
    errors = prefixed(proc.stdout, "error")
    assert len(errors) == 1 and errors[0].startswith("the server rejected a message as invalid: ")
    assert "Traceback" not in proc.stderr
    assert "never sent" not in prefixed(proc.stdout, "user")


def test_empty_input_exits_zero_after_connecting() -> None:
    proc = run("", "--modality", "TEXT")
    assert proc.returncode == 0, proc.stderr
    assert any(s.startswith("connected") for s in prefixed(proc.stdout, "status"))


def test_bad_tools_file_is_one_line_on_stderr(tmp_path: Path) -> None:
    bad = tmp_path / "tools.py"
    bad.write_text("def f(:\n")
    proc = run("hi\n", "--tools", str(bad))
    assert proc.returncode != 0
    assert "syntax error on line 1" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("flag", ["--no-demo-tools"])
def test_user_tools_module_is_called(tmp_path: Path, flag: str) -> None:
    module = tmp_path / "home_tools.py"
    module.write_text(
        "def get_weather(city: str) -> dict:\n"
        '    """My own weather."""\n'
        "    return {'forecast': 'snow in ' + city}\n"
    )
    proc = run("weather in Oslo?\n", "--modality", "TEXT", "--tools", str(module), flag)
    assert proc.returncode == 0, proc.stderr
    assert "snow in Oslo" in prefixed(proc.stdout, "model")[0]


def test_fatal_error_exits_even_while_stdin_stays_open() -> None:
    env = {**os.environ, "GEMINI_TUI_DEMO_PACE": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "--headless", "--modality", "TEXT"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdin is not None
    proc.stdin.write("mock:close=1007\n")
    proc.stdin.flush()  # and keep stdin open, like a terminal nobody types into
    try:
        proc.wait(timeout=20)  # communicate() would close stdin: exactly what this test must not do
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdin.close()
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    assert proc.stderr is not None
    proc.stderr.close()
    assert proc.returncode == 1
    assert len(prefixed(out, "error")) == 1


def test_tap_and_media_seams_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    from typing import Any

    from tui.config import Settings
    from tui.headless import run_headless

    monkeypatch.setenv("GEMINI_TUI_DEMO_PACE", "0")
    inputs: list[tuple[str, dict[str, Any]]] = []
    opened: list[str] = []
    media_calls: list[str] = []

    class Tap:
        def on_open(self, t_ns: int, url: str, headers: dict[str, str]) -> None:
            opened.append(url)

        def on_send(self, t_ns: int, data: str | bytes) -> None: ...

        def on_recv(self, t_ns: int, data: bytes) -> None: ...

        def on_close(self, t_ns: int, code: int | None, reason: str) -> None: ...

        def on_input(self, t_ns: int, kind: str, data: dict[str, Any]) -> None:
            inputs.append((kind, data))

    async def media(session: Any) -> None:
        import asyncio

        media_calls.append("started")
        try:
            session.note_action("camera", on=True)
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            media_calls.append("cancelled")
            raise

    out = io.StringIO()
    code = run_headless(
        Settings(session={"modality": "TEXT"}),
        tap_factory=lambda s: Tap(),
        media=media,
        stdin=io.StringIO("hello seams\n"),
        stdout=out,
    )
    assert code == 0
    assert prefixed(out.getvalue(), "user") == ["hello seams"]
    assert opened and ("text", {"text": "hello seams"}) in inputs
    assert ("action", {"name": "camera", "on": True}) in inputs
    assert media_calls == ["started", "cancelled"]


def test_frames_flag_streams_the_exact_jpeg_that_is_recorded_and_seen(tmp_path: Path) -> None:
    """``--headless --frames IMG --record FILE``: the model sees the frame, and the recording holds the same bytes
    as the wire frame and the local input event (what the thumbnail would show)."""
    from PIL import Image

    from tui.live.wire import b64decode_any
    from tui.recording.format import Input
    from tui.recording.reader import read_recording

    img = tmp_path / "red.png"
    Image.new("RGB", (320, 240), (220, 20, 20)).save(img)
    rec = tmp_path / "session.glr"
    env = {**os.environ, "GEMINI_TUI_DEMO_PACE": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "--headless", "--modality", "TEXT", "--frames", str(img), "--record", str(rec)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:  # ask only once the frame has gone out, so the question is about it
        seen.append(line)
        if line.startswith("frame: sent 320x240"):
            break
    rest, err = proc.communicate("what do you see?\n", timeout=60)
    out = "".join(seen) + rest
    assert proc.returncode == 0, err
    assert any("mostly red" in m for m in prefixed(out, "model")), out

    recording = read_recording(rec)
    frames_in = [r for r in recording.records if isinstance(r, Input) and r.kind == "frame"]
    assert len(frames_in) == 1
    wire_videos = [
        b64decode_any(f.msg["realtime_input"]["video"]["data"])
        for f in recording.frames
        if f.direction == "c2s" and isinstance(f.msg, dict) and "video" in f.msg.get("realtime_input", {})
    ]
    assert wire_videos == [frames_in[0].data["jpeg"]]
    assert wire_videos[0][:2] == b"\xff\xd8"  # a JPEG, encoded once from the PNG


def test_missing_frames_path_is_one_clear_line() -> None:
    proc = run("", "--frames", "/definitely/not/here.jpg")
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr
