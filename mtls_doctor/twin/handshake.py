"""The server twin: an in-memory TLS handshake against an OpenSSL server configured the way nginx configures it.

nginx (src/event/ngx_event_openssl.c, ngx_ssl_client_certificate and ngx_ssl_verify_callback) sets SSL_VERIFY_PEER
with a callback that always returns 1, so OpenSSL finishes the handshake whatever it finds and
SSL_get_verify_result() holds the LAST error raised; ``ssl_verify_depth`` becomes SSL_CTX_set_verify_depth (default
1); ``ssl_client_certificate`` is loaded as trusted AND as the CA names sent in the CertificateRequest;
``ssl_trusted_certificate`` is trusted only; ``ssl_crl`` adds X509_V_FLAG_CRL_CHECK|X509_V_FLAG_CRL_CHECK_ALL. The
twin does the same with pyOpenSSL, pumping bytes between two memory BIOs: no socket, no network.

pyOpenSSL is imported lazily: it costs start-up time that commands without a handshake should not pay.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from mtls_doctor.openssl.generations import OpenSSLGeneration, adjust_errors
from mtls_doctor.openssl.verify_codes import verify_name, verify_text
from mtls_doctor.pki.keys import use_key
from mtls_doctor.record import Record
from mtls_doctor.twin.result import TwinFacts
from mtls_doctor.vocabulary import VerifyClient, VerifyError

if TYPE_CHECKING:
    from OpenSSL import SSL, crypto

    from mtls_doctor.pki.keys import SigningKey

TLS_VERSIONS = ("TLSv1.2", "TLSv1.3")
_PUMP_ROUNDS = 32


class TwinServer(Record):
    """The server side: exactly what nginx hands OpenSSL."""

    verify_client: VerifyClient
    verify_depth: int
    ca_certs: tuple[x509.Certificate, ...]
    """``ssl_client_certificate``: trusted, and advertised as acceptable CA names (file order)."""
    trusted_certs: tuple[x509.Certificate, ...]
    """``ssl_trusted_certificate``: trusted only."""
    crls: tuple[x509.CertificateRevocationList, ...]
    crl_check: bool
    seclevel: int
    at: dt.datetime
    max_tls: str = "TLSv1.3"
    openssl: OpenSSLGeneration = OpenSSLGeneration.V3
    """The OpenSSL nginx links: the twin's raw results are adjusted to it (openssl/generations.py)."""


class TwinClient(Record):
    """The client side: what curl would present."""

    chain: tuple[x509.Certificate, ...]
    """Leaf first, then every extra certificate the client sends."""
    key: SigningKey | None


def run_twin(server: TwinServer, client: TwinClient) -> TwinFacts:
    """Handshake ``client`` against ``server`` in memory and report what the server's verification raised."""
    from OpenSSL import SSL  # noqa: PLC0415 - lazy: 15-20 ms of start-up

    errors: list[VerifyError] = []
    server_conn = SSL.Connection(_server_context(server, errors), None)
    client_conn = SSL.Connection(_client_context(client, server.max_tls), None)
    server_conn.set_accept_state()
    client_conn.set_connect_state()
    failure = _pump(client_conn, server_conn)
    received = server_conn.get_peer_certificate(as_cryptography=True) is not None
    names = tuple(n.rfc4514_string() for n in client_conn.get_client_ca_list(as_cryptography=True))
    seen = adjust_errors(
        tuple(errors),
        generation=server.openssl,
        crl_check=server.crl_check,
        leaf_subject=client.chain[0].subject.rfc4514_string() if client.chain else None,
        pinned_without_own_crl=bool(client.chain) and _pinned_without_own_crl(server, client.chain[0]),
    )
    last = seen[-1] if seen else None
    return TwinFacts(
        cert_requested=server.verify_client is not VerifyClient.OFF,
        cert_received=received,
        errors_seen=seen,
        last_error=last,
        logged_codes=frozenset({last.code}) if last else frozenset(),
        errors_seen_codes=frozenset(e.code for e in seen),
        acceptable_ca_names=names,
        protocol=server_conn.get_protocol_version_name() if failure is None else None,
        handshake_error=failure,
    )


def _pinned_without_own_crl(server: TwinServer, leaf: x509.Certificate) -> bool:
    """``leaf`` is self-signed, the server trusts it (the same certificate is in its store), and no CRL it signed is
    configured: the lone-certificate chain whose revocation OpenSSL 3.0 still checks (openssl/generations.py)."""
    if leaf.issuer != leaf.subject or leaf not in (*server.ca_certs, *server.trusted_certs):
        return False
    key = leaf.public_key()
    for crl in server.crls:
        if crl.issuer == leaf.subject:
            try:
                if crl.is_signature_valid(key):  # type: ignore[arg-type]
                    return False
            except (TypeError, ValueError):
                continue
    return True


def server_context(server: TwinServer, errors: list[VerifyError]) -> SSL.Context:
    """The server's pyOpenSSL context, configured as nginx configures OpenSSL; each verify error raised during a
    handshake is appended to ``errors`` (``mtls-doctor demo`` serves it on a socket when no nginx is installed)."""
    return _server_context(server, errors)


