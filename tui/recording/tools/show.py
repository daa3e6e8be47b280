"""``rec info`` and ``rec dump``: a recording's summary for people, and its records as JSON Lines for tools.

Media is summarised (duration, level and hash for PCM; size and hash for images) unless ``full`` is asked for, in
which case payloads are written as base64 exactly as they were on the wire (frames) or standard base64 (inputs).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tui.live import wire
from tui.recording.format import Close, End, Frame, Gap, Header, Input, Open, Record, wire_len
from tui.recording.reader import Recording
from tui.recording.tools.timeline import Timeline, build_timeline, kind_counts, safe_kind
from tui.replay.normalize import media_summary


def _human_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def info_dict(rec: Recording, tl: Timeline | None = None) -> dict[str, Any]:
    """Everything ``rec info`` shows, as plain data (``--json``)."""
    tl = tl or build_timeline(rec)
    h = rec.header
    frames = rec.frames
    media_in = sum(len(a.pcm) for t in tl.turns for a in t.user_audio) + sum(len(i.data) for i in tl.images)
    media_out = sum(len(a.pcm) for t in tl.turns for a in t.model_audio)
    wire_bytes = rec.wire_bytes
    latencies = [t.latency_ms for t in tl.turns if t.latency_ms is not None]
    return {
        "path": str(rec.path),
        "header": {
            "format": f"{h.version[0]}.{h.version[1]}",
            "created": h.created,
            "app": h.app,
            "sdk": h.sdk,
            "model": h.model or _setup_model(rec),
            "description": h.description,
            "redacted": h.redacted,
        },
        "duration_s": round(rec.duration_s, 3),
        "ended_cleanly": rec.ended_cleanly,
        "records": len(rec.records) + 1,
        "frames": {"c2s": sum(f.direction == "c2s" for f in frames), "s2c": sum(f.direction == "s2c" for f in frames)},
        "frames_by_kind": kind_counts(rec),
        "inputs": _count(r.kind for r in rec.records if isinstance(r, Input)),
        "sizes": {
            "file_bytes": rec.size,
            "wire_bytes": wire_bytes,
            "file_to_wire": round(rec.size / wire_bytes, 3) if wire_bytes else None,
            "media_sent_bytes": media_in,
            "media_received_bytes": media_out,
        },
        "audio_s": {
            "user": round(sum(t.user_audio_s for t in tl.turns), 3),
            "model": round(sum(t.model_audio_s for t in tl.turns), 3),
        },
        "images_sent": len(tl.images),
        "turns": [
            {
                "turn": t.number,
                "segment": t.seg,
                "start_s": round(t.start_us / 1e6, 3),
                "end_s": round(t.end_us / 1e6, 3),
                "ended": t.ended,
                "interrupted": t.interrupted_us is not None,
                "tool_calls": [c.name for c in t.tool_calls],
                "latency_ms": None if t.latency_ms is None else round(t.latency_ms, 1),
            }
            for t in tl.turns
        ],
        "latency_ms": {
            "turns_measured": len(latencies),
            "median": round(sorted(latencies)[len(latencies) // 2], 1) if latencies else None,
            "max": round(max(latencies), 1) if latencies else None,
        },
        "segments": [
            {
                "segment": s.seg,
                "open_s": round(s.open_us / 1e6, 3),
                "close_s": None if s.close_us is None else round(s.close_us / 1e6, 3),
                "close_code": s.code,
                "close_reason": s.reason,
                "resumed": s.resumed,
                "frames": s.frames,
            }
            for s in tl.segments
        ],
        "reconnects": max(0, len(tl.segments) - 1),
        "go_aways": [{"t_s": round(t / 1e6, 3), "time_left_s": left} for t, left in tl.go_aways],
        "tool_calls": len(tl.tool_calls),
        "gaps": [{"t_s": round(g.t_us / 1e6, 3), "dropped": g.dropped, "why": g.reason} for g in tl.gaps],
        "problems": [*rec.problems, *tl.problems],
    }


def _setup_model(rec: Recording) -> str:
    """The model the first setup asked for (recordings made outside the app may have none in the header)."""
    setup = next((f.msg for f in rec.frames if f.direction == "c2s" and isinstance(f.msg, dict)), None)
    body = wire.pick(setup, "setup") if setup else None
    model = wire.pick(body, "model") if isinstance(body, dict) else None
    return str(model) if isinstance(model, str) else ""


def _count(items: Iterator[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in items:
        out[k] = out.get(k, 0) + 1
    return out


def format_info(d: dict[str, Any]) -> str:
    """The human form of :func:`info_dict`."""
    h = d["header"]
    s = d["sizes"]
    lines = [
        f"{d['path']}",
        f"  format {h['format']}, created {h['created']}, by {h['app']} with {h['sdk']}",
        f"  model {h['model'] or '(none)'}; redacted: {'yes' if h['redacted'] else 'NO'}"
        + (f"; {h['description']}" if h["description"] else ""),
        f"  duration {d['duration_s']:.3f} s, {d['records']} records, "
        + ("ended cleanly" if d["ended_cleanly"] else "NO clean end (cut short)"),
        f"  size {_human_bytes(s['file_bytes'])} on disk, {_human_bytes(s['wire_bytes'])} on the wire"
        + (f" (file/wire {s['file_to_wire']:.2f})" if s["file_to_wire"] is not None else ""),
        f"  audio: user {d['audio_s']['user']:.2f} s, model {d['audio_s']['model']:.2f} s; "
        f"images sent: {d['images_sent']}; tool calls: {d['tool_calls']}",
        f"  frames: {d['frames']['c2s']} sent, {d['frames']['s2c']} received",
    ]
    for direction, label in (("c2s", "sent"), ("s2c", "received")):
        kinds = d["frames_by_kind"][direction]
        if kinds:
            lines.append(f"    {label}: " + ", ".join(f"{k} {n}" for k, n in kinds.items()))
    if d["inputs"]:
        lines.append("  inputs: " + ", ".join(f"{k} {n}" for k, n in d["inputs"].items()))
    lines.append(f"  connections: {len(d['segments'])} ({d['reconnects']} reconnect(s))")
    for seg in d["segments"]:
        close = (
            "still open at the end"
            if seg["close_s"] is None
            else f"closed at {seg['close_s']:.3f} s: "
            + ("dropped (no close frame)" if seg["close_code"] is None else str(seg["close_code"]))
            + (f" {seg['close_reason']!r}" if seg["close_reason"] else "")
        )
        lines.append(
            f"    #{seg['segment']} opened at {seg['open_s']:.3f} s"
            f"{' (resumed)' if seg['resumed'] else ''}, {seg['frames']} frames, {close}"
        )
    for g in d["go_aways"]:
        lines.append(f"  goAway at {g['t_s']:.3f} s (timeLeft {g['time_left_s']} s)")
    lat = d["latency_ms"]
    lines.append(
        f"  turns: {len(d['turns'])}"
        + (f"; latency median {lat['median']:.0f} ms, max {lat['max']:.0f} ms" if lat["median"] is not None else "")
    )
    for t in d["turns"]:
        extra = []
        if t["interrupted"]:
            extra.append("interrupted")
        if t["ended"] != "complete":
            extra.append(t["ended"])
        if t["tool_calls"]:
            extra.append("tools " + ", ".join(t["tool_calls"]))
        if t["latency_ms"] is not None:
            extra.append(f"latency {t['latency_ms']:.0f} ms")
        lines.append(
            f"    {t['turn']:>3}  {t['start_s']:8.3f}–{t['end_s']:.3f} s  seg {t['segment']}"
            + (f"  ({'; '.join(extra)})" if extra else "")
        )
    for g in d["gaps"]:
        lines.append(f"  GAP at {g['t_s']:.3f} s: {g['dropped']} records dropped ({g['why']})")
    for p in d["problems"]:
        lines.append(f"  problem: {p}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------- dump


def _shrink(v: Any, key: str | None, mime: str, full: bool) -> Any:
    """A frame's JSON with base64 media replaced by a summary (unless ``full``)."""
    if isinstance(v, dict):
        m = wire.pick(v, "mimeType", mime)
        return {k: _shrink(x, k, m if isinstance(m, str) else "", full) for k, x in v.items()}
    if isinstance(v, list):
        return [_shrink(x, key, mime, full) for x in v]
    if key == "data" and isinstance(v, str) and not full and len(v) > 24:
        try:
            raw = wire.b64decode_any(v)
        except ValueError:
            return v
        return f"<{media_summary(raw, mime)}>"
    return v


