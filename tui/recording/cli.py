"""``gemini-live rec info|dump|diff|trim|redact|export``: look at, compare and edit recordings.

Exit codes (the same for every subcommand, so CI can rely on them): 0 done (``diff``: the recordings say the same
thing), 1 ``diff`` found differences, 2 bad usage or a file that cannot be used (missing, foreign, unknown version,
empty…), with one line on stderr saying what and where. A file that reads only in part (cut short, or corrupt
partway) is not an error for the read-only commands: they print a warning naming the byte offset and carry on with
what was read. Progress goes to stderr, only when it is a terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tui.errors import UserError

EXIT_CODES = """exit codes:
  0  done (diff: no differences)
  1  diff: the recordings differ
  2  bad usage, or a file that cannot be read (the message says what and where)"""


class Progress:
    """A one-line progress note on stderr, only when stderr is a terminal (so logs and CI stay clean)."""

    def __init__(self, label: str, total: int | None = None) -> None:
        self.label = label
        self.total = total
        self.enabled = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, what: int | str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if isinstance(what, int) and now - self._last < 0.1:
            return
        self._last = now
        text = what if isinstance(what, str) else f"{what}/{self.total}" if self.total else str(what)
        sys.stderr.write(f"\r\x1b[2K{self.label}: {text}")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


def _read(path: Path, quiet: bool = False) -> Any:
    from tui.recording.reader import read_recording

    progress = Progress(f"reading {path.name}")
    progress("…")
    try:
        rec = read_recording(path)
    finally:
        progress.done()
    if not quiet:
        for p in rec.problems:
            print(f"warning: {path}: {p}", file=sys.stderr)
    return rec


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(
        prog="gemini-live rec",
        description="Look at, compare and edit session recordings (.glrec).",
        epilog=EXIT_CODES,
        formatter_class=fmt,
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("info", help="header, duration, turns, frames by kind, sizes, connections",
                       description="Summarise a recording: header, duration, turns with latency, frames by kind, "
                       "sizes, connections (segments), reconnects and goAways.", epilog=EXIT_CODES,
                       formatter_class=fmt)  # fmt: skip
    s.add_argument("file", type=Path)
    s.add_argument("--json", action="store_true", help="print as JSON")

    s = sub.add_parser("dump", help="every record as JSON Lines",
                       description="Print the header and every record as one JSON object per line. Audio and "
                       "images are summarised (duration, level, hash) unless --full.", epilog=EXIT_CODES,
                       formatter_class=fmt)  # fmt: skip
    s.add_argument("file", type=Path)
    s.add_argument("--full", action="store_true", help="include media payloads as base64")
    s.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")

    s = sub.add_parser("diff", help="turn-aware comparison of two recordings (exit 1 when they differ)",
                       description="Compare two recordings turn by turn: what was typed, said (transcripts and "
                       "audio summaries), sent (image hashes), called (tools, arguments, results, cancellations), "
                       "answered and interrupted, plus the setup and how connections ended. Timing, generated "
                       "ids (tool-call ids, resumption handles), audio chunking, key casing, base64 flavour, "
                       "secrets and usage token counts are ignored.", epilog=EXIT_CODES,
                       formatter_class=fmt)  # fmt: skip
    s.add_argument("a", type=Path, metavar="A")
    s.add_argument("b", type=Path, metavar="B")
    s.add_argument("--json", action="store_true", help="print as JSON")

    s = sub.add_parser("trim", help="keep turns N..M in a new file",
                       description="Write a new recording holding only turns N..M (counting from 1, as `rec info` "
                       "lists them), with the connections they belong to (open, setup, close). Timestamps are kept "
                       "as recorded. The input is never changed.", epilog=EXIT_CODES,
                       formatter_class=fmt)  # fmt: skip
    s.add_argument("file", type=Path)
    s.add_argument("--turns", required=True, metavar="N..M", help="N, N..M, N.. (to the end) or ..M")
    s.add_argument("-o", "--output", type=Path, metavar="OUT", help="default: FILE-turns-N-M.glrec beside FILE")
    s.add_argument("--force", action="store_true", help="overwrite OUT if it exists")

    s = sub.add_parser("redact", help="re-apply redaction to a recording, in place",
                       description="Re-apply redaction (keys and tokens in headers, URLs and frames, credential "
                       "shapes, and the exact values of the key environment variables GEMINI_API_KEY, "
                       "GOOGLE_API_KEY… plus any --secret-env NAME) to FILE in place. It writes a new file "
                       "beside it (0600) and renames it over FILE only when complete: on any failure FILE is "
                       "unchanged. A file that reads only in part, or was written by a newer format, is refused "
                       "(rewriting would drop what cannot be read) unless --force.", epilog=EXIT_CODES,
                       formatter_class=fmt)  # fmt: skip
    s.add_argument("file", type=Path)
    s.add_argument("--secret-env", action="append", default=[], metavar="NAME",
                   help="also redact the value of environment variable NAME (repeatable)")  # fmt: skip
    s.add_argument("--force", action="store_true", help="rewrite a truncated or partly corrupt file anyway")

    s = sub.add_parser("export", help="WAV, transcript, contact sheet and timeline plot",
                       description="Export a recording to DIR: session.wav (24 kHz stereo, user left, model right, "
                       "on the session's timeline; model audio cut off by an interruption is not placed), "
                       "transcript.md, frames.png (a contact sheet of the images sent) and timeline.svg (who spoke "
                       "when, tool calls, interruptions, goAway and resumption, per-turn latency).",
                       epilog=EXIT_CODES, formatter_class=fmt)  # fmt: skip
    s.add_argument("file", type=Path)
    s.add_argument("-o", "--output", type=Path, metavar="DIR", help="default: FILE's name without .glrec + -export")
    return p


def main(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    try:
        handler = {"info": _info, "dump": _dump, "diff": _diff, "trim": _trim, "redact": _redact, "export": _export}
        return handler[args.command](args)
    except UserError as exc:
        print(f"gemini-live rec {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gemini-live rec {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rec dump FILE | head`
        with_devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(with_devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        # The last net: a damaged file can still reach code that assumed sane content. One line that names the
        # input, never a traceback (GEMINI_TUI_DEBUG=1 shows it, for a bug report).
        if os.environ.get("GEMINI_TUI_DEBUG"):
            raise
        files = " ".join(str(v) for k, v in vars(args).items() if k in ("file", "a", "b"))
        print(
            f"gemini-live rec {args.command}: {files}: could not be processed ({type(exc).__name__}: {exc}); the "
            "file may be damaged (set GEMINI_TUI_DEBUG=1 for details to report)",
            file=sys.stderr,
        )
        return 2


def _info(args: argparse.Namespace) -> int:
    from tui.recording.tools.show import format_info, info_dict

    rec = _read(args.file, quiet=True)
    d = info_dict(rec)
    print(json.dumps(d, indent=2, ensure_ascii=False) if args.json else format_info(d))
    return 0


def _dump(args: argparse.Namespace) -> int:
    # Streams record by record (bounded memory whatever the file's size); problems are reported at the end.
    from tui.recording.format import End
    from tui.recording.reader import RecordingReader
    from tui.recording.tools.show import dump_lines

    last: list[object] = [None]

    def records(reader: RecordingReader) -> Iterator[Any]:
        for r in reader:
            last[0] = r
            yield r

    with RecordingReader(args.file) as reader:
        progress = Progress(f"dumping {args.file.name} (records)")
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
        try:
            tick = progress if args.output else None
            for line in dump_lines(reader.header, records(reader), full=args.full, tick=tick):
                out.write(line + "\n")
        finally:
            progress.done()
            if args.output:
                out.close()
        problems = list(reader.problems)
        ended = isinstance(last[0], End)
    for p in problems:
        print(f"warning: {args.file}: {p}", file=sys.stderr)
    if not ended and not problems:
        print(
            f"warning: {args.file}: no end record: the recorder did not close cleanly (crash or kill)", file=sys.stderr
        )
    return 0


def _diff(args: argparse.Namespace) -> int:
    from tui.recording.tools.compare import compare, diff_dict, format_diff

    a = _read(args.a, quiet=True)
    b = _read(args.b, quiet=True)
    progress = Progress("comparing")
    progress("turns")
    try:
        d = compare(a, b)
    finally:
        progress.done()
    print(json.dumps(diff_dict(d), indent=2, ensure_ascii=False) if args.json else format_diff(d))
    return 0 if d.same else 1


def _trim(args: argparse.Namespace) -> int:
    from tui.recording.tools.edit import parse_turns, trim

    first, last = parse_turns(args.turns)
    rec = _read(args.file)
    out = args.output
    if out is None:
        out = args.file.with_name(f"{args.file.stem}-turns-{first}-{last if last else 'end'}{args.file.suffix}")
    progress = Progress(f"writing {out.name}", len(rec.records))
    try:
        result = trim(rec, first, last, out, overwrite=args.force, tick=progress)
    finally:
        progress.done()
    lo, hi = result.turns
    print(f"wrote {result.path}: turns {lo}..{hi}, {result.records} records, connection(s) {result.segments}")
    return 0


def _redact(args: argparse.Namespace) -> int:
    from tui.config import KEY_ENV_VARS
    from tui.recording.format import VERSION
    from tui.recording.tools.edit import redact_in_place

    rec = _read(args.file)
    if rec.truncated_at is not None and not args.force:
        raise UserError(
            f"{args.file}: reads only up to byte {rec.truncated_at} of {rec.size}; rewriting it would drop the "
            "rest. Copy it first, then use --force to rewrite what can be read"
        )
    if rec.header.version > VERSION and not args.force:
        major, minor = rec.header.version
        raise UserError(
            f"{args.file}: written by a newer format {major}.{minor}; rewriting it with this version would drop "
            "what this version does not know. Use a newer gemini-live-tui, or --force"
        )
    names = [*KEY_ENV_VARS, *args.secret_env]
    missing = [n for n in args.secret_env if not os.environ.get(n)]
    if missing:
        raise UserError(f"--secret-env: {', '.join(missing)} not set (or empty) in the environment")
    secrets = tuple(sorted({os.environ[n] for n in names if os.environ.get(n)}))
    progress = Progress(f"redacting {args.file.name}", len(rec.records))
    try:
        result = redact_in_place(rec, secrets, tick=progress)
    except OSError as exc:
        raise UserError(f"{args.file}: could not rewrite ({exc.strerror or exc}); the file is unchanged") from None
    finally:
        progress.done()
    what = f"{result.changed} record(s) changed" if result.changed else "nothing needed redacting"
    print(f"redacted {result.path} in place: {what} ({result.records} records, {len(secrets)} secret value(s) checked)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from tui.recording.tools.export import export

    rec = _read(args.file)
    out = args.output or args.file.with_name(f"{args.file.stem}-export")
    if out.exists() and not out.is_dir():
        raise UserError(f"-o {out}: exists and is not a folder")
    progress = Progress(f"exporting {args.file.name}")
    try:
        result = export(rec, out, tick=progress)
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {exc.strerror or exc}") from None
    finally:
        progress.done()
    for f in result.files:
        print(f"wrote {f}")
    for note in result.notes:
        print(f"note: {note}")
    return 0
