"""UI-neutral events that the session core emits: the contract between the core, the UI, replay and tests.

Every server message kind (``live-protocol.md`` §5) becomes one or more of these frozen dataclasses; the
session lifecycle (connecting, resumed, reconnecting, fatal) and the local tool runner add their own. Nothing
here imports the SDK, Textual or any I/O library, so a recording can be turned into events anywhere.

Invariants:
- Events are immutable and carry plain values only (str, int, float, bytes, tuples, dicts of JSON values).
- ``ModelAudio.pcm`` is raw s16le mono PCM at ``rate`` Hz (24 kHz on the Gemini API), already base64-decoded.
- ``generation`` numbers a model generation within the session (0, 1, 2…). The speaker uses it to drop late
  chunks of an interrupted generation; the transcript uses it to group deltas into turns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

JSONValue: TypeAlias = Any
"""A JSON-compatible value (dict, list, str, int, float, bool or None)."""


# --------------------------------------------------------------------------------------------------
# Lifecycle
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connecting:
    """A connection attempt is starting (first connect, resumption or reconnect)."""

    attempt: int
    """1 for the first try of this connection, 2.. for retries after a drop."""
    url: str
    """The endpoint, with any key or token redacted."""
    resuming: bool = False
    """True when a session-resumption handle is being presented."""


@dataclass(frozen=True, slots=True)
class Connected:
    """``setupComplete`` arrived: the session is live and accepts input."""

    session_id: str | None
    """The server's session id (Vertex sends one; the Gemini API sends ``{}``)."""
    resumed: bool
    """True when this connection resumed an earlier one with a handle."""
    setup_ms: float
    """Milliseconds from the start of the connection attempt to ``setupComplete``."""


@dataclass(frozen=True, slots=True)
class GoAway:
    """The server will close this connection soon; the client should resume before ``time_left_s`` runs out."""

    time_left_s: float


@dataclass(frozen=True, slots=True)
class ResumptionUpdate:
    """A new session-resumption handle (``sessionResumptionUpdate``)."""

    handle: str | None
    resumable: bool


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The socket closed. ``will_retry`` says whether the lifecycle will reconnect."""

    code: int | None
    reason: str
    will_retry: bool


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """The lifecycle is waiting ``delay_s`` before reconnect attempt ``attempt`` (after a drop or a goAway)."""

    attempt: int
    delay_s: float
    cause: Literal["drop", "go_away"]


@dataclass(frozen=True, slots=True)
class Fatal:
    """The session cannot continue (1007, 1008, bad key, retries exhausted). One clear message for a person."""

    message: str
    code: int | None = None


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """The session ended normally (the user quit or the input ended)."""


# --------------------------------------------------------------------------------------------------
# Server content
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelText:
    """A text part of the model's turn (TEXT modality), or a thought summary when ``thought`` is True."""

    text: str
    generation: int
    thought: bool = False


@dataclass(frozen=True, slots=True)
class ModelAudio:
    """A chunk of the model's spoken reply: raw s16le mono PCM at ``rate`` Hz."""

    pcm: bytes
    rate: int
    generation: int


@dataclass(frozen=True, slots=True)
class InputTranscript:
    """A piece of the transcription of the user's audio (``inputTranscription``)."""

    text: str
    finished: bool = False


@dataclass(frozen=True, slots=True)
class OutputTranscript:
    """A piece of the transcription of the model's audio (``outputTranscription``)."""

    text: str
    generation: int
    finished: bool = False


@dataclass(frozen=True, slots=True)
class ExecutableCode:
    """Code the model wrote and the server will run (code execution tool)."""

    language: str
    code: str
    generation: int


@dataclass(frozen=True, slots=True)
class CodeExecutionResult:
    """The result of server-side code execution."""

    outcome: str
    output: str
    generation: int


@dataclass(frozen=True, slots=True)
class Grounding:
    """Search grounding for the current turn: the queries run and the sources cited."""

    queries: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]
    """(title, uri) pairs."""
    generation: int


