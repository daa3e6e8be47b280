"""Build the ``genai.Client`` for a Live session from Settings: auth mode, endpoint, TLS trust and socket options.

``import google.genai`` costs about 320 ms, so it happens inside ``build_client`` (the UI paints first).

Websocket options, passed through ``HttpOptions.async_client_args`` to ``websockets.connect``
(``live-protocol.md`` §2.3, §8):
- ``ping_interval``/``ping_timeout`` from settings: loose, since the real server's pongs take 8–30 s; the
  websockets default (20 s / 20 s) drops healthy sessions.
- ``compression=None``: permessage-deflate is an offer the server may accept or ignore, so not offering it can
  never break a handshake; it saves only 23–29 % on base64 media while costing 8–80× throughput and up to
  ~2 ms per large frame (``research/perf-baselines.md``).
- ``max_size`` 16 MiB: the default 1 MiB kills the session with a 1006 on one big frame (a long audio chunk, a
  big grounding or tool-call payload); 16 MiB still bounds memory per frame.
- ``create_connection``: the frame tap (``tui.live.tap``) when a recorder is attached.
"""

from __future__ import annotations

import functools
import ssl
from typing import TYPE_CHECKING, Any

from tui.errors import UserError

if TYPE_CHECKING:
    from google import genai

    from tui.config import Settings
    from tui.live.tap import FrameTap

MAX_FRAME_BYTES = 16 * 1024 * 1024
"""Largest incoming frame accepted (see the module docstring)."""

EPHEMERAL_PREFIX = "auth_tokens/"


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A context trusting ``connection.ca_file``; else the SDK's own default trust (certifi, or ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR``), built once; None for Vertex AI without a CA file (the SDK may use a client certificate)."""
    ca = settings.connection.ca_file
    if ca is None:
        return None if settings.vertexai else _default_context()
    try:
        st = ca.stat()
    except OSError:
        st = None
    if st is None or not ca.is_file():
        raise UserError(f"--ca-file {ca}: no such file")
    try:
        return _trust_context(str(ca), None, st.st_mtime_ns, st.st_size)
    except (ssl.SSLError, OSError) as exc:
        raise UserError(f"--ca-file {ca}: not a PEM certificate file ({exc})") from None


def _default_context() -> ssl.SSLContext | None:
    """What the SDK builds when given no context, shared: it loads certifi's bundle into a new context twice per
    client (websocket and REST), ~45 ms of CPU on every connect and reconnect here."""
    import os

    cafile = os.environ.get("SSL_CERT_FILE")
    if cafile is None:
        try:
            import certifi
        except ImportError:  # the SDK would fail the same way on its own; let it say so
            return None
        cafile = certifi.where()
    capath = os.environ.get("SSL_CERT_DIR")
    try:
        st = os.stat(cafile)
    except OSError:
        return None  # the SDK reports a missing bundle in its own words
    try:
        return _trust_context(cafile, capath, st.st_mtime_ns, st.st_size)
    except (ssl.SSLError, OSError):
        return None


@functools.lru_cache(maxsize=8)
def _trust_context(cafile: str, capath: str | None, mtime_ns: int, size: int) -> ssl.SSLContext:
    """One client context per trust file version: loading one costs ~0.5 ms (a small CA file) to ~20 ms (certifi)
    per connection, and a context is safe to share between connections. A changed file (new mtime or size) is
    loaded afresh."""
    return ssl.create_default_context(cafile=cafile, capath=capath)


def websocket_args(settings: Settings, tap: FrameTap | None = None) -> dict[str, Any]:
    """The ``async_client_args`` given to the SDK (forwarded to ``websockets.asyncio.client.connect``)."""
    conn = settings.connection
    args: dict[str, Any] = {
        "ping_interval": conn.ping_interval_s,
        "ping_timeout": conn.ping_timeout_s,
        "compression": None,
        "max_size": MAX_FRAME_BYTES,
        "open_timeout": conn.connect_timeout_s,
    }
    ctx = ssl_context(settings)
    if ctx is not None:
        args["ssl"] = ctx
    if tap is not None:
        from tui.live.tap import tapped_connection_class

        args["create_connection"] = tapped_connection_class(tap)
    return args


def build_client(settings: Settings, *, tap: FrameTap | None = None, credentials: Any = None) -> genai.Client:
    """The ``genai.Client`` for ``settings``. ``credentials`` overrides Vertex credentials (tests, embedding)."""
    from google import genai
    from google.genai import types

    conn = settings.connection
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    token = settings.ephemeral_token.get_secret_value() if settings.ephemeral_token else None
    api_version = conn.api_version
    if token:
        if not token.startswith(EPHEMERAL_PREFIX):
            raise UserError(f"an ephemeral token starts with {EPHEMERAL_PREFIX!r}; this one does not")
        api_key = token
        # The Constrained endpoint that takes ephemeral tokens only exists on v1alpha.
        api_version = api_version or "v1alpha"
    elif api_key and api_key.startswith(EPHEMERAL_PREFIX):
        api_version = api_version or "v1alpha"

    ws_args = websocket_args(settings, tap)
    ca_context = ws_args.get("ssl")
    http = types.HttpOptions(
        base_url=conn.base_url,
        api_version=api_version,
        async_client_args=ws_args,
        # The REST clients get the same context: a custom CA is trusted there too, and the SDK is spared loading
        # certifi's bundle into a context of its own (~20 ms per client).
        client_args={"verify": ca_context} if ca_context is not None else None,
    )
    if settings.vertexai:
        kwargs: dict[str, Any] = {"vertexai": True, "http_options": http}
        if api_key and not settings.project:
            kwargs["api_key"] = api_key  # express mode
        else:
            if not settings.project and conn.base_url is None:
                raise UserError("Vertex AI needs a project: set GOOGLE_CLOUD_PROJECT or --project (or an API key)")
            kwargs["project"] = settings.project
            kwargs["location"] = settings.location or "us-central1"
            if credentials is None and settings.credentials_file is not None:
                credentials = _service_account(settings)
            if credentials is not None:
                kwargs["credentials"] = credentials
        try:
            return genai.Client(**kwargs)
        except Exception as exc:  # ADC missing and the like: one clear line
            raise UserError(f"cannot set up Vertex AI: {exc}") from None
    if not api_key:
        raise UserError("no API key: set GEMINI_API_KEY (or GOOGLE_API_KEY), or run without one for the offline demo")
    return genai.Client(api_key=api_key, http_options=http)


def _service_account(settings: Settings) -> Any:
    path = settings.credentials_file
    assert path is not None
    if not path.is_file():
        raise UserError(f"GOOGLE_APPLICATION_CREDENTIALS={path}: no such file")
    try:
        from google.oauth2 import service_account

        return service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(path), scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
    except (ValueError, KeyError, OSError) as exc:
        raise UserError(f"{path}: not a usable service-account key file ({exc})") from None


def redacted_url(settings: Settings) -> str:
    """The endpoint for display (never carries a key: the SDK sends keys as headers)."""
    if settings.connection.base_url:
        base = settings.connection.base_url
        return base.split("?", 1)[0]
    if settings.vertexai:
        return f"wss://{settings.location or 'us-central1'}-aiplatform.googleapis.com"
    return "wss://generativelanguage.googleapis.com"
