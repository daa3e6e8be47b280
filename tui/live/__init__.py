"""The Live session core: events, wire helpers, the turn state machine, the SDK-driven session and tools. No Textual."""
