"""`mtls-doctor explain THING`: from what a person has in front of them to the rules that explain it.

THING may be a rule id or name, a verify error number or X509_V_ERR name, an nginx error-log line, nginx's 400 page
text, a TLS alert name, or curl's error message.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from mtls_doctor.engine.catalogue import Catalogue
from mtls_doctor.engine.schema import Rule
from mtls_doctor.openssl.alerts import ALERTS, codes_for_alert
from mtls_doctor.openssl.verify_codes import VERIFY_CODES

_LOG_CODE = re.compile(r"\((\d+):[^)]*\)")
# Fixed texts people paste, and the rules (by id) that account for them. Sources: nginx 1.22.1 and curl 7.88.1 as
# observed (knowledge/nginx-behaviour.md §1, §7).
_TEXTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("no required ssl certificate", "nginx: the client sent no certificate (HTTP 400, internally 496)", ("MTLS902",)),
    ("client sent no required ssl certificate", "nginx: the client sent no certificate", ("MTLS902",)),
    (
        "the ssl certificate error",
        "nginx: the client certificate failed verification (HTTP 400, internally 495)",
        ("MTLS901",),
    ),
    (
        "unable to set private key file",
        "curl (58): the key does not belong to the FIRST certificate of --cert",
        ("MTLS001", "MTLS002"),
    ),
    ("key values mismatch", "OpenSSL: the key does not belong to the certificate", ("MTLS001", "MTLS002")),
    ("could not load pem client certificate", "curl (58): the --cert file is not PEM (or is unreadable)", ("MTLS003",)),
    ("no start line", "OpenSSL: no PEM BEGIN line where PEM was expected (a DER file?)", ("MTLS003",)),
    ("ee key too small", "OpenSSL client: the client key is below its security level", ("MTLS206",)),
    ("ca key too small", "OpenSSL client: a CA key in the chain is below its security level", ("MTLS308",)),
    (
        "ca md too weak",
        "OpenSSL client: a certificate is signed with a forbidden digest (SHA-1)",
        ("MTLS207", "MTLS309"),
    ),
    ("no ssl_client_certificate for ssl_verify_client", "nginx refuses to start", ("MTLS601",)),
    ("ssl_ctx_load_verify_locations", "nginx refuses to start: ssl_client_certificate unreadable", ("MTLS708",)),
    ("x509_lookup_load_file", "nginx refuses to start: ssl_crl unreadable", ("MTLS710",)),
    ("misdirected request", "nginx 421: SNI named another server block than the Host header", ()),
    # ssl_ocsp (ngx_ssl_ocsp_get_status): after the chain verified, the OCSP check failed (HTTP 400, internally 495)
    (
        "certificate status request failed",
        "nginx ssl_ocsp: no answer from an OCSP responder (none to ask, or it failed)",
        ("MTLS507",),
    ),
    ("no ocsp responder url in certificate", "nginx ssl_ocsp: a certificate names no OCSP responder", ("MTLS507",)),
    ("certificate revoked", "nginx ssl_ocsp: the OCSP responder says the certificate is revoked", ()),
    ("certificate status unknown", "nginx ssl_ocsp: the OCSP responder does not know the certificate", ()),
    ('"ssl_ocsp" is incompatible', "nginx refuses to start: ssl_ocsp with optional_no_ca", ("MTLS607",)),
)


class Explanation(NamedTuple):
    """What THING is, and the rules that account for it (most specific first)."""

    summary: str
    rules: tuple[Rule, ...]


def explain(thing: str, catalogue: Catalogue) -> Explanation | None:
    """The explanation of ``thing``, or None when nothing matches."""
    text = thing.strip()
    rule = catalogue.get(text.upper()) or catalogue.get(text.lower())
    if rule is not None:
        return Explanation(f"{rule.id} {rule.name}: {rule.title}", (rule,))
    old = catalogue.retired_rule(text.upper()) or catalogue.retired_rule(text.lower())
    if old is not None:
        successors = tuple(r for r in (catalogue.get(i) for i in old.replaced_by) if r is not None)
        now = ", ".join(f"{r.id} {r.name}" for r in successors) or "no rule"
        return Explanation(
            f"{old.id} {old.name} ({old.title}) was retired in {old.retired_in}: {now} detects it now. {old.why}",
            successors,
        )
    code = _code(text)
    if code is not None:
        name, message = VERIFY_CODES[code]
        return Explanation(f"OpenSSL verify error {code} {name}: {message}", _predicting(catalogue, {code}))
    alert = _alert(text)
    if alert is not None:
        codes = set(codes_for_alert(alert))
        summary = f"TLS alert {alert} {ALERTS[alert]}"
        if codes:
            summary += f": an OpenSSL server sends it for verify errors {', '.join(map(str, sorted(codes)))}"
        rules = _predicting(catalogue, codes)
        if alert in (40, 116):
            rules = _with_explainers(catalogue, ("MTLS902",))
            summary += " (no client certificate: 40 in TLS 1.2, certificate_required 116 in TLS 1.3)"
        return Explanation(summary, rules)
    lowered = text.lower()
    for needle, summary, ids in _TEXTS:
        if needle in lowered:
            return Explanation(summary, _with_explainers(catalogue, ids))
    return None


def _code(text: str) -> int | None:
    match = _LOG_CODE.search(text)
    if match and int(match.group(1)) in VERIFY_CODES:
        return int(match.group(1))
    if text.isdigit() and int(text) in VERIFY_CODES:
        return int(text)
    upper = text.upper()
    return next((c for c, (name, _) in VERIFY_CODES.items() if upper in (name, name.removeprefix("X509_V_ERR_"))), None)


def _alert(text: str) -> int | None:
    normal = re.sub(r"^(tlsv1(3)? )?(alert )?", "", text.lower().strip()).replace(" ", "_")
    return next((code for code, name in ALERTS.items() if name == normal), None)


def _predicting(catalogue: Catalogue, codes: set[int]) -> tuple[Rule, ...]:
    return tuple(r for r in catalogue.rules if codes & set(r.predicts))


def _with_explainers(catalogue: Catalogue, ids: tuple[str, ...]) -> tuple[Rule, ...]:
    """The rules named, then every rule that lists one of them in its explains."""
    named = tuple(r for r in (catalogue.get(i) for i in ids) if r is not None)
    causes = tuple(r for r in catalogue.rules if set(r.explains) & set(ids) and r not in named)
    return causes + named
