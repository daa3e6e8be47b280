"""Settings → LiveConnectConfig → the exact ``setup`` frame the unmodified SDK sends (its own converters)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from google import genai
from google.genai import _common, _transformers, live, types
from google.genai import _live_converters as conv

from tui.config import Settings
from tui.errors import UserError
from tui.live.setup import build_live_config
from tui.live.tools import ToolRegistry


async def setup_frame(settings: Settings, registry: ToolRegistry | None = None, handle: str | None = None) -> Any:
    """The JSON ``connect()`` would send for this config (the same calls as ``live.py`` in the Gemini API path)."""
    config = build_live_config(settings, registry=registry, resumption_handle=handle)
    client = genai.Client(api_key="k")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        params = await live._t_live_connect_config(client._api_client, config)
    model = _transformers.t_model(client._api_client, settings.session.model)
    frame = _common.convert_to_dict(
        conv._LiveConnectParameters_to_mldev(
            api_client=client._api_client,
            from_object=types.LiveConnectParameters(model=model, config=params).model_dump(exclude_none=True),
        )
    )
    del frame["config"]
    return json.loads(json.dumps(_common.encode_unserializable_types(frame)))


async def test_defaults_give_a_small_setup() -> None:
    assert await setup_frame(Settings(session={"demo_tools": False})) == {
        "setup": {
            "model": "models/gemini-live-2.5-flash-preview",
            "generationConfig": {"responseModalities": ["AUDIO"]},
            "sessionResumption": {},
            "inputAudioTranscription": {},
            "outputAudioTranscription": {},
            "contextWindowCompression": {"trigger_tokens": 25600, "sliding_window": {"target_tokens": 12800}},
        }
    }


async def test_every_knob_lands_where_the_api_expects_it() -> None:
    settings = Settings(
        session={
            "model": "models/gemini-x",
            "voice": "Kore",
            "language": "en-US",
            "system_instruction": "Be terse.",
            "temperature": 0.5,
            "top_p": 0.9,
            "top_k": 20,
            "max_output_tokens": 100,
            "seed": 7,
            "stop_sequences": ("STOP",),
            "safety": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
            "activity": {
                "start_sensitivity": "START_SENSITIVITY_LOW",
                "end_sensitivity": "END_SENSITIVITY_HIGH",
                "prefix_padding_ms": 40,
                "silence_duration_ms": 500,
                "activity_handling": "NO_INTERRUPTION",
            },
            "media_resolution": "MEDIA_RESOLUTION_LOW",
            "google_search": True,
            "code_execution": True,
        }
    )
    reg = ToolRegistry()
    reg.add_demo_tools()
    setup = (await setup_frame(settings, reg, handle="h-123"))["setup"]
    assert setup["model"] == "models/gemini-x"
    assert setup["generationConfig"] == {
        # LiveConnectConfig has no stop_sequences; they ride in the deprecated generation_config, merged here.
        "stop_sequences": ["STOP"],
        "responseModalities": ["AUDIO"],
        "temperature": 0.5,
        "topP": 0.9,
        "topK": 20.0,
        "maxOutputTokens": 100,
        "mediaResolution": "MEDIA_RESOLUTION_LOW",
        "seed": 7,
        "speechConfig": {"voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}}, "language_code": "en-US"},
    }
    assert setup["systemInstruction"] == {"parts": [{"text": "Be terse."}], "role": "user"}
    assert setup["safetySettings"] == [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}]
    assert setup["sessionResumption"] == {"handle": "h-123"}
    assert setup["realtimeInputConfig"] == {
        "automatic_activity_detection": {
            "start_of_speech_sensitivity": "START_SENSITIVITY_LOW",
            "end_of_speech_sensitivity": "END_SENSITIVITY_HIGH",
            "prefix_padding_ms": 40,
            "silence_duration_ms": 500,
        },
        "activity_handling": "NO_INTERRUPTION",
    }
    tools = setup["tools"]
    assert tools[:2] == [{"googleSearch": {}}, {"codeExecution": {}}]
    decls = tools[2]["functionDeclarations"]
    assert [d["name"] for d in decls] == ["get_weather", "get_time"]
    assert decls[0]["parameters_json_schema"]["required"] == ["city"]


async def test_text_modality_manual_activity_and_features_off() -> None:
    settings = Settings(
        session={
            "modality": "TEXT",
            "activity": {"disabled": True},
            "compression": False,
            "resumption": False,
            "input_transcription": False,
            "demo_tools": False,
        }
    )
    assert (await setup_frame(settings, ToolRegistry(), handle="ignored"))["setup"] == {
        "model": "models/gemini-live-2.5-flash-preview",
        "generationConfig": {"responseModalities": ["TEXT"]},
        "realtimeInputConfig": {"automatic_activity_detection": {"disabled": True}},
    }


@pytest.mark.parametrize(
    ("category", "threshold", "message"),
    [
        ("HARM_CATEGORY_NOPE", "BLOCK_NONE", "unknown safety category 'HARM_CATEGORY_NOPE'"),
        ("HARM_CATEGORY_HARASSMENT", "BLOCK_SOME", "unknown safety threshold 'BLOCK_SOME'"),
    ],
)
def test_unknown_safety_values_are_user_errors_before_connecting(category: str, threshold: str, message: str) -> None:
    settings = Settings(session={"safety": [{"category": category, "threshold": threshold}]})
    with pytest.raises(UserError, match=message):
        build_live_config(settings)
