"""From an observation to facts: the probe as the third source of the one server model (ServerSource.HANDSHAKE),
its own ProbeFacts, and the verdict as observed.

What a handshake reveals of the server's settings: whether it asks for a certificate, and ``on`` only when a client
that sent none is answered 400 "No required SSL certificate was sent" (served: optional or optional_no_ca, which
one is not shown); the advertised CA names (the subjects of ``ssl_client_certificate``), its highest TLS version.
ssl_verify_depth, ssl_crl, ssl_ocsp and the security level are never shown, nor the trust store itself: with no
configuration it is inferred as the certificates at hand whose subjects are the advertised names. What cannot be
known is UNKNOWN in the settings, with the reason; the twin runs on a labelled inference instead (TwinInference),
and where its answer is not the server's, the observation wins.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mtls_doctor.facts.model import Cert, CertFile, ClientFacts, Facts, PathFacts, ProbeFacts, SettingSeen, Verdict
from mtls_doctor.facts.verdict import CERT_ERROR_PAGE, plain_verdict
from mtls_doctor.inputs import OBSERVED_NGINX_VERSION, UNLIMITED_VERIFY_DEPTH, FileRef, ServerSettings, TwinInference
from mtls_doctor.openssl.generations import OpenSSLGeneration
from mtls_doctor.probe.alerts import alert_name, meaning, sent_for
from mtls_doctor.probe.handshake import Failure, Observation
from mtls_doctor.probe.messages import key_types_allowed
from mtls_doctor.probe.pages import Page, classify
from mtls_doctor.record import replace
from mtls_doctor.twin.result import TwinFacts
from mtls_doctor.vocabulary import UNKNOWN, Origin, Outcome, ServerSource, Unknown, VerifyClient

SKEW_TOLERANCE = timedelta(seconds=60)
"""A Date header has a resolution of one second, and clocks within a minute are not worth a finding."""


def origin_of(obs: Observation, message: str | None = None) -> Origin:
    """``tls://host:port``, with the message the value was read from."""
    return Origin(source=f"tls://{obs.request.host}:{obs.request.port}", note=message)


NOT_SHOWN = {
    "verify_depth": "a handshake does not show ssl_verify_depth",
    "seclevel": "a handshake does not show the server's OpenSSL security level (ssl_ciphers @SECLEVEL, openssl.cnf)",
    "crl_check": "a handshake does not show whether ssl_crl is configured",
    "crl_files": "a handshake does not show ssl_crl",
    "ocsp": "a handshake does not show whether ssl_ocsp is configured",
    "verify_result_checked": "a handshake does not show whether anything checks $ssl_client_verify",
    "certificate_forwarded": "a handshake does not show whether the application gets the client certificate",
    "trusted_file": "a handshake never shows ssl_trusted_certificate (trusted, not advertised)",
}
"""Why a setting is UNKNOWN from a live handshake, by ServerFacts field."""

INFERRED_SECLEVEL = 2
"""The security level the inferred twin runs at: OpenSSL 3's default on Debian (an inference, never a fact)."""


def verify_mode(obs: Observation) -> tuple[VerifyClient | Unknown, str, VerifyClient]:
    """What the handshake shows of ssl_verify_client: the mode (UNKNOWN unless the evidence decides it), the evidence
    or the reason, and the mode the twin runs with. nginx 1.22.1, observed (knowledge/nginx-behaviour.md §4): no
    CertificateRequest: off; to a client that sent none, 400 "No required SSL certificate was sent": on, served:
    optional or optional_no_ca. A client that sends a certificate cannot tell the three apart (a failed one gets 400
    under on and optional, and under optional_no_ca for all but 18-21 and 27)."""
    if obs.certificate_request is None:
        return VerifyClient.OFF, "no CertificateRequest", VerifyClient.OFF
    kind = classify(obs.answer)[0] if obs.answer is not None and obs.failure is None else None
    if obs.certificates_sent == 0:
        if kind is Page.NO_CERT:
            return (
                VerifyClient.ON,
                "400 No required SSL certificate was sent to a client that sent none",
                VerifyClient.ON,
            )
        if kind is Page.SERVED:
            why = (
                "the server asks for a certificate and served a client that sent none: ssl_verify_client optional "
                "or optional_no_ca (a handshake cannot tell which)"
            )
            return UNKNOWN, why, VerifyClient.OPTIONAL
        why = (
            "the server asks for a certificate (on, optional or optional_no_ca); its answer to a client that sent "
            "none does not tell which"
        )
        return UNKNOWN, why, VerifyClient.ON
    why = (
        "the server asks for a certificate (ssl_verify_client on, optional or optional_no_ca); a client that sends one "
        "cannot tell which: probe without --cert to see whether it serves clients without one"
    )
    return UNKNOWN, why, VerifyClient.ON


