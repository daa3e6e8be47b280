"""Converting real captured Live traffic (``real-live-captures/*.jsonl``) into recordings.

A capture is one websocket session as JSON Lines: a header object, then ``{"dir": "c2s"|"s2c", "t": seconds or
null, "frame": {...}}`` per frame (the captures' README). The frames become one recording segment; their text is
re-serialised with Python's default ``json.dumps`` (the captures keep parsed JSON, not the original bytes). Frames
without a time get synthetic ones, 1 ms apart, in capture order. Captures record no close, so the segment has none.
Everything goes through the recorder's redaction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tui.errors import RecordingError
from tui.live import wire
from tui.recording.format import b64_encode, b64_flavour_of
from tui.recording.redact import Redactor
from tui.recording.writer import RecordWriter, make_header

_GEMINI_URL = "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
_VERTEX_URL = (
    "wss://us-central1-aiplatform.googleapis.com/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
)


def read_capture(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and frame lines of a capture file. Raises ``RecordingError`` for anything else."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RecordingError(f"cannot read capture: {exc.strerror or exc}", path=str(path)) from None
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            raise RecordingError(f"line {n} is not JSON", path=str(path)) from None
        if not isinstance(obj, dict):
            raise RecordingError(f"line {n} is not a JSON object", path=str(path))
        rows.append(obj)
    if not rows or "dir" in rows[0]:
        raise RecordingError("no capture header on the first line", path=str(path))
    frames = rows[1:]
    for n, f in enumerate(frames, 2):
        if f.get("dir") not in ("c2s", "s2c") or not isinstance(f.get("frame"), dict):
            raise RecordingError(f"line {n}: not a capture frame (dir + frame)", path=str(path))
    return rows[0], frames


def _trim_odd_pcm(v: Any, mime: str = "") -> tuple[Any, int]:
    """Client PCM cut to an odd length upstream (pydantic-ai keeps 44 base64 chars = 33 bytes): drop the half
    sample so the frame is valid again. Returns the frame and how many payloads were trimmed."""
    if isinstance(v, dict):
        m = v.get("mimeType", v.get("mime_type", mime))
        m = m if isinstance(m, str) else ""
        out: dict[str, Any] = {}
        n = 0
        for k, x in v.items():
            if k == "data" and isinstance(x, str) and m.lower().startswith("audio/pcm"):
                flavour = b64_flavour_of(x)
                raw = wire.b64decode_any(x) if flavour else None
                if flavour is not None and raw is not None and len(raw) % 2:
                    out[k] = b64_encode(raw[:-1], flavour)
                    n += 1
                    continue
            out[k], c = _trim_odd_pcm(x, m)
            n += c
        return out, n
    if isinstance(v, list):
        items = [_trim_odd_pcm(x, mime) for x in v]
        return [x for x, _ in items], sum(c for _, c in items)
    return v, 0


def is_vertex(header: dict[str, Any]) -> bool:
    return "vertex" in str(header.get("api", "")).lower()


def convert_capture(src: Path, dst: Path, *, overwrite: bool = False) -> Path:
    """Write ``src`` (a capture) as the recording ``dst``."""
    header, frames = read_capture(src)
    source = f"{header.get('source_repo', '?')} {header.get('source_path', '?')}@{str(header.get('source_commit'))[:8]}"
    desc = (
        f"Imported real Live API capture {src.name}: {header.get('scenario', '')} "
        f"(from {source}, {header.get('license', '?')}; audio: {header.get('audio', '?')})"
    )
    extra = {
        "imported_from": src.name,
        "source_repo": header.get("source_repo"),
        "api": header.get("api"),
        "capture_timing": "recorded" if any(f.get("t") is not None for f in frames) else "synthetic 1 ms steps",
    }
    trimmed = 0
    fixed: list[dict[str, Any]] = []
    for f in frames:
        frame = f["frame"]
        if f["dir"] == "c2s":
            frame, n = _trim_odd_pcm(frame)
            trimmed += n
        fixed.append({**f, "frame": frame})
    frames = fixed
    if trimmed:
        extra["client_audio_trimmed"] = trimmed
        desc += f" {trimmed} client audio payload(s) truncated upstream to an odd length were cut by one byte."
    head = make_header(model=str(header.get("model", "")), config={}, description=desc, extra=extra)
    w = RecordWriter(dst, head, Redactor(), overwrite=overwrite)
    try:
        w.write_open(0, 0, _VERTEX_URL if is_vertex(header) else _GEMINI_URL, {})
        last = 0
        for i, f in enumerate(frames):
            t = f.get("t")
            t_us = int(float(t) * 1e6) if isinstance(t, int | float) else (i + 1) * 1000
            t_us = max(t_us, last)
            last = t_us
            text = json.dumps(f["frame"])
            w.write_frame(t_us, f["dir"], text if f["dir"] == "c2s" else text.encode("utf-8"))
        w.write_end(last)
    finally:
        w.close()
    return dst
