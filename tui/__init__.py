"""gemini-live-tui: a terminal client for the Gemini Multimodal Live API, with a recorder, replay and a mock server."""

__version__ = "0.1.0"
