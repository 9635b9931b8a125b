"""One probe: TCP connect, the TLS handshake as the chosen client does it, one HTTP request, under one deadline.

Observed, never judged: what the server sent (version, cipher, chain, CertificateRequest, alerts, HTTP answer) and
what the client sent (its Certificate message, empty or not). The judging is facts/probe.py's and the rules'.
pyOpenSSL is imported here only, when a probe runs.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography import x509

from mtls_doctor.pki.keys import use_key
from mtls_doctor.probe.http import MAX_BODY, HttpAnswer, parse, request
from mtls_doctor.probe.messages import CertificateRequest, Message, Trace, certificate_count, install
from mtls_doctor.probe.messages import parse_certificate_request as parse_request
from mtls_doctor.probe.transport import (
    MAX_READ,
    Deadline,
    ProbeClosedError,
    ProbeTimeoutError,
    ProbeTooLargeError,
    Pump,
    connect,
)
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import ClientModel

if TYPE_CHECKING:
    from OpenSSL import SSL

    from mtls_doctor.pki.keys import SigningKey

_P = TypeVar("_P")

DEFAULT_TIMEOUT = 10.0
OLD_VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1"}
"""ServerHello versions below TLS 1.2, as OpenSSL names them (RFC 8996 deprecates TLS 1.0 and 1.1)."""
SETTLE_WINDOW = 1.0
"""TLS 1.3: how long to wait after the handshake for the server's verdict (a ticket or an alert) before the request;
OpenSSL, BoringSSL and Go servers send their tickets as soon as they have processed the client's Finished."""


class Failure(enum.Enum):
    """Why the attempt did not get an HTTP answer, named for a person."""

    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    RESET = "reset"
    CLOSED = "closed"
    PLAIN_HTTP = "plain_http"
    NOT_TLS = "not_tls"
    OLD_TLS = "old_tls"
    TOO_LARGE = "too_large"
    TLS_ALERT = "tls_alert"
    TLS_ERROR = "tls_error"
    NOT_HTTP = "not_http"
    CLIENT_CREDENTIALS = "client_credentials"
    """The client cannot use its certificate and key (they do not match): like curl, it does not connect."""


class Request(Record):
    """What to probe, and as whom."""

    host: str
    port: int
    sni: str | None
    host_header: str
    path: str = "/"
    server_ca: str | None = None
    """The CA file the server's chain is verified against; None: the system store."""
    chain: tuple[x509.Certificate, ...] = ()
    """The client's certificate, then the certificates it sends after it."""
    key: SigningKey | None = None
    client: ClientModel = ClientModel.CURL
    max_tls: str | None = None
    """``TLSv1.2``: at most TLS 1.2."""
    min_tls: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    read_limit: int = MAX_READ


class ServerCheck(Record):
    """The server's own chain, as the client judges it (never aborting the probe)."""

    errors: tuple[tuple[int, int, str], ...]
    """(verify error, depth, subject) met while verifying against the CA given or the system store."""
    hostname_ok: bool | None
    """The leaf names the SNI host (None: no SNI, or no chain)."""


class Observation(Record):
    """Everything one probe saw."""

    request: Request
    elapsed_ms: float
    connected: bool
    failure: Failure | None
    failure_detail: str | None
    failure_after_handshake: bool
    """The failure came after our side of the handshake had finished (TLS 1.3: the verdict on our certificate)."""
    protocol: str | None
    server_hello_version: int | None
    """The version the ServerHello chose (0x0301 TLS 1.0 ... 0x0303; TLS 1.3 also says 0x0303)."""
    cipher: str | None
    server_chain: tuple[x509.Certificate, ...]
    server_check: ServerCheck | None
    certificate_request: CertificateRequest | None
    ca_names: tuple[str, ...]
    """The advertised CA names as RFC 4514 strings, in the server's order."""
    certificates_sent: int | None
    """Certificates in the client's Certificate message; 0: EMPTY; None: no Certificate message was sent."""
    withheld: bool
    """The emulated client chose to send nothing (no certificate of its chain is issued under an advertised name)."""
    alert: int | None
    """The fatal alert the server sent, by number."""
    alert_sent: int | None
    """The fatal alert the client sent."""
    session_ticket: bool
    answer: HttpAnswer | None
    messages: tuple[Message, ...]


def _version(name: str | None) -> int | None:
    from OpenSSL import SSL  # noqa: PLC0415

    return {"TLSv1.2": SSL.TLS1_2_VERSION, "TLSv1.3": SSL.TLS1_3_VERSION}.get(name or "")


