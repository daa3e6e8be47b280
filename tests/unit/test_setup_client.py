"""Building the genai Client from Settings: auth modes, TLS trust, websocket options, clear errors."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import ClientConnection

from tui.config import Settings
from tui.errors import UserError
from tui.live.client import MAX_FRAME_BYTES, build_client, redacted_url, websocket_args


class NullTap:
    def on_open(self, t_ns: int, url: str, headers: dict[str, str]) -> None: ...
    def on_send(self, t_ns: int, data: str | bytes) -> None: ...
    def on_recv(self, t_ns: int, data: bytes) -> None: ...
    def on_close(self, t_ns: int, code: int | None, reason: str) -> None: ...
    def on_input(self, t_ns: int, kind: str, data: dict[str, object]) -> None: ...


def test_websocket_options_are_loose_pings_no_deflate_big_frames_and_the_tap() -> None:
    s = Settings(api_key="k", connection={"ping_interval_s": 30, "ping_timeout_s": 60, "connect_timeout_s": 7})
    args = websocket_args(s, NullTap())
    create = args.pop("create_connection")
    assert isinstance(args.pop("ssl"), ssl.SSLContext)
    assert args == {
        "ping_interval": 30,
        "ping_timeout": 60,
        "compression": None,
        "max_size": MAX_FRAME_BYTES,
        "open_timeout": 7,
    }
    assert issubclass(create, ClientConnection) and create is not ClientConnection


def test_without_a_ca_file_the_sdk_default_trust_is_built_once_and_honours_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi

    from tui.mock.tls import generate_certificate

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    s = Settings(api_key="k")
    ctx = websocket_args(s)["ssl"]
    # What the SDK would load itself (certifi's bundle), once for every client, connection and reconnect.
    assert isinstance(ctx, ssl.SSLContext) and len(ctx.get_ca_certs()) > 50
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    api = build_client(s)._api_client
    assert api._websocket_ssl_ctx["ssl"] is ctx and websocket_args(s)["ssl"] is ctx
    assert Path(certifi.where()).is_file()
    # SSL_CERT_FILE replaces the bundle, as it does for the SDK.
    ca = generate_certificate(tmp_path / "ca").ca_file
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    own = websocket_args(s)["ssl"]
    assert own is not ctx and [c["subject"] for c in own.get_ca_certs()] == [
        c["subject"] for c in ssl.create_default_context(cafile=str(ca)).get_ca_certs()
    ]
    # Vertex AI without a CA file: the SDK decides (it may present a client certificate).
    assert "ssl" not in websocket_args(Settings(vertexai=True, project="p", location="l"))


def test_api_key_client_carries_key_version_and_ssl(tmp_path: Path) -> None:
    from tui.mock.tls import generate_certificate

    cert = generate_certificate(tmp_path / "ca")
    s = Settings(api_key="AIza-test", connection={"base_url": "https://127.0.0.1:1", "ca_file": cert.ca_file})
    client = build_client(s)
    api = client._api_client
    assert api.api_key == "AIza-test" and not api.vertexai
    assert isinstance(api._websocket_ssl_ctx["ssl"], ssl.SSLContext)
    assert api._websocket_ssl_ctx["max_size"] == MAX_FRAME_BYTES
    assert api._websocket_ssl_ctx["compression"] is None


def test_ephemeral_token_defaults_to_v1alpha_and_must_look_like_one() -> None:
    client = build_client(Settings(ephemeral_token="auth_tokens/xyz"))
    assert client._api_client.api_key == "auth_tokens/xyz"
    assert client._api_client._http_options.api_version == "v1alpha"
    with pytest.raises(UserError, match="starts with 'auth_tokens/'"):
        build_client(Settings(ephemeral_token="not-a-token"))


def test_vertex_express_and_project_modes() -> None:
    express = build_client(Settings(vertexai=True, api_key="vx"))
    assert express._api_client.vertexai and express._api_client.api_key == "vx"
    from google.oauth2.credentials import Credentials

    creds = Credentials(token="t")  # type: ignore[no-untyped-call]
    project = build_client(Settings(vertexai=True, project="p", location="europe-west4"), credentials=creds)
    assert (project._api_client.project, project._api_client.location) == ("p", "europe-west4")
    with pytest.raises(UserError, match="Vertex AI needs a project"):
        build_client(Settings(vertexai=True))


def test_service_account_file(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    sa = tmp_path / "sa.json"
    sa.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "p",
                "private_key_id": "1",
                "private_key": pem,
                "client_email": "bot@p.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    client = build_client(Settings(vertexai=True, project="p", credentials_file=sa))
    assert client._api_client._credentials.service_account_email == "bot@p.iam.gserviceaccount.com"
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(UserError, match="not a usable service-account key file"):
        build_client(Settings(vertexai=True, project="p", credentials_file=bad))
    with pytest.raises(UserError, match="no such file"):
        build_client(Settings(vertexai=True, project="p", credentials_file=tmp_path / "missing.json"))


def test_missing_or_bad_trust_file_and_missing_key_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"--ca-file .*: no such file"):
        build_client(Settings(api_key="k", connection={"ca_file": tmp_path / "nope.pem"}))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(UserError, match="not a PEM certificate file"):
        build_client(Settings(api_key="k", connection={"ca_file": junk}))
    with pytest.raises(UserError, match="no API key"):
        build_client(Settings())


def test_redacted_url_never_shows_a_query_key() -> None:
    s = Settings(api_key="k", connection={"base_url": "https://example.test/live?key=SECRET"})
    assert redacted_url(s) == "https://example.test/live"
    assert redacted_url(Settings(api_key="k")) == "wss://generativelanguage.googleapis.com"


def test_a_trust_file_is_loaded_once_per_version(tmp_path: Path) -> None:
    from tui.live.client import ssl_context
    from tui.mock.tls import generate_certificate

    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate")
    settings = Settings(api_key="k", connection={"ca_file": ca})
    with pytest.raises(UserError, match="not a PEM certificate file"):
        ssl_context(settings)
    # Fixed in place (another size, another mtime): read afresh, not the failure or an old context.
    ca.write_bytes(generate_certificate(tmp_path / "mock").ca_file.read_bytes())
    first = ssl_context(settings)
    assert first is not None and first.get_ca_certs()
    assert ssl_context(settings) is first  # every connection of a session (and every replay) shares it
