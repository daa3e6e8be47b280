"""The mock Live server: a TLS websockets server on loopback that the unmodified google-genai SDK connects to.

Layers, outermost first:

* **HTTP upgrade** (:meth:`MockServer._process_request`): routes on the normalised path suffix (repeated ``/``
  collapsed; any base-path prefix; versions ``v1``, ``v1beta``, ``v1alpha``, ``v1beta1``)::

      …/ws/google.ai.generativelanguage.{ver}.GenerativeService.BidiGenerateContent              mode "gemini"
      …/ws/google.ai.generativelanguage.{ver}.GenerativeService.BidiGenerateContentConstrained   mode "constrained"
      …/ws/google.cloud.aiplatform.{ver}.LlmBidiService/BidiGenerateContent                      mode "vertex"

  Anything else is HTTP 404; more than ``max_sessions`` concurrent sessions is HTTP 503; a bad ``x-mock-fault`` or
  ``x-mock-pace`` header is HTTP 400. The key is taken from ``x-goog-api-key``, ``?key=`` or
  ``Authorization: Bearer|Token`` (in that order). Per-session request headers (the SDK passes
  ``HttpOptions.headers`` through, ``live-protocol.md`` §2.2): ``x-mock-fault: SPEC`` merges a fault plan over the
  server's (:mod:`tui.mock.faults`), ``x-mock-pace: F`` overrides the pace, ``x-mock-voice-activity: 1`` asks the demo
  for ``voiceActivity`` frames.
* **Connection layer** (:class:`MockConnection`): reads exactly one ``setup`` (validated: see
  :func:`parse_setup`), checks the key when ``require_key`` is set (close 1008 ``API key not valid…``), sends one
  ``setupComplete``, then parses, validates and normalises every client frame (:func:`parse_client_frame`) into a
  :class:`ClientMessage` for the backend. Invalid input closes the session with 1007 and a reason naming the field,
  as the real API does; failures are never sent as frames (the SDK chokes on unknown kinds, §5.1). Connection-level
  faults (:mod:`tui.mock.faults`) are applied here, so every backend gets them.
* **Backend**: anything with ``async def run(self, conn: MockConnection) -> None``. It reads ``await conn.recv()``
  (raises :class:`SessionClosed` when the session is over) and writes ``await conn.send(frame)``, where ``frame`` is a
  dict with one camelCase server kind (``serverContent``, ``toolCall``, ...; optionally ``usageMetadata`` beside
  ``serverContent``). ``send`` refuses frames over 1 MiB (the SDK's ``max_size``) unless a fault asks for one. Backends
  are looked up by ``MockOptions.backend`` in a registry: :func:`register_backend` (``"demo"`` is
  :mod:`tui.mock.demo`; a module ``tui.replay.backend`` is imported on demand to register ``"replay"``), or passed
  directly as ``serve_mock(..., backend_factory=...)``. A factory is called once per session with the options.

Invariants: every session sends ``setupComplete`` exactly once and first; every close carries a code and a reason
of at most 123 bytes; queues are bounded (``queue_size`` client messages per session, back-pressure through TCP
beyond); at most ``max_sessions`` sessions; incoming frames at most ``max_message_bytes``. Compression is off server
side (``compression=None``): the SDK offers permessage-deflate, and accepting it costs 8-80x in throughput
(``research/perf-baselines.md``).

Threading: everything runs on one asyncio loop; nothing here blocks it except Pillow in the demo's frame analysis
(a few ms per frame).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import math
import re
import ssl
import time
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final, Literal, Protocol
from urllib.parse import parse_qs

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response

from tui.errors import UserError
from tui.live import wire
from tui.mock.faults import MAX_FRAME_BYTES, FaultPlan, FaultSpecError
from tui.mock.tls import DEFAULT_HOSTS, MockCertificate, client_ssl_context, generate_certificate, shared_certificate

log = logging.getLogger(__name__)

Mode = Literal["gemini", "constrained", "vertex"]
KeySource = Literal["header", "query", "bearer", "token"]

FAULT_HEADER: Final = "x-mock-fault"
PACE_HEADER: Final = "x-mock-pace"

_ROUTES: Final = (
    (re.compile(r"(?:^|/)ws/google\.ai\.generativelanguage\.(v1|v1beta|v1alpha)\.GenerativeService\."
                r"BidiGenerateContentConstrained$"), "constrained"),
    (re.compile(r"(?:^|/)ws/google\.ai\.generativelanguage\.(v1|v1beta|v1alpha)\.GenerativeService\."
                r"BidiGenerateContent$"), "gemini"),
    (re.compile(r"(?:^|/)ws/google\.cloud\.aiplatform\.(v1|v1beta1)\.LlmBidiService/BidiGenerateContent$"), "vertex"),
)  # fmt: skip

SETUP_FIELDS: Final = frozenset(
    {
        "model",
        "generationConfig",
        "systemInstruction",
        "tools",
        "realtimeInputConfig",
        "sessionResumption",
        "contextWindowCompression",
        "inputAudioTranscription",
        "outputAudioTranscription",
        "proactivity",
        "explicitVadSignal",
        "historyConfig",
        "safetySettings",
        "avatarConfig",
        "labels",
    }
)
"""Every ``setup`` field google-genai 3.4.0 can emit (``_live_converters.py``); anything else is rejected (1007)."""

GENERATION_CONFIG_FIELDS: Final = frozenset(
    {
        "audioTimestamp",
        "audioTranscriptionConfig",
        "candidateCount",
        "enableAffectiveDialog",
        "enableEnhancedCivicAnswers",
        "frequencyPenalty",
        "logprobs",
        "maxOutputTokens",
        "mediaResolution",
        "modelSelectionConfig",
        "presencePenalty",
        "responseFormat",
        "responseJsonSchema",
        "responseLogprobs",
        "responseMimeType",
        "responseModalities",
        "responseSchema",
        "routingConfig",
        "seed",
        "speechConfig",
        "stopSequences",
        "temperature",
        "thinkingConfig",
        "topK",
        "topP",
        "translationConfig",
        "imageConfig",
    }
)
"""``GenerationConfig`` fields (the deprecated ``generation_config`` passes the whole object through)."""

REALTIME_FIELDS: Final = frozenset(
    {"mediaChunks", "audio", "video", "text", "activityStart", "activityEnd", "audioStreamEnd"}
)
CLIENT_CONTENT_FIELDS: Final = frozenset({"turns", "turnComplete"})
TOOL_RESPONSE_FIELDS: Final = frozenset({"functionResponses"})

OPAQUE_KEYS: Final = frozenset(
    {"args", "response", "parameters", "parametersJsonSchema", "responseJsonSchema", "responseSchema", "labels"}
)
"""Values kept verbatim by :func:`normalise`: user data (function args/results, JSON schemas with user property
names), which proto3 carries as ``Struct`` and never renames."""

_AUDIO_MIME_RE: Final = re.compile(r"^audio/pcm(?:\s*;\s*rate\s*=\s*(\d{4,6}))?$", re.IGNORECASE)
_IMAGE_MIMES: Final = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"})
_MIME_RE: Final = re.compile(r"^[a-z0-9.+-]+/[a-z0-9.+-]+(?:\s*;.*)?$", re.IGNORECASE)
_MAX_REASON_BYTES: Final = 123


# --------------------------------------------------------------------------------------------------- data types


class InvalidFrame(Exception):
    """A client frame the real API would reject: the session closes with ``code`` and ``str(self)`` as reason."""

    def __init__(self, reason: str, *, code: int = 1007, field: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.field = field


class SessionClosed(Exception):
    """The session is over (client closed, a fault closed it, or invalid input). Backends just return."""


@dataclass(frozen=True)
class RequestInfo:
    """What the upgrade request said. ``api_key`` is never shown in ``repr``."""

    path: str
    """Normalised path without the query string."""
    version: str
    mode: Mode
    key_source: KeySource | None
    api_key: str | None = field(repr=False)
    headers: Mapping[str, str] = field(repr=False, default_factory=dict)
    """Lower-cased request headers, with ``x-goog-api-key`` and ``authorization`` removed."""


@dataclass(frozen=True)
class SetupInfo:
    """The validated ``setup``: ``data`` is normalised (camelCase, see :func:`normalise`), ``raw`` as sent."""

    raw: Mapping[str, Any]
    data: Mapping[str, Any]
    model: str
    response_modalities: tuple[str, ...]
    input_transcription: bool
    output_transcription: bool
    resumption_requested: bool
    resume_handle: str | None
    automatic_activity_detection: bool
    activity_interrupts: bool
    silence_duration_ms: int | None
    function_names: tuple[str, ...]
    system_instruction: str
    text: str = field(default="", repr=False)
    """The setup frame exactly as received."""

    @property
    def audio_out(self) -> bool:
        """True when the model should answer with audio (the server default when no modality is set)."""
        return "AUDIO" in self.response_modalities


@dataclass(frozen=True)
class ClientMessage:
    """One client frame after validation. ``data`` is the body under ``kind``, camelCase, with media as bytes."""

    kind: str
    """``clientContent``, ``realtimeInput``, ``toolResponse`` or ``contextUpdate``."""
    data: Mapping[str, Any]
    raw: str
    index: int
    """1 for the first frame after ``setup``."""


@dataclass
class MockStats:
    """Counters for tests and benchmarks. Mutated only on the server's loop."""

    sessions_started: int = 0
    sessions_active: int = 0
    sessions_rejected: Counter[int] = field(default_factory=Counter)
    """HTTP status → count, for upgrades refused before a session started (404, 400, 503)."""
    frames_in: int = 0
    frames_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    closes: Counter[int] = field(default_factory=Counter)
    """Close code → count (1006 for aborted connections)."""
    faults_fired: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class SessionSummary:
    """What one finished session looked like (kept for the last 256 sessions)."""

    number: int
    request: RequestInfo | None
    setup: SetupInfo | None
    close_code: int | None
    close_reason: str
    frames_in: int
    frames_out: int
    faults: FaultPlan


