"""The machine-readable report: stable and versioned (``schema_version``), no rich import.

Compatibility promise: within one ``schema_version`` keys are only ever added, never renamed or removed, and enum
values (outcome, status, severity, stage, confidence) only grow. Paths are included; key material and passwords never.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from mtls_doctor import __version__
from mtls_doctor.diagnosis import Report
from mtls_doctor.engine.findings import Evidence, Finding
from mtls_doctor.engine.ranking import Ranked
from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.facts.model import Cert, PathFacts, Verdict
from mtls_doctor.inputs import FileRef
from mtls_doctor.twin.result import TwinFacts
from mtls_doctor.untrusted import json_text
from mtls_doctor.vocabulary import Origin, Unknown, VerifyClient, VerifyError

SCHEMA_VERSION = 1


def report_json(report: Report, *, show_all: bool = False) -> str:
    """The report as JSON text (one document, UTF-8, keys in a fixed order)."""
    return json_text(json.dumps(report_document(report, show_all=show_all), indent=2, ensure_ascii=False)) + "\n"


def report_document(report: Report, *, show_all: bool = False) -> dict[str, Any]:
    """The report as plain data."""
    facts = report.facts
    shown = [r for r in report.tree if show_all or r.finding.status not in (Status.PASS, Status.NOT_APPLICABLE)]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "mtls-doctor", "version": __version__},
        "observed_at": _time(facts.clock.local_now),
        "server_clock": _time(facts.clock.at),
        "inputs": _inputs(report),
        "nginx": _nginx(report),
        "assumptions": list(report.assumptions),
        "verdict": {**verdict_document(facts.verdict), "protocol": _protocol(facts.twin)},
        "findings": [_ranked(r) for r in shown],
        "chain": _chain(facts.path) if isinstance(facts.path, PathFacts) else None,
        "acceptable_ca_names": names if isinstance(names := facts.server.advertised_ca_names, tuple) else None,
        "counts": report.counts,
        "internal_errors": list(report.internal_errors),
        "exit_code": int(report.exit_status),
        **({"probe": probe_document(report)} if report.observation is not None else {}),
    }


def probe_document(report: Report) -> dict[str, Any]:
    """What the live probe saw (``check --connect``, ``probe``)."""
    obs = report.observation
    facts = report.facts.probe
    if obs is None or facts is None:
        return {}
    answer = obs.answer
    cr = obs.certificate_request
    return {
        "target": facts.target,
        "client": facts.client,
        "elapsed_ms": round(obs.elapsed_ms, 1),
        "failure": facts.failure,
        "failure_detail": facts.failure_detail,
        "protocol": obs.protocol,
        "cipher": obs.cipher,
        "server_chain": [
            {"subject": c.subject.rfc4514_string(), "issuer": c.issuer.rfc4514_string()} for c in obs.server_chain
        ],
        "server_chain_errors": [
            {"code": code, "depth": depth, "subject": subject}
            for code, depth, subject in (obs.server_check.errors if obs.server_check else ())
        ],
        "hostname_ok": obs.server_check.hostname_ok if obs.server_check else None,
        "certificate_requested": facts.cert_requested if isinstance(facts.cert_requested, bool) else None,
        "acceptable_ca_names": list(obs.ca_names),
        "signature_algorithms": list(cr.signature_algorithms) if cr else None,
        "certificate_types": list(cr.certificate_types) if cr and cr.certificate_types is not None else None,
        "chain_reaches_advertised": facts.sent_matches_advertised
        if isinstance(facts.sent_matches_advertised, bool)
        else None,
        "certificates_sent": obs.certificates_sent,
        "withheld_by_client": facts.withheld_by_client,
        "alert": {"number": facts.alert, "name": facts.alert_name, "after_handshake": facts.alert_after_handshake}
        if facts.alert is not None
        else None,
        "http_status": facts.http_status,
        "page": facts.page,
        "server_date": _time(facts.server_date) if facts.server_date else None,
        "clock_skew_seconds": facts.clock_skew_seconds,
        "sni": facts.sni,
        "host_header": facts.host_header,
        "status_line": answer.status_line if answer else None,
        "inferred": facts.inferred,
        "predicted": facts.predicted,
        "observed": facts.observed,
        "prediction_disagrees": facts.prediction_disagrees,
        # without a configuration: each setting as shown (value) or not (null, with why), the twin's inference
        "settings": {s.name: {"value": s.value, "evidence": s.evidence} for s in facts.settings_seen},
        "inference": list(report.assumptions) if facts.inferred else None,
        "inference_disagrees": facts.inference_disagrees,
        "likely_causes": list(facts.likely_causes),
        "messages": [
            {"ms": round(m.at_ms, 1), "direction": "sent" if m.sent else "received", "kind": m.kind, "name": m.name}
            | ({"alert": m.alert} if m.alert is not None else {})
            for m in obs.messages
        ],
    }


def verdict_document(v: Verdict) -> dict[str, Any]:
    """The verdict block."""
    return {
        "outcome": v.outcome.value,
        "http_status": v.http_status,
        "reason": v.reason,
        "verify_error": _verify_error(v.verify_error) if v.verify_error else None,
        "errors_seen": [
            {"code": e.code, "depth": e.depth, "subject": e.subject, "name": e.name} for e in v.errors_seen
        ],
        "ssl_client_verify": v.ssl_client_verify,
        "log_line": v.log_line,
        "forgiven": v.forgiven if isinstance(v.forgiven, bool) else None,
        "error_page": str(v.error_page) if v.error_page else None,
        "forgiven_cause": v.forgiven_cause,
        "permissive": verdict_document(v.permissive) if v.permissive else None,
    }


def finding_document(f: Finding) -> dict[str, Any]:
    """One finding, without the findings it explains."""
    rule = f.rule
    return {
        "rule": rule.id,
        "name": rule.name,
        "title": rule.title,
        "status": f.status.value,
        "severity": f.severity.value,
        "severity_why": f.grade_why,
        "confidence": rule.confidence.value,
        "stage": rule.stage.value,
        "message": f.message,
        "remedy": f.remedy,
        "evidence": [_evidence(e) for e in f.evidence],
        "predicts": list(rule.predicts),
        "logged": f.logged,
        "confirmed": f.confirmed,
        "unknown": list(f.unknown),
        "error": f.error,
        "deferred": f.deferred,
    }


def _ranked(r: Ranked) -> dict[str, Any]:
    doc = finding_document(r.finding)
    doc["explains"] = [finding_document(f) for f in r.explains]
    return doc


def _verify_error(e: VerifyError) -> dict[str, Any]:
    return {"code": e.code, "name": e.name, "text": e.text, "depth": e.depth, "subject": e.subject}


def _evidence(e: Evidence) -> dict[str, Any]:
    return {"fact": e.fact, "value": e.value, "origins": [origin_document(o) for o in e.origins]}


def origin_document(o: Origin) -> dict[str, Any]:
    """Where a fact came from."""
    return {"source": o.source, "block": o.block, "line": o.line}


def cert_document(c: Cert) -> dict[str, Any]:
    """One certificate's identity and validity (what a person or a ticket needs, no key material)."""
    return {
        "subject": c.subject,
        "issuer": c.issuer,
        "serial": c.serial,
        "sha256": c.sha256,
        "not_before": _time(c.not_before),
        "not_after": _time(c.not_after),
        "key": str(c.key),
        "signature_algorithm": c.signature_algorithm,
        "is_ca": c.is_ca,
        "eku": sorted(c.eku) if c.eku is not None else None,
        "origin": origin_document(c.origin),
    }


