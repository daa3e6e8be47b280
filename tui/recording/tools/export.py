"""``rec export``: a stereo WAV, the transcript as Markdown and a contact sheet of the frames sent.

Audio (``session.wav``): 24 kHz, 16-bit, stereo; the user (mic audio the client sent, resampled from its own rate,
usually 16 kHz, with linear interpolation) on the left, the model on the right, on the recording's timeline (t = 0
is the start of the recording). Mic chunks are streamed in real time, so each is placed at the time it was sent
(or right after the previous one if they overlap). Model audio arrives faster than it plays, so each chunk is
placed where a player would have played it: at its arrival or when the previous chunk ends, whichever is later.
Interruptions are honest: when the server says ``interrupted``, the model audio placed after that moment was never
heard (the client's player flushes), so it is **cut from the WAV**, and audio the interrupted turn still sends
after it is **not placed**. How much was cut is counted (``ExportResult.unplayed_s``) and stated in the
transcript. A connection that closes does not cut anything: the client's player keeps playing what it holds.

Images (``frames.png``): a grid of thumbnails of the images the client sent, labelled with their time and size;
at most ``MAX_THUMBS`` (evenly sampled when there are more, and said so).
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from tui.recording.reader import Recording
from tui.recording.tools.timeline import Image, Timeline, build_timeline

WAV_RATE: Final = 24000
MAX_THUMBS: Final = 120
THUMB_W: Final = 192
THUMB_H: Final = 144
MAX_EXPORT_S: Final = 4 * 3600
"""Longest session exported to a WAV (bounded memory: 4 h of 24 kHz stereo int16 is about 1.4 GB)."""


@dataclass
class Placed:
    """A span of audio on the timeline (samples at ``WAV_RATE``)."""

    start: int
    samples: np.ndarray[Any, np.dtype[np.int16]]
    turn: int

    @property
    def end(self) -> int:
        return self.start + len(self.samples)


@dataclass
class Placement:
    """Where each side's audio sits on the timeline."""

    user: list[Placed] = field(default_factory=list)
    model: list[Placed] = field(default_factory=list)
    unplayed_s: float = 0.0
    """Model audio the client received but never played (cut or dropped because of an interruption)."""
    unplayed_by_turn: dict[int, float] = field(default_factory=dict)


def resample(pcm: bytes, rate: int, target: int = WAV_RATE) -> np.ndarray[Any, np.dtype[np.int16]]:
    """s16le mono ``pcm`` at ``rate`` → int16 samples at ``target`` (linear interpolation)."""
    a = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
    if rate == target or not len(a):
        return a.astype(np.int16)
    n = round(len(a) * target / rate)
    x = np.linspace(0, len(a) - 1, n) if n > 1 else np.zeros(max(n, 0))
    return np.interp(x, np.arange(len(a)), a.astype(np.float64)).round().astype(np.int16)