def handshake_settings(obs: Observation, inferred_ca: str | None) -> ServerSettings:
    """The server's settings as the handshake revealed them; ``inferred_ca``: a PEM file of the certificates at hand
    whose subjects the server advertised (None: none at hand, the trust store is UNKNOWN). What a handshake cannot
    show is UNKNOWN with the reason; the twin runs on the ``inference`` (labelled), which the rules never read."""
    asked = obs.certificate_request is not None
    reasons = dict(NOT_SHOWN)
    ca: FileRef | Unknown | None
    if not asked:
        ca = None
    elif inferred_ca is not None:
        ca = FileRef(
            path=inferred_ca, origin=origin_of(obs, "inferred: the certificates at hand with the advertised names")
        )
    else:
        ca = UNKNOWN
        reasons["ca_file"] = (
            "the server's trust store is not known: none of the certificates at hand has a name it advertised "
            f"({', '.join(obs.ca_names) or 'no names advertised'}); give --nginx, or the CA file with --issuers"
        )
    cr_seen = obs.certificate_request
    mode, evidence, twin_mode = verify_mode(obs)
    if isinstance(mode, Unknown):
        reasons["verify_client"] = evidence
    cr = origin_of(obs, evidence if not isinstance(mode, Unknown) else "CertificateRequest")
    notes = [f"inferred: the twin runs with ssl_verify_client {twin_mode.value}"] if isinstance(mode, Unknown) else []
    if asked:
        notes.append(
            f"inferred: the twin runs with ssl_verify_depth unlimited ({UNLIMITED_VERIFY_DEPTH}), without CRL checks, "
            f"at security level {INFERRED_SECLEVEL} (a handshake shows none of these settings)"
        )
    return ServerSettings(
        source=ServerSource.HANDSHAKE,
        verify_client=mode,
        verify_depth=UNKNOWN,
        seclevel=UNKNOWN,
        max_tls=obs.protocol or "TLSv1.3",
        openssl=OpenSSLGeneration.V3,
        nginx_version=OBSERVED_NGINX_VERSION,
        ca_file=ca,
        trusted_file=UNKNOWN,
        crl_files=UNKNOWN,
        crl_check=UNKNOWN,
        ocsp_responder=None,
        ocsp=UNKNOWN,
        stream=False,
        error_pages=(),
        ssl_context=True,
        serves_tls=True,
        startup_error=None,
        answered=obs.protocol is not None,  # a ServerHello: the server is up with its configuration
        verify_result_checked=UNKNOWN,
        certificate_forwarded=UNKNOWN,
        origins={"verify_client": cr, "ca_file": cr, "max_tls": origin_of(obs, "ServerHello")},
        reasons=reasons,
        # the names as sent, all of them: the inferred store holds only those whose certificates are at hand
        advertised_names=tuple(obs.ca_names) if cr_seen is not None else None,
        advertised_bytes=sum(2 + len(name) for name in cr_seen.ca_names_der) if cr_seen is not None else None,
        inference=TwinInference(
            verify_client=twin_mode,
            verify_depth=UNLIMITED_VERIFY_DEPTH,
            seclevel=INFERRED_SECLEVEL,
            notes=tuple(notes),
        ),
    )


