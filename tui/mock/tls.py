"""Throwaway TLS material for the mock: a private CA and a server certificate for 127.0.0.1 and localhost.

The SDK always rewrites the scheme to ``wss`` (``live-protocol.md`` §2.4), so the mock must serve TLS and the client
must trust it. Every start makes a fresh CA (EC P-256, valid one day) in a private temp directory: the CA's PEM is
what a client trusts (``SSL_CERT_FILE=...`` or ``ssl.create_default_context(cafile=...)``); the key files are 0600
and the directory is removed when the server stops. Nothing here is secret beyond one run of one mock.

Harnesses that start many short-lived loopback mocks in one process (``replay --check``, 10-30 ms each) may share one
certificate instead (:func:`shared_certificate`): made on first use, replaced after an hour, deleted at exit. Making,
loading and deleting a fresh one costs 4-15 ms a start, a large part of such a replay. Thread-safe.
"""

from __future__ import annotations

import atexit
import datetime as dt
import ipaddress
import os
import shutil
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class MockCertificate:
    """Paths of one generated CA + server certificate. ``ca_file`` is the PEM a client must trust."""

    directory: Path
    ca_file: Path
    cert_file: Path
    """Server certificate followed by the CA (the chain the server presents)."""
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for the mock's listening socket."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """An SSL context that trusts this CA only, with hostname checking on (what a careful client uses)."""
        return client_ssl_context(self.ca_file)

    def remove(self) -> None:
        """Delete the directory and everything in it (best effort)."""
        shutil.rmtree(self.directory, ignore_errors=True)


def client_ssl_context(ca_file: Path | str) -> ssl.SSLContext:
    """A default-verifying client context trusting exactly ``ca_file``."""
    return ssl.create_default_context(cafile=str(ca_file))


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _san(hosts: tuple[str, ...]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def generate_certificate(directory: Path | None = None, hosts: tuple[str, ...] = DEFAULT_HOSTS) -> MockCertificate:
    """Make a CA and a server certificate for ``hosts`` and write them to ``directory`` (a new 0700 temp dir).

    Takes a few milliseconds (EC keys). The CA has ``pathlen=0`` and signs only this one leaf.
    """
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="gemini-live-mock-"))
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    now = dt.datetime.now(dt.UTC)
    not_before = now - dt.timedelta(minutes=5)  # tolerate small clock differences between processes
    not_after = now + dt.timedelta(days=1)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gemini-live-tui mock"),
            x509.NameAttribute(NameOID.COMMON_NAME, "gemini-live mock throwaway CA"),
        ]
    )
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else "localhost")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_san(hosts), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    ca_pem = ca_cert.public_bytes(pem)
    ca_file = directory / "mock-ca.pem"
    cert_file = directory / "mock-server.pem"
    key_file = directory / "mock-server.key"
    ca_file.write_bytes(ca_pem)
    cert_file.write_bytes(leaf_cert.public_bytes(pem) + ca_pem)
    _write_private(
        key_file,
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    # The CA key is never written: nothing else can be signed with it once this function returns.
    return MockCertificate(directory=directory, ca_file=ca_file, cert_file=cert_file, key_file=key_file)


SHARED_MAX_AGE_S = 3600.0
"""A shared certificate is replaced after this long (it is valid for a day)."""

_shared_lock = threading.Lock()
_shared: tuple[float, MockCertificate, ssl.SSLContext] | None = None


def shared_certificate() -> tuple[MockCertificate, ssl.SSLContext]:
    """This process's loopback certificate and a server context for it (see the module docstring)."""
    global _shared
    with _shared_lock:
        now = time.monotonic()
        if _shared is None or now - _shared[0] > SHARED_MAX_AGE_S:
            cert = generate_certificate()
            _shared = (now, cert, cert.server_context())
            # Removed at exit, not when replaced: a mock started moments ago may still have clients to trust it
            # (one directory an hour at most).
            atexit.register(cert.remove)
        return _shared[1], _shared[2]
