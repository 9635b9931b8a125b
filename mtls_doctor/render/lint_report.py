"""`mtls-doctor lint` output: console (a document), JSON (versioned) and SARIF 2.1.0 (CI code-scanning annotations)."""

from __future__ import annotations

import json
from typing import Any

from mtls_doctor import __version__
from mtls_doctor.engine.findings import Finding
from mtls_doctor.engine.vocabulary import Severity, Status
from mtls_doctor.inputs import FileRef
from mtls_doctor.linting import LintReport, ServerLint
from mtls_doctor.render.document import Blank, Block, Box, Document, Para, Pre, Span, para
from mtls_doctor.render.json_report import SCHEMA_VERSION, finding_document, origin_document
from mtls_doctor.untrusted import json_text
from mtls_doctor.vocabulary import Origin

_STYLE = {Severity.BLOCKING: "red", Severity.DEGRADED: "yellow", Severity.ADVISORY: "cyan", Severity.INFO: "blue"}
SARIF_LEVEL = {
    Severity.BLOCKING: "error",
    Severity.DEGRADED: "warning",
    Severity.ADVISORY: "note",
    Severity.INFO: "note",
}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _shown(finding: Finding, *, show_all: bool) -> bool:
    return show_all or finding.status in (Status.FAIL, Status.ERROR)


def lint_text(report: LintReport, *, show_all: bool = False) -> Document:
    """The console report: per server block, its failing rules with evidence (file:line) and fix."""
    doc = Document()
    nginx = report.model.nginx
    # The verdict first (issue 11): what was found, in one line; then what it was judged against.
    doc.add(lint_verdict(report))
    assumed = " (assumed: give --nginx-version or --nginx-v)" if report.version_assumed else ""
    doc.add(para(Span(f"mtls-doctor {__version__} · {report.config.source} · {nginx}{assumed}", "dim")))
    doc.add(*(para(Span(f"note: {n}", "dim")) for n in report.notes))
    total = 0
    config_files = {f.name for f in report.config.files} | {report.config.source}
    config_failing = [f for f in report.config_findings if _shown(f, show_all=show_all)]
    if config_failing:
        doc.add(Blank(), para(Span(f"configuration {report.config.source}", "bold")))
        for f in config_failing:
            total += f.status is Status.FAIL
            doc.add(_box(f, config_files))
    for server in report.servers:
        failing = [r for r in server.tree if _shown(r.finding, show_all=show_all)]
        unevaluated = [f for f in server.findings if f.status is Status.NOT_EVALUATED and server.facts.verifies]
        if not failing and not server.internal_errors and not (show_all and unevaluated):
            continue
        doc.add(Blank(), para(Span(str(server.server), "bold")))
        doc.add(*(para(Span(f"! {error}", "bold red")) for error in server.internal_errors))
        for ranked in failing:
            total += ranked.finding.status is Status.FAIL
            doc.add(_box(ranked.finding, config_files))
        if show_all and unevaluated:
            doc.add(*(para(Span(f"  ? {f.rule.id} not evaluated: {'; '.join(f.unknown)}", "dim")) for f in unevaluated))
    counts = report.counts
    verifying = sum(1 for s in report.servers if s.facts.verifies)
    doc.add(
        Blank(),
        para(
            Span(
                f"{len(report.servers)} server block(s), {verifying} verifying client certificates: "
                f"{counts['fail']} finding(s) · {counts['not_evaluated']} not evaluated"
                + (f" · {counts['error']} rule crash(es)" if counts["error"] else ""),
                "dim",
            )
        ),
    )
    return doc


def lint_verdict(report: LintReport) -> Para:
    """The first line of a lint report: the worst finding's severity and how many there are, or that none is."""
    counts = report.counts
    failing = [f for s in report.servers for f in s.findings if f.status is Status.FAIL]
    if not failing and not counts["error"]:
        return para(Span("✓ no mTLS problem found", "bold green"))
    blocking = sum(1 for f in failing if f.severity is Severity.BLOCKING)
    servers = sum(1 for s in report.servers if any(f.status is Status.FAIL for f in s.findings))
    text = f"{len(failing)} finding(s) in {servers} server block(s)"
    if blocking:
        return para(Span(f"✗ {text}, {blocking} blocking: clients will be refused or nginx will not start", "bold red"))
    if counts["error"]:
        return para(Span(f"! {text}; {counts['error']} rule(s) crashed", "bold yellow"))
    return para(Span(f"! {text}, none blocking", "bold yellow"))


def _box(f: Finding, config_files: set[str]) -> Box:
    body: list[Block] = [para(f.message or f.error or "")]
    # the config lines first (what the user edits), then what the files they name hold
    evidence = sorted(f.evidence, key=lambda e: not any(o.source in config_files for o in e.origins))
    for e in evidence:
        where = ", ".join(str(o) for o in e.origins)
        if where:
            body.append(para(Span("at ", "dim"), where, Span(f"  {e.fact} = {e.value}", "dim")))
    if f.remedy:
        body += [para(Span("Fix", "bold")), Pre(f.remedy, "green")]
    body.append(para(Span(f"→ mtls-doctor explain {f.rule.id}", "dim")))
    return Box(
        title=f"{f.rule.id} {f.rule.name}",
        subtitle=f"{f.severity.value} · {f.status.value}",
        body=tuple(body),
        style=_STYLE[f.severity],
    )