def probe_facts(
    obs: Observation,
    client: ClientFacts | None,
    *,
    now: datetime,
    inferred: bool,
    predicted: Verdict | None,
    observed: Verdict,
) -> ProbeFacts:
    """The facts of one probe; ``predicted``: the configuration's verdict (--nginx), compared with ``observed``."""
    req = obs.request
    answer = obs.answer
    kind, page = classify(answer) if answer is not None else (None, None)
    reached = obs.protocol is not None and (obs.certificate_request is not None or obs.certificates_sent is not None
                                            or obs.failure is None or obs.failure_after_handshake)  # fmt: skip
    holds = client.sent if client is not None else ()
    names = set(obs.ca_names)
    matches: bool | Unknown | None = None
    if not reached:
        matches = UNKNOWN
    elif holds and names:
        matches = any(c.issuer in names for c in holds)
    allowed: bool | None = None
    if obs.certificate_request is not None and client is not None and client.key is not None:
        allowed = client.key.public.type.value in key_types_allowed(obs.certificate_request.signature_algorithms)
    date = answer.date if answer is not None else None
    skew = int((date - now).total_seconds()) if date is not None else None
    not_yet: tuple[Cert, ...] = ()
    expired: tuple[Cert, ...] = ()
    if date is not None and abs(date - now) > SKEW_TOLERANCE:
        not_yet = tuple(c for c in holds if date < c.not_before <= now)
        expired = tuple(c for c in holds if now <= c.not_after < date)
    return ProbeFacts(
        target=f"{req.host}:{req.port}",
        origin=origin_of(obs),
        client=req.client.value,
        failure=obs.failure.value if obs.failure is not None else None,
        failure_detail=obs.failure_detail,
        protocol=obs.protocol,
        cert_requested=(obs.certificate_request is not None) if reached else UNKNOWN,
        advertised_ca_names=tuple(obs.ca_names) if reached else UNKNOWN,
        sent_matches_advertised=matches,
        certificates_sent=obs.certificates_sent,
        empty_certificate=bool(holds) and obs.certificates_sent == 0,
        withheld_by_client=obs.withheld,
        key_type_allowed=allowed,
        alert=obs.alert,
        alert_name=alert_name(obs.alert) if obs.alert is not None else None,
        alert_after_handshake=obs.alert is not None and obs.failure_after_handshake,
        alert_meaning=meaning(obs.alert) if obs.alert is not None else None,
        http_status=answer.status if answer is not None else None,
        page=page,
        page_kind=kind.value if kind is not None else None,
        server_date=date,
        clock_skew_seconds=skew,
        server_sees_not_yet_valid=not_yet,
        server_sees_expired=expired,
        sni=req.sni,
        host_header=req.host_header,
        sni_host_differ=req.sni is not None and req.sni.lower() != req.host_header.lower().rsplit(":", 1)[0],
        inferred=inferred,
        predicted=summary(predicted) if predicted is not None else None,
        observed=summary(observed),
        prediction_disagrees=None if predicted is None else _differ(predicted, observed),
    )


def summary(v: Verdict) -> str:
    """``reject 400 No required SSL certificate was sent``: what a comparison compares."""
    parts = [v.outcome.value]
    if v.http_status is not None:
        parts.append(str(v.http_status))
    if v.reason and v.http_status is not None:
        parts.append(v.reason)
    return " ".join(parts)


def _differ(predicted: Verdict, observed: Verdict) -> bool | None:
    if Outcome.UNKNOWN in (predicted.outcome, observed.outcome):
        return None
    if predicted.outcome is not observed.outcome or predicted.http_status != observed.http_status:
        return True
    return predicted.http_status == 400 and predicted.reason != observed.reason


def observed_verdict(
    obs: Observation, twin: TwinFacts | Unknown | None, *, mode: VerifyClient | Unknown = VerifyClient.ON
) -> Verdict:
    """The verdict as the probe saw it. The verify error nginx logged is not visible from outside: it is the twin's
    (on the configuration given, or inferred from the advertised names) when the twin also rejects. ``mode``: the
    verify mode as known; whether a served certificate was forgiven is UNKNOWN unless it is not optional_no_ca."""
    answer = obs.answer
    if obs.failure is Failure.TLS_ALERT and obs.alert is not None:
        return plain_verdict(
            Outcome.REJECT, f"the server ends the handshake with TLS alert {obs.alert} {alert_name(obs.alert)}"
        )
    if answer is None or obs.failure is not None:
        return plain_verdict(Outcome.UNKNOWN, obs.failure_detail)
    kind, page = classify(answer)
    base = plain_verdict(Outcome.UNKNOWN, page)
    if kind is Page.SERVED:
        forgiven: bool | Unknown = False
        if obs.certificates_sent and (isinstance(mode, Unknown) or mode is VerifyClient.OPTIONAL_NO_CA):
            forgiven = UNKNOWN  # optional_no_ca serves some failed certificates too: only $ssl_client_verify says
        return replace(base, outcome=Outcome.ACCEPT, http_status=answer.status, reason=None, forgiven=forgiven)
    if kind in (Page.CERT_ERROR, Page.NO_CERT, Page.MISDIRECTED, Page.CUSTOM_495_496):
        verdict = replace(base, outcome=Outcome.REJECT, http_status=answer.status)
        if kind is Page.CERT_ERROR and isinstance(twin, TwinFacts) and twin.last_error is not None:
            error = twin.last_error
            verdict = replace(
                verdict,
                verify_error=error,
                errors_seen=twin.errors_seen,
                log_line=f"client SSL certificate verify error: ({error.code}:{error.text})",
            )
        if kind is Page.NO_CERT:
            verdict = replace(verdict, log_line="client sent no required SSL certificate")
        return verdict
    return replace(base, http_status=answer.status)