class Backend(Protocol):
    """Plays the model's side of one session (see the module docstring)."""

    async def run(self, conn: MockConnection) -> None: ...


BackendFactory = Callable[["MockOptions"], Backend]

_BACKENDS: dict[str, BackendFactory] = {}
_BACKEND_MODULES: Final = {"demo": "tui.mock.demo", "replay": "tui.replay.backend"}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make ``MockOptions(backend=name)`` use ``factory`` (called once per session with the options)."""
    _BACKENDS[name] = factory


def resolve_backend(name: str) -> BackendFactory:
    """The factory registered as ``name``, importing its home module on first use; UserError when unavailable."""
    if name not in _BACKENDS and name in _BACKEND_MODULES:
        try:
            importlib.import_module(_BACKEND_MODULES[name])
        except ModuleNotFoundError as exc:
            if exc.name != _BACKEND_MODULES[name]:
                raise
    if name not in _BACKENDS:
        if name == "replay":
            raise UserError("the mock's replay backend is not available yet (the recorder/replay part is not built)")
        raise UserError(f"unknown mock backend {name!r} (known: {', '.join(sorted(_BACKENDS)) or 'none'})")
    return _BACKENDS[name]


@dataclass(frozen=True)
class MockOptions:
    """How to run the mock. Frozen; pass a new one to change anything."""

    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = True
    backend: str = "demo"
    faults: FaultPlan = field(default_factory=FaultPlan)
    require_key: str | None = field(default=None, repr=False)
    max_sessions: int = 200
    pace: float = 1.0
    """Multiplies every delay the backend makes: 1 = real time, 0 = as fast as possible (tests), 0.5 = twice as fast."""
    seed: int = 0
    """Seeds the demo's synthetic voice and chunk sizes (deterministic output for a given seed and input)."""
    max_message_bytes: int = 16 << 20
    """Largest client frame accepted (websockets closes 1009 beyond)."""
    queue_size: int = 256
    """Client messages buffered per session before back-pressure."""
    setup_timeout_s: float = 30.0
    """A client that sends no ``setup`` within this is closed (1008)."""
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    """Free-form settings for the backend (e.g. the replay file)."""
    allow_remote: bool = False
    """Needed to bind anything but a loopback address."""
    shared_tls: bool = False
    """Use the process's shared loopback certificate (``tls.shared_certificate``) instead of making a fresh one for
    this start (for harnesses that start many short-lived mocks, e.g. ``replay --check``). Loopback hosts only."""