def _context(req: Request, trace: Trace, verify_errors: list[tuple[int, int, str]]) -> tuple[SSL.Context, list[Any]]:
    from OpenSSL import SSL  # noqa: PLC0415

    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    if req.client is ClientModel.S_CLIENT_SECLEVEL0:
        ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0")  # as `openssl s_client -cipher DEFAULT:@SECLEVEL=0`
    if (top := _version(req.max_tls)) is not None:
        ctx.set_max_proto_version(top)
    if (bottom := _version(req.min_tls)) is not None:
        ctx.set_min_proto_version(bottom)

    def verify(_conn: SSL.Connection, cert: Any, errnum: int, depth: int, ok: int) -> bool:
        if not ok:
            try:
                subject = cert.to_cryptography().subject.rfc4514_string()
            except Exception:  # noqa: BLE001 - a name we cannot render must not end the probe
                subject = "?"
            verify_errors.append((errnum, depth, subject))
        return True  # judge the server's chain, never abort the probe on it

    ctx.set_verify(SSL.VERIFY_PEER, verify)
    if req.server_ca:
        ctx.load_verify_locations(req.server_ca)
    else:
        ctx.set_default_verify_paths()
    keep: list[Any] = [install(ctx, trace), verify]
    if req.chain and req.key is not None:
        for extra in req.chain[1:]:
            ctx.add_extra_chain_cert(extra)  # used for the leaf set on the Connection too (no per-SSL chain)
        if not req.client.filters_by_ca_names:
            ctx.use_certificate(req.chain[0])
            use_key(ctx, req.key, req.chain[0])
    return ctx, keep


def _selecting(conn: SSL.Connection, req: Request, state: dict[str, bool]) -> object:
    """The certificate callback of Go, Java and browsers: it runs once the CertificateRequest has been read and
    before the Certificate is written; a chain none of whose issuers is advertised is not sent (EMPTY)."""
    from OpenSSL._util import ffi, lib  # noqa: PLC0415

    issuers = {c.issuer.public_bytes() for c in req.chain}

    @ffi.callback("int(SSL *, void *)")  # type: ignore[untyped-decorator]
    def callback(_ssl: Any, _arg: Any) -> int:
        try:
            names = {n.public_bytes() for n in conn.get_client_ca_list(as_cryptography=True)}
            if not names or names & issuers:  # an empty list means "any" for Go and Java
                conn.use_certificate(req.chain[0])
                use_key(conn, req.key, req.chain[0])  # type: ignore[arg-type]
            else:
                state["withheld"] = True
        except Exception:  # noqa: BLE001 - 0 aborts the handshake with internal_error: said as such
            return 0
        return 1

    lib.SSL_set_cert_cb(conn._ssl, callback, ffi.NULL)  # noqa: SLF001
    return callback


def run(req: Request) -> Observation:
    """Probe ``req.host``:``req.port`` and nothing else. Never raises for anything the server does."""
    from OpenSSL import SSL  # noqa: PLC0415 - lazy: pyOpenSSL only when a probe runs

    start = time.monotonic()
    deadline = Deadline(req.timeout)
    trace = Trace()
    verify_errors: list[tuple[int, int, str]] = []
    try:
        ctx, keep = _context(req, trace, verify_errors)
    except SSL.Error as exc:
        return _unusable(req, f"the client's certificate and key cannot be used together ({_reasons(exc)})", start)
    conn = SSL.Connection(ctx, None)
    state = {"withheld": False}
    if req.client.filters_by_ca_names and req.chain and req.key is not None:
        keep.append(_selecting(conn, req, state))
    conn.set_connect_state()
    if req.sni:
        # an ASCII name is sent as it is, which is what the idna codec would give (RFC 3490 ToASCII leaves ASCII
        # labels alone), without importing it and its unicodedata tables: a few ms of a cold probe
        conn.set_tlsext_host_name(req.sni.encode("ascii") if req.sni.isascii() else req.sni.encode("idna"))
    seen: dict[str, Any] = {
        "connected": False, "failure": None, "detail": None, "after": False, "answer": None, "first": b"",
        "trace": trace,
    }  # fmt: skip
    try:
        sock = connect(req.host, req.port, deadline)
    except ProbeTimeoutError as exc:
        seen.update(failure=Failure.TIMEOUT, detail=str(exc))
    except ConnectionRefusedError as exc:
        seen.update(failure=Failure.REFUSED, detail=f"the TCP connection was refused ({exc.strerror})")
    except OSError as exc:
        seen.update(failure=Failure.UNREACHABLE, detail=f"the TCP connection failed: {exc.strerror or exc}")
    else:
        seen["connected"] = True
        pump = Pump(conn, sock, deadline, req.read_limit)
        try:
            _exchange(conn, pump, req, seen)
        finally:
            seen["first"] = pump.first_bytes
            sock.close()
    observation = _observe(conn, req=req, trace=trace, verify_errors=verify_errors, seen=seen, state=state, start=start)
    del keep  # the callbacks may go only now that the connection is no longer used
    return observation