def _sample(t_us: int) -> int:
    return int(t_us * WAV_RATE // 1_000_000)


def place_audio(tl: Timeline) -> Placement:
    """Place both sides' audio on the timeline (see the module docstring)."""
    p = Placement()
    user_cursor = 0
    model_cursor = 0
    for turn in tl.turns:
        for a in turn.user_audio:
            samples = resample(a.pcm, a.rate)
            start = max(_sample(a.t_us), user_cursor)
            p.user.append(Placed(start, samples, turn.number))
            user_cursor = start + len(samples)
        cut_at = _sample(turn.interrupted_us) if turn.interrupted_us is not None else None
        unplayed = 0.0
        for a in turn.model_audio:
            if turn.interrupted_us is not None and a.t_us >= turn.interrupted_us:
                unplayed += a.seconds  # arrived after the interruption: never played
                continue
            samples = resample(a.pcm, a.rate)
            start = max(_sample(a.t_us), model_cursor)
            p.model.append(Placed(start, samples, turn.number))
            model_cursor = start + len(samples)
        stop = cut_at
        if stop is not None:
            for placed in p.model:
                if placed.turn == turn.number and placed.end > stop:
                    keep = max(0, stop - placed.start)
                    unplayed += (len(placed.samples) - keep) / WAV_RATE
                    placed.samples = placed.samples[:keep]
            model_cursor = min(model_cursor, max(stop, 0))
        if unplayed > 0:
            p.unplayed_s += unplayed
            p.unplayed_by_turn[turn.number] = unplayed
    p.model = [x for x in p.model if len(x.samples)]
    return p


def write_wav(path: Path, tl: Timeline, placement: Placement, *, block_s: float = 10.0) -> float:
    """Write the stereo WAV block by block (memory stays bounded whatever the length); returns its length in s."""
    ends = [x.end for x in placement.user + placement.model]
    n = max([_sample(tl.duration_us), *ends]) if ends else _sample(tl.duration_us)
    n = min(n, MAX_EXPORT_S * WAV_RATE)
    block = max(1, int(block_s * WAV_RATE))
    channels = [sorted(placement.user, key=lambda p: p.start), sorted(placement.model, key=lambda p: p.start)]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(WAV_RATE)
        for b0 in range(0, n, block):
            b1 = min(b0 + block, n)
            mix = np.zeros((b1 - b0, 2), dtype=np.int32)
            for channel, spans in enumerate(channels):
                for x in spans:  # spans are few per block; sorted, so stop at the first one after the block
                    if x.start >= b1:
                        break
                    if x.end <= b0:
                        continue
                    lo, hi = max(x.start, b0), min(x.end, b1)
                    mix[lo - b0 : hi - b0, channel] += x.samples[lo - x.start : hi - x.start]
            w.writeframes(np.clip(mix, -32768, 32767).astype("<i2").tobytes())
    return n / WAV_RATE


# ------------------------------------------------------------------------------------------------ transcript


def _fmt_t(t_us: int) -> str:
    s = t_us / 1e6
    return f"{int(s // 60):d}:{s % 60:06.3f}"


def _json(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False, default=str)
    return text if len(text) <= 300 else text[:297] + "..."


def transcript_markdown(rec: Recording, tl: Timeline, placement: Placement) -> str:
    """The session as Markdown: who said what, tool calls, interruptions, connections."""
    h = rec.header
    out = [
        f"# {rec.path.name}",
        "",
        f"- model: `{h.model or '?'}`; recorded {h.created} by {h.app} with {h.sdk}",
        f"- duration {rec.duration_s:.3f} s, {len(tl.turns)} turn(s), {len(tl.segments)} connection(s)",
    ]
    if h.description:
        out.append(f"- {h.description}")
    for p in [*rec.problems, *tl.problems]:
        out.append(f"- **problem:** {p}")
    out.append("")
    events: list[tuple[int, int, str]] = []  # (time, order, markdown) for connection events between turns
    for s in tl.segments:
        if s.seg > 0 or s.resumed:
            events.append((s.open_us, 0, f"> _{_fmt_t(s.open_us)} — connection {s.seg} opened"
                           f"{' (resumed the session)' if s.resumed else ' (a new session)'}_"))  # fmt: skip
        if s.close_us is not None:
            how = "dropped (no close frame)" if s.code is None else f"closed {s.code}"
            events.append((s.close_us, 2, f"> _{_fmt_t(s.close_us)} — connection {s.seg} {how}"
                           f"{f': {s.reason}' if s.reason else ''}_"))  # fmt: skip
    for t_us, left in tl.go_aways:
        events.append((t_us, 1, f"> _{_fmt_t(t_us)} — goAway from the server (time left: {left} s)_"))
    for t_us, name in tl.actions:
        events.append((t_us, 1, f"> _{_fmt_t(t_us)} — user action: {name}_"))
    events.sort()
    ei = 0
    for turn in tl.turns:
        while ei < len(events) and events[ei][0] <= turn.start_us:
            out += [events[ei][2], ""]
            ei += 1
        head = f"## Turn {turn.number} — {_fmt_t(turn.start_us)}"
        facts = []
        if turn.latency_ms is not None:
            facts.append(f"latency {turn.latency_ms:.0f} ms")
        if turn.ended != "complete":
            facts.append("cut short by the connection" if turn.ended == "cut" else "unfinished at the end of the file")
        out += [head + (f" ({', '.join(facts)})" if facts else ""), ""]
        for text in turn.user_text:
            out.append(f"**User:** {text}")
            out.append("")
        if turn.user_audio:
            heard = turn.input_transcript.strip()
            out.append(f"**User (spoke, {turn.user_audio_s:.2f} s of mic audio):** {heard or '_(no transcript)_'}")
            out.append("")
        if turn.images:
            out.append(f"_sent {len(turn.images)} image(s) ({', '.join(sorted({i.mime for i in turn.images}))})_")
            out.append("")
        for c in turn.tool_calls:
            line = f"- tool call `{c.name}({_json(c.args)})` at {_fmt_t(c.t_us)}"
            if c.cancelled_us is not None:
                line += f" — **cancelled** by the server at {_fmt_t(c.cancelled_us)}"
            if c.response_us is not None:
                line += f" → `{_json(c.response)}` ({(c.response_us - c.t_us) / 1000:.0f} ms)"
            elif c.cancelled_us is None:
                line += " — no result was sent"
            out.append(line)
        if turn.tool_calls:
            out.append("")
        model = turn.model_text.strip() or turn.output_transcript.strip()
        if model or turn.model_audio:
            spoken = f", spoke {turn.model_audio_s:.2f} s" if turn.model_audio else ""
            out.append(f"**Model{spoken}:** {model or '_(audio only, no transcript)_'}")
            out.append("")
        if turn.interrupted_us is not None:
            cut = placement.unplayed_by_turn.get(turn.number, 0.0)
            out.append(
                f"_interrupted at {_fmt_t(turn.interrupted_us)}"
                + (f"; {cut:.2f} s of the model's audio was never played (not in the WAV)_" if cut else "_")
            )
            out.append("")
    while ei < len(events):
        out += [events[ei][2], ""]
        ei += 1
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------------------------- contact sheet


def contact_sheet(images: list[Image], path: Path, *, columns: int = 6) -> tuple[int, int, int]:
    """Write a PNG grid of ``images``. Returns (shown, total, undecodable)."""
    from PIL import Image as PILImage
    from PIL import ImageDraw, ImageFont

    total = len(images)
    chosen = images
    if total > MAX_THUMBS:
        step = total / MAX_THUMBS
        chosen = [images[int(i * step)] for i in range(MAX_THUMBS)]
    cols = max(1, min(columns, len(chosen)))
    rows = max(1, -(-len(chosen) // cols))
    label_h = 16
    pad = 6
    top = 24
    sheet = PILImage.new("RGB", (cols * (THUMB_W + pad) + pad, top + rows * (THUMB_H + label_h + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    title = f"{total} image(s) sent" + (f", {len(chosen)} shown (evenly sampled)" if total > len(chosen) else "")
    draw.text((pad, 6), title, fill="black", font=font)
    bad = 0
    for n, img in enumerate(chosen):
        x = pad + (n % cols) * (THUMB_W + pad)
        y = top + (n // cols) * (THUMB_H + label_h + pad)
        label = f"{img.t_us / 1e6:.2f} s"
        try:
            with PILImage.open(io.BytesIO(img.data)) as im:
                size = im.size
                im.draft("RGB", (THUMB_W, THUMB_H))
                thumb = im.convert("RGB")
                thumb.thumbnail((THUMB_W, THUMB_H))
            sheet.paste(thumb, (x + (THUMB_W - thumb.width) // 2, y + (THUMB_H - thumb.height) // 2))
            label += f"  {size[0]}x{size[1]}"
        except Exception:  # Pillow raises many types for bad data; a bad frame must not stop the sheet
            bad += 1
            draw.rectangle((x, y, x + THUMB_W - 1, y + THUMB_H - 1), outline="red")
            draw.text((x + 8, y + THUMB_H // 2 - 6), "not a decodable image", fill="red", font=font)
        draw.text((x, y + THUMB_H + 2), label, fill="black", font=font)
    sheet.save(path, "PNG")
    return len(chosen), total, bad


# ---------------------------------------------------------------------------------------------------- export


@dataclass
class ExportResult:
    files: list[Path]
    wav_s: float
    unplayed_s: float
    images: int
    notes: list[str]


def export(rec: Recording, out_dir: Path, *, tick: Callable[[str], None] | None = None) -> ExportResult:
    """Write ``session.wav``, ``transcript.md``, ``frames.png`` (when images were sent) and ``timeline.svg``."""
    from tui.recording.tools.plot import timeline_svg

    def step(what: str) -> None:
        if tick is not None:
            tick(what)

    out_dir.mkdir(parents=True, exist_ok=True)
    step("analysing")
    tl = build_timeline(rec)
    files: list[Path] = []
    notes: list[str] = []
    step("placing audio")
    placement = place_audio(tl)
    wav_s = 0.0
    if placement.user or placement.model:
        step("writing session.wav")
        wav = out_dir / "session.wav"
        wav_s = write_wav(wav, tl, placement)
        files.append(wav)
    else:
        notes.append("no audio in this recording: no WAV written")
    step("writing transcript.md")
    md = out_dir / "transcript.md"
    md.write_text(transcript_markdown(rec, tl, placement), encoding="utf-8")
    files.append(md)
    images = tl.images
    if images:
        step(f"drawing frames.png ({len(images)} images)")
        sheet = out_dir / "frames.png"
        shown, _total, bad = contact_sheet(images, sheet)
        files.append(sheet)
        if bad:
            notes.append(f"{bad} of the {shown} images shown could not be decoded (marked in red)")
    else:
        notes.append("no images were sent: no contact sheet written")
    step("drawing timeline.svg")
    svg = out_dir / "timeline.svg"
    svg.write_text(timeline_svg(rec, tl, placement), encoding="utf-8")
    files.append(svg)
    if placement.unplayed_s:
        notes.append(f"{placement.unplayed_s:.2f} s of model audio was never played (interrupted) and is not placed")
    return ExportResult(files, wav_s, placement.unplayed_s, len(images), notes)
