"""``gemini-live mock``: run the mock Live server in the foreground until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from tui.errors import UserError
from tui.mock.faults import FaultPlan
from tui.mock.server import MockOptions, MockServer, resolve_backend, serve_mock


def build_parser() -> argparse.ArgumentParser:
    """Flags of ``gemini-live mock``."""
    p = argparse.ArgumentParser(
        prog="gemini-live mock",
        description=(
            "A local mock of the Gemini Live API (BidiGenerateContent) that the unmodified google-genai SDK can "
            "talk to. TLS with a throwaway CA by default; the offline demo backend answers."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (loopback only unless --allow-remote)")
    p.add_argument("--port", type=int, default=0, help="port (0 = any free port; the banner says which)")
    p.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    p.add_argument("--no-tls", action="store_true", help="plain ws:// (the google-genai SDK cannot use this)")
    p.add_argument("--pace", type=float, default=1.0, help="delay multiplier: 1 = real time, 0 = no delays")
    p.add_argument("--seed", type=int, default=0, help="seed of the demo voice and chunking")
    p.add_argument("--require-key", metavar="KEY", help="reject sessions whose key differs (close 1008)")
    p.add_argument("--max-sessions", type=int, default=200, help="concurrent sessions (more get HTTP 503)")
    p.add_argument("--replay", metavar="FILE", type=Path, help="serve a recording instead of the demo")
    p.add_argument("--replay-lenient", action="store_true", help="with --replay: collect divergences, do not close")
    p.add_argument("--replay-pacing", default="causal", metavar="P", help="with --replay: causal, realtime or xN")

    f = p.add_argument_group("faults (each fires once per session; see also the x-mock-fault request header)")
    f.add_argument("--fault", action="append", default=[], metavar="SPEC", help="fault spec, e.g. drop-mid-turn:3")
    f.add_argument("--goaway-after", type=float, metavar="T", help="send goAway T s after setupComplete")
    f.add_argument("--goaway-time-left", type=float, metavar="S", help="timeLeft of that goAway (default 10)")
    f.add_argument("--drop-after-chunks", type=int, metavar="N", help="abort TCP (1006) after N model chunks")
    f.add_argument("--close-code", type=int, choices=[1007, 1008, 1011], help="close with this code ...")
    f.add_argument("--close-after", type=float, metavar="T", help="... T s after setupComplete")
    f.add_argument("--close-on-message", type=int, metavar="N", help="... on the Nth client message after setup")
    f.add_argument("--slow-pongs", type=float, metavar="S", help="answer pings S seconds late")
    f.add_argument("--no-pongs", action="store_true", help="never answer pings")
    f.add_argument("--silence-after", type=float, metavar="T", help="stop sending anything after T s")
    f.add_argument("--bursty-audio", action="store_true", help="send audio in bursts with gaps")
    f.add_argument("--oversized", action="store_true", help="one model frame over 1 MiB")
    f.add_argument("--phantom-interrupted", action="store_true", help="an `interrupted` nobody caused")
    f.add_argument("--fault-sessions", type=int, metavar="N", help="faults apply to the first N sessions only")
    f.add_argument("--repeat-faults", action="store_true", help="oversized/phantom fire every turn")
    return p


def _fault_plan(args: argparse.Namespace) -> FaultPlan:
    items: list[str] = list(args.fault)
    if args.goaway_after is not None:
        left = f"@{args.goaway_time_left}" if args.goaway_time_left is not None else ""
        items.append(f"goaway:{args.goaway_after}{left}")
    if args.drop_after_chunks is not None:
        items.append(f"drop-mid-turn:{args.drop_after_chunks}")
    if args.close_code is not None:
        if args.close_on_message is not None:
            items.append(f"close:{args.close_code}#{args.close_on_message}")
        else:
            items.append(f"close:{args.close_code}@{args.close_after or 0}")
    elif args.close_after is not None or args.close_on_message is not None:
        raise UserError("--close-after/--close-on-message need --close-code")
    if args.slow_pongs is not None:
        items.append(f"slow-pongs:{args.slow_pongs}")
    if args.no_pongs:
        items.append("no-pongs")
    if args.silence_after is not None:
        items.append(f"silence:{args.silence_after}")
    if args.bursty_audio:
        items.append("bursty-audio")
    if args.oversized:
        items.append("oversized")
    if args.phantom_interrupted:
        items.append("phantom-interrupted")
    if args.fault_sessions is not None:
        items.append(f"sessions:{args.fault_sessions}")
    if args.repeat_faults:
        items.append("repeat")
    return FaultPlan.parse(",".join(items))


def _print_replay_report(state: object) -> None:
    """Print the replay's report when the recording has been played to its end (or diverged)."""
    from tui.replay.report import format_report

    print(format_report(state.result()), flush=True)  # type: ignore[attr-defined]