def _unusable(req: Request, why: str, start: float) -> Observation:
    """The attempt curl would not make: nothing is connected."""
    return Observation(
        request=req, elapsed_ms=(time.monotonic() - start) * 1000, connected=False,
        failure=Failure.CLIENT_CREDENTIALS, failure_detail=why, failure_after_handshake=False, protocol=None,
        server_hello_version=None, cipher=None, server_chain=(), server_check=None, certificate_request=None,
        ca_names=(), certificates_sent=None, withheld=False, alert=None, alert_sent=None, session_ticket=False,
        answer=None, messages=(),
    )  # fmt: skip


def _exchange(conn: SSL.Connection, pump: Pump, req: Request, seen: dict[str, Any]) -> None:
    from OpenSSL import SSL  # noqa: PLC0415

    stage = "handshake"
    try:
        pump.run(conn.do_handshake)
        stage = "after"
        raw = b""
        if conn.get_protocol_version_name() == "TLSv1.3":
            raw = pump.settle(
                SETTLE_WINDOW, lambda: seen["trace"].find(sent=False, name="NewSessionTicket") is not None
            )
        pump.run(lambda: conn.sendall(request(req.host_header, req.path)))
        while len(raw) < MAX_BODY:
            try:
                left = MAX_BODY - len(raw)
                raw += pump.run(lambda left=left: conn.recv(left))  # type: ignore[misc]
            except SSL.ZeroReturnError:
                break  # close_notify: the answer is complete
            except ProbeClosedError:
                if not raw:
                    raise
                break  # Connection: close without close_notify, after an answer
        seen["answer"] = parse(raw) if raw else None
        if not raw:
            seen.update(failure=Failure.CLOSED, detail="the server closed the connection without an HTTP answer")
        elif seen["answer"].status is None:
            seen.update(failure=Failure.NOT_HTTP, detail="the server's answer is not HTTP")
    except SSL.Error as exc:
        seen.update(failure=Failure.TLS_ERROR, detail=_reasons(exc), after=stage == "after")
    except ProbeTimeoutError as exc:
        seen.update(failure=Failure.TIMEOUT, detail=str(exc), after=stage == "after")
    except ProbeTooLargeError as exc:
        seen.update(failure=Failure.TOO_LARGE, detail=str(exc), after=stage == "after")
    except ProbeClosedError as exc:
        seen.update(failure=Failure.RESET if exc.reset else Failure.CLOSED, detail=str(exc), after=stage == "after")
    except OSError as exc:
        seen.update(
            failure=Failure.RESET, detail=f"the connection failed: {exc.strerror or exc}", after=stage == "after"
        )


def _reasons(exc: Exception) -> str:
    """OpenSSL's reason strings of an SSL.Error (kept only for display: alerts are judged by number)."""
    parts = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
    texts = [p[2] for p in parts if isinstance(p, tuple) and len(p) == 3]
    return "; ".join(texts) or type(exc).__name__


def _observe(
    conn: SSL.Connection,
    *,
    req: Request,
    trace: Trace,
    verify_errors: list[tuple[int, int, str]],
    seen: dict[str, Any],
    state: dict[str, bool],
    start: float,
) -> Observation:
    hello = trace.find(sent=False, name="ServerHello")
    hello_version = int.from_bytes(hello.body[:2], "big") if hello is not None and len(hello.body) >= 2 else None
    protocol = cipher = None
    if hello_version is not None and hello_version < 0x0303:
        # The server chose a version this client refuses: OpenSSL reports its own default, not the server's choice.
        protocol = OLD_VERSIONS.get(hello_version, f"version 0x{hello_version:04x}")
    elif hello is not None:
        protocol = conn.get_protocol_version_name()
        cipher = conn.get_cipher_name()
        protocol = protocol if protocol != "Unknown" else None
    tls13 = protocol == "TLSv1.3"
    chain = tuple(conn.get_peer_cert_chain(as_cryptography=True) or ()) if cipher is not None else ()
    parsed = _parsed(trace, sent=False, name="CertificateRequest", parse=parse_request, tls13=tls13)
    names = tuple(n.rfc4514_string() for n in conn.get_client_ca_list(as_cryptography=True))
    sent = _parsed(trace, sent=True, name="Certificate", parse=certificate_count, tls13=tls13)
    received = [m for m in trace.alerts_received() if m.fatal or m.alert != 0]
    alert = received[0].alert if received else None
    sent_alerts = [m for m in trace.messages if m.kind == "alert" and m.sent and m.fatal]
    failure, detail = seen["failure"], seen["detail"]
    failure, detail = _name_failure(
        failure, detail=detail, alert=alert, sent_alerts=sent_alerts, hello_version=hello_version, first=seen["first"]
    )
    return Observation(
        request=req,
        elapsed_ms=(time.monotonic() - start) * 1000,
        connected=seen["connected"],
        failure=failure,
        failure_detail=detail,
        failure_after_handshake=seen["after"],
        protocol=protocol,
        server_hello_version=hello_version,
        cipher=cipher,
        server_chain=chain,
        server_check=_server_check(chain, verify_errors, req.sni) if chain else None,
        certificate_request=parsed,
        ca_names=names,
        certificates_sent=sent,
        withheld=state["withheld"],
        alert=alert,
        alert_sent=sent_alerts[0].alert if sent_alerts else None,
        session_ticket=trace.find(sent=False, name="NewSessionTicket") is not None,
        answer=seen["answer"],
        messages=tuple(trace.messages),
    )


