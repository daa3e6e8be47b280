"""Settings precedence: flags over environment over TOML; credentials from the standard variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.cli import build_run_parser, settings_from_args
from tui.config import Settings, secret_values


def _settings(*argv: str) -> Settings:
    return settings_from_args(build_run_parser().parse_args(list(argv)))  # type: ignore[no-any-return]


def test_no_credentials_means_demo() -> None:
    s = _settings()
    assert not s.has_credentials
    assert s.use_demo


def test_key_from_standard_variable_turns_demo_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-test-key-123")
    s = _settings()
    assert s.api_key is not None and s.api_key.get_secret_value() == "AIza-test-key-123"
    assert not s.use_demo
    assert "AIza-test-key-123" in secret_values(s)
    assert "AIza-test-key-123" not in repr(s)


def test_flags_over_env_over_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "config.toml"
    toml.write_text('[session]\nmodel = "from-toml"\nvoice = "Puck"\ntemperature = 0.2\n')
    monkeypatch.setenv("GEMINI_TUI_CONFIG_FILE", str(toml))
    monkeypatch.setenv("GEMINI_TUI_SESSION__VOICE", "Kore")
    s = _settings("--temperature", "0.9")
    assert s.session.model == "from-toml"
    assert s.session.voice == "Kore"
    assert s.session.temperature == 0.9


def test_vertex_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us-central1")
    s = _settings()
    assert s.vertexai and s.project == "p" and s.location == "us-central1"
    assert s.has_credentials


def test_bad_value_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    assert main(["--headless", "--fps", "50"]) == 2
    err = capsys.readouterr().err
    assert "video.fps" in err and "Traceback" not in err
