"""Settings → ``types.LiveConnectConfig``: what the ``setup`` message asks the model for.

Only what the user configured is sent; an unset knob is left to the server's default. Imports google.genai, so
import this module lazily (after the UI has painted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.genai import types

from tui.errors import UserError

if TYPE_CHECKING:
    from tui.config import Settings
    from tui.live.tools import ToolRegistry


def build_live_config(
    settings: Settings,
    *,
    registry: ToolRegistry | None = None,
    resumption_handle: str | None = None,
) -> types.LiveConnectConfig:
    """The ``LiveConnectConfig`` for ``settings``; ``resumption_handle`` resumes an earlier session."""
    s = settings.session
    cfg: dict[str, object] = {"response_modalities": [types.Modality(s.modality)]}

    speech: dict[str, object] = {}
    if s.voice:
        speech["voice_config"] = types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=s.voice))
    if s.language:
        speech["language_code"] = s.language
    if speech:
        cfg["speech_config"] = types.SpeechConfig(**speech)  # type: ignore[arg-type]

    if s.system_instruction:
        cfg["system_instruction"] = types.Content(role="user", parts=[types.Part(text=s.system_instruction)])
    for name in ("temperature", "top_p", "top_k", "max_output_tokens", "seed"):
        value = getattr(s, name)
        if value is not None:
            cfg[name] = value
    if s.stop_sequences:
        # LiveConnectConfig has no stop_sequences field (SDK 3.4.0); the deprecated generation_config is the only
        # way to put them in setup.generationConfig. The SDK merges it with the fields above and warns once.
        cfg["generation_config"] = types.GenerationConfig(stop_sequences=list(s.stop_sequences))
    if s.safety:
        categories = {m.value for m in types.HarmCategory}
        thresholds = {m.value for m in types.HarmBlockThreshold}
        for x in s.safety:
            # The SDK only warns on an unknown enum value and sends it anyway; the server would then close 1007.
            if x.category not in categories:
                raise UserError(f"unknown safety category {x.category!r} (known: {', '.join(sorted(categories))})")
            if x.threshold not in thresholds:
                raise UserError(f"unknown safety threshold {x.threshold!r} (known: {', '.join(sorted(thresholds))})")
        cfg["safety_settings"] = [
            types.SafetySetting(
                category=types.HarmCategory(x.category), threshold=types.HarmBlockThreshold(x.threshold)
            )
            for x in s.safety
        ]
    if s.input_transcription:
        cfg["input_audio_transcription"] = types.AudioTranscriptionConfig()
    if s.output_transcription and s.modality == "AUDIO":
        # Output transcription describes spoken replies; with TEXT replies there is nothing to transcribe.
        cfg["output_audio_transcription"] = types.AudioTranscriptionConfig()

    act = s.activity
    aad: dict[str, object] = {}
    if act.disabled:
        aad["disabled"] = True
    if act.start_sensitivity:
        aad["start_of_speech_sensitivity"] = types.StartSensitivity(act.start_sensitivity)
    if act.end_sensitivity:
        aad["end_of_speech_sensitivity"] = types.EndSensitivity(act.end_sensitivity)
    if act.prefix_padding_ms is not None:
        aad["prefix_padding_ms"] = act.prefix_padding_ms
    if act.silence_duration_ms is not None:
        aad["silence_duration_ms"] = act.silence_duration_ms
    ric: dict[str, object] = {}
    if aad:
        ric["automatic_activity_detection"] = types.AutomaticActivityDetection(**aad)  # type: ignore[arg-type]
    if act.activity_handling:
        ric["activity_handling"] = types.ActivityHandling(act.activity_handling)
    if ric:
        cfg["realtime_input_config"] = types.RealtimeInputConfig(**ric)  # type: ignore[arg-type]

    if s.compression:
        cfg["context_window_compression"] = types.ContextWindowCompressionConfig(
            trigger_tokens=s.compression_trigger_tokens,
            sliding_window=types.SlidingWindow(target_tokens=s.compression_target_tokens),
        )
    if s.resumption:
        cfg["session_resumption"] = types.SessionResumptionConfig(handle=resumption_handle)
    if s.media_resolution:
        cfg["media_resolution"] = types.MediaResolution(s.media_resolution)

    tools: list[types.Tool] = []
    if s.google_search:
        tools.append(types.Tool(google_search=types.GoogleSearch()))
    if s.code_execution:
        tools.append(types.Tool(code_execution=types.ToolCodeExecution()))
    if registry is not None and len(registry):
        tools.append(types.Tool(function_declarations=registry.function_declarations()))
    if tools:
        cfg["tools"] = tools
    return types.LiveConnectConfig(**cfg)  # type: ignore[arg-type]
