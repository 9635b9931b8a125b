"""From an observation to facts: the probe as the third source of the one server model (ServerSource.HANDSHAKE),
its own ProbeFacts, and the verdict as observed.

What a handshake reveals of the server's settings: whether it asks for a certificate (not whether ``on`` or
``optional``), the advertised CA names (the subjects of ``ssl_client_certificate``), its highest TLS version.
The trust store itself is never revealed: with no configuration it is inferred as the certificates at hand whose
subjects are the advertised names, and the twin's result says "inferred"; what cannot be known is UNKNOWN.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mtls_doctor.facts.model import Cert, ClientFacts, Facts, ProbeFacts, Verdict
from mtls_doctor.facts.verdict import plain_verdict
from mtls_doctor.inputs import OBSERVED_NGINX_VERSION, FileRef, ServerSettings
from mtls_doctor.openssl.generations import OpenSSLGeneration
from mtls_doctor.probe.alerts import alert_name, meaning
from mtls_doctor.probe.handshake import Failure, Observation
from mtls_doctor.probe.messages import key_types_allowed
from mtls_doctor.probe.pages import Page, classify
from mtls_doctor.record import replace
from mtls_doctor.twin.result import TwinFacts
from mtls_doctor.vocabulary import UNKNOWN, OcspMode, Origin, Outcome, ServerSource, Unknown, VerifyClient

SKEW_TOLERANCE = timedelta(seconds=60)
"""A Date header has a resolution of one second, and clocks within a minute are not worth a finding."""


def origin_of(obs: Observation, message: str | None = None) -> Origin:
    """``tls://host:port``, with the message the value was read from."""
    return Origin(source=f"tls://{obs.request.host}:{obs.request.port}", note=message)


def handshake_settings(obs: Observation, inferred_ca: str | None) -> ServerSettings:
    """The server's settings as the handshake revealed them; ``inferred_ca``: a PEM file of the certificates at hand
    whose subjects the server advertised (None: none at hand, the trust store is UNKNOWN)."""
    asked = obs.certificate_request is not None
    reasons = {
        "verify_result_checked": "a handshake does not show whether anything checks $ssl_client_verify",
        "certificate_forwarded": "a handshake does not show whether the application gets the client certificate",
        "trusted_file": "a handshake never shows ssl_trusted_certificate (trusted, not advertised)",
    }
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
    cr = origin_of(obs, "CertificateRequest" if asked else "no CertificateRequest")
    return ServerSettings(
        source=ServerSource.HANDSHAKE,
        verify_client=VerifyClient.ON if asked else VerifyClient.OFF,
        verify_depth=1,
        seclevel=2,
        max_tls=obs.protocol or "TLSv1.3",
        openssl=OpenSSLGeneration.V3,
        nginx_version=OBSERVED_NGINX_VERSION,
        ca_file=ca,
        trusted_file=UNKNOWN,
        crl_files=(),
        ocsp_responder=None,
        ocsp=OcspMode.OFF,
        stream=False,
        error_pages=(),
        ssl_context=True,
        serves_tls=True,
        startup_error=None,
        verify_result_checked=UNKNOWN,
        certificate_forwarded=UNKNOWN,
        origins={
            "verify_client": cr,
            "ca_file": cr,
            "max_tls": origin_of(obs, "ServerHello"),
            "crl_files": origin_of(obs, "assumed: no ssl_crl (a handshake cannot show it)"),
        },
        reasons=reasons,
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


def observed_verdict(obs: Observation, twin: TwinFacts | Unknown | None) -> Verdict:
    """The verdict as the probe saw it. The verify error nginx logged is not visible from outside: it is the twin's
    (on the configuration given, or inferred from the advertised names) when the twin also rejects."""
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
        return replace(base, outcome=Outcome.ACCEPT, http_status=answer.status, reason=None)
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
    inferred trust store (or, none inferred, the path and the twin are UNKNOWN: a store of nothing would be a lie)."""
    server = facts.server
    inferred = server.source is ServerSource.HANDSHAKE
    predicted = None if inferred else facts.verdict
    if inferred and isinstance(server.ca_file, Unknown) and facts.client is not None:
        why = reasons.get("server.ca_file", "the server's trust store is not known")
        for field in ("twin", "path", "revocation"):
            reasons[field] = why
        facts = replace(facts, twin=UNKNOWN, path=UNKNOWN, revocation=UNKNOWN)
    observed = observed_verdict(obs, facts.twin)
    if facts.verdict.outcome is Outcome.CLIENT_ERROR:
        observed = facts.verdict  # the client cannot present its certificate: curl does not even connect
    elif predicted is not None and _differ(predicted, observed) is False:
        # The observation confirms the prediction: keep what only the configuration can tell (the verify error
        # nginx logged, whether optional_no_ca forgave it, $ssl_client_verify).
        observed = predicted
    probe = probe_facts(obs, facts.client, now=now, inferred=inferred, predicted=predicted, observed=observed)
    return replace(facts, verdict=observed, probe=probe)