# ------------------------------------------------------------------------------------------ parsing and validation


def _fit_reason(reason: str) -> str:
    data = reason.encode("utf-8")
    if len(data) <= _MAX_REASON_BYTES:
        return reason
    return data[: _MAX_REASON_BYTES - 3].decode("utf-8", errors="ignore") + "..."


def normalise(value: Any) -> Any:
    """Rewrite dict keys to camelCase at every level, except inside :data:`OPAQUE_KEYS` values (user data)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = wire.to_camel(key) if isinstance(key, str) else key
            out[name] = item if name in OPAQUE_KEYS else normalise(item)
        return out
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def _unknown(name: str, where: str) -> InvalidFrame:
    return InvalidFrame(
        f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field.", field=name
    )


def _check_fields(obj: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in obj:
        if wire.to_camel(key) not in allowed:
            raise _unknown(key, where)


def _require_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidFrame(f"Invalid value at '{where}': expected an object", field=where)
    return value


def _decode_media(blob: dict[str, Any], where: str, *, kind: Literal["audio", "image", "any"]) -> dict[str, Any]:
    """Validate one ``Blob`` (mimeType + data) in place, replacing ``data`` by its bytes. Names the bad field."""
    mime = blob.get("mimeType")
    if not isinstance(mime, str) or not mime:
        raise InvalidFrame(f"{where}.mimeType is required", field=f"{where}.mimeType")
    mime_l = mime.strip().lower()
    is_pcm = _AUDIO_MIME_RE.match(mime_l) is not None
    if kind == "audio" and not is_pcm:
        raise InvalidFrame(f"Unsupported {where}.mimeType {mime[:40]!r}: expected audio/pcm;rate=N", field="mimeType")
    if kind == "image" and mime_l.split(";")[0].strip() not in _IMAGE_MIMES:
        raise InvalidFrame(f"Unsupported {where}.mimeType {mime[:40]!r}: expected an image type", field="mimeType")
    if kind == "any" and not _MIME_RE.match(mime_l):
        raise InvalidFrame(f"Invalid {where}.mimeType {mime[:40]!r}", field="mimeType")
    if is_pcm:
        match = _AUDIO_MIME_RE.match(mime_l)
        rate = match.group(1) if match else None
        if rate is not None and not 8000 <= int(rate) <= 48000:
            raise InvalidFrame(f"Unsupported sample rate in {where}.mimeType: {rate}", field="mimeType")
    data = blob.get("data")
    if not isinstance(data, str):
        raise InvalidFrame(f"{where}.data is required (base64)", field=f"{where}.data")
    try:
        raw = wire.b64decode_any(data)
    except ValueError:
        raise InvalidFrame(f"Invalid value at '{where}.data' (TYPE_BYTES): invalid base64", field="data") from None
    if is_pcm and len(raw) % 2:
        raise InvalidFrame(
            f"Invalid {where}.data: {len(raw)} bytes is not whole 16-bit PCM samples", field=f"{where}.data"
        )
    blob["data"] = raw
    return blob


def _validate_realtime(body: dict[str, Any], top: str) -> None:
    _check_fields(body, REALTIME_FIELDS, top)
    present = [k for k in body if body[k] is not None]
    if len(present) > 1:
        raise InvalidFrame(f"{top}: only one of audio, video, text, activity... may be set per message", field=top)
    if "audio" in body:
        _decode_media(_require_object(body["audio"], f"{top}.audio"), f"{top}.audio", kind="audio")
    if "video" in body:
        _decode_media(_require_object(body["video"], f"{top}.video"), f"{top}.video", kind="image")
    if "mediaChunks" in body:
        chunks = body["mediaChunks"]
        if not isinstance(chunks, list):
            raise InvalidFrame(f"{top}.mediaChunks must be a list", field="mediaChunks")
        for i, chunk in enumerate(chunks):
            where = f"{top}.mediaChunks[{i}]"
            blob = _require_object(chunk, where)
            mime = str(blob.get("mimeType", "")).lower()
            _decode_media(blob, where, kind="image" if mime.startswith("image/") else "audio")
    if "text" in body and not isinstance(body["text"], str):
        raise InvalidFrame(f"{top}.text must be a string", field="text")
    for flag in ("activityStart", "activityEnd"):
        if flag in body:
            _require_object(body[flag], f"{top}.{flag}")
    if "audioStreamEnd" in body and not isinstance(body["audioStreamEnd"], bool):
        raise InvalidFrame(f"{top}.audioStreamEnd must be a boolean", field="audioStreamEnd")


def _validate_client_content(body: dict[str, Any], top: str) -> None:
    _check_fields(body, CLIENT_CONTENT_FIELDS, top)
    turns = body.get("turns", [])
    if not isinstance(turns, list):
        raise InvalidFrame(f"{top}.turns must be a list", field="turns")
    for i, turn in enumerate(turns):
        turn_obj = _require_object(turn, f"{top}.turns[{i}]")
        role = turn_obj.get("role")
        if role is not None and role not in ("user", "model"):
            raise InvalidFrame(f"{top}.turns[{i}].role must be user or model", field="role")
        parts = turn_obj.get("parts") or []
        if not isinstance(parts, list):  # found by tests/reliability/test_mock_fuzz.py: was a TypeError → 1011
            raise InvalidFrame(f"{top}.turns[{i}].parts must be a list", field="parts")
        for j, part in enumerate(parts):
            part_obj = _require_object(part, f"{top}.turns[{i}].parts[{j}]")
            if "inlineData" in part_obj:
                where = f"{top}.turns[{i}].parts[{j}].inlineData"
                _decode_media(_require_object(part_obj["inlineData"], where), where, kind="any")
    if "turnComplete" in body and not isinstance(body["turnComplete"], bool):
        raise InvalidFrame(f"{top}.turnComplete must be a boolean", field="turnComplete")


def _validate_tool_response(body: dict[str, Any], top: str) -> None:
    _check_fields(body, TOOL_RESPONSE_FIELDS, top)
    responses = body.get("functionResponses", [])
    if not isinstance(responses, list):
        raise InvalidFrame(f"{top}.functionResponses must be a list", field="functionResponses")
    for i, resp in enumerate(responses):
        # No id check: google-genai insists on ids for the Gemini API, but the real server was sent id-less
        # responses by the .NET SDK (real-live-captures/dotnet-genai/SendToolResponse*) and no rejection is recorded.
        _require_object(resp, f"{top}.functionResponses[{i}]")


def parse_client_frame(text: str | bytes, *, index: int, mode: Mode = "gemini") -> ClientMessage:
    """Parse, validate and normalise one client frame sent after ``setup``. Raises :class:`InvalidFrame`."""
    raw = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    frame = _load_object(raw)
    kinds = [k for k in frame if wire.to_camel(k) in wire.CLIENT_KINDS]
    unknown = [k for k in frame if wire.to_camel(k) not in wire.CLIENT_KINDS]
    if unknown:
        raise _unknown(unknown[0], "BidiGenerateContentClientMessage")
    if len(kinds) != 1:
        raise InvalidFrame("A client message must set exactly one of setup, clientContent, realtimeInput, ...")
    top = kinds[0]
    kind = wire.to_camel(top)
    if kind == "setup":
        raise InvalidFrame("setup may only be sent once, as the first message", field="setup")
    body = normalise(_require_object(frame[top], kind))
    if kind == "realtimeInput":
        _validate_realtime(body, kind)
    elif kind == "clientContent":
        _validate_client_content(body, kind)
    elif kind == "toolResponse":
        _validate_tool_response(body, kind)
    return ClientMessage(kind=kind, data=body, raw=raw, index=index)


def _load_object(raw: str) -> dict[str, Any]:
    try:
        frame = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise InvalidFrame("Invalid JSON payload received. Expected a JSON object.") from None
    if not isinstance(frame, dict):
        raise InvalidFrame("Invalid JSON payload received. Expected a JSON object.")
    return frame


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        parts = content.get("parts") or []
        if not isinstance(parts, list):  # found by tests/reliability/test_mock_fuzz.py: was a TypeError → 1011
            raise InvalidFrame("setup.systemInstruction.parts must be a list", field="parts")
        return " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("text"))
    return ""


def parse_setup(text: str | bytes) -> SetupInfo:
    """Parse and validate the first client frame, which must be ``setup``. Raises :class:`InvalidFrame`."""
    raw = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    frame = _load_object(raw)
    keys = list(frame)
    if len(keys) != 1 or wire.to_camel(keys[0]) != "setup":
        first = wire.to_camel(keys[0]) if keys else "nothing"
        raise InvalidFrame(f"The first message must be setup, got {first[:40]}", field="setup")
    setup_raw = _require_object(frame[keys[0]], "setup")
    _check_fields(setup_raw, SETUP_FIELDS, "setup")
    data = normalise(setup_raw)
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidFrame("setup.model is required", field="setup.model")
    gen = data.get("generationConfig") or {}
    if not isinstance(gen, dict):
        raise InvalidFrame("setup.generationConfig must be an object", field="generationConfig")
    _check_fields(gen, GENERATION_CONFIG_FIELDS, "setup.generation_config")
    modalities = gen.get("responseModalities") or ["AUDIO"]
    if not isinstance(modalities, list) or len(modalities) != 1 or str(modalities[0]).upper() not in ("AUDIO", "TEXT"):
        raise InvalidFrame(
            "setup.generationConfig.responseModalities must be exactly one of AUDIO or TEXT", field="responseModalities"
        )
    resumption = data.get("sessionResumption")
    handle = resumption.get("handle") if isinstance(resumption, dict) else None
    ric = data.get("realtimeInputConfig") or {}
    if not isinstance(ric, dict):
        raise InvalidFrame("setup.realtimeInputConfig must be an object", field="realtimeInputConfig")
    aad = ric.get("automaticActivityDetection") or {}
    silence = aad.get("silenceDurationMs") if isinstance(aad, dict) else None
    names: list[str] = []
    tools = data.get("tools") or []
    if not isinstance(tools, list):  # found by tests/reliability/test_mock_fuzz.py: was a TypeError → 1011
        raise InvalidFrame("setup.tools must be a list", field="tools")
    for tool in tools:
        if not isinstance(tool, dict):
            raise InvalidFrame("setup.tools entries must be objects", field="tools")
        decls = tool.get("functionDeclarations") or []
        if not isinstance(decls, list):
            raise InvalidFrame("setup.tools[].functionDeclarations must be a list", field="functionDeclarations")
        for decl in decls:
            if isinstance(decl, dict) and isinstance(decl.get("name"), str):
                names.append(decl["name"])
    return SetupInfo(
        raw=setup_raw,
        data=data,
        model=model,
        response_modalities=(str(modalities[0]).upper(),),
        input_transcription="inputAudioTranscription" in data,
        output_transcription="outputAudioTranscription" in data,
        resumption_requested=resumption is not None,
        resume_handle=handle if isinstance(handle, str) and handle else None,
        automatic_activity_detection=not (isinstance(aad, dict) and aad.get("disabled") is True),
        activity_interrupts=ric.get("activityHandling") != "NO_INTERRUPTION",
        silence_duration_ms=int(silence) if isinstance(silence, int | float) and math.isfinite(silence) else None,
        function_names=tuple(names),
        system_instruction=_text_of(data.get("systemInstruction")),
        text=raw,
    )


def route(raw_path: str) -> tuple[str, str, Mode] | None:
    """``(normalised_path, version, mode)`` for a Live path, or None. Collapses repeated ``/``."""
    # Not urlsplit: it would read "//ws/..." (the SDK's own default base URL gives that, §2.1) as a host name.
    path = re.sub(r"/{2,}", "/", raw_path.partition("?")[0])
    for pattern, mode in _ROUTES:
        match = pattern.search(path)
        if match:
            return path, match.group(1), mode  # type: ignore[return-value]
    return None


def _key_from(request: Request) -> tuple[KeySource | None, str | None]:
    key = request.headers.get("x-goog-api-key")
    if key:
        return "header", key
    query = parse_qs(request.path.partition("?")[2])
    if query.get("key"):
        return "query", query["key"][0]
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return "bearer", value.strip()
    if scheme.lower() == "token" and value.strip():
        return "token", value.strip()
    return None, None


# ------------------------------------------------------------------------------------------------ the connection


class _MockServerConnection(ServerConnection):
    """A server connection whose pong replies can be delayed or suppressed (the ``slow-pongs``/``no-pongs`` faults).

    websockets answers pings inside its sans-I/O protocol (``Protocol.recv_frame``), so the hook is the protocol's
    ``send_frame``: PONG frames are held back or dropped, everything else passes.
    """

    mock_request: RequestInfo | None = None
    mock_faults: FaultPlan = FaultPlan()
    mock_pace: float | None = None

    def __init__(self, protocol: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(protocol, *args, **kwargs)
        self._orig_send_frame = protocol.send_frame
        protocol.send_frame = self._send_frame_hook

    def _send_frame_hook(self, frame: Frame) -> None:
        if frame.opcode is Opcode.PONG:
            if self.mock_faults.no_pongs:
                return
            if self.mock_faults.pong_delay_s is not None:
                asyncio.get_running_loop().call_later(self.mock_faults.pong_delay_s, self._late_pong, frame)
                return
        self._orig_send_frame(frame)

    def _late_pong(self, frame: Frame) -> None:
        if self.protocol.state.name == "OPEN":  # never write after the closing handshake started
            self._orig_send_frame(frame)
            self.send_data()


class MockConnection:
    """One session as a backend sees it: validated input in, frames out, faults applied. See the module docstring."""

    def __init__(
        self,
        server: MockServer,
        ws: ServerConnection,
        *,
        number: int,
        request: RequestInfo,
        setup: SetupInfo,
        faults: FaultPlan,
        pace: float,
        resumed_state: Mapping[str, Any] | None,
    ) -> None:
        self.server = server
        self.number = number
        self.request = request
        self.setup = setup
        self.faults = faults
        self.pace = pace
        self.options = server.options
        self.session_id = f"mock-session-{number:05d}"
        self.resumed_state: Mapping[str, Any] | None = resumed_state
        """What a previous session stored with :meth:`save_resumption` under the handle this one resumed, if any."""
        self._ws = ws
        self._queue: asyncio.Queue[ClientMessage | None] = asyncio.Queue(maxsize=server.options.queue_size)
        self._closed = asyncio.Event()
        self._started = time.monotonic()
        self._handles = 0
        self._fired: set[str] = set()
        self._chunks_total = 0
        self._chunks_turn = 0
        self.frames_in = 0
        self.frames_out = 0
        self.close_code: int | None = None
        self.close_reason = ""

    # -- what backends use ------------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the session is over."""
        return self._closed.is_set()

    async def recv(self) -> ClientMessage:
        """The next validated client message. Raises :class:`SessionClosed` when the session is over."""
        if self._closed.is_set() and self._queue.empty():
            raise SessionClosed
        message = await self._queue.get()
        if message is None:
            self._queue.put_nowait(None)  # keep the end marker for any later caller
            raise SessionClosed
        return message

    async def send(self, frame: Mapping[str, Any], *, allow_oversized: bool = False) -> None:
        """Serialise and send one server frame, applying connection-level faults. Raises :class:`SessionClosed`."""
        await self._send_frame(frame, json.dumps(frame, separators=(",", ":")), allow_oversized=allow_oversized)

    async def send_raw(self, data: str | bytes, *, binary: bool = False, allow_oversized: bool = False) -> None:
        """Send a frame byte for byte (e.g. one from a recording), with the same faults and limits as :meth:`send`.

        ``data`` must be a JSON object with a known server kind; bytes go out as a text frame unless ``binary``.
        Raises ``ValueError`` for anything else, since the SDK would choke on it (§5.1).
        """
        try:
            frame = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValueError("send_raw: not a JSON frame") from None
        if not isinstance(frame, dict) or (frame and wire.message_kind(frame) not in wire.SERVER_KINDS):
            raise ValueError("send_raw: not a server message the SDK recognises")
        if isinstance(data, bytes) and not binary:
            data = data.decode("utf-8")
        await self._send_frame(frame, data, allow_oversized=allow_oversized)

    async def _send_frame(self, frame: Mapping[str, Any], data: str | bytes, *, allow_oversized: bool) -> None:
        if self._closed.is_set():
            raise SessionClosed
        if self._silenced():
            self._fire("silence")
            return
        is_chunk = isinstance(frame.get("serverContent"), dict) and "modelTurn" in frame["serverContent"]
        faults = self.faults
        if is_chunk:
            if faults.drop_after_chunks == 0 and self._fire("drop-mid-turn"):
                await self.abort()
            if faults.oversized_bytes is not None and self._fire("oversized", repeatable=True):
                await self._send_oversized(faults.oversized_bytes)
        size = len(data.encode("utf-8")) if isinstance(data, str) and not data.isascii() else len(data)
        if size > MAX_FRAME_BYTES and not allow_oversized:
            raise ValueError(f"mock backend tried to send a {size}-byte frame; the SDK's limit is 1 MiB")
        await self._write(data)
        content = frame.get("serverContent")
        if isinstance(content, dict) and content.get("turnComplete"):
            self._chunks_turn = 0
        if is_chunk:
            self._chunks_total += 1
            self._chunks_turn += 1
            drop_at = faults.drop_after_chunks
            if drop_at is not None and self._chunks_total >= drop_at and self._fire("drop-mid-turn"):
                await self.abort()
            if (
                faults.phantom_interrupted_after is not None
                and self._chunks_turn == max(1, faults.phantom_interrupted_after)
                and self._fire("phantom-interrupted", repeatable=True)
            ):
                await self._write('{"serverContent":{"interrupted":true}}')

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the session with a close frame (idempotent)."""
        if self._closed.is_set():
            return
        self.close_code, self.close_reason = code, _fit_reason(reason)
        self._mark_closed()
        with contextlib.suppress(Exception):
            await self._ws.close(code, self.close_reason)

    async def abort(self) -> None:
        """Drop the TCP connection without a close frame (the client sees 1006). Raises :class:`SessionClosed`."""
        if not self._closed.is_set():
            self.close_code, self.close_reason = 1006, "aborted by the mock"
            self._mark_closed()
            self._ws.transport.abort()
        raise SessionClosed

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds × pace`` (no-op at pace 0). Raises :class:`SessionClosed` if the session ends meanwhile."""
        delay = seconds * self.pace
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), delay)
        else:
            await asyncio.sleep(0)
        if self._closed.is_set():
            raise SessionClosed

    def save_resumption(self, state: Mapping[str, Any]) -> str:
        """Store ``state`` server-side under a new handle (returned) that a later ``setup`` may resume with."""
        self._handles += 1
        handle = f"mock-{self.number:05d}-{self._handles:04d}"
        self.server._store_handle(handle, dict(state))
        return handle

    def save_resumption_as(self, handle: str, state: Mapping[str, Any]) -> None:
        """Store ``state`` under a handle the backend chose (e.g. one a recording holds), so a later ``setup`` that
        presents it resumes instead of being refused as unknown."""
        if not handle:
            raise ValueError("save_resumption_as: empty handle")
        self.server._store_handle(handle, dict(state))

    async def send_verbatim(self, data: str | bytes) -> None:
        """Send ``data`` exactly as given: a text frame for ``str``, a binary frame for ``bytes``. Raises
        :class:`SessionClosed`.

        For replaying what a server once sent: no validation (a recording may hold frames the SDK chokes on, and
        replaying them is the point), no size limit and no faults (a recording already holds whatever happened).
        Backends that generate frames use :meth:`send` or :meth:`send_raw`, which keep them SDK-parsable.
        """
        if self._closed.is_set():
            raise SessionClosed
        await self._write(data)

    def fault_fires(self, name: str, *, repeatable: bool = False) -> bool:
        """For backend-level faults (e.g. ``bursty-audio``): True if ``name`` may fire now; records it."""
        return self._fire(name, repeatable=repeatable)

    # -- internals ---------------------------------------------------------------------------------------------

    def _fire(self, name: str, *, repeatable: bool = False) -> bool:
        if name in self._fired and not (repeatable and self.faults.repeat):
            return False
        self.server.stats.faults_fired[name] += 1
        self._fired.add(name)
        return True

    def _silenced(self) -> bool:
        after = self.faults.silence_after_s
        return after is not None and time.monotonic() - self._started >= after

    def _mark_closed(self) -> None:
        self._closed.set()
        if self._queue.full():
            # The end marker must get in, or a backend would wait forever; the session is over, so the oldest
            # unread message is the one to lose.
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def _write(self, text: str | bytes) -> None:
        try:
            await self._ws.send(text)
        except ConnectionClosed:
            self._mark_closed()
            raise SessionClosed from None
        self.frames_out += 1
        self.server.stats.frames_out += 1
        self.server.stats.bytes_out += len(text)

    async def _send_oversized(self, size: int) -> None:
        pcm = bytes(size * 3 // 4 + 4)
        pcm = pcm[: len(pcm) - len(pcm) % 2]
        chunk = {
            "serverContent": {
                "modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": ""}}]}
            }
        }
        chunk["serverContent"]["modelTurn"]["parts"][0]["inlineData"]["data"] = wire.b64encode_std(pcm)
        await self._write(json.dumps(chunk, separators=(",", ":")))

    async def _reader(self) -> None:
        """Feed validated client frames into the queue; close 1007 on invalid input, or as a fault asks."""
        index = 0
        try:
            async for message in self._ws:
                index += 1
                self.frames_in += 1
                self.server.stats.frames_in += 1
                self.server.stats.bytes_in += len(message)
                plan = self.faults
                if plan.close_on_message is not None and index >= plan.close_on_message and self._fire("close"):
                    await self.close(plan.close_code or 1011, _fault_reason(plan))
                    return
                try:
                    parsed = parse_client_frame(message, index=index, mode=self.request.mode)
                except InvalidFrame as exc:
                    await self.close(exc.code, str(exc))
                    return
                await self._queue.put(parsed)
        except ConnectionClosed:
            pass
        finally:
            if self.close_code is None:
                self.close_code = self._ws.close_code or 1006
                self.close_reason = self._ws.close_reason or ""
            self._mark_closed()

    async def _timers(self) -> None:
        """Time-based faults: goAway (then close when timeLeft runs out) and close-after-T."""
        plan = self.faults
        events: list[tuple[float, str]] = []
        if plan.go_away_after_s is not None:
            events.append((plan.go_away_after_s, "goaway"))
        if plan.close_code is not None and plan.close_after_s is not None and plan.close_on_message is None:
            events.append((plan.close_after_s, "close"))
        for at, what in sorted(events):
            delay = at - (time.monotonic() - self._started)
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closed.wait(), delay)
            if self._closed.is_set():
                return
            if what == "close" and self._fire("close"):
                await self.close(plan.close_code or 1011, _fault_reason(plan))
                return
            if what == "goaway" and self._fire("goaway"):
                await self.send_go_away(plan.go_away_time_left_s)

    async def send_go_away(self, time_left_s: float) -> None:
        """Send ``goAway`` and close (1000) when ``time_left_s`` runs out, unless the client left before."""
        try:
            await self.send({"goAway": {"timeLeft": f"{time_left_s:g}s"}})
        except SessionClosed:
            return

        async def _expire() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), time_left_s)
            await self.close(1000, "Session closed: the goAway timeLeft ran out (mock)")

        self.server._spawn(_expire())


