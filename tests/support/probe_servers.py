"""In-process loopback servers for the live probe: hostile ones (silent, resetting, plain HTTP, garbage, trickling,
a 100-certificate chain, a 5,000-name CertificateRequest, TLS 1.0 only) and a strict OpenSSL server that rejects
with TLS alerts as Apache httpd and HAProxy do. Each listens on 127.0.0.1 on an ephemeral port, in a daemon
thread, until its context exits."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from OpenSSL import SSL

SAMPLE = Path(__file__).resolve().parents[2] / "sample_pki"
Handler = Callable[[socket.socket], None]


@contextmanager
def listening(handler: Handler) -> Iterator[int]:
    """Serve ``handler`` (one call per accepted connection, each in its own thread) on 127.0.0.1; yields the port."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_guarded, args=(handler, conn), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        # shutdown first: close() alone leaves the socket listening while the accept thread holds it
        with suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)
        server.close()


def _guarded(handler: Handler, conn: socket.socket) -> None:
    try:
        handler(conn)
    except OSError:
        pass  # the probe went away first: nothing to serve
    finally:
        conn.close()


def silent(conn: socket.socket) -> None:
    """Accepts, reads, never answers (until the test is long over)."""
    conn.recv(65536)
    time.sleep(30)


def reset(conn: socket.socket) -> None:
    """Resets the connection after the ClientHello (SO_LINGER 0: RST instead of FIN)."""
    conn.recv(65536)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def plain_http(conn: socket.socket) -> None:
    """A plain HTTP server on the port probed for TLS."""
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def garbage(conn: socket.socket) -> None:
    """Answers with bytes that are no protocol."""
    conn.recv(65536)
    conn.sendall(b"\x00\xff" * 200)


def trickle(conn: socket.socket) -> None:
    """A TLS record header, then one byte a second."""
    conn.recv(65536)
    for byte in b"\x16\x03\x03\x00\x40" + b"\x02" * 64:
        conn.sendall(bytes([byte]))
        time.sleep(1)


def tls10(conn: socket.socket) -> None:
    """A server that speaks only TLS 1.0: its ServerHello picks version 0x0301 (RFC 2246 §7.4.1.3)."""
    conn.recv(65536)
    body = b"\x03\x01" + b"\x11" * 32 + b"\x00" + b"\x00\x2f" + b"\x00"
    message = b"\x02" + len(body).to_bytes(3, "big") + body
    conn.sendall(b"\x16\x03\x01" + len(message).to_bytes(2, "big") + message)
    conn.recv(65536)


def _server_context() -> SSL.Context:
    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    ctx.use_certificate_file(str(SAMPLE / "certs" / "localhost.pem"))
    ctx.use_privatekey_file(str(SAMPLE / "keys" / "localhost.key"))
    return ctx


def tls(ctx: SSL.Context) -> Handler:
    """A TLS server with ``ctx``: handshake, then 200 to any request; an alert when the handshake fails."""

    def handle(conn: socket.socket) -> None:
        # A blocking socket: with a timeout the fd turns non-blocking and pyOpenSSL raises WantReadError.
        tls_conn = SSL.Connection(ctx, conn)
        tls_conn.set_accept_state()
        try:
            tls_conn.do_handshake()
            tls_conn.recv(65536)
            tls_conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
            tls_conn.shutdown()
        except SSL.Error:
            pass  # the alert is sent: what the test looks at

    return handle


def strict() -> Handler:
    """Requires a client certificate and fails the handshake without one (TLS 1.3: alert 116), as Apache's
    ``SSLVerifyClient require`` and HAProxy's ``verify required`` do."""
    ctx = _server_context()
    ctx.load_client_ca(str(SAMPLE / "certs" / "client-root.pem").encode())
    ctx.load_verify_locations(str(SAMPLE / "certs" / "client-root.pem"))
    ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT)
    return tls(ctx)


def _self_signed(name: str, key: Any, start: datetime, days: int) -> x509.Certificate:
    """A self-signed certificate named CN=``name`` for ``key``, valid ``days`` from ``start``."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


def long_chain(count: int = 100) -> Handler:
    """A server whose chain has ``count`` extra certificates."""
    ctx = _server_context()
    key = ec.generate_private_key(ec.SECP256R1())
    for i in range(count):
        ctx.add_extra_chain_cert(_self_signed(f"filler {i}", key, datetime(2025, 1, 1, tzinfo=UTC), 3650))
    return tls(ctx)


def many_names(count: int = 5000) -> Handler:
    """A server whose CertificateRequest advertises ``count`` CA names. The list is at most 65,535 bytes (RFC 8446
    §4.2.4: ``DistinguishedName authorities<3..2^16-1>``), so 5,000 names fit only as the shortest DN there is, the
    empty one (2 bytes of DER, 2 of length); OpenSSL's server fails with internal_error on a longer list."""
    from OpenSSL import crypto  # noqa: PLC0415

    ctx = _server_context()
    names = [crypto.X509().get_subject() for _ in range(count)]
    ctx.set_client_ca_list(names)
    ctx.set_verify(SSL.VERIFY_PEER, lambda *_: True)
    return tls(ctx)


def ecdsa_only() -> Handler:
    """Requires a client certificate and asks for ECDSA signatures only (its CertificateRequest's
    signature_algorithms; OpenSSL uses the context's sigalgs when no client sigalgs are set): an RSA client key
    cannot sign, so an OpenSSL client sends an EMPTY Certificate (probe-and-wizard.md §A6, observed with s_server)."""
    from OpenSSL._util import lib  # noqa: PLC0415 - private binding: no public setter for the sigalgs

    ctx = _server_context()
    ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *_: True)
    assert lib.SSL_CTX_set1_sigalgs_list(ctx._context, b"ECDSA+SHA256:ECDSA+SHA384") == 1  # noqa: SLF001
    return tls(ctx)


def rsa_client(where: Path) -> tuple[Path, Path]:
    """A self-signed RSA-2048 client certificate and its key, written under ``where``."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _self_signed("rsa client", key, datetime.now(UTC) - timedelta(days=1), 30)
    cert_path, key_path = where / "rsa-client.pem", where / "rsa-client.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path
