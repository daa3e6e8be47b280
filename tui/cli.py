"""Command line: ``gemini-live`` runs the TUI (or ``--headless``); subcommands run the mock, replay and tools.

Subcommands are dispatched by name to their own module's ``main(argv) -> int`` and imported lazily, so the TUI's
launch does not pay for the SDK or the mock, and each tool owns its own flags:

    gemini-live [RUN OPTIONS]              the live session (TUI; offline demo when no key is set)
    gemini-live --headless [RUN OPTIONS]   the same session as lines on stdout, text turns from stdin
    gemini-live mock ...                   the mock Live server
    gemini-live replay FILE [--check]      the replay viewer, or a headless regression check of one file
    gemini-live regress [PATH ...]         replay every recording and report divergences
    gemini-live rec info|dump|diff|trim|redact|export ...   recording tools
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tui import __version__

SUBCOMMANDS: dict[str, str] = {
    "mock": "tui.mock.cli",
    "replay": "tui.replay.cli",
    "regress": "tui.replay.regress",
    "rec": "tui.recording.cli",
}
"""Subcommand name → module with ``main(argv: list[str]) -> int``."""


def build_run_parser() -> argparse.ArgumentParser:
    """The flags of the live session, shared by the TUI and ``--headless``."""
    p = argparse.ArgumentParser(
        prog="gemini-live",
        description=(
            "Terminal client for the Gemini Live API. With no credentials it runs the offline demo against an "
            "in-process mock server. Subcommands: mock, replay, regress, rec (see `gemini-live SUB --help`)."
        ),
    )
    p.add_argument("--version", action="version", version=f"gemini-live-tui {__version__}")
    p.add_argument("--headless", action="store_true", help="no UI: text turns from stdin, one event per line")
    p.add_argument("--demo", action="store_true", default=None, help="force the offline demo even with a key")

    c = p.add_argument_group("connection")
    c.add_argument("--base-url", metavar="URL", help="Live endpoint (any server; the SDK speaks wss:// to it)")
    c.add_argument("--ca-file", metavar="PEM", type=Path, help="CA certificate(s) to trust for --base-url")
    c.add_argument("--api-version", metavar="VER", help="v1, v1beta, v1alpha (Gemini API) or v1beta1 (Vertex)")
    c.add_argument("--vertex", action="store_true", default=None, help="use Vertex AI")
    c.add_argument("--project", help="Google Cloud project (Vertex)")
    c.add_argument("--location", help="Google Cloud location (Vertex)")
    c.add_argument("--connect-timeout", type=float, metavar="S", help="bound on connect + setupComplete")

    s = p.add_argument_group("session")
    s.add_argument("--model", help="Live model name")
    s.add_argument("--modality", choices=["AUDIO", "TEXT"], type=str.upper, help="response modality")
    s.add_argument("--voice", help="prebuilt voice, e.g. Kore, Puck")
    s.add_argument("--language", help="speech language code, e.g. en-US")
    s.add_argument("--system", metavar="TEXT", help="system instruction")
    s.add_argument("--temperature", type=float)
    s.add_argument("--top-p", type=float)
    s.add_argument("--top-k", type=int)
    s.add_argument("--max-output-tokens", type=int)
    s.add_argument("--stop", action="append", metavar="SEQ", help="stop sequence (repeatable)")
    s.add_argument("--manual-activity", action="store_true", default=None, help="push-to-talk: no server VAD")
    s.add_argument("--no-interrupt", action="store_true", default=None, help="user speech does not interrupt")
    s.add_argument("--no-transcription", action="store_true", default=None, help="no input/output transcripts")
    s.add_argument("--no-compression", action="store_true", default=None, help="no context window compression")
    s.add_argument("--no-resumption", action="store_true", default=None, help="no session resumption handles")
    s.add_argument("--media-resolution", choices=["LOW", "MEDIUM", "HIGH"], type=str.upper)
    s.add_argument("--google-search", action="store_true", default=None, help="declare the Google Search tool")
    s.add_argument("--code-execution", action="store_true", default=None, help="declare code execution")
    s.add_argument("--tools", action="append", type=Path, metavar="FILE.py", help="declare a module's functions")
    s.add_argument("--no-demo-tools", action="store_true", default=None, help="do not declare weather/clock")

    m = p.add_argument_group("media")
    m.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
    m.add_argument("--input-device", metavar="DEV", help="mic: index or name substring")
    m.add_argument("--output-device", metavar="DEV", help="speaker: index or name substring")
    m.add_argument("--no-audio", action="store_true", default=None, help="text only: no mic, no speaker")
    m.add_argument("--half-duplex", action="store_true", default=None, help="mute the mic while the model speaks")
    m.add_argument("--muted", action="store_true", default=None, help="start with the mic muted")
    m.add_argument("--camera", nargs="?", const=0, type=int, metavar="N", help="stream camera N (needs [camera])")
    m.add_argument("--screen", nargs="?", const=1, type=int, metavar="MON", help="share monitor MON")
    m.add_argument("--region", metavar="L,T,W,H", help="share this screen region")
    m.add_argument("--frames", type=Path, metavar="PATH", help="stream frames from an image, folder or video")
    m.add_argument("--fps", type=float, help="frames per second sent (default 1)")

    r = p.add_argument_group("recording")
    r.add_argument("--record", nargs="?", const="", metavar="FILE", help="record the session (default folder)")
    r.add_argument("--description", help="free text for the recording header")
    return p


def settings_from_args(args: argparse.Namespace) -> Any:
    """Build ``Settings`` with the CLI flags as the highest-priority source."""
    from tui.config import Settings

    session: dict[str, Any] = {}
    connection: dict[str, Any] = {}
    audio: dict[str, Any] = {}
    video: dict[str, Any] = {}
    recording: dict[str, Any] = {}
    top: dict[str, Any] = {}

    def put(d: dict[str, Any], key: str, value: Any) -> None:
        if value is not None:
            d[key] = value

    put(top, "demo", args.demo)
    put(top, "vertexai", args.vertex)
    put(top, "project", args.project)
    put(top, "location", args.location)
    put(connection, "base_url", args.base_url)
    put(connection, "ca_file", args.ca_file)
    put(connection, "api_version", args.api_version)
    put(connection, "connect_timeout_s", args.connect_timeout)
    put(session, "model", args.model)
    put(session, "modality", args.modality)
    put(session, "voice", args.voice)
    put(session, "language", args.language)
    put(session, "system_instruction", args.system)
    put(session, "temperature", args.temperature)
    put(session, "top_p", args.top_p)
    put(session, "top_k", args.top_k)
    put(session, "max_output_tokens", args.max_output_tokens)
    if args.stop:
        session["stop_sequences"] = tuple(args.stop)
    activity: dict[str, Any] = {}
    if args.manual_activity:
        activity["disabled"] = True
    if args.no_interrupt:
        activity["activity_handling"] = "NO_INTERRUPTION"
    if activity:
        session["activity"] = activity
    if args.no_transcription:
        session["input_transcription"] = False
        session["output_transcription"] = False
    if args.no_compression:
        session["compression"] = False
    if args.no_resumption:
        session["resumption"] = False
    if args.media_resolution:
        session["media_resolution"] = f"MEDIA_RESOLUTION_{args.media_resolution}"
    put(session, "google_search", args.google_search)
    put(session, "code_execution", args.code_execution)
    if args.tools:
        session["tools_files"] = tuple(args.tools)
    if args.no_demo_tools:
        session["demo_tools"] = False
    put(audio, "input_device", args.input_device)
    put(audio, "output_device", args.output_device)
    if args.no_audio:
        audio["enabled"] = False
    put(audio, "half_duplex", args.half_duplex)
    put(audio, "start_muted", args.muted)
    if args.camera is not None:
        video["source"] = "camera"
        video["camera_index"] = args.camera
    if args.screen is not None or args.region:
        video["source"] = "screen"
        put(video, "monitor", args.screen)
    if args.region:
        try:
            video["region"] = tuple(int(v) for v in args.region.split(","))
        except ValueError:
            from tui.errors import UserError

            raise UserError(f"--region wants L,T,W,H as integers, not {args.region!r}") from None
    if args.frames is not None:
        video["source"] = "file"
        video["frames_path"] = args.frames
    put(video, "fps", args.fps)
    if args.record is not None:
        recording["enabled"] = True
        if args.record:
            recording["path"] = Path(args.record)
    put(recording, "description", args.description)

    # Nested sections given as init kwargs replace the section wholesale in pydantic-settings, so merge them over
    # what the environment and the TOML file gave first.
    base = Settings()
    for name, overrides in (
        ("session", session),
        ("connection", connection),
        ("audio", audio),
        ("video", video),
        ("recording", recording),
    ):
        if overrides:
            merged = getattr(base, name).model_dump()
            for key, value in overrides.items():
                if isinstance(value, dict) and isinstance(merged.get(key), dict):
                    merged[key] = {**merged[key], **value}
                else:
                    merged[key] = value
            top[name] = merged
    return Settings(**top)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``gemini-live`` and ``python -m tui``."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list and args_list[0] in SUBCOMMANDS:
            module = importlib.import_module(SUBCOMMANDS[args_list[0]])
            return int(module.main(args_list[1:]))
        return _run(args_list)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # user errors get one line, never a traceback
        from pydantic import ValidationError

        from tui.errors import UserError

        if isinstance(exc, UserError):
            print(f"gemini-live: {exc}", file=sys.stderr)
            return exc.exit_code
        if isinstance(exc, ValidationError):
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
            )
            print(f"gemini-live: invalid configuration: {problems}", file=sys.stderr)
            return 2
        raise


def _run(argv: list[str]) -> int:
    args = build_run_parser().parse_args(argv)
    if args.list_devices:
        from tui.media.devices import print_devices

        return print_devices()
    if not args.headless:
        import gc

        # Start-up allocates ~10^5 objects that live as long as the process; collecting them before the first frame
        # is 20-30 ms of wasted launch time. The app turns the collector back on right after its first paint.
        gc.disable()
        from tui.app.main import run_app

        # The TUI paints before pydantic is imported (150-240 ms): the app builds Settings in a thread right after
        # its first frame, and a bad value still ends in the one clear line below, after the terminal is restored.
        return run_app(lambda: settings_from_args(args), model=args.model)
    settings = settings_from_args(args)
    from tui.headless import headless_media, run_headless

    # Headless is the scripting interface: text turns and video frames. It opens no audio device (a script's
    # stdin/stdout session should not start streaming a microphone); voice is the TUI's job.
    media = headless_media(settings)
    if settings.recording.enabled:
        from tui.recording.writer import run_headless_recorded

        return run_headless_recorded(settings, media=media)
    return run_headless(settings, media=media)
