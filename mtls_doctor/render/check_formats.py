"""`check --format markdown|html|sarif`: the check report for a ticket, a browser or a code-scanning tool."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mtls_doctor.diagnosis import Report
from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.facts.model import PathFacts, RevocationFacts
from mtls_doctor.render.console import report_document
from mtls_doctor.render.lint_report import SARIF_LEVEL, sarif_text
from mtls_doctor.render.ticket import chain_svg, document_html, document_markdown, timeline_svg
from mtls_doctor.untrusted import shell_word
from mtls_doctor.vocabulary import CertSource

TITLE = "mtls-doctor check"


def tool_commands(report: Report) -> list[str]:
    """What the person can run to see the same with OpenSSL and curl (the verification nginx's OpenSSL does, and the
    request), built from the inputs; the server's address is a named placeholder: it is not known offline."""
    i = report.inputs
    server = i.server_settings()
    ca = getattr(server.ca_file, "path", None)
    commands: list[str] = []
    if i.cert and ca:
        untrusted = i.chain or i.cert
        line = f"openssl verify -purpose sslclient -CAfile {shell_word(ca)} -untrusted {shell_word(untrusted)}"
        crls = [f.path for f in server.crl_files] if isinstance(server.crl_files, tuple) else []
        for crl in crls:
            line += f" -crl_check_all -CRLfile {shell_word(crl)}"
        commands.append(f"{line} {shell_word(i.cert)}")
    if i.cert and i.key:
        commands += [
            "# SERVER: the server's host:port (mtls-doctor judged offline and does not know it)",
            f"curl -sv --cert {shell_word(i.cert)} --key {shell_word(i.key)} https://SERVER/",
        ]
    return commands


def _figures(report: Report) -> list[str]:
    path = report.facts.path
    if not isinstance(path, PathFacts):
        return []
    labels: list[tuple[str, str, bool]] = []
    if path.issuer_missing:
        labels.append((str(path.issuer_missing), "missing: not sent by the client, not in the trust store", True))
    position = len(path.certs) - 1
    for cert, source in reversed(list(zip(path.certs, path.sources, strict=True))):
        where = "sent by the client" if source is CertSource.SENT else f"from {source.value}"
        labels.append((str(cert.subject), f"depth {position} · {where}", False))
        position -= 1
    windows: list[tuple[str, datetime, datetime | None]] = [
        (str(c.subject), c.not_before, c.not_after) for c in path.certs
    ]
    revocation = report.facts.revocation
    if isinstance(revocation, RevocationFacts):
        windows += [
            (f"CRL of {crl.issuer}", crl.this_update, crl.next_update)
            for crl in (*revocation.expired_crls, *revocation.not_yet_valid_crls)
        ]
    return [chain_svg(labels), timeline_svg(windows, report.facts.clock.at)]


def check_markdown(report: Report, argv: Sequence[str], *, show_all: bool = False) -> str:
    """The console report as Markdown, with the equivalent commands and versions."""
    return document_markdown(
        report_document(report, show_all=show_all), title=TITLE, argv=argv, commands=tool_commands(report)
    )


def check_html(report: Report, argv: Sequence[str], *, show_all: bool = False) -> str:
    """The console report as one self-contained HTML page, with the chain and the validity timeline as SVG."""
    return document_html(
        report_document(report, show_all=show_all),
        title=TITLE,
        argv=argv,
        commands=tool_commands(report),
        svgs=_figures(report),
    )


def check_sarif(report: Report) -> str:
    """SARIF 2.1.0: one result per failing finding, located at the input file its evidence names."""
    rules = sorted({f.rule.id: f.rule for f in report.findings if f.status is Status.FAIL}.values(), key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for f in report.findings:
        if f.status is not Status.FAIL:
            continue
        # a file the evidence was read from (not a flag such as --depth, nor stdin)
        files = [o.source for e in f.evidence for o in e.origins if o.source and not o.source.startswith(("-", "<"))]
        result: dict[str, Any] = {
            "ruleId": f.rule.id,
            "ruleIndex": index[f.rule.id],
            "level": SARIF_LEVEL[f.severity],
            "message": {"text": f.message or f.rule.title},
        }
        if files:
            result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": files[0]}}}]
        results.append(result)
    return sarif_text(rules, results)