def _fault_reason(plan: FaultPlan) -> str:
    if plan.close_reason:
        return plan.close_reason
    return {
        1007: "Request contains an invalid argument. (mock fault)",
        1008: "Operation is not implemented, or supported, or enabled. (mock fault)",
        1011: "Internal error encountered. (mock fault)",
    }.get(plan.close_code or 1011, "Closed by a mock fault")


# ---------------------------------------------------------------------------------------------------- the server


class MockServer:
    """A running mock. Get one from :func:`serve_mock`."""

    def __init__(self, options: MockOptions, factory: BackendFactory, certificate: MockCertificate | None) -> None:
        self.options = options
        self.certificate = certificate
        self.stats = MockStats()
        self.sessions: deque[SessionSummary] = deque(maxlen=256)
        """Summaries of finished sessions, oldest first (bounded)."""
        self.host = options.host
        self.port = 0
        self._factory = factory
        self._handles: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._plan_uses: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._seq = 0
        self._session_ended = asyncio.Event()
        """Set whenever a session's summary is in (``idle`` waits on it rather than polling)."""

    @property
    def ca_file(self) -> Path | None:
        """The PEM a client must trust (None without TLS)."""
        return self.certificate.ca_file if self.certificate else None

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:PORT`` (``http://`` without TLS): give this to the SDK as ``base_url``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.certificate else 'http'}://{host}:{self.port}"

    def ws_url(
        self, path: str = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    ) -> str:
        """A full ``wss://`` (or ``ws://``) URL for raw websockets clients."""
        scheme = "wss" if self.certificate else "ws"
        return f"{scheme}{self.base_url[self.base_url.index(':') :]}{path}"

    def client_ssl_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this server's CA. Raises RuntimeError without TLS."""
        if self.certificate is None:
            raise RuntimeError("this mock runs without TLS")
        return client_ssl_context(self.certificate.ca_file)

    def sdk_http_options(self, **overrides: Any) -> Any:
        """``google.genai.types.HttpOptions`` pointing at this mock and trusting its CA (``overrides`` win)."""
        from google.genai import types  # lazy: the mock itself does not need the SDK

        args: dict[str, Any] = {"base_url": self.base_url, "async_client_args": {"ssl": self.client_ssl_context()}}
        args.update(overrides)
        return types.HttpOptions(**args)

    async def idle(self, timeout: float = 5.0) -> None:
        """Wait until no session is active (each finished one is then in :attr:`sessions`). TimeoutError after."""
        async with asyncio.timeout(timeout):
            while self.stats.sessions_active:
                self._session_ended.clear()
                await self._session_ended.wait()

    # -- handles -----------------------------------------------------------------------------------------------

    def _store_handle(self, handle: str, state: dict[str, Any]) -> None:
        self._handles[handle] = state
        while len(self._handles) > 4096:
            self._handles.popitem(last=False)

    def resumption_state(self, handle: str) -> Mapping[str, Any] | None:
        """The state stored under ``handle``, or None if unknown."""
        return self._handles.get(handle)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- upgrade -----------------------------------------------------------------------------------------------

    def _reject(self, connection: ServerConnection, status: HTTPStatus, text: str) -> Response:
        self.stats.sessions_rejected[int(status)] += 1
        return connection.respond(status, text + "\n")

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        routed = route(request.path)
        if routed is None:
            return self._reject(connection, HTTPStatus.NOT_FOUND, "Not Found: not a Live API path")
        if self.stats.sessions_active >= self.options.max_sessions:
            return self._reject(connection, HTTPStatus.SERVICE_UNAVAILABLE, "Too many sessions on this mock")
        path, version, mode = routed
        source, key = _key_from(request)
        faults = self.options.faults
        header_spec = request.headers.get(FAULT_HEADER)
        if header_spec:
            try:
                faults = faults.merged(FaultPlan.parse(header_spec))
            except FaultSpecError as exc:
                return self._reject(connection, HTTPStatus.BAD_REQUEST, str(exc))
        pace: float | None = None
        pace_spec = request.headers.get(PACE_HEADER)
        if pace_spec:
            try:
                pace = float(pace_spec)
                if not 0 <= pace <= 100:
                    raise ValueError
            except ValueError:
                return self._reject(connection, HTTPStatus.BAD_REQUEST, f"bad {PACE_HEADER}: {pace_spec[:20]!r}")
        if faults.sessions is not None:
            spec = faults.describe()
            self._plan_uses[spec] += 1
            if self._plan_uses[spec] > faults.sessions:
                faults = FaultPlan()
        headers = {
            name.lower(): value
            for name, value in request.headers.raw_items()
            if name.lower() not in ("x-goog-api-key", "authorization")
        }
        info = RequestInfo(path=path, version=version, mode=mode, key_source=source, api_key=key, headers=headers)
        if isinstance(connection, _MockServerConnection):
            connection.mock_request = info
            connection.mock_faults = faults
            connection.mock_pace = pace
        return None

    # -- one session -------------------------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        assert isinstance(ws, _MockServerConnection)
        request = ws.mock_request
        faults = ws.mock_faults
        self._seq += 1
        number = self._seq
        self.stats.sessions_started += 1
        self.stats.sessions_active += 1
        conn: MockConnection | None = None
        setup: SetupInfo | None = None
        close_code: int | None = None
        close_reason = ""
        frames_in = 0
        try:
            assert request is not None
            try:
                first = await asyncio.wait_for(ws.recv(), self.options.setup_timeout_s)
            except TimeoutError:
                close_code, close_reason = 1008, "No setup message received in time (mock)"
                await ws.close(close_code, close_reason)
                return
            frames_in = 1
            self.stats.frames_in += 1
            self.stats.bytes_in += len(first)
            try:
                setup = parse_setup(first)
            except InvalidFrame as exc:
                close_code, close_reason = exc.code, _fit_reason(str(exc))
                await ws.close(close_code, close_reason)
                return
            required = self.options.require_key
            if required is not None and request.api_key != required:
                close_code = 1008
                close_reason = "API key not valid. Please pass a valid API key. (mock)"
                await ws.close(close_code, close_reason)
                return
            resumed: Mapping[str, Any] | None = None
            if setup.resume_handle is not None:
                resumed = self.resumption_state(setup.resume_handle)
                if resumed is None:
                    close_code = 1007
                    close_reason = "Invalid setup.sessionResumption.handle: unknown or expired (mock)"
                    await ws.close(close_code, close_reason)
                    return
            conn = MockConnection(
                self,
                ws,
                number=number,
                request=request,
                setup=setup,
                faults=faults,
                pace=ws.mock_pace if ws.mock_pace is not None else self.options.pace,
                resumed_state=resumed,
            )
            conn.frames_in = 1
            complete: dict[str, Any] = {"setupComplete": {}}
            if request.mode == "vertex":
                complete["setupComplete"]["sessionId"] = conn.session_id  # Vertex sends one; the Gemini API not
            await conn._write(json.dumps(complete, separators=(",", ":")))
            await self._run_session(conn)
        except (ConnectionClosed, SessionClosed):
            pass
        finally:
            self.stats.sessions_active -= 1
            if conn is not None:
                close_code = conn.close_code if conn.close_code is not None else ws.close_code
                close_reason = conn.close_reason
                frames_in = conn.frames_in
            elif close_code is None:
                close_code = ws.close_code
            code = close_code if close_code is not None else 1006
            self.stats.closes[code] += 1
            self.sessions.append(
                SessionSummary(
                    number=number,
                    request=request,
                    setup=setup,
                    close_code=code,
                    close_reason=close_reason,
                    frames_in=frames_in,
                    frames_out=conn.frames_out if conn else 0,
                    faults=faults,
                )
            )
            self._session_ended.set()

    async def _run_session(self, conn: MockConnection) -> None:
        backend = self._factory(self.options)
        reader = asyncio.create_task(conn._reader(), name=f"mock-reader-{conn.number}")
        timers = asyncio.create_task(conn._timers(), name=f"mock-timers-{conn.number}")
        runner = asyncio.create_task(backend.run(conn), name=f"mock-backend-{conn.number}")
        closed = asyncio.create_task(conn._closed.wait())
        try:
            await asyncio.wait({runner, closed}, return_when=asyncio.FIRST_COMPLETED)
            if runner.done() and not runner.cancelled():
                exc = runner.exception()
                if exc is not None and not isinstance(exc, SessionClosed):
                    log.error("mock backend failed", exc_info=exc)
                    await conn.close(1011, "Internal error encountered. (mock backend failed)")
                elif not conn.closed:
                    await conn.close(1000, "mock session ended")
        finally:
            for task in (runner, timers, closed):
                task.cancel()
            if not conn.closed:
                await conn.close(1001, "mock server shutting down")
            await asyncio.gather(runner, timers, closed, return_exceptions=True)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(reader), 5)
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


