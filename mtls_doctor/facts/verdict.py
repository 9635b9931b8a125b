"""From the twin's handshake to nginx's answer: what nginx does after the handshake with the verify result.

ngx_http_process_request (src/http/ngx_http_request.c): with ssl_verify_client on|optional|optional_no_ca, a
verify result other than X509_V_OK gives 400 "The SSL certificate error" (internally 495) and the info-level line
"client SSL certificate verify error: (N:text)", unless the mode is optional_no_ca and the error is one of
ngx_ssl_verify_error_optional()'s; no certificate with "on" gives 400 "No required SSL certificate was sent" (496).
A stream {} server (ngx_stream_ssl_handler, src/stream/ngx_stream_ssl_module.c) decides the same way and logs the
same lines, but has no HTTP to answer with: it closes the connection right after the handshake.
"""

from __future__ import annotations

from mtls_doctor.facts.model import ClientFacts, OcspFacts, ServerFacts, Verdict
from mtls_doctor.record import replace
from mtls_doctor.twin.result import TwinFacts
from mtls_doctor.vocabulary import UNKNOWN, ErrorPageRule, Outcome, Unknown, VerifyClient, VerifyError

CERT_ERROR_PAGE = "The SSL certificate error"
NO_CERT_PAGE = "No required SSL certificate was sent"
STREAM_CLOSED = "the connection is closed right after the TLS handshake (a stream server sends no HTTP answer)"

# ngx_ssl_verify_error_optional (src/event/ngx_event_openssl.h): the "not trusted" family optional_no_ca forgives.
OPTIONAL_NO_CA_FORGIVES = frozenset({18, 19, 20, 21, 27})


def verdict_of(
    server: ServerFacts,
    client: ClientFacts | None,
    twin: TwinFacts | Unknown | None,
    ocsp: OcspFacts | Unknown | None,
    *,
    mode: VerifyClient | None = None,
) -> Verdict:
    """What nginx does: refuse to start, or (the client cannot even present its certificate) nothing, or answer the
    request as the twin's handshake decides; unknown when the handshake could not be reproduced. ``mode``: the
    verify mode the twin ran with, where ``server.verify_client`` is UNKNOWN (the inference of a live handshake)."""
    if server.config_error is not None:
        return plain_verdict(Outcome.SERVER_CONFIG_ERROR, server.config_error)
    known = server.verify_client
    mode = known if not isinstance(known, Unknown) else mode
    answer = None
    if isinstance(twin, TwinFacts) and not isinstance(ocsp, Unknown) and mode is not None:
        answer = nginx_verdict(mode, twin, ocsp, stream=server.stream, error_pages=server.error_pages)
    if client is not None and client.presentation_error is not None:
        refused = plain_verdict(Outcome.CLIENT_ERROR, client.presentation_error)
        # The twin's client sends at level 0: what nginx does when s_client -cipher DEFAULT:@SECLEVEL=0 sends it.
        return replace(refused, permissive=answer) if client.refusal is not None else refused
    if answer is not None:
        return answer
    # Whether optional_no_ca would forgive the failure is as unknown as the failure itself.
    forgiven = UNKNOWN if mode in (VerifyClient.OPTIONAL_NO_CA, None) else False
    return plain_verdict(Outcome.UNKNOWN, None, forgiven=forgiven)


def plain_verdict(outcome: Outcome, reason: str | None, *, forgiven: bool | Unknown = False) -> Verdict:
    """A verdict with no handshake behind it (nginx does not start, the client cannot present, or unknown)."""
    return Verdict(
        outcome=outcome,
        http_status=None,
        reason=reason,
        verify_error=None,
        errors_seen=(),
        ssl_client_verify=None,
        log_line=None,
        forgiven=forgiven,
    )


def nginx_verdict(
    mode: VerifyClient,
    twin: TwinFacts,
    ocsp: OcspFacts | None = None,
    *,
    stream: bool = False,
    error_pages: tuple[ErrorPageRule, ...] = (),
) -> Verdict:
    """The answer nginx gives to the first request on a connection that had this handshake.

    ``ocsp``: what ssl_ocsp asks once the chain has verified (ngx_http_process_request, after the verify result).
    ``stream``: a stream {} server, which closes the connection where an http server answers 400, and serves no page.
    ``error_pages``: the server's error_page entries for 495/496, which answer a refused client instead.
    """
    verdict = _http_verdict(mode, twin, ocsp)
    if verdict.http_status is None:  # no HTTP answer to adjust: a failed handshake, or an unknown outcome
        return verdict
    if stream:  # the same decision, logged alike, but a refused client's connection is just closed
        return replace(verdict, http_status=None, reason=STREAM_CLOSED if verdict.outcome is Outcome.REJECT else None)
    if verdict.outcome is not Outcome.REJECT:
        return verdict
    code = {CERT_ERROR_PAGE: 495, NO_CERT_PAGE: 496}.get(verdict.reason or "")
    page = next((p for p in error_pages if code in p.codes), None)
    if page is None:
        return verdict
    status, reason = _error_page_answer(page)
    return replace(verdict, http_status=status, reason=reason, error_page=page)


