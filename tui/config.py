"""Settings: one typed, documented object fed by CLI flags over environment variables over a TOML file.

Sources, highest priority first:
1. CLI flags (passed as init kwargs by ``tui.cli``);
2. environment variables with the ``GEMINI_TUI_`` prefix (``__`` separates nested sections, for example
   ``GEMINI_TUI_AUDIO__INPUT_DEVICE=2``), plus the standard credential variables (``GEMINI_API_KEY``,
   ``GOOGLE_API_KEY``, ``GOOGLE_GENAI_USE_VERTEXAI``, ``GOOGLE_CLOUD_PROJECT``, ``GOOGLE_CLOUD_LOCATION``,
   ``GOOGLE_APPLICATION_CREDENTIALS``) read under their usual names;
3. ``config.toml`` in the platform config dir (``GEMINI_TUI_CONFIG_FILE`` overrides the path);
4. the defaults below.

Secrets are ``SecretStr`` and are never written to disk, logged or shown.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tui import paths

DEFAULT_MODEL = "gemini-live-2.5-flash-preview"
"""The default Live model; any name the server accepts works (``--model``)."""

KEY_ENV_VARS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
"""Environment variables that may hold an API key, in priority order (the SDK's own order)."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SafetySetting(_Section):
    """One safety threshold, e.g. ``{category = "HARM_CATEGORY_HARASSMENT", threshold = "BLOCK_ONLY_HIGH"}``."""

    category: str
    threshold: str


class ActivityDetection(_Section):
    """Server-side voice activity detection (``realtimeInputConfig.automaticActivityDetection``)."""

    disabled: bool = False
    """True for manual turn-taking: the client sends ``activityStart``/``activityEnd`` itself (push-to-talk)."""
    start_sensitivity: Literal["START_SENSITIVITY_LOW", "START_SENSITIVITY_HIGH"] | None = None
    """How eagerly speech start is detected."""
    end_sensitivity: Literal["END_SENSITIVITY_LOW", "END_SENSITIVITY_HIGH"] | None = None
    """How eagerly speech end is detected."""
    prefix_padding_ms: int | None = None
    """Speech needed before a start is committed."""
    silence_duration_ms: int | None = None
    """Silence needed before an end is committed."""
    activity_handling: Literal["START_OF_ACTIVITY_INTERRUPTS", "NO_INTERRUPTION"] | None = None
    """Whether user speech interrupts the model (barge-in)."""


class SessionSettings(_Section):
    """What the Live session asks the model for (``setup``)."""

    model: str = DEFAULT_MODEL
    """Model name, with or without ``models/``."""
    modality: Literal["AUDIO", "TEXT"] = "AUDIO"
    """Response modality. Newer models only speak (AUDIO with output transcription)."""
    voice: str | None = None
    """Prebuilt voice name, e.g. ``Kore``, ``Puck``, ``Charon``."""
    language: str | None = None
    """Speech language code, e.g. ``en-US``."""
    system_instruction: str | None = None
    """System instruction text."""
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_output_tokens: int | None = None
    seed: int | None = None
    stop_sequences: tuple[str, ...] = ()
    """Stop sequences (sent in ``generationConfig``; not every Live model honours them)."""
    safety: tuple[SafetySetting, ...] = ()
    """Safety settings."""
    input_transcription: bool = True
    """Ask for transcripts of the user's audio."""
    output_transcription: bool = True
    """Ask for transcripts of the model's audio."""
    activity: ActivityDetection = ActivityDetection()
    """Voice activity detection, or manual activity start/end."""
    compression: bool = True
    """Context window compression (sliding window), so sessions can run past the 15 min audio limit."""
    compression_trigger_tokens: int = 25_600
    compression_target_tokens: int = 12_800
    resumption: bool = True
    """Ask for session-resumption handles so goAway and drops can resume with memory kept."""
    media_resolution: Literal["MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_MEDIUM", "MEDIA_RESOLUTION_HIGH"] | None = None
    """Resolution the model sees frames at (fewer tokens when LOW)."""
    google_search: bool = False
    """Declare the Google Search tool."""
    code_execution: bool = False
    """Declare the code execution tool."""
    demo_tools: bool = True
    """Declare the built-in demo tools (weather lookup, clock)."""
    tools_files: tuple[Path, ...] = ()
    """Python modules whose public functions are declared as tools (``--tools``)."""
    tool_timeout_s: float = 10.0
    """A local tool that runs longer than this is answered with an error."""


class ConnectionSettings(_Section):
    """Where and how to connect."""

    base_url: str | None = None
    """Any Live endpoint (``--base-url``); the SDK always speaks ``wss://`` to it."""
    ca_file: Path | None = None
    """PEM file of CAs to trust for ``base_url`` (``--ca-file``), e.g. the mock's printed CA."""
    api_version: str | None = None
    """``v1``, ``v1beta`` or ``v1alpha`` (Gemini API) / ``v1beta1`` (Vertex). None: the SDK default."""
    connect_timeout_s: float = 15.0
    """Upper bound on connect + ``setupComplete`` (the SDK has no timeout for the latter)."""
    ping_interval_s: float | None = 30.0
    """Keepalive ping interval. None disables pings."""
    ping_timeout_s: float | None = 60.0
    """Keepalive pong deadline: loose, since the real server's pongs take 8–30 s (sip-to-ai PR #14)."""
    max_reconnects: int = 5
    """Reconnect attempts per drop before giving up (the counter resets once a connection is stable)."""
    stable_after_s: float = 30.0
    """A connection that stayed up this long resets the reconnect attempt counter."""
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    backoff_jitter: float = Field(default=0.2, ge=0.0, le=1.0)
    """Each backoff delay is shortened by a random share of up to this fraction, so many clients dropped at once do
    not reconnect in lockstep (0 = exact doubling). The delay never exceeds the doubled value or ``backoff_max_s``."""
    backoff_seed: int | None = None
    """Seed for that jitter (replays and tests pin it); None draws a fresh one per session."""
    go_away_margin_s: float = 5.0
    """Cut the current turn and resume this long before goAway's ``timeLeft`` runs out."""
    reply_silence_notice_s: float = Field(default=15.0, gt=0)
    """Say so when the server has sent nothing for this long while a reply is due (the socket may still be open:
    pongs can keep a connection alive that answers nothing)."""


class AudioSettings(_Section):
    """Microphone and speaker."""

    enabled: bool = True
    """Use audio devices at all. With no PortAudio or no device the app runs text-only anyway."""
    input_device: str | None = None
    """Input device index or name substring (``--input-device``)."""
    output_device: str | None = None
    """Output device index or name substring (``--output-device``)."""
    mic_chunk_ms: int = Field(default=100, ge=10, le=100)
    """Microphone chunk sent to the server, in ms. Every chunk costs a device wake-up, an event-loop wake-up and a
    websocket send, so 100 ms (as Google's web console, ~128 ms, and LiveKit's console capture do) takes about a
    fifth of the app's CPU off a streaming session compared with 40 ms (BENCHMARKS.md); the price is up to 60 ms
    more before the server hears the start or end of speech. Lower it for the snappiest barge-in."""
    mic_queue_chunks: int = Field(default=20, ge=1)
    """Bounded mic queue (20 × 100 ms = 2 s); the oldest chunk is dropped when full (overruns are counted)."""
    jitter_ms: int = 140
    """Playback pre-buffer that absorbs the server's bursty chunk arrival."""
    half_duplex: bool = False
    """Gate the mic while the model speaks (speakers without headphones)."""
    half_duplex_tail_ms: int = Field(default=300, ge=0, le=2000)
    """Half-duplex: keep the mic gated this long after the model's audio stops (room echo dies away)."""
    max_jitter_ms: int = Field(default=300, ge=0, le=2000)
    """The pre-buffer grows after an underrun, up to this (it shrinks back towards ``jitter_ms`` on clean turns)."""
    speaker_block_ms: int = Field(default=10, ge=2, le=40)
    """Speaker device block: at most this much audio is heard after an interruption."""
    start_muted: bool = False
    """Start with the microphone muted."""


class VideoSettings(_Section):
    """Camera, screen share and frames from files."""

    source: Literal["none", "camera", "screen", "file"] = "none"
    """What to stream at start."""
    camera_index: int = 0
    monitor: int = 1
    """mss monitor number (1 = primary; 0 = all monitors)."""
    region: tuple[int, int, int, int] | None = None
    """Screen region ``(left, top, width, height)``."""
    frames_path: Path | None = None
    """An image, a folder of images or a video file (``--frames``)."""
    frames_loop: bool = False
    """Start ``--frames`` again from the first frame when it ends (for demos); otherwise the stream ends."""
    fps: float = 1.0
    """Frames per second sent (the Live API samples about 1 fps)."""
    max_size: int = 1024
    """Longest side of a sent frame, in pixels."""
    jpeg_quality: int = 70

    @field_validator("fps")
    @classmethod
    def _cap_fps(cls, v: float) -> float:
        if not 0 < v <= 5:
            raise ValueError("fps must be in (0, 5]")
        return v


class RecordingSettings(_Section):
    """The session recorder."""

    enabled: bool = False
    """Record the session (``--record``)."""
    path: Path | None = None
    """Recording file; None: a timestamped file under the data dir's ``recordings/`` folder."""
    description: str = ""
    """Free text stored in the header."""
    redact: bool = True
    """Redact keys and tokens at write time (on by default; only ``rec redact`` may re-apply, never remove)."""


class UISettings(_Section):
    """The terminal UI."""

    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id → key(s), e.g. ``{"toggle-mic" = "ctrl+m"}``."""
    meter_hz: float = 10.0
    """How often meters repaint (cost grows with rate: each tick is ~0.4 % CPU at 80×24, tools/bench_tui.py)."""
    transcript_max_turns: int = 500
    """Turns kept on screen; older ones are dropped (memory stays bounded)."""
    protocol_log_max: int = 2000
    """Protocol log entries kept."""
    thumbnails: Literal["auto", "kitty", "halfblock", "none"] = "auto"
    """Frame preview rendering: ``auto`` uses kitty graphics only where the terminal clearly supports them (kitty,
    ghostty; not inside tmux/screen; over SSH only with TERM=xterm-kitty), else half blocks; ``kitty`` forces them
    (needs 24-bit colour); ``halfblock`` never sends graphics; ``none``: figures only, no picture."""
    settings_first: bool = False
    """Open the session settings (model, modality, voice, system instruction) before connecting."""


class Settings(BaseSettings):
    """Everything configurable. Frozen: runtime toggles (mute, recording on/off) live in the app, not here."""

    model_config = SettingsConfigDict(
        env_prefix="GEMINI_TUI_",
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
    )

    api_key: SecretStr | None = None
    """Gemini API key (or Vertex express-mode key). Read from ``GEMINI_API_KEY`` or ``GOOGLE_API_KEY``."""
    ephemeral_token: SecretStr | None = None
    """An ``auth_tokens/…`` ephemeral token (uses the Constrained endpoint)."""
    vertexai: bool = False
    """Use Vertex AI (``GOOGLE_GENAI_USE_VERTEXAI``)."""
    project: str | None = None
    """Google Cloud project for Vertex (``GOOGLE_CLOUD_PROJECT``)."""
    location: str | None = None
    """Google Cloud location for Vertex (``GOOGLE_CLOUD_LOCATION``)."""
    credentials_file: Path | None = None
    """Service-account JSON for Vertex (``GOOGLE_APPLICATION_CREDENTIALS``); else Application Default Credentials."""
    demo: bool | None = None
    """Force (True) or forbid (False) the offline demo. None: demo exactly when no credentials are configured."""

    session: SessionSettings = SessionSettings()
    connection: ConnectionSettings = ConnectionSettings()
    audio: AudioSettings = AudioSettings()
    video: VideoSettings = VideoSettings()
    recording: RecordingSettings = RecordingSettings()
    ui: UISettings = UISettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = config_file()
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            env_settings,
            _StandardEnvSource(settings_cls),
        ]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @property
    def has_credentials(self) -> bool:
        """True when a real endpoint can be authenticated against (key, token or Vertex project)."""
        return bool(self.api_key or self.ephemeral_token or (self.vertexai and self.project))

    @property
    def use_demo(self) -> bool:
        """True when the app should start the in-process mock and connect to it."""
        if self.demo is not None:
            return self.demo
        return not self.has_credentials and self.connection.base_url is None


class _StandardEnvSource(PydanticBaseSettingsSource):
    """Reads the credential variables under their standard (unprefixed) names, as the SDK does."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover - unused
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for var in KEY_ENV_VARS:
            if os.environ.get(var):
                out["api_key"] = os.environ[var]
                break
        flag = os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").strip().lower()
        if flag in {"1", "true", "yes"}:
            out["vertexai"] = True
        if os.environ.get("GOOGLE_CLOUD_PROJECT"):
            out["project"] = os.environ["GOOGLE_CLOUD_PROJECT"]
        if os.environ.get("GOOGLE_CLOUD_LOCATION"):
            out["location"] = os.environ["GOOGLE_CLOUD_LOCATION"]
        if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
            out["credentials_file"] = os.environ["GOOGLE_APPLICATION_CREDENTIALS"]
        return out


class RecordedSettings(Settings):
    """``Settings`` from given values only: no environment variables, no config file. For a replay, which runs
    on what was recorded: a variable or a config value of the machine it runs on (a token, a credentials file,
    a timeout the recording does not mention) must not change it."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def config_file() -> Path:
    """The TOML config path: ``GEMINI_TUI_CONFIG_FILE`` or ``config.toml`` in the platform config dir."""
    override = os.environ.get("GEMINI_TUI_CONFIG_FILE")
    return Path(override) if override else paths.config_dir() / "config.toml"


def secret_values(settings: Settings) -> tuple[str, ...]:
    """Exact secret strings to redact wherever they appear (configured keys and the key env vars)."""
    values: set[str] = set()
    for secret in (settings.api_key, settings.ephemeral_token):
        if secret is not None and secret.get_secret_value():
            values.add(secret.get_secret_value())
    for var in KEY_ENV_VARS:
        if os.environ.get(var):
            values.add(os.environ[var])
    return tuple(sorted(v for v in values if len(v) >= 4))