def with_observation(facts: Facts, obs: Observation, reasons: dict[str, str], *, now: datetime) -> Facts:
    """``facts`` with the probe's facts, and the verdict as observed. From a configuration (--nginx, flags), its
    verdict is the prediction the observation is compared with; from the handshake alone, the twin ran on the
    inferred trust store and the inference's values (or, none inferred, the path and the twin are UNKNOWN: a store
    of nothing would be a lie), and where its answer is not the server's, the observation wins: the twin's facts are
    UNKNOWN, and what a handshake cannot show that would explain the answer is listed, none of it as certain."""
    server = facts.server
    inferred = server.source is ServerSource.HANDSHAKE
    predicted = None if inferred else facts.verdict
    if inferred and isinstance(server.ca_file, Unknown) and facts.client is not None:
        why = reasons.get("server.ca_file", "the server's trust store is not known")
        for field in ("twin", "path", "revocation"):
            reasons[field] = why
        facts = replace(facts, twin=UNKNOWN, path=UNKNOWN, revocation=UNKNOWN)
    observed = observed_verdict(obs, facts.twin, mode=server.verify_client)
    disagrees: bool | None = None
    likely: tuple[str, ...] = ()
    if facts.verdict.outcome is Outcome.CLIENT_ERROR:
        observed = facts.verdict  # the client cannot present its certificate: curl does not even connect
    elif predicted is not None and _differ(predicted, observed) is False:
        # The observation confirms the prediction: keep what only the configuration can tell (the verify error
        # nginx logged, whether optional_no_ca forgave it, $ssl_client_verify).
        observed = predicted
    elif inferred:
        facts, disagrees, likely = _judge_inference(facts, obs, observed, reasons)
        if disagrees:
            observed = replace(observed, verify_error=None, errors_seen=(), log_line=None)
    probe = probe_facts(obs, facts.client, now=now, inferred=inferred, predicted=predicted, observed=observed)
    if inferred:
        probe = replace(
            probe,
            settings_seen=settings_seen(facts, reasons),
            inference_disagrees=disagrees,
            likely_causes=likely,
        )
    return replace(facts, verdict=observed, probe=probe)


def _judge_inference(
    facts: Facts, obs: Observation, observed: Verdict, reasons: dict[str, str]
) -> tuple[Facts, bool | None, tuple[str, ...]]:
    """What the observation settles of the facts the inference computed, whether the inferred twin's answer is the
    server's, and (when it is not) the likely causes."""
    twin_verdict = facts.verdict
    path = facts.path
    sent = bool(obs.certificates_sent)
    served = observed.outcome is Outcome.ACCEPT
    if served and sent and isinstance(path, PathFacts):
        # A served certificate was not refused for its keys or digests (66, 67, 68: never forgiven, knowledge §4).
        path = replace(path, weak_leaf_key=False, weak_ca_keys=(), weak_leaf_digest=False, weak_digest_intermediates=())
        if isinstance(path.depth_exceeded, Unknown):
            n = path.intermediate_count
            why = (
                f"served with {n} intermediate CA(s): ssl_verify_depth admits them (it is at least {n}), unless "
                "ssl_verify_client is optional_no_ca, which forgives the overflow (20); a handshake shows no more"
            )
            for key in ("server.verify_depth", "path.depth_exceeded", "path.depth_overflow_in_store"):
                reasons[key] = why
        facts = replace(facts, path=path)
    if isinstance(observed.forgiven, Unknown):
        reasons["verdict.forgiven"] = (
            "served: whether ssl_verify_client optional_no_ca forgave a failed verification shows only in "
            "$ssl_client_verify, which a handshake does not show"
        )
    disagrees = _differ(twin_verdict, observed) if isinstance(facts.twin, TwinFacts) else None
    if disagrees and isinstance(facts.twin, TwinFacts) and obs.alert is not None and not obs.alert_sent:
        # A server that rejects with an alert (Apache httpd, HAProxy) where nginx answers 400: the same refusal when
        # the alert is the one OpenSSL sends for an error the twin met on the same chain.
        rejected = twin_verdict.outcome is Outcome.REJECT and observed.outcome is Outcome.REJECT
        disagrees = not (rejected and sent_for(obs.alert, facts.twin.errors_seen_codes))
    if not disagrees:
        return facts, disagrees, ()
    reasons["twin"] = (
        f"the server answered {summary(observed)}; the twin, on the trust store inferred from the advertised names "
        f"and inferred values for what a handshake does not show (ssl_verify_depth {UNLIMITED_VERIFY_DEPTH}, no "
        f"CRL checks, security level {INFERRED_SECLEVEL}), predicts {summary(twin_verdict)}: the observation wins, "
        "and what the twin and the path were computed on is not the server's"
    )
    # a TLS alert has its own meaning, with the causes each server sends it for (probe.alert_meaning)
    likely = likely_causes(facts, observed, twin_verdict) if obs.alert is None else ()
    # The path was built against the same inferred store the server's answer contradicts: its defects (or their
    # absence) are no more known than the twin's verdict.
    for field in ("twin", "path", "revocation"):
        reasons[field] = reasons["twin"]
    return replace(facts, twin=UNKNOWN, path=UNKNOWN, revocation=UNKNOWN), True, likely