def _name_failure(
    failure: Failure | None,
    *,
    detail: str | None,
    alert: int | None,
    sent_alerts: list[Message],
    hello_version: int | None,
    first: bytes,
) -> tuple[Failure | None, str | None]:
    """Name a TLS failure by what was on the wire (the alert's number, the first bytes), never by OpenSSL's text."""
    if failure is not Failure.TLS_ERROR and not (failure is Failure.CLOSED and alert is not None):
        if failure in (Failure.CLOSED, Failure.RESET) and first and not _looks_like_tls(first):
            return _not_tls(first)
        return failure, detail
    if alert is not None:
        return Failure.TLS_ALERT, detail
    if hello_version is not None and hello_version < 0x0303:
        return Failure.OLD_TLS, detail
    if first and not _looks_like_tls(first):
        return _not_tls(first)
    if any(m.alert == 70 for m in sent_alerts):  # protocol_version: no version in common
        return Failure.OLD_TLS, detail
    return failure, detail


def _looks_like_tls(first: bytes) -> bool:
    """A TLS record: content type 20-23, then major version 3 (RFC 8446 §5.1)."""
    return len(first) >= 2 and first[0] in (20, 21, 22, 23) and first[1] == 3


def _not_tls(first: bytes) -> tuple[Failure, str]:
    if first.startswith(b"HTTP/"):
        return Failure.PLAIN_HTTP, "the server answered in plain HTTP on the port probed for TLS"
    return Failure.NOT_TLS, f"the server's first bytes are not TLS ({first[:8].hex(' ')})"


def _server_check(
    chain: tuple[x509.Certificate, ...], errors: list[tuple[int, int, str]], sni: str | None
) -> ServerCheck:
    return ServerCheck(errors=tuple(dict.fromkeys(errors)), hostname_ok=_names_host(chain[0], sni) if sni else None)


def _names_host(leaf: x509.Certificate, host: str) -> bool:
    """RFC 6125 §6.4: a DNS SAN equal to the host, or a wildcard in the left-most label; an IP host against IP SANs."""
    import ipaddress  # noqa: PLC0415

    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        return ip in san.get_values_for_type(x509.IPAddress)
    wanted = host.lower().rstrip(".")
    for raw in san.get_values_for_type(x509.DNSName):
        name = raw.lower().rstrip(".")
        if name == wanted:
            return True
        if name.startswith("*.") and "." in wanted and wanted.split(".", 1)[1] == name[2:]:
            return True
    return False


def resolve_target(text: str, default_port: int = 443) -> tuple[str, int]:
    """``HOST[:PORT]`` or ``[IPv6]:PORT`` -> (host, port); ValueError with the reason."""
    host, port = text, default_port
    if text.startswith("["):
        inside, _, rest = text[1:].partition("]")
        host = inside
        if rest:
            if not rest.startswith(":"):
                raise ValueError("expected [IPv6]:PORT")
            port = _port(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(port_text)
    if not host or any(c.isspace() for c in host) or "/" in host:
        raise ValueError("expected HOST[:PORT]")
    return host, port


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError("the port must be a number from 1 to 65535")
    return int(text)


def _parsed(trace: Trace, *, sent: bool, name: str, parse: Callable[..., _P], tls13: bool) -> _P | None:
    """The handshake message ``name`` (sent by us, or received) parsed with ``parse``; None when it was not seen or
    does not parse (a hostile or truncated body is what it is: not there)."""
    message = trace.find(sent=sent, name=name)
    if message is None:
        return None
    try:
        return parse(message.body, tls13=tls13)
    except ValueError:
        return None
