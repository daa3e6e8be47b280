"""``gemini-live rec``: exit codes, clear errors for bad files (never a traceback), and edits that replay."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import msgpack
import pytest

from tui.recording.cli import main
from tui.recording.reader import read_recording

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def weather(tmp_path: Path) -> Path:
    path = tmp_path / "weather.glrec"
    shutil.copy(RECORDINGS / "weather-tool.glrec", path)
    return path


@pytest.mark.parametrize("command", ["info", "dump", "diff", "trim", "redact", "export"])
def test_every_command_has_help_with_exit_codes(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and "1  diff" in out and "2  bad usage" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], weather: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    code, _, err = _run(capsys, "trim", str(weather), "--turns", "3..1")
    assert code == 2 and "--turns" in err and "Traceback" not in err


def _cut(src: Path, dst: Path, at: int) -> Path:
    dst.write_bytes(src.read_bytes()[:at])
    return dst


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "empty file: no recording header"),
        (lambda p: p.write_text('{"not": "a recording"}'), "not a gemini-live recording"),
        (lambda p: p.write_bytes(msgpack.packb({"k": "header", "format": "other-format"})), "not a gemini-live"),
        (
            lambda p: p.write_bytes(
                msgpack.packb({"k": "header", "format": "gemini-live-recording", "version": [2, 0]})
            ),
            "recording format 2.0 is not supported",
        ),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: None, "no such file"),
    ],
    ids=["empty", "json", "foreign-msgpack", "future-major", "directory", "missing"],
)
@pytest.mark.parametrize("command", ["info", "dump", "export", "redact", "trim"])
def test_unusable_files_exit_2_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str, command: str
) -> None:
    bad = tmp_path / "bad.glrec"
    make(bad)  # type: ignore[operator]
    extra = ["--turns", "1"] if command == "trim" else []
    code, _out, err = _run(capsys, command, str(bad), *extra)
    assert code == 2
    assert message in err and str(bad) in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_diff_with_a_foreign_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], weather: Path) -> None:
    bad = tmp_path / "x.glrec"
    bad.write_text("hello")
    code, _, err = _run(capsys, "diff", str(weather), str(bad))
    assert code == 2 and "not a gemini-live recording" in err


def test_truncated_file_is_read_up_to_the_cut_and_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], weather: Path
) -> None:
    size = weather.stat().st_size
    cut = _cut(weather, tmp_path / "cut.glrec", size * 2 // 3)
    code, out, err = _run(capsys, "info", str(cut))
    assert code == 0
    assert "NO clean end" in out
    assert "truncated at byte" in out and f"of {size * 2 // 3}" in out
    code, out, err = _run(capsys, "dump", str(cut))
    assert code == 0 and "warning:" in err and "truncated at byte" in err
    assert all(json.loads(line) for line in out.splitlines())


def test_mid_file_corruption_names_the_byte_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], weather: Path
) -> None:
    data = bytearray(weather.read_bytes())
    at = len(data) // 2
    rec = read_recording(weather)
    data[at : at + 8] = b"\xc1" * 8  # 0xc1 is never used by msgpack
    bad = tmp_path / "corrupt.glrec"
    bad.write_bytes(bytes(data))
    code, out, _err = _run(capsys, "info", str(bad))
    assert code == 0
    assert "corrupt data" in out and "at byte" in out
    partial = read_recording(bad)
    assert 0 < len(partial.records) < len(rec.records)


def test_redact_refuses_a_partly_readable_file_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], weather: Path
) -> None:
    cut = _cut(weather, tmp_path / "cut.glrec", weather.stat().st_size - 7)
    before = cut.read_bytes()
    code, _, err = _run(capsys, "redact", str(cut))
    assert code == 2 and "--force" in err and "reads only up to byte" in err
    assert cut.read_bytes() == before
    code, out, _ = _run(capsys, "redact", str(cut), "--force")
    assert code == 0 and "redacted" in out
    again = read_recording(cut)
    assert again.truncated_at is None and len(again.records) == len(read_recording(weather).records) - 1


def test_redact_scrubs_a_named_environment_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, weather: Path
) -> None:
    # "Paris" is in the recording; pretend it is a secret someone pasted.
    monkeypatch.setenv("MY_TOKEN", "Paris")
    code, out, _ = _run(capsys, "redact", str(weather), "--secret-env", "MY_TOKEN")
    assert code == 0 and "record(s) changed" in out
    assert b"Paris" not in weather.read_bytes()
    code, _, err = _run(capsys, "redact", str(weather), "--secret-env", "UNSET_VAR_X")
    assert code == 2 and "UNSET_VAR_X" in err


def test_diff_exit_codes(capsys: pytest.CaptureFixture[str], weather: Path) -> None:
    code, out, _ = _run(capsys, "diff", str(weather), str(RECORDINGS / "weather-tool.glrec"))
    assert code == 0 and out.startswith("same:")
    code, out, _ = _run(
        capsys, "diff", str(RECORDINGS / "goaway-resume.glrec"), str(RECORDINGS / "drop-reconnect.glrec")
    )
    assert code == 1 and "turn 2" in out and '"dropped"' in out
    code, out, _ = _run(capsys, "diff", "--json", str(weather), str(RECORDINGS / "text-chat-memory.glrec"))
    assert code == 1 and json.loads(out)["same"] is False


def test_trimmed_recording_replays_with_the_real_client(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tui.replay.check import CheckOptions, run_check
    from tui.replay.report import format_report

    out = tmp_path / "last-two.glrec"
    code, text, _ = _run(capsys, "trim", str(RECORDINGS / "goaway-resume.glrec"), "--turns", "2..", "-o", str(out))
    assert code == 0 and "turns 2..3" in text
    result = run_check(out, CheckOptions(wait_s=10))
    assert result.ok, format_report(result)
    assert result.segments_total == 2


def test_trim_default_name_and_no_overwrite(capsys: pytest.CaptureFixture[str], weather: Path) -> None:
    code, _out, _ = _run(capsys, "trim", str(weather), "--turns", "2")
    expected = weather.with_name("weather-turns-2-2.glrec")
    assert code == 0 and expected.is_file()
    code, _, err = _run(capsys, "trim", str(weather), "--turns", "2")
    assert code == 2 and "already exists" in err
    code, _, _ = _run(capsys, "trim", str(weather), "--turns", "2", "--force")
    assert code == 0


def test_export_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, _ = _run(capsys, "export", str(RECORDINGS / "coffee-maker.glrec"), "-o", str(tmp_path / "x"))
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == [
        "frames.png",
        "session.wav",
        "timeline.svg",
        "transcript.md",
    ]
    with wave.open(str(tmp_path / "x" / "session.wav")) as w:
        assert w.getnchannels() == 2 and w.getnframes() / w.getframerate() > 6.0  # the model spoke ~12 s in total


def test_the_console_script_prints_no_traceback_and_no_progress_when_piped(tmp_path: Path) -> None:
    bad = tmp_path / "bad.glrec"
    bad.write_bytes(b"\x93\x01\x02")
    exe = Path(sys.executable).with_name("gemini-live")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tui"]
    proc = subprocess.run([*cmd, "rec", "info", str(bad)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("gemini-live rec info: ") and "Traceback" not in proc.stderr
    proc = subprocess.run(
        [*cmd, "rec", "export", str(RECORDINGS / "barge-in.glrec"), "-o", str(tmp_path / "e")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == ""  # progress only on a terminal
    assert "never played (interrupted)" in proc.stdout


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("gemini-live")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tui"]


def test_progress_goes_to_a_terminal_stderr_only(tmp_path: Path) -> None:
    import os
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [*_cli(), "rec", "export", str(RECORDINGS / "coffee-maker.glrec"), "-o", str(tmp_path / "e")],
            stdout=subprocess.PIPE, stderr=follower, timeout=60, check=False,
        )  # fmt: skip
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert proc.returncode == 0
    assert b"exporting coffee-maker.glrec: writing session.wav" in seen
    assert seen.endswith(b"\r\x1b[2K")  # the progress line is cleared at the end
    assert b"exporting" not in proc.stdout


def test_dump_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    proc = subprocess.run(
        f"{' '.join(_cli())} rec dump {RECORDINGS / 'barge-in.glrec'} --full | head -n 1",
        shell=True, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert json.loads(proc.stdout)["k"] == "header"
    assert "Traceback" not in proc.stderr and "Exception" not in proc.stderr


def test_the_tools_and_the_plugin_load_no_textual_or_sounddevice() -> None:
    code = (
        "import sys, tui.recording.cli, tui.recording.tools.export, tui.recording.tools.plot, "
        "tui.recording.tools.compare, tui.recording.tools.edit, tui.recording.tools.show, tui.pytest_plugin; "
        "print(','.join(m for m in ('textual', 'sounddevice', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""


def test_redact_refuses_a_file_from_a_newer_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    newer = tmp_path / "newer.glrec"
    newer.write_bytes(
        msgpack.packb({"k": "header", "format": "gemini-live-recording", "version": [1, 9], "future": True})
        + msgpack.packb({"k": "hologram", "t": 5, "d": b"x" * 20})
    )
    before = newer.read_bytes()
    code, _, err = _run(capsys, "redact", str(newer))
    assert code == 2 and "newer format 1.9" in err
    assert newer.read_bytes() == before


def test_damaged_files_never_crash_a_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Seeded damage (cuts, flipped bytes, holes, inserted junk): every command ends with 0, 1 or 2 and one line."""
    import random

    rng = random.Random(20261122)
    sources = [(RECORDINGS / n).read_bytes() for n in ("weather-tool.glrec", "tool-cancelled.glrec")]
    for i in range(40):
        data = bytearray(rng.choice(sources))
        at = rng.randrange(len(data))
        how = i % 4
        if how == 0:
            del data[at:]
        elif how == 1:
            for _ in range(rng.randrange(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif how == 2:
            del data[at : at + rng.randrange(1, 200)]
        else:
            data[at:at] = rng.randbytes(rng.randrange(1, 50))
        bad = tmp_path / f"{i}.glrec"
        bad.write_bytes(bytes(data))
        for argv in (
            ["info", str(bad)],
            ["dump", str(bad)],
            ["diff", str(bad), str(RECORDINGS / "weather-tool.glrec")],
            ["export", str(bad), "-o", str(tmp_path / f"e{i}")],
        ):
            try:
                code, _, err = _run(capsys, *argv)
            except SystemExit as exc:  # argparse only; never expected here
                pytest.fail(f"{argv}: exited {exc.code}")
            assert code in (0, 1, 2), (argv, code, err)
            assert "Traceback" not in err
            assert "could not be processed" not in err, (argv, err)  # the last-resort net was not needed


def test_a_frame_no_json_could_hold_is_named_not_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A damaged record can decode to a map with a number for a key (fuzzing found this): the reader stops there and
    names the byte offset; every command still works on what came before it."""
    bad = tmp_path / "odd.glrec"
    bad.write_bytes(
        msgpack.packb({"k": "header", "format": "gemini-live-recording", "version": [1, 0]})
        + msgpack.packb({"k": "open", "t": 0, "seg": 0, "url": "wss://x/ws", "headers": {}})
        + msgpack.packb({"k": "c", "t": 1, "m": {"setup": {"model": "models/m"}}})
        + msgpack.packb({"k": "s", "t": 2, "m": {"serverContent": {7: True}}})
        + msgpack.packb({"k": "s", "t": 3, "m": {"serverContent": {"turnComplete": True}}})
    )
    code, out, err = _run(capsys, "info", str(bad))
    assert code == 0, out + err
    assert "non-string key 7) at byte 123" in out + err
    assert "1 sent, 0 received" in out
    for argv in (["dump", str(bad)], ["diff", str(bad), str(bad)], ["export", str(bad), "-o", str(tmp_path / "e")]):
        code, out, err = _run(capsys, *argv)
        assert code == 0, (argv, err)
        assert "could not be processed" not in err