def likely_causes(facts: Facts, observed: Verdict, twin_verdict: Verdict) -> tuple[str, ...]:
    """What a handshake cannot show that would turn the twin's answer into the server's, most likely first: never
    one as certain (the server's configuration is not known)."""
    path = facts.path
    n = path.intermediate_count if isinstance(path, PathFacts) else None
    causes: list[str] = []
    if observed.outcome is Outcome.REJECT and observed.reason == CERT_ERROR_PAGE:
        if n is not None and n >= 2:
            causes.append(
                f"likely: ssl_verify_depth below {n}: the chain has {n} intermediate CAs and nginx's default depth 1 "
                "admits one (nginx then logs 20, or 2 for intermediates of its own CA file)"
            )
        causes.append(
            "possible: ssl_crl: a CRL that revokes a certificate of the chain (23), none for one of its CAs (3), or "
            "one out of date (12, 11)"
        )
        if n == 1:
            causes.append("possible: ssl_verify_depth 0 (it admits no intermediate CA; nginx logs 20 or 2)")
        causes.append(
            "possible: a trust store other than the one inferred (a CA re-keyed under the same name, an "
            "ssl_trusted_certificate or ssl_client_certificate this machine does not have)"
        )
        causes.append("possible: a security level above 2 that refuses a key or digest of the chain (66, 67, 68)")
        causes.append("possible: ssl_ocsp (the responder says revoked, or cannot be asked)")
    elif observed.outcome is Outcome.ACCEPT and twin_verdict.outcome is Outcome.REJECT:
        causes.append(
            "possible: the server trusts more than its advertised names show (an ssl_trusted_certificate holding "
            "the missing CA, never advertised)"
        )
        causes.append(
            "possible: ssl_verify_client optional_no_ca, which serves a client whose CA is not trusted "
            "(18, 19, 20, 21) with $ssl_client_verify FAILED"
        )
        causes.append("possible: a security level below 2 that admits a key or digest the twin refused")
    else:
        causes.append("possible: a server configuration other than inferred (give --nginx with its configuration)")
    return tuple(causes)


_SETTINGS = (
    ("ssl_verify_client", "verify_client"),
    ("ssl_verify_depth", "verify_depth"),
    ("ssl_crl", "crl_check"),
    ("security level", "seclevel"),
)


def settings_seen(facts: Facts, reasons: dict[str, str]) -> tuple[SettingSeen, ...]:
    """The settings the rules read, as the handshake showed them, or why not (with what is known)."""
    server = facts.server
    out = []
    for name, field in _SETTINGS:
        value = getattr(server, field)
        why = reasons.get(f"server.{field}", "a handshake does not show it")
        if isinstance(value, Unknown):
            out.append(SettingSeen(name=name, value=None, evidence=why))
        else:
            origin = server.origins.get(field)
            shown_value = value.value if isinstance(value, VerifyClient) else str(value)
            out.append(SettingSeen(name=name, value=shown_value, evidence=(origin.note or "") if origin else ""))
    names = server.advertised_ca_names
    if isinstance(server.ca_file, CertFile):
        out.append(
            SettingSeen(
                name="ssl_client_certificate",
                value=None,
                evidence=(
                    f"inferred: {server.ca_file.path}, the certificates at hand with the advertised names"
                    f" ({len(names) if isinstance(names, tuple) else 0})"
                ),
            )
        )
    return tuple(out)