def _error_page_answer(page: ErrorPageRule) -> tuple[int | None, str]:
    """The status and the page of an error_page answer (ngx_http_send_error_page; observed with nginx 1.22.1:
    no ``=`` keeps 400, ``=NNN`` answers NNN, ``=`` the status of what the URI produces, a URL redirects with 302
    unless ``=301``/``=303``/``=307``/``=308``; a URI that fails itself answers with its own error)."""
    overwrite = page.response[1:] if page.response else None
    if page.uri.startswith("@") and overwrite == "" and page.named_return is not None:
        # `= @name`: the status of what the named location produces, here its own return (observed: 401)
        return page.named_return, f"the answer of location {page.uri} (return {page.named_return})"
    if page.uri.startswith(("/", "@")):
        # The redirected request can fail in turn (a missing or unreadable file): its own error then replaces it.
        status = int(overwrite) if overwrite else (None if overwrite == "" else 400)
        return status, f"the page of {page.uri}, if that serves (its own error, e.g. 404, would replace the status)"
    status = int(overwrite) if overwrite in {"301", "302", "303", "307", "308"} else 302
    return status, f"a redirect to {page.uri}"


def _http_verdict(mode: VerifyClient, twin: TwinFacts, ocsp: OcspFacts | None) -> Verdict:
    if twin.handshake_error is not None:
        reason = f"the TLS handshake fails: {twin.handshake_error}"
        line = f"SSL_do_handshake() failed (SSL: {twin.handshake_error}) while SSL handshaking"
        return _answer(Outcome.REJECT, None, reason, twin, variable=None, line=line)
    if mode is VerifyClient.OFF or not twin.cert_received:
        if mode is VerifyClient.ON:
            line = "client sent no required SSL certificate"
            return _answer(Outcome.REJECT, 400, NO_CERT_PAGE, twin, variable="NONE", line=line)
        return _answer(Outcome.ACCEPT, 200, None, twin, variable="NONE", line=None)
    last = twin.last_error
    if last is None:
        if ocsp is not None and ocsp.checked:
            return _ocsp_answer(ocsp, twin)
        return _answer(Outcome.ACCEPT, 200, None, twin, variable="SUCCESS", line=None)
    failed = f"FAILED:{last.text}"
    if mode is VerifyClient.OPTIONAL_NO_CA and last.code in OPTIONAL_NO_CA_FORGIVES:
        return _answer(Outcome.ACCEPT, 200, None, twin, variable=failed, line=None, error=last, forgiven=True)
    line = f"client SSL certificate verify error: ({last.code}:{last.text})"
    return _answer(Outcome.REJECT, 400, CERT_ERROR_PAGE, twin, variable=failed, line=line, error=last)


def _ocsp_answer(ocsp: OcspFacts, twin: TwinFacts) -> Verdict:
    if ocsp.without_responder:
        # ngx_ssl_ocsp_get_status: a failed request (here, no responder URL) is "certificate status request failed".
        text = "certificate status request failed"
        line = f"client SSL certificate verify error: {text}"
        return _answer(Outcome.REJECT, 400, CERT_ERROR_PAGE, twin, variable=f"FAILED:{text}", line=line)
    asked = ", ".join(ocsp.responders)
    reason = (
        f"nginx first asks the OCSP responder {asked} about {len(ocsp.checked)} certificate(s) (ssl_ocsp); "
        "mtls-doctor contacts no responder: served if every answer is 'good', otherwise 400 "
        f'"{CERT_ERROR_PAGE}" (certificate revoked, certificate status unknown, or certificate status request failed)'
    )
    return _answer(Outcome.UNKNOWN, None, reason, twin, variable=None, line=None)


def _answer(
    outcome: Outcome,
    status: int | None,
    reason: str | None,
    twin: TwinFacts,
    *,
    variable: str | None,
    line: str | None,
    error: VerifyError | None = None,
    forgiven: bool = False,
) -> Verdict:
    return Verdict(
        outcome=outcome,
        http_status=status,
        reason=reason,
        verify_error=error,
        errors_seen=twin.errors_seen,
        ssl_client_verify=variable,
        log_line=line,
        forgiven=forgiven,
    )
