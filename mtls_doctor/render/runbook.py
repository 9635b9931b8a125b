"""The catalogue for people: one rule as Markdown (`explain`), all of them as the support runbook (`rules`)."""

from __future__ import annotations

from typing import Any

from mtls_doctor.engine.catalogue import Catalogue
from mtls_doctor.engine.schema import Rule
from mtls_doctor.openssl.verify_codes import verify_text


def rule_markdown(rule: Rule) -> str:
    """One rule's documentation: what, why, symptoms, fix, references."""
    predicts = ", ".join(f"{c} ({verify_text(c)})" for c in rule.predicts)
    lines = [
        f"## {rule.id} {rule.name}",
        "",
        f"**{rule.title}**",
        "",
        f"Stage: {rule.stage.value} · severity: {rule.severity.value} · confidence: {rule.confidence.value}"
        + (f" · nginx logs: {predicts}" if predicts else ""),
        "",
        *(
            line
            for g in rule.severity_when
            for line in (f"Severity {g.severity.value}, not {rule.severity.value}, when {g.why}", "")
        ),
        "### What it checks",
        "",
        rule.doc.what,
        "",
        "### Why it matters",
        "",
        rule.doc.why,
        "",
        "### What you see",
        "",
        *(f"- `{s}`" if len(s) < 160 else f"- {s}" for s in rule.doc.symptoms),
        "",
        "### Fix",
        "",
        rule.doc.fix,
        "",
    ]
    if rule.texts:
        # what support staff search the runbook for: the lines people paste (`mtls-doctor explain "<line>"`)
        lines += ["### Texts it explains", ""]
        lines += [f"- `{example}`" for text in rule.texts for example in text.examples]
        lines.append("")
    if rule.doc.references:
        lines += ["### References", "", *(f"- [{r.title}]({r.url})" for r in rule.doc.references), ""]
    return "\n".join(lines)


def runbook_markdown(catalogue: Catalogue) -> str:
    """The whole catalogue as a runbook, in id order, with an index first."""
    index = [f"| [{r.id}](#{r.id.lower()}-{r.name}) | {r.severity.value} | {r.title} |" for r in catalogue.rules]
    head = [
        "# mtls-doctor runbook",
        "",
        "Every check mtls-doctor runs, with what people see and how to fix it.",
        "",
        "The fix commands here are the general case, so their names are placeholders for yours: `client.pem` /",
        "`client.key` (the client's certificate file and key), `issuing-ca.pem` / `issuing-ca.key` (the CA that",
        "issues client certificates), `root.pem`, `/etc/nginx/client-ca.pem` (the server's ssl_client_certificate),",
        "`server.example` (the server's name). `mtls-doctor check` prints the same fixes with your own files.",
        "",
        "| rule | severity | problem |",
        "| --- | --- | --- |",
        *index,
        "",
    ]
    return "\n".join(head) + "\n".join(rule_markdown(r) for r in catalogue.rules) + _retired_markdown(catalogue)


def _retired_markdown(catalogue: Catalogue) -> str:
    """The retired rules: their ids stay taken, and each names the rule that detects it now."""
    if not catalogue.retired:
        return ""
    lines = ["", "## Retired rules", "", "| rule | retired in | detected now by | why |", "| --- | --- | --- | --- |"]
    for old in catalogue.retired:
        now = ", ".join(f"[{i}](#{i.lower()}-{r.name})" for i in old.replaced_by if (r := catalogue.get(i)))
        lines.append(f"| {old.id} {old.name} | {old.retired_in} | {now or '-'} | {old.why} |")
    return "\n".join([*lines, ""])


def catalogue_document(catalogue: Catalogue) -> list[dict[str, Any]]:
    """The catalogue as data (`mtls-doctor rules --format json`)."""
    return [
        {
            "id": r.id,
            "name": r.name,
            "title": r.title,
            "scope": r.scope.value,
            "stage": r.stage.value,
            "severity": r.severity.value,
            "severity_when": [{"severity": g.severity.value, "why": g.why} for g in r.severity_when],
            "confidence": r.confidence.value,
            "predicts": list(r.predicts),
            "explains": list(r.explains),
            "tags": list(r.tags),
        }
        for r in catalogue.rules
    ]


def retired_document(catalogue: Catalogue) -> list[dict[str, Any]]:
    """The retired rules as data: never run, ids never reused."""
    return [
        {"id": r.id, "name": r.name, "title": r.title, "retired_in": r.retired_in, "replaced_by": list(r.replaced_by)}
        for r in catalogue.retired
    ]