@dataclass(frozen=True, slots=True)
class GenerationComplete:
    """The model finished generating this turn (audio may still be playing locally)."""

    generation: int


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The current generation is cut and will get no more output. Drop its buffered audio at once."""

    generation: int
    cause: Literal["barge_in", "go_away", "drop"] = "barge_in"
    """``barge_in``: the server said ``interrupted`` (the user talked over the model). ``go_away`` / ``drop``: the
    client cut it because its connection was being replaced (goAway) or was lost; the reply is gone, not refused."""


@dataclass(frozen=True, slots=True)
class TurnComplete:
    """The model's turn is over (``turnComplete``)."""

    generation: int
    reason: str | None = None
    """``turnCompleteReason`` when the server gives one."""
    waiting_for_input: bool = False


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """One function call requested by the model."""

    id: str
    name: str
    args: dict[str, JSONValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model asks the client to run these functions (``toolCall``)."""

    calls: tuple[FunctionCall, ...]
    generation: int


@dataclass(frozen=True, slots=True)
class ToolCallCancelled:
    """The server cancelled these pending calls (``toolCallCancellation``), usually after an interruption."""

    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage (``usageMetadata``). Figures are as the server reports them for the turn."""

    prompt_tokens: int | None
    response_tokens: int | None
    total_tokens: int | None
    thoughts_tokens: int | None = None
    tool_use_prompt_tokens: int | None = None
    cached_tokens: int | None = None
    details: dict[str, dict[str, int]] = field(default_factory=dict)
    """``{"prompt": {"AUDIO": 120, "TEXT": 8}, "response": {...}}`` from the ``*TokensDetails`` lists."""


@dataclass(frozen=True, slots=True)
class VoiceActivity:
    """Server-side voice activity (``voiceActivity`` / ``voiceActivityDetectionSignal``)."""

    kind: str
    """e.g. ``ACTIVITY_START``, ``ACTIVITY_END``, ``VAD_SIGNAL_TYPE_SOS``."""


# --------------------------------------------------------------------------------------------------
# Local tool runner
# --------------------------------------------------------------------------------------------------


ToolStatus = Literal["pending", "running", "ok", "error", "cancelled", "timeout"]


@dataclass(frozen=True, slots=True)
class ToolStatusChanged:
    """The local runner's progress on one function call; the UI's tool pane follows these."""

    id: str
    name: str
    status: ToolStatus
    args: dict[str, JSONValue] = field(default_factory=dict)
    result: JSONValue = None
    """The response sent to the model (``ok``), or ``{"error": ...}``."""
    duration_ms: float | None = None


# --------------------------------------------------------------------------------------------------
# Local input echoed as events (so the transcript and a recording see what the user did)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserText:
    """The user sent a text turn."""

    text: str


@dataclass(frozen=True, slots=True)
class FrameSent:
    """A video frame (JPEG) was sent: exactly these bytes, so the preview shows what the model got."""

    jpeg: bytes
    width: int
    height: int
    source: str
    """``camera``, ``screen`` or ``file``."""


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a person should know that is not an error of the session (offline demo, echo warning…)."""

    level: Literal["info", "warning", "error"]
    message: str


SessionEvent: TypeAlias = (
    Connecting
    | Connected
    | GoAway
    | ResumptionUpdate
    | Disconnected
    | Reconnecting
    | Fatal
    | SessionClosed
    | ModelText
    | ModelAudio
    | InputTranscript
    | OutputTranscript
    | ExecutableCode
    | CodeExecutionResult
    | Grounding
    | GenerationComplete
    | Interrupted
    | TurnComplete
    | ToolCall
    | ToolCallCancelled
    | Usage
    | VoiceActivity
    | ToolStatusChanged
    | UserText
    | FrameSent
    | Notice
)
"""Everything the session core can emit."""