def _server_context(server: TwinServer, errors: list[VerifyError]) -> SSL.Context:
    from OpenSSL import SSL, crypto  # noqa: PLC0415

    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    ctx.set_max_proto_version(_version(server.max_tls))
    ctx.set_cipher_list(f"DEFAULT:@SECLEVEL={server.seclevel}".encode())
    cert, key = _server_identity(server.seclevel)
    ctx.use_certificate(cert)
    ctx.use_privatekey(key)
    store = ctx.get_cert_store()
    assert store is not None  # noqa: S101 - a server context always has a store
    # set_time replaces the store's verify parameters, so it goes before the CRL flags.
    store.set_time(server.at.astimezone(dt.UTC))
    for c in (*server.ca_certs, *server.trusted_certs):
        store.add_cert(crypto.X509.from_cryptography(c))
    seen: set[bytes] = set()
    for c in server.ca_certs:
        # SSL_load_client_CA_file skips certificates whose subject was already listed.
        if c.subject.public_bytes() not in seen:
            seen.add(c.subject.public_bytes())
            ctx.add_client_ca(c)
    if server.crl_check:
        for crl in server.crls:
            store.add_crl(crl)
        store.set_flags(crypto.X509StoreFlags.CRL_CHECK | crypto.X509StoreFlags.CRL_CHECK_ALL)

    def on_verify(_conn: SSL.Connection, cert: crypto.X509, errnum: int, depth: int, ok: int) -> bool:
        if not ok:
            subject = cert.to_cryptography().subject.rfc4514_string()
            errors.append(
                VerifyError(
                    code=errnum, name=verify_name(errnum), text=verify_text(errnum), depth=depth, subject=subject
                )
            )
        return True  # ngx_ssl_verify_callback: never abort, let nginx answer over HTTP

    if server.verify_client is not VerifyClient.OFF:
        ctx.set_verify(SSL.VERIFY_PEER, on_verify)
        ctx.set_verify_depth(server.verify_depth)
    return ctx


def _client_context(client: TwinClient, max_tls: str) -> SSL.Context:
    from OpenSSL import SSL  # noqa: PLC0415

    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_max_proto_version(_version(max_tls))
    # Level 0 so that weak client certificates are sent at all: the server's verdict is what is being modelled.
    ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
    if client.chain and client.key is not None:
        ctx.use_certificate(client.chain[0])
        for extra in client.chain[1:]:
            ctx.add_extra_chain_cert(extra)
        use_key(ctx, client.key, client.chain[0])
    return ctx


def _pump(client: SSL.Connection, server: SSL.Connection) -> str | None:
    """Drive both handshakes until no bytes move; the failure text of a failed handshake, else None."""
    from OpenSSL import SSL  # noqa: PLC0415

    for _ in range(_PUMP_ROUNDS):
        for conn in (client, server):
            try:
                conn.do_handshake()
            except SSL.WantReadError:
                pass
            except SSL.Error as exc:
                return _ssl_error_text(exc)
        moved = False
        for src, dst in ((client, server), (server, client)):
            try:
                data = src.bio_read(1 << 16)
            except SSL.WantReadError:
                continue
            dst.bio_write(data)
            moved = True
        if not moved:
            break
    return None


# Reasons of ERR_LIB_SSL the server raises in a handshake it fails (include/openssl/sslerr.h), to write them as
# nginx logs them with OpenSSL 3: error:0A00017A:SSL routines::wrong curve (observed). pyOpenSSL keeps the texts only.
# "internal error" is ERR_R_INTERNAL_ERROR (259 with ERR_R_FATAL: 0xC0103), as a CertificateRequest too large to
# build gives it (observed: [crit] ... error:0A0C0103:SSL routines::internal error).
_SSL_REASONS = {
    "wrong curve": 378,
    "unsupported protocol": 258,
    "bad signature": 123,
    "no shared cipher": 193,
    "internal error": 0xC0103,
}


def _ssl_error_text(exc: Exception) -> str:
    parts = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
    reasons = [p[2] for p in parts if isinstance(p, tuple) and len(p) == 3]
    known = [r for r in reasons if r in _SSL_REASONS]
    if known:
        return f"error:{(20 << 23) | _SSL_REASONS[known[-1]]:08X}:SSL routines::{known[-1]}"
    return "; ".join(reasons) or str(exc)


def _version(name: str) -> int:
    from OpenSSL import SSL  # noqa: PLC0415

    return SSL.TLS1_3_VERSION if name == "TLSv1.3" else SSL.TLS1_2_VERSION


_IDENTITIES: dict[int, tuple[x509.Certificate, ec.EllipticCurvePrivateKey]] = {}


def _server_identity(seclevel: int) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A throwaway server certificate strong enough for ``seclevel`` (the client does not check it)."""
    if seclevel not in _IDENTITIES:
        curve: ec.EllipticCurve = (
            ec.SECP521R1() if seclevel >= 5 else ec.SECP384R1() if seclevel >= 4 else ec.SECP256R1()
        )
        key = ec.generate_private_key(curve)
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "mtls-doctor server twin")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA384())
        )
        _IDENTITIES[seclevel] = (cert, key)
    return _IDENTITIES[seclevel]