def lint_json(report: LintReport, *, show_all: bool = False) -> str:
    """The versioned JSON document."""
    servers = []
    for server in report.servers:
        shown = [r for r in server.tree if _shown(r.finding, show_all=show_all)]
        servers.append(
            {
                "origin": origin_document(server.server.origin),
                "server_names": [n.name for n in server.server.server_names if n.name],
                "ports": sorted(server.server.ports),
                "verifies_clients": server.facts.verifies,
                "ssl_verify_client": server.facts.mode.value,
                "findings": [
                    {**finding_document(r.finding), "explains": [finding_document(c) for c in r.explains]}
                    for r in shown
                ],
                "internal_errors": list(server.internal_errors),
            }
        )
    doc = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "mtls-doctor", "version": __version__},
        "config": report.config.source,
        "nginx": {"version": str(report.model.nginx), "assumed": report.version_assumed},
        "notes": list(report.notes),
        "config_findings": [finding_document(f) for f in report.config_findings if _shown(f, show_all=show_all)],
        "servers": servers,
        "counts": report.counts,
    }
    return json_text(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"


def lint_sarif(report: LintReport) -> str:
    """SARIF 2.1.0: one run, the lint rules as reportingDescriptors, one result per failing finding."""
    rules = sorted({f.rule.id: f.rule for f in report.findings}.values(), key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    results = []
    config_files = {f.name for f in report.config.files} | {report.config.source}
    placed: list[tuple[Finding, ServerLint | None]] = [(f, None) for f in report.config_findings]
    placed += [(f, server) for server in report.servers for f in server.findings]
    fallback = report.servers[0].server.origin if report.servers else None
    for f, server in placed:
        if f.status is not Status.FAIL:
            continue
        primary, related = _places(f, server, config_files, fallback)
        result: dict[str, Any] = {
            "ruleId": f.rule.id,
            "ruleIndex": index[f.rule.id],
            "level": SARIF_LEVEL[f.severity],
            "message": {"text": f.message or f.rule.title},
            "locations": [_location(o) for o in primary],
        }
        if related:
            result["relatedLocations"] = [{"id": i, **_location(o)} for i, o in enumerate(related)]
        results.append(result)
    return sarif_text(rules, results, notes=report.notes)


def sarif_text(rules: list[Any], results: list[dict[str, Any]], *, notes: tuple[str, ...] = ()) -> str:
    """One SARIF 2.1.0 run of mtls-doctor: the rules as reportingDescriptors, then the results (lint and check);
    ``notes``: what the run says about its input (an unread include, a dump's log lines)."""
    sarif = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mtls-doctor",
                        "version": __version__,
                        "rules": [sarif_descriptor(r) for r in rules],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [{"level": "note", "message": {"text": n}} for n in notes],
                    }
                ],
                "results": results,
            }
        ],
    }
    return json_text(json.dumps(sarif, indent=2, ensure_ascii=False)) + "\n"


def sarif_descriptor(rule: Any) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.doc.what},
        "help": {"text": rule.doc.fix, "markdown": rule.doc.fix},
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
        "properties": {"tags": list(rule.tags), "severity": rule.severity.value, "confidence": rule.confidence.value},
    }


def _places(
    f: Finding, server: ServerLint | None, config_files: set[str], fallback: Origin | None
) -> tuple[list[Origin], list[Origin]]:
    """Where a finding is (config lines: what the user edits) and its related evidence (inside the files they
    name: a CA or CRL file's certificate). A file's evidence places the finding at the directive naming the file;
    with no config line in the evidence, the finding is at the server block (or the first one, for the config)."""
    found = list(dict.fromkeys(o for e in f.evidence for o in e.origins))
    primary = [o for o in found if o.source in config_files and o.line is not None]
    related = [o for o in found if o.source not in config_files]
    named = _named_files(server) if server else {}
    primary += [named[o.source] for o in related if o.source in named]
    block = server.server.origin if server else fallback
    return list(dict.fromkeys(primary))[:5] or ([block] if block else []), related[:5]


def _named_files(server: ServerLint) -> dict[str, Origin]:
    """The CA, trusted and CRL files of a server block, by path: the directive that names each."""
    settings = server.settings
    refs = [settings.ca_file, settings.trusted_file]
    refs += list(settings.crl_files) if isinstance(settings.crl_files, tuple) else []
    return {r.path: r.origin for r in refs if isinstance(r, FileRef)}


def _location(o: Origin) -> dict[str, Any]:
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": o.source}}}
    if o.line is not None:
        location["physicalLocation"]["region"] = {"startLine": o.line}
    return location