def _blob(b: bytes, full: bool, what: str, rate: int | None = None) -> Any:
    if full:
        return base64.b64encode(b).decode("ascii")
    if rate:
        return f"<{media_summary(b, f'audio/pcm;rate={rate}')}>"
    return f"<{what} {len(b)} B sha {hashlib.sha256(b).hexdigest()[:12]}>"


def record_dict(r: Record, full: bool = False) -> dict[str, Any]:
    """One record as a JSON-able dict (``t`` in seconds)."""
    if isinstance(r, Frame):
        out: dict[str, Any] = {
            "k": r.direction,
            "i": r.index,
            "t": r.t_us / 1e6,
            "seg": r.seg,
            "kind": safe_kind(r.msg),
        }
        out["bytes"] = wire_len(r.data)
        if isinstance(r.msg, dict):
            out["msg"] = _shrink(r.msg, None, "", full)
        else:
            raw = r.data.decode("utf-8", "replace") if isinstance(r.data, bytes) else r.data
            out["raw"] = raw if full or len(raw) <= 200 else raw[:197] + "..."
        return out
    if isinstance(r, Input):
        rate = r.data.get("rate") if r.kind == "audio" else None
        d = {
            k: _blob(v, full, "jpeg" if r.kind == "frame" else "bytes", rate if isinstance(rate, int) else None)
            if isinstance(v, bytes)
            else v
            for k, v in r.data.items()
        }
        return {"k": "in", "t": r.t_us / 1e6, "kind": r.kind, "d": d}
    if isinstance(r, Open):
        return {"k": "open", "t": r.t_us / 1e6, "seg": r.seg, "url": r.url, "headers": r.headers}
    if isinstance(r, Close):
        return {"k": "close", "t": r.t_us / 1e6, "seg": r.seg, "code": r.code, "reason": r.reason}
    if isinstance(r, Gap):
        return {"k": "gap", "t": r.t_us / 1e6, "n": r.dropped, "bytes": r.dropped_bytes, "why": r.reason}
    if isinstance(r, End):
        return {"k": "end", "t": r.t_us / 1e6, "n": r.records, "wire": r.wire_bytes}
    raise TypeError(f"unknown record {r!r}")


def header_dict(h: Header) -> dict[str, Any]:
    return {
        "k": "header",
        "format": "gemini-live-recording",
        "version": list(h.version),
        "created": h.created,
        "app": h.app,
        "sdk": h.sdk,
        "model": h.model,
        "description": h.description,
        "redacted": h.redacted,
        "config": h.config,
        **{k: v for k, v in h.extra.items() if isinstance(v, str | int | float | bool | type(None))},
    }


def dump_lines(
    header: Header, records: Iterable[Record], *, full: bool = False, tick: Callable[[int], None] | None = None
) -> Iterator[str]:
    """A recording as JSON Lines: the header, then one line per record (streams: ``records`` may be a reader)."""
    yield json.dumps(header_dict(header), ensure_ascii=False, default=repr)
    for n, r in enumerate(records):
        if tick is not None and n % 200 == 0:
            tick(n)
        yield json.dumps(record_dict(r, full), ensure_ascii=False, default=repr)
