"""The probe told step by step, the way ``openssl s_client`` prints it, but explained. Every value the server sent
(names, page titles, headers) passes through ``untrusted.shown``; rich gets ``Text`` objects, never markup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO

from mtls_doctor.facts.model import ProbeFacts
from mtls_doctor.openssl.verify_codes import VERIFY_CODES
from mtls_doctor.probe.handshake import Failure, Observation
from mtls_doctor.untrusted import shown

MAX_LISTED = 20
"""Names or certificates listed one by one; the rest is counted (a server may send 5,000)."""

Step = tuple[str, str]
"""(style, text): ``ok``, ``bad``, ``warn``, ``info``, ``head``."""


def steps(obs: Observation, facts: ProbeFacts | None, *, now: datetime) -> Iterator[Step]:
    """The narration, one line at a time."""
    req = obs.request
    yield "head", f"Probe of {shown(req.host)}:{req.port} as {req.client.value} (deadline {req.timeout:g} s)"
    if not obs.connected:
        yield "bad", f"TCP connect: {shown(obs.failure_detail or '')}"
        return
    yield "ok", f"TCP connect: connected to {shown(req.host)}:{req.port}"
    versions = {"TLSv1.2": "TLS 1.2 only", None: "TLS 1.2 and 1.3"}.get(req.max_tls, "TLS 1.2 and 1.3")
    if req.min_tls == "TLSv1.3":
        versions = "TLS 1.3 only"
    yield "info", f"ClientHello: SNI {shown(req.sni) if req.sni else '(none)'}, offering {versions}"
    if obs.protocol is None:
        yield "bad", f"ServerHello: none. {_failure(obs)}"
        return
    if obs.cipher is None:  # the server chose a version this client refuses
        yield "bad", f"ServerHello: the server chose {obs.protocol}. {_failure(obs)}"
        return
    yield "ok", f"ServerHello: {obs.protocol}, cipher {shown(obs.cipher)}"
    yield from _server_chain(obs)
    yield from _request(obs, facts)
    yield from _sent(obs, facts)
    yield from _verdict(obs, now)
    if facts is not None:
        yield from _settings(facts)


def _settings(facts: ProbeFacts) -> Iterator[Step]:
    """What the answer shows of the server's settings (no configuration given), and, when the inferred twin does not
    explain the answer, what could: said as inferred or possible, never as certain."""
    if facts.settings_seen:
        yield "head", "What the handshake shows of the server's settings (no configuration given):"
    for seen in facts.settings_seen:
        if seen.value is not None:
            yield "info", f"  {seen.name}: {shown(seen.value)} ({shown(seen.evidence)})"
        elif seen.evidence.startswith("inferred"):
            yield "info", f"  {seen.name}: {shown(seen.evidence)}"
        else:
            yield "info", f"  {seen.name}: not known: {shown(seen.evidence)}"
    if facts.inference_disagrees:
        yield (
            "warn",
            "The inferred twin does not explain this answer; what a handshake cannot show that would, ranked:",
        )
        for cause in facts.likely_causes:
            yield "warn", f"  {shown(cause)}"


def _server_chain(obs: Observation) -> Iterator[Step]:
    chain = obs.server_chain
    yield "info", f"Server certificate chain ({len(chain)} certificate{'s' if len(chain) != 1 else ''}):"
    for depth, cert in enumerate(chain[:MAX_LISTED]):
        pad = "  " * depth
        yield "info", f"  {pad}{depth} s:{shown(cert.subject.rfc4514_string())}"
        yield "info", f"  {pad}  i:{shown(cert.issuer.rfc4514_string())}"
    if len(chain) > MAX_LISTED:
        yield "warn", f"  ... and {len(chain) - MAX_LISTED} more (an unusually long chain)"
    check = obs.server_check
    if check is None:
        return
    where = f"--ca {shown(obs.request.server_ca)}" if obs.request.server_ca else "the system store"
    if not check.errors:
        yield "ok", f"  verified against {where}"
    else:
        code, depth, subject = check.errors[-1]
        text = VERIFY_CODES.get(code, ("", "unknown error"))[1]
        yield (
            "warn",
            (
                f"  not verified against {where}: {code} ({text}) at depth {depth} ({shown(subject)}); this concerns"
                " the SERVER's certificate (s_client's 'Verify return code'), not yours"
            ),
        )
    if check.hostname_ok is False:
        yield "warn", f"  the server's certificate does not name {shown(obs.request.sni or '')}"


def _request(obs: Observation, facts: ProbeFacts | None) -> Iterator[Step]:
    cr = obs.certificate_request
    if cr is None:
        if obs.failure is None or obs.failure_after_handshake:
            yield (
                "warn",
                (
                    "CertificateRequest: none. The server did not ask for a client certificate (verify off, or the SNI "
                    "chose another server block)"
                ),
            )
        return
    yield "info", f"CertificateRequest: acceptable client CA names ({len(obs.ca_names)}):"
    for name in obs.ca_names[:MAX_LISTED]:
        yield "info", f"  {shown(name)}"
    if len(obs.ca_names) > MAX_LISTED:
        yield "warn", f"  ... and {len(obs.ca_names) - MAX_LISTED} more"
    if not obs.ca_names:
        yield "info", "  (none sent: any issuer may be tried)"
    yield "info", f"  signature algorithms: {', '.join(cr.signature_algorithms[:MAX_LISTED])}"
    if cr.certificate_types is not None:
        yield "info", f"  certificate types: {', '.join(cr.certificate_types)}"
    if facts is None:
        return
    if facts.sent_matches_advertised is False:
        yield (
            "bad",
            (
                "  your chain reaches none of these names: Go, Java and browsers send NOTHING in that case; curl and "
                "openssl send it anyway"
            ),
        )
    elif facts.sent_matches_advertised is True:
        yield "ok", "  your chain is issued under an advertised name"
    if facts.key_type_allowed is False:
        yield (
            "bad",
            "  your key type is not among these signature algorithms: an OpenSSL client sends an EMPTY Certificate",
        )


def _sent(obs: Observation, facts: ProbeFacts | None) -> Iterator[Step]:
    if obs.certificates_sent is None:
        if obs.certificate_request is not None:
            yield "warn", "Client Certificate: not sent (the handshake ended before it)"
        return
    if obs.certificates_sent == 0:
        why = "no certificate was given (--cert, --key)"
        if facts is not None and facts.withheld_by_client:
            why = f"{obs.request.client.value} withholds a certificate no advertised name issued"
        elif facts is not None and facts.key_type_allowed is False:
            why = "the key type is not among the server's signature algorithms"
        yield "bad", f"Client Certificate: EMPTY ({why})"
    else:
        yield "ok", f"Client Certificate: sent, {obs.certificates_sent} certificate(s)"


def _verdict(obs: Observation, now: datetime) -> Iterator[Step]:
    if obs.alert is not None:
        when = (
            "after the handshake (TLS 1.3: the server's verdict on the certificate)"
            if obs.failure_after_handshake
            else "during the handshake"
        )
        from mtls_doctor.probe.alerts import meaning  # noqa: PLC0415

        yield "bad", f"Alert from the server {when}: {meaning(obs.alert)}"
    elif obs.protocol == "TLSv1.3" and obs.answer is not None:
        yield "ok", "TLS 1.3: no alert after the handshake (the server accepted at the TLS layer)"
    answer = obs.answer
    if answer is None:
        if obs.failure is not None and obs.alert is None:
            yield "bad", _failure(obs)
        return
    req = obs.request
    yield "info", f"HTTP: GET {shown(req.path)} (Host: {shown(req.host_header)})"
    style = "ok" if answer.status is not None and answer.status < 400 else "bad"
    yield style, f"  {shown(answer.status_line)}" + (f" — {shown(answer.title)}" if answer.title else "")
    if answer.date is not None:
        skew = (answer.date - now).total_seconds()
        tone = "warn" if abs(skew) > 60 else "ok"
        yield tone, f"  Date: {answer.date:%Y-%m-%d %H:%M:%S} UTC, the server's clock is {_skew(skew)}"


def _skew(seconds: float) -> str:
    if abs(seconds) <= 60:
        return "within a minute of local time"
    size = abs(seconds)
    text = (
        f"{size / 86400:.1f} days"
        if size >= 86400
        else f"{size / 3600:.1f} hours"
        if size >= 3600
        else f"{size / 60:.0f} minutes"
    )
    return f"{text} {'ahead of' if seconds > 0 else 'behind'} local time"


def _failure(obs: Observation) -> str:
    names = {
        Failure.TIMEOUT: "The server did not answer in time",
        Failure.RESET: "The server reset the connection",
        Failure.CLOSED: "The server closed the connection",
        Failure.PLAIN_HTTP: "Plain HTTP on a TLS port",
        Failure.NOT_TLS: "Not TLS",
        Failure.OLD_TLS: "No TLS version in common (the server speaks only TLS 1.0/1.1, which this client refuses)",
        Failure.TOO_LARGE: "The server sent too much",
        Failure.TLS_ERROR: "The TLS handshake failed",
        Failure.NOT_HTTP: "Not an HTTP answer",
    }
    head = names.get(obs.failure, "Failed") if obs.failure is not None else "Failed"
    return f"{head}: {shown(obs.failure_detail or '')}"


def print_steps(lines: Iterator[Step], out: IO[str] | None = None) -> None:
    """Print the narration with rich to ``out`` (default stdout; plain text when not on a terminal)."""
    from rich.console import Console  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    styles = {"ok": "green", "bad": "bold red", "warn": "yellow", "info": "", "head": "bold"}
    marks = {"ok": "✓ ", "bad": "✗ ", "warn": "! ", "info": "  ", "head": ""}
    console = Console(file=out, highlight=False, soft_wrap=True)
    for style, text in lines:
        console.print(Text(marks[style] + text, style=styles[style]))