def _is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")


@asynccontextmanager
async def serve_mock(
    options: MockOptions | None = None, *, backend_factory: BackendFactory | None = None
) -> AsyncIterator[MockServer]:
    """Start a mock on ``options.host:options.port`` (0 = a free port) and yield it; stop it on exit.

    The TLS material is created before and deleted after. Raises :class:`UserError` for a non-loopback host
    without ``allow_remote`` or an unknown backend.
    """
    options = options or MockOptions()
    if not _is_loopback(options.host) and not options.allow_remote:
        raise UserError(f"refusing to serve the mock on {options.host}: it is not loopback (use --allow-remote)")
    if options.pace < 0:
        raise UserError("pace must be >= 0")
    factory = backend_factory or resolve_backend(options.backend)
    hosts = DEFAULT_HOSTS if _is_loopback(options.host) else (options.host, *DEFAULT_HOSTS)
    shared = options.tls and options.shared_tls and _is_loopback(options.host)
    certificate: MockCertificate | None = None
    context: ssl.SSLContext | None = None
    if shared:
        certificate, context = shared_certificate()
    elif options.tls:
        certificate = generate_certificate(hosts=hosts)
    mock = MockServer(options, factory, certificate)
    try:
        try:
            server: Server = await serve(
                mock._handle,
                options.host,
                options.port,
                ssl=context or (certificate.server_context() if certificate else None),
                process_request=mock._process_request,
                create_connection=_MockServerConnection,
                compression=None,
                max_size=options.max_message_bytes,
                ping_interval=None,  # the client pings (every 20 s in the SDK); the server only answers
                close_timeout=2,
                server_header="gemini-live-tui mock",
            )
        except OSError as exc:
            raise UserError(f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}") from None
        try:
            sock = next(iter(server.sockets))
            mock.port = int(sock.getsockname()[1])
            yield mock
        finally:
            for task in list(mock._tasks):
                task.cancel()
            server.close()
            await server.wait_closed()
    finally:
        if certificate is not None and not shared:
            certificate.remove()


__all__ = [
    "FAULT_HEADER",
    "PACE_HEADER",
    "Backend",
    "BackendFactory",
    "ClientMessage",
    "FaultPlan",
    "InvalidFrame",
    "MockConnection",
    "MockOptions",
    "MockServer",
    "MockStats",
    "RequestInfo",
    "SessionClosed",
    "SessionSummary",
    "SetupInfo",
    "normalise",
    "parse_client_frame",
    "parse_setup",
    "register_backend",
    "resolve_backend",
    "route",
    "serve_mock",
]
