"""The session recorder and the recording format (append-only msgpack)."""
