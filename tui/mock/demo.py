"""The demo backend: a deterministic, offline stand-in for the model that says it is one.

It plays the model's side of a session over :class:`tui.mock.server.MockConnection` (validation, faults and framing
are the connection's job). Every reply starts with "(offline demo)". Behaviour:

* **Replies** in the session's modality. TEXT: a few words per ``modelTurn`` part. AUDIO: 24 kHz s16le mono from a
  synthetic speech-like voice (harmonics of a 120-200 Hz pitch, a syllable envelope, pauses between words; the same
  text and seed give the same bytes) in chunks of 40-240 ms, each carrying the matching ``outputTranscription``
  piece when the setup asked for it. Then ``generationComplete``; for audio, ``turnComplete`` waits until the audio
  would have finished playing (so a barge-in can still interrupt it, as on the real server); ``turnComplete`` carries
  ``usageMetadata`` (32 tokens per second of audio, one per 4 characters of text, 258 per image frame; the prompt
  count is the session's history plus the text, mic audio and frames received since the last turn). If the setup
  asked for session resumption, a ``sessionResumptionUpdate`` with a new handle follows each turn; resuming with it
  restores the demo's memory.
* **Turns start** on ``clientContent`` with ``turnComplete: true``, on realtime ``text`` (echoed as
  ``inputTranscription`` when input transcription is on), at the end of mic speech, on ``activityEnd`` (manual
  activity mode), or on ``audioStreamEnd`` during speech.
* **Hearing**: mic audio counts as speech when its RMS exceeds :data:`SPEECH_RMS` (about -35 dBFS); speech ends after
  the setup's ``silenceDurationMs`` of quiet (default 500 ms of *audio* time, so it works at any pace). The reply
  says how long the user spoke. With automatic activity detection disabled, ``activityStart``/``activityEnd`` bound
  the turn instead.
* **Voice activity** (opt-in): with the request header ``x-mock-voice-activity: 1`` (or
  ``backend_options["voice_activity"]``) the demo sends ``voiceActivity`` ``ACTIVITY_START``/``ACTIVITY_END`` with
  the ``audioOffset`` into the mic stream, as gemini-3.8 does; with ``explicitVadSignal: true`` in the setup (a
  Vertex field) it sends ``voiceActivityDetectionSignal`` SOS/EOS. Off by default, like most real models.
* **Barge-in**: the user starting to speak (or ``activityStart``, or a new text turn) while a turn is still open
  stops that generation: ``interrupted: true``, then ``turnComplete`` with the usage so far; a pending tool call is
  cancelled first with ``toolCallCancellation``. ``activityHandling: NO_INTERRUPTION`` turns speech barge-in off.
* **Seeing**: each image frame (realtime ``video``, image ``mediaChunks``, or image ``inlineData`` in a turn) is
  measured; asking "what do you see?" gets its size, brightness and dominant colour in words ("red").
* **Memory**: "my name is X" / "remember that Y" are stored; "what is my name?" / "what do you remember?" recall
  them, also in a session resumed with a handle (the state lives in the server, keyed by the handle).
* **Tools**: a declared function is called when the text names it (``get_weather`` or "get weather"), or by keyword
  for the built-in demo tools: weather → ``get_weather(city=...)`` (city parsed from "in/for/at <City>", default
  London), time/clock → ``get_time(timezone=...)`` (an ``Area/City`` name in the text, default "UTC"). Ids are
  ``mock-call-N``. The demo waits (up to 120 s) for the ``toolResponse`` with that id, then quotes its result.

Scenario triggers in the user's text (case-insensitive), for recordings and tests:

======================  =========================================================================================
``goaway``              send ``goAway`` (timeLeft 10 s, or the fault plan's), then answer; close 1000 when it runs out
``mock:drop``           abort the TCP connection (client sees 1006) after 2 audio/text chunks of the reply
``mock:close=CODE``     close with CODE (1007, 1008, 1011) instead of answering
``mock:silence``        never answer this turn (the socket stays open)
``mock:big``            send one frame over 1 MiB before the reply (kills an SDK client with 1006)
``mock:phantom``        send ``interrupted: true`` after the first chunk although nobody spoke; the reply goes on
``mock:burst``          send this reply's audio in bursts (several chunks at once, then a gap)
``mock:long``           a long reply (about 12 s of audio) to have something to interrupt
``mock:thinking``       the reply starts with a ``thought: true`` text part (like native-audio models)
======================  =========================================================================================

Pacing: every delay goes through ``conn.sleep`` and is multiplied by the session's pace (0 = no delays at all).
Threading: one asyncio task per session plus one generation task at a time; nothing blocks except Pillow decoding a
frame (~1 ms for a small JPEG).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import math
import random
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from tui.live import wire
from tui.mock.server import ClientMessage, MockConnection, MockOptions, SessionClosed, register_backend

log = logging.getLogger(__name__)

OUT_RATE: Final = 24_000
IN_RATE_DEFAULT: Final = 16_000
SPEECH_RMS: Final = 500.0
"""RMS (int16 units) above which a mic chunk counts as speech: about -36 dBFS, well above a quiet room."""
DEFAULT_SILENCE_MS: Final = 500
TOKENS_PER_FRAME: Final = 258
"""What the real API bills per image at default media resolution."""
TOOL_WAIT_S: Final = 120.0
MAX_FACTS: Final = 20
MAX_PENDING_PARTS: Final = 200
"""Text parts kept from ``turnComplete: false`` context before a turn completes (older ones are dropped)."""
VOICE_ACTIVITY_HEADER: Final = "x-mock-voice-activity"
"""Request header (``1``/``true``) asking the demo to send ``voiceActivity`` start/end frames, as gemini-3.8 does."""
DEMO_TOOLS: Final = ("get_weather", "get_time")
"""The built-in demo tools the session helper declares: ``get_weather(city: str)``, ``get_time(timezone="UTC")``."""

_COLOURS: Final = (
    ("black", (0, 0, 0)),
    ("white", (255, 255, 255)),
    ("grey", (128, 128, 128)),
    ("red", (220, 30, 30)),
    ("green", (40, 170, 60)),
    ("blue", (40, 70, 220)),
    ("yellow", (240, 220, 40)),
    ("orange", (245, 140, 20)),
    ("purple", (130, 50, 170)),
    ("pink", (245, 150, 190)),
    ("cyan", (40, 200, 220)),
    ("brown", (120, 75, 40)),
)


@dataclass(frozen=True)
class FrameInfo:
    """What the demo "saw" in the last image frame."""

    width: int = 0
    height: int = 0
    brightness: float = 0.0
    """Mean luma, 0..1."""
    colour: str = ""
    error: str | None = None


@dataclass
class _Prompt:
    text: str
    source: str  # "text" | "speech"
    speech_s: float = 0.0


@dataclass
class _Turn:
    """The open model turn (from the first chunk until ``turnComplete``)."""

    prompt_tokens: int
    prompt_details: list[dict[str, Any]] = field(default_factory=list)
    response_tokens: int = 0
    modality: str = "TEXT"
    pending_calls: list[str] = field(default_factory=list)
    done: bool = False


def analyse_frame(data: bytes) -> FrameInfo:
    """Size, mean brightness and dominant colour name of an encoded image (JPEG/PNG/...)."""
    try:
        from PIL import Image  # lazy: only sessions that send frames pay for Pillow

        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            img.draft("RGB", (64, 64))  # JPEG: decode at 1/2..1/8 scale, ~10x faster on camera frames
            small = img.convert("RGB").resize((32, 32))
    except Exception as exc:  # a truncated or foreign image is reported, not fatal
        return FrameInfo(error=f"could not decode the frame ({type(exc).__name__})")
    pixels = np.asarray(small, dtype=np.float32).reshape(-1, 3)
    luma = float((pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).mean() / 255.0)
    palette = np.array([c for _, c in _COLOURS], dtype=np.float32)
    nearest = np.argmin(((pixels[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2), axis=1)
    counts = np.bincount(nearest, minlength=len(_COLOURS))
    return FrameInfo(width=width, height=height, brightness=luma, colour=_COLOURS[int(counts.argmax())][0])


def synth_voice(text: str, seed: int) -> np.ndarray:
    """Speech-like int16 PCM at 24 kHz for ``text``: about 15 characters per second, deterministic in (text, seed)."""
    rng = random.Random(zlib.crc32(text.encode()) ^ seed)
    words = text.split() or ["..."]
    segments: list[np.ndarray] = []
    base_f0 = rng.uniform(120.0, 200.0)
    t_total = 0.0
    for word in words:
        syllables = max(1, min(4, round(len(word) / 3)))
        for _ in range(syllables):
            dur = rng.uniform(0.14, 0.22)
            n = int(dur * OUT_RATE)
            t = np.arange(n, dtype=np.float64) / OUT_RATE
            f0 = base_f0 * (1.0 + 0.08 * math.sin(t_total * 1.3)) * (1.0 + 0.05 * np.sin(2 * np.pi * 3.0 * t))
            phase = 2 * np.pi * np.cumsum(f0) / OUT_RATE
            formant = rng.uniform(400.0, 900.0)
            sig = np.zeros(n)
            for k in range(1, 9):
                weight = 1.0 / k * math.exp(-(((k * base_f0) - formant) ** 2) / (2 * 350.0**2)) + 0.15 / k
                sig += weight * np.sin(k * phase)
            env = np.sin(np.pi * np.linspace(0.0, 1.0, n)) ** 0.7
            segments.append(sig * env)
            t_total += dur
        gap = int(rng.uniform(0.05, 0.12) * OUT_RATE)
        segments.append(np.zeros(gap))
        t_total += gap / OUT_RATE
    audio = np.concatenate(segments)
    peak = float(np.abs(audio).max()) or 1.0
    return (audio / peak * 0.45 * 32767).astype("<i2")


def _rms(pcm: bytes) -> float:
    if len(pcm) < 2:
        return 0.0
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float32)
    return float(np.sqrt(np.mean(samples * samples)))


def _rate_of(mime: str) -> int:
    match = re.search(r"rate\s*=\s*(\d+)", mime)
    return int(match.group(1)) if match else IN_RATE_DEFAULT


def _tokens_for_text(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _find_city(text: str) -> str:
    match = re.search(r"\b(?:in|for|at)\s+([A-Za-z][A-Za-z'-]*(?:\s+[A-Z][A-Za-z'-]*)*)", text)
    if match:
        city = match.group(1).strip()
        if city.lower() not in ("the", "a", "my", "this", "here"):
            return " ".join(w[:1].upper() + w[1:] for w in city.split())
    return "London"


def _find_timezone(text: str) -> str:
    match = re.search(r"\b([A-Z][A-Za-z]+/[A-Z][A-Za-z_]+)\b", text)
    return match.group(1) if match else "UTC"


def _quote(result: Any) -> str:
    if isinstance(result, Mapping) and len(result) == 1:
        (value,) = result.values()
        if isinstance(value, str | int | float):
            return str(value)
    return json.dumps(result, sort_keys=True, ensure_ascii=False)[:300]


class DemoBackend:
    """The demo model. One instance per session (the factory is the class itself)."""

    def __init__(self, options: MockOptions) -> None:
        self.options = options

    async def run(self, conn: MockConnection) -> None:
        """Serve the session until it ends."""
        await _DemoSession(conn, self.options.seed).run()


class _DemoSession:
    def __init__(self, conn: MockConnection, seed: int) -> None:
        self.conn = conn
        self.seed = seed
        state = conn.resumed_state or {}
        self.name: str | None = state.get("name")
        self.facts: list[str] = list(state.get("facts", []))
        self.turns: int = int(state.get("turns", 0))
        self.context_tokens: int = int(state.get("context_tokens", 0))
        self.calls: int = int(state.get("calls", 0))
        self.pending_text: list[str] = []
        self.last_frame: FrameInfo | None = None
        self.generation: asyncio.Task[None] | None = None
        self.turn: _Turn | None = None
        self.tool_waiters: dict[str, asyncio.Future[Any]] = {}
        # Hearing state, in audio time (samples), so it works the same at any pace.
        self.speaking = False
        self.speech_s = 0.0
        self.quiet_s = 0.0
        self.in_activity = False
        self.audio_clock_s = 0.0
        self.unbilled_audio_s = 0.0
        self.unbilled_frames = 0
        """Seconds of mic audio received so far: the time base of ``voiceActivity.audioOffset``."""
        self.setup = conn.setup
        flag = str(conn.request.headers.get(VOICE_ACTIVITY_HEADER, "")).lower()
        self.voice_activity = flag in ("1", "true", "yes", "on") or bool(
            conn.options.backend_options.get("voice_activity")
        )
        self.explicit_vad = self.setup.data.get("explicitVadSignal") is True
        self.vertex = conn.request.mode == "vertex"
        # Real Vertex audio says bare "audio/pcm" (24 kHz implied); the Gemini API names the rate.
        self.audio_mime = "audio/pcm" if self.vertex else f"audio/pcm;rate={OUT_RATE}"
        silence_ms = self.setup.silence_duration_ms
        self.silence_s = (silence_ms if silence_ms and silence_ms > 0 else DEFAULT_SILENCE_MS) / 1000.0

    async def run(self) -> None:
        try:
            while True:
                message = await self.conn.recv()
                await self.handle(message)
        except SessionClosed:
            pass
        finally:
            if self.generation is not None:
                self.generation.cancel()
                with contextlib.suppress(BaseException):
                    await self.generation

    # -- input -------------------------------------------------------------------------------------------------

    async def handle(self, message: ClientMessage) -> None:
        data = message.data
        if message.kind == "clientContent":
            await self._client_content(data)
        elif message.kind == "realtimeInput":
            await self._realtime(data)
        elif message.kind == "toolResponse":
            for resp in data.get("functionResponses") or []:
                waiter = self.tool_waiters.get(str(resp.get("id", "")))
                if waiter is None and resp.get("id") is None and len(self.tool_waiters) == 1:
                    waiter = next(iter(self.tool_waiters.values()))  # Vertex may omit ids
                if waiter is not None and not waiter.done():
                    waiter.set_result(resp.get("response"))
        # contextUpdate: accepted; the demo has nothing to change.

    async def _client_content(self, data: Mapping[str, Any]) -> None:
        for turn in data.get("turns") or []:
            for part in turn.get("parts") or []:
                if isinstance(part.get("text"), str) and turn.get("role", "user") == "user":
                    self.pending_text = [*self.pending_text, part["text"]][-MAX_PENDING_PARTS:]
                blob = part.get("inlineData")
                if isinstance(blob, Mapping) and str(blob.get("mimeType", "")).startswith("image/"):
                    self._see(blob["data"])
        if data.get("turnComplete"):
            text = " ".join(self.pending_text).strip()
            self.pending_text.clear()
            await self._start(_Prompt(text=text, source="text"))

    async def _realtime(self, data: Mapping[str, Any]) -> None:
        if "text" in data:
            text = str(data["text"])
            await self._interrupt()  # the open turn ends before the new input is acknowledged
            if self.setup.input_transcription:
                await self.conn.send({"serverContent": {"inputTranscription": {"text": text, "finished": True}}})
            await self._start(_Prompt(text=text, source="text"))
        elif "audio" in data:
            await self._hear(data["audio"])
        elif "video" in data:
            self._see(data["video"]["data"])
        elif "mediaChunks" in data:
            for chunk in data["mediaChunks"]:
                if str(chunk.get("mimeType", "")).lower().startswith("image/"):
                    self._see(chunk["data"])
                else:
                    await self._hear(chunk)
        elif "activityStart" in data:
            self.in_activity = True
            self.speech_s = self.quiet_s = 0.0
            if self.setup.activity_interrupts:
                await self._interrupt()
        elif "activityEnd" in data:
            if self.in_activity:
                self.in_activity = False
                await self._end_of_speech()
        elif data.get("audioStreamEnd") and self.speaking:
            await self._end_of_speech()

    def _see(self, data: bytes) -> None:
        self.last_frame = analyse_frame(data)
        self.unbilled_frames += 1

    async def _hear(self, blob: Mapping[str, Any]) -> None:
        pcm: bytes = blob["data"]
        seconds = len(pcm) / 2 / _rate_of(str(blob.get("mimeType", "")))
        start_s = self.audio_clock_s
        self.audio_clock_s += seconds
        self.unbilled_audio_s += seconds
        loud = _rms(pcm) >= SPEECH_RMS
        if not self.setup.automatic_activity_detection:
            if self.in_activity and loud:
                self.speech_s += seconds
            return
        if loud:
            if not self.speaking:
                self.speaking = True
                self.speech_s = 0.0
                await self._signal_activity(True, start_s)
                if self.setup.activity_interrupts:
                    await self._interrupt()
            self.speech_s += seconds
            self.quiet_s = 0.0
        elif self.speaking:
            self.quiet_s += seconds
            if self.quiet_s >= self.silence_s:
                await self._end_of_speech()

    async def _signal_activity(self, start: bool, offset_s: float) -> None:
        """``voiceActivity`` (opt-in, like gemini-3.8) and ``voiceActivityDetectionSignal`` (``explicitVadSignal``)."""
        if self.voice_activity:
            kind = "ACTIVITY_START" if start else "ACTIVITY_END"
            await self.conn.send({"voiceActivity": {"type": kind, "audioOffset": f"{offset_s:.3f}s"}})
        if self.explicit_vad:
            signal = "VAD_SIGNAL_TYPE_SOS" if start else "VAD_SIGNAL_TYPE_EOS"
            await self.conn.send({"voiceActivityDetectionSignal": {"vadSignalType": signal}})

    async def _end_of_speech(self) -> None:
        speech = self.speech_s
        if self.speaking:
            await self._signal_activity(False, self.audio_clock_s - self.quiet_s)
        self.speaking = False
        self.speech_s = self.quiet_s = 0.0
        if self.setup.input_transcription:
            note = f"[{speech:.1f} s of speech]" if speech > 0 else "[silence]"
            await self.conn.send({"serverContent": {"inputTranscription": {"text": note, "finished": True}}})
        await self._start(_Prompt(text="", source="speech", speech_s=speech))

    # -- turns -------------------------------------------------------------------------------------------------

    async def _start(self, prompt: _Prompt) -> None:
        await self._interrupt()
        self.generation = asyncio.create_task(self._generate_or_fail(prompt), name=f"demo-gen-{self.conn.number}")

    async def _generate_or_fail(self, prompt: _Prompt) -> None:
        """A reply that crashes closes the session with 1011, as a failing backend does: nobody awaits this task
        until the next turn, so its error would otherwise be lost and the client would wait for the reply forever."""
        try:
            await self._generate(prompt)
        except SessionClosed:
            raise
        except Exception:
            log.exception("mock demo reply failed")
            await self.conn.close(1011, "Internal error encountered. (mock reply failed)")

    async def _interrupt(self) -> None:
        """Stop the open turn, if any: cancel pending tool calls, say ``interrupted``, complete the turn."""
        task, turn = self.generation, self.turn
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, SessionClosed):
                await task
        if turn is None or turn.done:
            return
        turn.done = True
        if turn.pending_calls:
            await self.conn.send({"toolCallCancellation": {"ids": list(turn.pending_calls)}})
            for call_id in turn.pending_calls:
                self.tool_waiters.pop(call_id, None)
        await self.conn.send({"serverContent": {"interrupted": True}})
        await self._complete(turn)

    async def _complete(self, turn: _Turn) -> None:
        turn.done = True
        self.turn = None
        self.context_tokens += turn.prompt_tokens + turn.response_tokens
        # Vertex names the response counts "candidates" (real captures; the SDK maps them back, §2.5).
        out = "candidates" if self.vertex else "response"
        usage = {
            "promptTokenCount": turn.prompt_tokens,
            f"{out}TokenCount": turn.response_tokens,
            "totalTokenCount": turn.prompt_tokens + turn.response_tokens,
            "promptTokensDetails": turn.prompt_details,
            f"{out}TokensDetails": [{"modality": turn.modality, "tokenCount": turn.response_tokens}],
        }
        await self.conn.send({"serverContent": {"turnComplete": True}, "usageMetadata": usage})
        if self.setup.resumption_requested:
            handle = self.conn.save_resumption(
                {
                    "name": self.name,
                    "facts": list(self.facts),
                    "turns": self.turns,
                    "context_tokens": self.context_tokens,
                    "calls": self.calls,
                }
            )
            await self.conn.send({"sessionResumptionUpdate": {"newHandle": handle, "resumable": True}})

    async def _generate(self, prompt: _Prompt) -> None:
        conn = self.conn
        self.turns += 1
        text = prompt.text
        low = text.lower()
        # Prompt = the history so far + this input: text at ~4 chars/token, mic audio at 32 tokens/s, 258 per frame.
        text_tokens = self.context_tokens + (_tokens_for_text(text) if text else 0)
        audio_tokens = math.ceil(self.unbilled_audio_s * 32 - 1e-6)  # summed float chunk durations drift up
        image_tokens = self.unbilled_frames * TOKENS_PER_FRAME
        self.unbilled_audio_s, self.unbilled_frames = 0.0, 0
        details = [
            {"modality": modality, "tokenCount": count}
            for modality, count in (("TEXT", text_tokens), ("AUDIO", audio_tokens), ("IMAGE", image_tokens))
            if count
        ]
        turn = _Turn(
            prompt_tokens=text_tokens + audio_tokens + image_tokens,
            prompt_details=details,
            modality="AUDIO" if self.setup.audio_out else "TEXT",
        )
        self.turn = turn
        await conn.sleep(0.35)  # time to first token on a fast real model
        if "mock:silence" in low:
            return  # the turn stays open: a silent server
        close = re.search(r"mock:close=(\d{4})", low)
        if close:
            await conn.close(int(close.group(1)), "Closed on request by the demo's mock:close trigger")
            return
        if "mock:big" in low:
            await conn._send_oversized(1_200_000)
        if re.search(r"\bgo ?away\b", low):
            await conn.send_go_away(conn.faults.go_away_time_left_s)
        reply = await self._reply_text(prompt, turn)
        await self._stream(reply, turn, low)

    async def _reply_text(self, prompt: _Prompt, turn: _Turn) -> str:
        text = prompt.text
        low = text.lower()
        lead = "(offline demo) "
        if prompt.source == "speech":
            if prompt.speech_s <= 0:
                return lead + "I heard only silence, nothing above the speech threshold."
            return (
                lead + f"I heard you speak for {prompt.speech_s:.1f} seconds. I can't transcribe, I only hear energy."
            )
        tool = self._pick_tool(text)
        if tool is not None:
            name, args = tool
            result = await self._call_tool(name, args, turn)
            if result is None:
                return lead + f"The {name} tool did not answer in time."
            return lead + f"The {name} tool says: {_quote(result)}."
        match = re.search(r"\bmy name is\s+([A-Za-z][A-Za-z' -]{0,40}?)(?:[.!,?]|$|\s+and\b)", text, re.IGNORECASE)
        if match:
            self.name = match.group(1).strip().title()
            return lead + f"Nice to meet you, {self.name}. I'll remember your name."
        match = re.search(r"\bremember(?: that)?\s+(.{1,120}?)[.!?]*$", text, re.IGNORECASE)
        if match and "what" not in low.split()[:2]:
            self.facts = [*self.facts, match.group(1).strip()][-MAX_FACTS:]
            return lead + f"Noted: {match.group(1).strip()}."
        if re.search(r"\b(what is|what's|whats)\s+my name\b|\bwho am i\b", low):
            if self.name:
                return lead + f"Your name is {self.name}."
            return lead + "You haven't told me your name yet."
        if re.search(r"\bwhat do you remember\b|\bwhat did i (tell|ask) you\b", low):
            if not self.facts and not self.name:
                return lead + "I don't remember anything yet."
            known = ([f"your name is {self.name}"] if self.name else []) + self.facts
            return lead + "I remember that " + "; ".join(known) + "."
        if re.search(r"\b(see|look|looking|frame|camera|screen|picture|image)\b", low):
            frame = self.last_frame
            if frame is None:
                return lead + "I haven't received any video frame yet."
            if frame.error:
                return lead + f"I got a frame but {frame.error}."
            return (
                lead + f"The last frame is {frame.width} by {frame.height} pixels, "
                f"{round(frame.brightness * 100)} percent bright, mostly {frame.colour}."
            )
        if "mock:long" in low:
            return lead + " ".join(
                "This is a long reply from the mock server so that there is time to interrupt it." for _ in range(3)
            )
        if not text.strip():
            return lead + "You sent an empty turn."
        shown = text.strip()
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return lead + f'You said: "{shown}". I am a local mock, not Gemini, so this is all I can do.'

    def _pick_tool(self, text: str) -> tuple[str, dict[str, Any]] | None:
        declared = self.setup.function_names
        if not declared:
            return None
        low = text.lower()
        for name in declared:
            if name.lower() in low or name.lower().replace("_", " ") in low:
                return name, self._tool_args(name, text)
        if "get_weather" in declared and re.search(r"\bweather\b", low):
            return "get_weather", self._tool_args("get_weather", text)
        if "get_time" in declared and re.search(r"\b(time|clock)\b", low):
            return "get_time", self._tool_args("get_time", text)
        return None

    @staticmethod
    def _tool_args(name: str, text: str) -> dict[str, Any]:
        if name == "get_weather":
            return {"city": _find_city(text)}
        if name == "get_time":
            return {"timezone": _find_timezone(text)}
        return {}

    async def _call_tool(self, name: str, args: dict[str, Any], turn: _Turn) -> Any:
        self.calls += 1
        call_id = f"mock-call-{self.conn.number}-{self.calls}"
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.tool_waiters[call_id] = waiter
        turn.pending_calls.append(call_id)
        await self.conn.send({"toolCall": {"functionCalls": [{"id": call_id, "name": name, "args": args}]}})
        # On cancellation (an interruption) the call stays pending so _interrupt can send toolCallCancellation.
        try:
            result = await asyncio.wait_for(waiter, TOOL_WAIT_S)
        except TimeoutError:
            result = None
        self.tool_waiters.pop(call_id, None)
        turn.pending_calls.remove(call_id)
        return result

    async def _stream(self, reply: str, turn: _Turn, low: str) -> None:
        conn = self.conn
        rng = random.Random(zlib.crc32(reply.encode()) ^ self.seed ^ self.turns)
        chunks_sent = 0
        drop = "mock:drop" in low
        phantom = "mock:phantom" in low
        if "mock:thinking" in low:
            thought = {"text": "**Thinking** about how a mock should answer.", "thought": True}
            await conn.send({"serverContent": {"modelTurn": {"role": "model", "parts": [thought]}}})
        if not self.setup.audio_out:
            words = reply.split(" ")
            i = 0
            while i < len(words):
                n = rng.randint(2, 5)
                piece = " ".join(words[i : i + n]) + (" " if i + n < len(words) else "")
                i += n
                await conn.send({"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": piece}]}}})
                turn.response_tokens += _tokens_for_text(piece)
                chunks_sent += 1
                await self._chunk_faults(chunks_sent, drop, phantom)
                await conn.sleep(0.04)
            await conn.send({"serverContent": {"generationComplete": True}})
            await self._complete(turn)
            return
        pcm = synth_voice(reply, self.seed).tobytes()
        total_s = len(pcm) / 2 / OUT_RATE
        bursty = "mock:burst" in low or (conn.faults.bursty_audio and conn.fault_fires("bursty-audio", repeatable=True))
        sizes: list[int] = []
        pos = 0
        while pos < len(pcm):
            ms = 40 if not sizes else rng.choice((80, 120, 160, 200, 200, 240, 240))
            size = min(len(pcm) - pos, ms * OUT_RATE // 1000 * 2)
            sizes.append(size)
            pos += size
        words = reply.split(" ")
        # Words are spread over the audio by character position, so transcript pieces line up with the sound.
        cum = np.cumsum([len(w) + 1 for w in words]) / max(1, len(reply) + 1) * len(pcm)
        loop = asyncio.get_running_loop()
        start = loop.time()
        offset = 0
        word_i = 0
        burst_left = 0
        for size in sizes:
            end = offset + size
            piece_words: list[str] = []
            while word_i < len(words) and (cum[word_i] <= end or end >= len(pcm)):
                piece_words.append(words[word_i])
                word_i += 1
            content: dict[str, Any] = {
                "modelTurn": {
                    "parts": [
                        {
                            "inlineData": {
                                "mimeType": self.audio_mime,
                                "data": wire.b64encode_std(pcm[offset:end]),
                            }
                        }
                    ]
                }
            }
            if self.setup.output_transcription and piece_words:
                content["outputTranscription"] = {"text": " ".join(piece_words) + " "}
            await conn.send({"serverContent": content})
            turn.response_tokens = math.ceil(end / 2 / OUT_RATE * 32)
            chunks_sent += 1
            await self._chunk_faults(chunks_sent, drop, phantom)
            offset = end
            # Real time: the next chunk leaves when this one would start playing; bursty: several at once, then wait.
            if bursty:
                if burst_left <= 0:
                    burst_left = rng.randint(3, 6)
                burst_left -= 1
                if burst_left > 0:
                    continue
            ahead = offset / 2 / OUT_RATE - 0.2  # keep ~200 ms buffered at the client
            await conn.sleep(max(0.0, ahead - (loop.time() - start) / conn.pace if conn.pace else 0.0))
        await conn.send({"serverContent": {"generationComplete": True}})
        if conn.pace > 0:
            played = (loop.time() - start) / conn.pace
            await conn.sleep(max(0.0, total_s - played))
        await self._complete(turn)

    async def _chunk_faults(self, chunks_sent: int, drop: bool, phantom: bool) -> None:
        if drop and chunks_sent >= 2:
            await self.conn.abort()
        if phantom and chunks_sent == 1:
            await self.conn.send({"serverContent": {"interrupted": True}})


register_backend("demo", DemoBackend)
