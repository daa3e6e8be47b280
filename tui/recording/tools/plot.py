"""The timeline plot of a recording, as a hand-written SVG (no plotting dependency).

Rows, on the recording's time axis: the connections (open to close, how each closed, resumptions), the user (mic
speech as placed in the exported WAV, typed text as diamonds, images sent as ticks), the model (its audio as placed
in the WAV, its text from first to last chunk), tool calls (call to result; cancelled ones end in a red cross), and
markers across all rows for interruptions (red), goAway (amber) and turn starts (grey). Green dots on the
connection row are the resumption handles the server handed out (a reconnect that used one is labelled
"resumed"). Below, a bar per turn for its latency (``timeline.Turn.latency_ms``). Every mark carries a
``<title>`` so a browser shows the details on hover.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final
from xml.sax.saxutils import escape

from tui.recording.reader import Recording
from tui.recording.tools.timeline import SPEECH_DBFS, Timeline, dbfs

if TYPE_CHECKING:
    from tui.recording.tools.export import Placed, Placement

WIDTH: Final = 1200
LEFT: Final = 120
RIGHT: Final = 24
ROW: Final = 34
ROWS: Final = ("connection", "user", "model", "tools")
COLOURS: Final = {
    "conn": "#8fbc8f",
    "user": "#4a78c2",
    "model": "#e08a2e",
    "text": "#f3c98b",
    "tool": "#8e5fbf",
    "interrupt": "#d62728",
    "goaway": "#e6a700",
    "turn": "#b0b0b0",
    "grid": "#eeeeee",
}


def _nice_step(span_s: float, target: int = 10) -> float:
    raw = max(span_s / target, 1e-3)
    mag = 10.0 ** math.floor(math.log10(raw))
    return float(next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw))


def _spans(placed: list[Placed], rate: int, loud_only: bool, join: int) -> list[tuple[int, int]]:
    """Merge placed audio into (start, end) sample spans (gaps shorter than ``join`` samples are joined)."""
    out: list[tuple[int, int]] = []
    for x in sorted(placed, key=lambda p: p.start):
        if loud_only and dbfs(x.samples.astype("<i2").tobytes()) < SPEECH_DBFS:
            continue
        if out and x.start - out[-1][1] <= join:
            out[-1] = (out[-1][0], max(out[-1][1], x.end))
        else:
            out.append((x.start, x.end))
    return out


def timeline_svg(rec: Recording, tl: Timeline, placement: Placement) -> str:
    """The SVG document (see the module docstring)."""
    from tui.recording.tools.export import WAV_RATE

    ends = [x.end / WAV_RATE for x in placement.user + placement.model]
    span = max([tl.duration_us / 1e6, *ends, 0.001])
    plot_w = WIDTH - LEFT - RIGHT
    top = 60
    rows_h = ROW * len(ROWS)
    lat_top = top + rows_h + 48
    lat_h = 90
    height = lat_top + lat_h + 40

    def x(t_s: float) -> float:
        return LEFT + plot_w * min(max(t_s, 0.0), span) / span

    def y(row: str) -> int:
        return top + ROWS.index(row) * ROW

    el: list[str] = []
    add = el.append
    title = escape(f"{rec.path.name} — {rec.duration_s:.2f} s, {len(tl.turns)} turns, {len(tl.segments)} connection(s)")
    add(f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{title}</text>')
    legend = [
        ("user speech", COLOURS["user"]),
        ("model audio", COLOURS["model"]),
        ("model text", COLOURS["text"]),
        ("tool call", COLOURS["tool"]),
        ("interrupted", COLOURS["interrupt"]),
        ("goAway", COLOURS["goaway"]),
    ]
    lx = LEFT
    for name, colour in legend:
        add(f'<rect x="{lx}" y="28" width="10" height="10" fill="{colour}"/>')
        add(f'<text x="{lx + 14}" y="37" font-size="11">{name}</text>')
        lx += 24 + 7 * len(name)
    # grid and time axis
    step = _nice_step(span)
    t = 0.0
    while t <= span + 1e-9:
        gx = x(t)
        add(f'<line x1="{gx:.1f}" y1="{top}" x2="{gx:.1f}" y2="{top + rows_h}" stroke="{COLOURS["grid"]}"/>')
        add(f'<text x="{gx:.1f}" y="{top + rows_h + 14}" font-size="10" text-anchor="middle">{t:g} s</text>')
        t += step
    for row in ROWS:
        add(f'<text x="{LEFT - 8}" y="{y(row) + ROW // 2 + 4}" font-size="12" text-anchor="end">{row}</text>')
        add(f'<line x1="{LEFT}" y1="{y(row) + ROW}" x2="{WIDTH - RIGHT}" y2="{y(row) + ROW}" stroke="#dddddd"/>')
    # turn starts
    for turn in tl.turns:
        tx = x(turn.start_us / 1e6)
        add(
            f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{top + rows_h}" stroke="{COLOURS["turn"]}" '
            f'stroke-dasharray="2,3"><title>turn {turn.number} starts at {turn.start_us / 1e6:.3f} s</title></line>'
        )
        add(f'<text x="{tx + 2:.1f}" y="{top - 6}" font-size="9" fill="#777777">T{turn.number}</text>')
    # connections
    cy = y("connection")
    for s in tl.segments:
        x0 = x(s.open_us / 1e6)
        x1 = x((s.close_us if s.close_us is not None else tl.duration_us) / 1e6)
        how = "open at the end" if s.close_us is None else ("dropped" if s.code is None else f"closed {s.code}")
        tip = escape(f"connection {s.seg}{' (resumed)' if s.resumed else ''}: {how} {s.reason}".strip())
        add(
            f'<rect x="{x0:.1f}" y="{cy + 8}" width="{max(x1 - x0, 1):.1f}" height="{ROW - 16}" '
            f'fill="{COLOURS["conn"]}" rx="3"><title>{tip}</title></rect>'
        )
        label = f"#{s.seg}{' resumed' if s.resumed else ''}"
        add(f'<text x="{x0 + 3:.1f}" y="{cy + ROW // 2 + 4}" font-size="10">{escape(label)}</text>')
        if s.close_us is not None and s.code is None:
            add(
                f'<text x="{x1:.1f}" y="{cy + ROW // 2 + 5}" font-size="14" fill="{COLOURS["interrupt"]}" '
                f'text-anchor="middle">✗<title>connection {s.seg} dropped</title></text>'
            )
    for t_us, _handle in tl.resumption_updates:  # the handle itself is not shown: it can resume the session
        rx = x(t_us / 1e6)
        add(
            f'<circle cx="{rx:.1f}" cy="{cy + ROW - 5}" r="2.5" fill="#2e7d32"><title>resumption handle received at '
            f"{t_us / 1e6:.3f} s</title></circle>"
        )
    # user: speech spans and typed text
    uy = y("user")
    for a, b in _spans(placement.user, WAV_RATE, True, WAV_RATE // 10):
        add(
            f'<rect x="{x(a / WAV_RATE):.1f}" y="{uy + 8}" width="{max(x(b / WAV_RATE) - x(a / WAV_RATE), 1):.1f}" '
            f'height="{ROW - 16}" fill="{COLOURS["user"]}"><title>user speech {a / WAV_RATE:.2f}–{b / WAV_RATE:.2f} s'
            f"</title></rect>"
        )
    for turn in tl.turns:
        for text, t_us in zip(turn.user_text, turn.user_text_us, strict=True):
            tx = x(t_us / 1e6)
            cy2 = uy + ROW // 2
            add(
                f'<path d="M{tx:.1f},{cy2 - 6} l6,6 l-6,6 l-6,-6 z" fill="{COLOURS["user"]}">'
                f"<title>{escape('typed: ' + text[:200])}</title></path>"
            )
    for img in tl.images:  # frames sent (camera or screen): ticks along the top of the user row
        ix = x(img.t_us / 1e6)
        add(
            f'<line x1="{ix:.1f}" y1="{uy + 1}" x2="{ix:.1f}" y2="{uy + 7}" stroke="#333333" stroke-width="1.5">'
            f"<title>image sent at {img.t_us / 1e6:.3f} s ({img.mime}, {len(img.data)} B)</title></line>"
        )
    # model: audio spans and text spans
    my = y("model")
    for turn in tl.turns:
        if turn.model_text and turn.first_output_us is not None:
            a_s, b_s = turn.first_output_us / 1e6, turn.end_us / 1e6
            add(
                f'<rect x="{x(a_s):.1f}" y="{my + 5}" width="{max(x(b_s) - x(a_s), 2):.1f}" height="{ROW - 10}" '
                f'fill="{COLOURS["text"]}"><title>{escape("model text: " + turn.model_text[:200])}</title></rect>'
            )
    for a, b in _spans(placement.model, WAV_RATE, False, WAV_RATE // 20):
        add(
            f'<rect x="{x(a / WAV_RATE):.1f}" y="{my + 8}" width="{max(x(b / WAV_RATE) - x(a / WAV_RATE), 1):.1f}" '
            f'height="{ROW - 16}" fill="{COLOURS["model"]}"><title>model audio {a / WAV_RATE:.2f}–{b / WAV_RATE:.2f} s'
            f"</title></rect>"
        )
    # tools
    ty = y("tools")
    for c in tl.tool_calls:
        end_us = c.response_us or c.cancelled_us or c.t_us
        x0, x1 = x(c.t_us / 1e6), x(end_us / 1e6)
        state = (
            f"cancelled at {c.cancelled_us / 1e6:.3f} s"
            if c.cancelled_us is not None
            else f"result after {(end_us - c.t_us) / 1000:.0f} ms"
            if c.response_us is not None
            else "no result"
        )
        add(
            f'<rect x="{x0:.1f}" y="{ty + 9}" width="{max(x1 - x0, 3):.1f}" height="{ROW - 18}" '
            f'fill="{COLOURS["tool"]}"><title>{escape(f"{c.name}: {state}")}</title></rect>'
        )
        add(f'<text x="{x0:.1f}" y="{ty + 7}" font-size="9">{escape(c.name)}</text>')
        if c.cancelled_us is not None:
            add(
                f'<text x="{x(c.cancelled_us / 1e6):.1f}" y="{ty + ROW // 2 + 5}" font-size="14" '
                f'fill="{COLOURS["interrupt"]}" text-anchor="middle">✗</text>'
            )
    # markers across the rows
    for turn in tl.turns:
        if turn.interrupted_us is not None:
            ix = x(turn.interrupted_us / 1e6)
            add(
                f'<line x1="{ix:.1f}" y1="{top}" x2="{ix:.1f}" y2="{top + rows_h}" stroke="{COLOURS["interrupt"]}" '
                f'stroke-width="2"><title>interrupted at {turn.interrupted_us / 1e6:.3f} s (turn {turn.number})'
                f"</title></line>"
            )
    for t_us, left in tl.go_aways:
        gx = x(t_us / 1e6)
        add(
            f'<line x1="{gx:.1f}" y1="{top}" x2="{gx:.1f}" y2="{top + rows_h}" stroke="{COLOURS["goaway"]}" '
            f'stroke-width="2" stroke-dasharray="6,3"><title>goAway at {t_us / 1e6:.3f} s (time left {left} s)'
            f"</title></line>"
        )
        add(f'<text x="{gx + 3:.1f}" y="{top + rows_h - 3}" font-size="9" fill="{COLOURS["goaway"]}">goAway</text>')
    # latency panel
    add(f'<text x="{LEFT - 8}" y="{lat_top + lat_h // 2}" font-size="12" text-anchor="end">latency</text>')
    measured = [(t.number, t.latency_ms) for t in tl.turns]
    top_ms = max([m for _, m in measured if m is not None] + [1.0])
    n = max(len(measured), 1)
    bar_w = min(40.0, plot_w / n * 0.7)
    add(f'<line x1="{LEFT}" y1="{lat_top + lat_h}" x2="{WIDTH - RIGHT}" y2="{lat_top + lat_h}" stroke="#999999"/>')
    for i, (number, ms) in enumerate(measured):
        bx = LEFT + plot_w * (i + 0.5) / n - bar_w / 2
        add(
            f'<text x="{bx + bar_w / 2:.1f}" y="{lat_top + lat_h + 14}" font-size="10" '
            f'text-anchor="middle">T{number}</text>'
        )
        if ms is None:
            add(
                f'<text x="{bx + bar_w / 2:.1f}" y="{lat_top + lat_h - 4}" font-size="9" text-anchor="middle" '
                f'fill="#999999">n/a</text>'
            )
            continue
        bh = max(lat_h * ms / top_ms, 1)
        add(
            f'<rect x="{bx:.1f}" y="{lat_top + lat_h - bh:.1f}" width="{bar_w:.1f}" height="{bh:.1f}" '
            f'fill="#5b9bd5"><title>turn {number}: {ms:.0f} ms</title></rect>'
        )
        add(
            f'<text x="{bx + bar_w / 2:.1f}" y="{lat_top + lat_h - bh - 3:.1f}" font-size="9" '
            f'text-anchor="middle">{ms:.0f} ms</text>'
        )
    add(
        f'<text x="{LEFT}" y="{lat_top - 10}" font-size="11" fill="#555555">per-turn latency: end of the user\'s '
        f"input to the model's first output</text>"
    )
    body = "\n".join(el)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">\n'
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>\n{body}\n</svg>\n'
    )