def _chain(p: PathFacts) -> dict[str, Any]:
    return {
        "certificates": [
            {**cert_document(c), "depth": i, "found_in": s.value}
            for i, (c, s) in enumerate(zip(p.certs, p.sources, strict=True))
        ],
        "anchored": p.anchor is not None,
        "issuer_missing": p.issuer_missing,
        "issuer_found": cert_document(p.issuer_found) if p.issuer_found else None,
        "intermediates": len(p.intermediates),
    }


def _inputs(report: Report) -> dict[str, Any]:
    """What was judged: the client's files, and the server's settings from their source (flags or a block)."""
    i = report.inputs
    server = i.server_settings()

    def path(ref: FileRef | Unknown | None) -> str | None:
        return ref.path if isinstance(ref, FileRef) else None

    return {
        "cert": i.cert,
        "key": i.key,
        "chain": i.chain,
        "ca": path(server.ca_file),
        "trusted": path(server.trusted_file),
        # a setting the source does not show (a live handshake) is null, never a value it did not see
        "crl": [f.path for f in server.crl_files] if isinstance(server.crl_files, tuple) else None,
        "verify_client": _known(server.verify_client.value if isinstance(server.verify_client, VerifyClient) else None),
        "verify_depth": _known(server.verify_depth),
        "seclevel": _known(server.seclevel),
        "max_tls": server.max_tls,
        "openssl": server.openssl.value,
        "at": _time(i.at) if i.at else None,
        "server_source": server.source.value,
    }


def _known(value: object) -> Any:
    """A setting's value, or None (JSON null) when it is UNKNOWN."""
    return None if isinstance(value, Unknown) else value


def _protocol(twin: object) -> str | None:
    """The TLS version the twin's handshake negotiated (None when no handshake ran)."""
    return twin.protocol if isinstance(twin, TwinFacts) else None


def _nginx(report: Report) -> dict[str, Any] | None:
    if report.block is None:
        return None
    return {
        "server": str(report.block.server),
        "origin": origin_document(report.block.server.origin),
        "version": report.block.facts.nginx.version,
        "version_assumed": report.block.facts.nginx.assumed,
    }


def _time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")