def _replay_pacing(text: str) -> float | None:
    """``causal`` → None (as fast as the client goes), ``realtime`` → 1.0, ``xN`` or ``N`` → N times real time."""
    value = text.strip().lower()
    if value == "causal":
        return None
    if value == "realtime":
        return 1.0
    try:
        factor = float(value.removeprefix("x"))
    except ValueError:
        factor = 0.0
    if not 0 < factor <= 1000:
        raise UserError(f"--replay-pacing wants causal, realtime or xN (N > 0), not {text!r}")
    return factor


def options_from_args(args: argparse.Namespace) -> MockOptions:
    """Validated :class:`MockOptions` from parsed flags. Raises :class:`UserError`."""
    backend = "demo"
    backend_options: dict[str, object] = {}
    if args.replay is not None:
        if not args.replay.is_file():
            raise UserError(f"--replay: no such file: {args.replay}")
        backend = "replay"
        backend_options["path"] = args.replay
        backend_options["strict"] = not args.replay_lenient
        backend_options["on_finish"] = _print_replay_report
        pacing = _replay_pacing(args.replay_pacing)
        if pacing is not None:
            backend_options["pacing"] = pacing
    if args.pace < 0:
        raise UserError("--pace must be >= 0")
    if not 0 <= args.port <= 65535:
        raise UserError("--port must be between 0 and 65535")
    if args.max_sessions < 1:
        raise UserError("--max-sessions must be at least 1")
    options = MockOptions(
        host=args.host,
        port=args.port,
        tls=not args.no_tls,
        backend=backend,
        faults=_fault_plan(args),
        require_key=args.require_key,
        max_sessions=args.max_sessions,
        pace=args.pace,
        seed=args.seed,
        backend_options=backend_options,
        allow_remote=args.allow_remote,
    )
    if backend == "replay":
        # Build one backend now so a foreign or corrupt recording is one clear error at start, not per session.
        resolve_backend("replay")(options)
    return options


def banner(mock: MockServer) -> str:
    """What the CLI prints on start: where it listens, what to trust, how to point a client at it."""
    o = mock.options
    what = f"{o.backend} backend, pace {o.pace:g}, faults: {o.faults.describe()}"
    if o.require_key is not None:
        what += ", key required"
    lines = [f"gemini-live mock: serving the Live API on {mock.base_url} ({what})"]
    if mock.ca_file is not None:
        ca = shlex.quote(str(mock.ca_file))
        lines += [
            f"  CA certificate a client must trust: {mock.ca_file} (deleted when the mock stops)",
            "  an SDK app, no code change:",
            f"    GOOGLE_GEMINI_BASE_URL={mock.base_url} SSL_CERT_FILE={ca} GOOGLE_API_KEY=anything python app.py",
            f"  this client:  gemini-live --base-url {mock.base_url} --ca-file {ca}",
        ]
    else:
        lines.append("  plain ws:// (no TLS): raw websockets clients only; the google-genai SDK always uses wss://")
    lines.append("  Ctrl-C stops it.")
    return "\n".join(lines)


async def _serve(options: MockOptions) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with serve_mock(options) as mock:
        print(banner(mock), flush=True)
        await stop.wait()
        stats = mock.stats
        print(
            f"gemini-live mock: stopped after {stats.sessions_started} session(s), "
            f"{stats.frames_in} frames in, {stats.frames_out} out",
            flush=True,
        )


def main(argv: Sequence[str]) -> int:
    """Run the mock until interrupted. Returns the exit status (0 after Ctrl-C, 2 on a user error)."""
    args = build_parser().parse_args(list(argv))
    try:
        options = options_from_args(args)
        asyncio.run(_serve(options))
    except UserError as exc:
        print(f"gemini-live mock: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 0
    return 0
