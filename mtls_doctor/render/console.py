"""The console report: the verdict first, then the root causes with evidence and fix, the chain as nginx builds
it, and a validity timeline at the server's clock. Builds a Document; render/document.py prints it."""

from __future__ import annotations

from datetime import datetime

from mtls_doctor import __version__
from mtls_doctor.diagnosis import Report
from mtls_doctor.engine.findings import Finding
from mtls_doctor.engine.ranking import Ranked
from mtls_doctor.engine.vocabulary import Severity, Stage, Status
from mtls_doctor.facts.model import PathFacts, ProbeFacts, RevocationFacts, Verdict
from mtls_doctor.facts.verdict import STREAM_CLOSED
from mtls_doctor.render.document import Blank, Block, Box, Document, Node, Para, Pre, Rows, Span, para
from mtls_doctor.vocabulary import CertSource, Outcome, Unknown

_STYLE = {Severity.BLOCKING: "red", Severity.DEGRADED: "yellow", Severity.ADVISORY: "cyan", Severity.INFO: "blue"}
_NOT_EVIDENCE = frozenset({"no", "none", "(none)"})
_MARK = {Severity.BLOCKING: "✗", Severity.DEGRADED: "!", Severity.ADVISORY: "·", Severity.INFO: "i"}


def verdict_sentence(v: Verdict) -> tuple[str, str]:
    """The one sentence a person in an outage needs first, and its style."""
    if v.outcome is Outcome.REJECT:
        if v.error_page is not None:
            status = str(v.http_status) if v.http_status else "with the status of that page"
            answer = f"nginx will refuse this client and answer {status}: {v.reason} ({v.error_page})"
        elif v.http_status == 400:
            answer = f"nginx will answer 400 {v.reason}"
        elif v.reason == STREAM_CLOSED:
            answer = f"nginx will refuse this client: {v.reason}"
        else:
            return f"the TLS handshake will fail: {v.reason}", "bold red"
        if v.log_line:
            answer += f"; at info level its error log would say: {v.log_line}"
        return answer, "bold red"
    if v.outcome is Outcome.ACCEPT and v.forgiven is True:
        return (
            f"nginx will serve the request, but unauthenticated: $ssl_client_verify = {v.ssl_client_verify} "
            "(ssl_verify_client optional_no_ca forgives this error)",
            "bold yellow",
        )
    if v.outcome is Outcome.ACCEPT:
        return f"nginx will accept this client ($ssl_client_verify = {v.ssl_client_verify})", "bold green"
    if v.outcome is Outcome.CLIENT_ERROR:
        said = f"the client cannot present these credentials: {v.reason}"
        if v.permissive is not None:
            # what nginx decides when s_client at level 0 sends the same files (the twin's client does)
            said += f". Sent anyway (openssl s_client -cipher DEFAULT:@SECLEVEL=0): {verdict_sentence(v.permissive)[0]}"
        return said, "bold red"
    if v.outcome is Outcome.SERVER_CONFIG_ERROR:
        return f"nginx will refuse to start: {v.reason}", "bold red"
    if v.reason:  # the verdict hangs on something mtls-doctor does not do, e.g. ask an OCSP responder
        return f"the verdict depends on what mtls-doctor cannot see: {v.reason}", "bold yellow"
    return "the verdict could not be computed (see the findings not evaluated below)", "bold yellow"


def observed_sentence(probe: ProbeFacts, log_line: str | None, predicted: str, style: str) -> tuple[str, str]:
    """The verdict of a live probe: what the server did, not what it will do; the log line nginx wrote is the twin's
    (inferred when no configuration was given)."""
    what = probe.page or probe.failure_detail or probe.alert_meaning or ""
    if probe.http_status is not None:
        sentence = f"{probe.target} answered {probe.http_status}" + (f" {what}" if probe.page else "")
    elif probe.alert is not None:
        sentence = f"{probe.target} ended the handshake with TLS alert {probe.alert} {probe.alert_name}"
    elif probe.failure is not None:
        sentence = f"{probe.target}: no answer: {what}"
    else:
        return predicted, style
    if log_line and probe.http_status == 400:
        if probe.inferred:
            sentence += f"; inferred (not seen), its error log would say at info level: {log_line}"
        else:
            sentence += f"; its error log says, at info level (from the configuration given): {log_line}"
    ok = probe.http_status is not None and probe.http_status < 400
    return sentence, "bold green" if ok else "bold red"  # the document prints every string through shown


def report_document(report: Report, *, show_all: bool = False) -> Document:
    """The whole report as a document."""
    facts = report.facts
    doc = Document()
    clock = f"server clock {_when(facts.clock.at)}"
    if facts.clock.skewed:
        clock += f" (local clock {_when(facts.clock.local_now)})"
    # The verdict is the first line a person reads; what it rests on follows in one line each (issue 11).
    sentence, style = verdict_sentence(facts.verdict)
    if facts.probe is not None:
        sentence, style = observed_sentence(facts.probe, facts.verdict.log_line, sentence, style)
    icon = {"bold green": "✓", "bold yellow": "!"}.get(style, "✗")
    doc.add(para(Span(f"{icon} {sentence}", style)))
    if report.assumptions:
        doc.add(para(Span(f"assumes {'; '.join(report.assumptions)}", "yellow")))
    context = f"mtls-doctor {__version__} · {clock}"
    if report.block is not None:
        context += f" · judged against {report.block.server} ({report.block.facts.nginx.version})"
    doc.add(para(Span(context, "dim")), Blank())

    for error in report.internal_errors:
        doc.add(para(Span(f"! {error}", "bold red")))
    failing = [r for r in report.tree if r.finding.status is Status.FAIL and not r.finding.deferred]
    deferred = [r for r in report.tree if r.finding.status is Status.FAIL and r.finding.deferred]
    roots = [r for r in failing if r.finding.severity is Severity.BLOCKING]
    if not roots and facts.verdict.forgiven is True and failing:
        # served, unauthenticated: the cause of $ssl_client_verify = FAILED:... ranks first (its rule's
        # [[severity_when]] grades it degraded), with what optional_no_ca makes of it seen under it
        roots = failing[:1]
    any_logged = any(r.finding.logged for r in roots)
    code = facts.verdict.verify_error.code if facts.verdict.verify_error else None
    if roots:
        doc.add(para(Span("Root cause" + ("s" if len(roots) > 1 else ""), "bold")))
        for r in roots:
            note = None
            if r.finding.logged:
                note = "nginx logs this one"
            elif r.finding.decides and facts.verdict.forgiven is True:
                note = f"the cause of $ssl_client_verify = FAILED (error {code}, forgiven)"
            elif any_logged and r.finding.rule.predicts:
                note = f"also blocking: hidden in nginx's log by error {code}"
            doc.add(_box(r, note))
    others = [r for r in failing if r not in roots]
    if others:
        doc.add(para(Span("Also worth fixing", "bold")))
        doc.add(*(_line(r.finding) for r in others))
    if deferred:
        doc.add(para(Span("Once nginx starts", "bold")))
        doc.add(para(Span("  what this client would meet then (not a cause of the refusal to start):", "dim")))
        doc.add(*(_line(r.finding) for r in deferred))
    for r in report.tree:
        if r.finding.status is Status.ERROR:
            doc.add(para(Span(f"! {r.finding.rule.id} crashed: {r.finding.error} (please report it)", "bold red")))
    unevaluated = [r.finding for r in report.tree if r.finding.status is Status.NOT_EVALUATED]
    if unevaluated:
        doc.add(para(Span("Not evaluated", "bold")))
        doc.add(*(para(Span(line, "dim")) for line in _unevaluated_lines(unevaluated)))
    if show_all:
        for status in (Status.PASS, Status.NOT_APPLICABLE):
            rows = [r.finding for r in report.tree if r.finding.status is status]
            if rows:
                doc.add(para(Span(status.value.replace("_", " ").capitalize(), "bold")))
                doc.add(*(para(Span(f"  {f.rule.id} {f.rule.name}", "dim")) for f in rows))
    if isinstance(facts.path, PathFacts):
        doc.add(Blank(), chain_tree(facts.path, facts.server.verify_depth), Blank())
        doc.add(*timeline(facts.path, facts.clock.at, facts.revocation))
    counts = report.counts
    summary = (
        f"{sum(counts.values())} rules: {counts['fail']} failed · {counts['pass']} passed · "
        f"{counts['not_applicable']} not applicable · {counts['not_evaluated']} not evaluated"
    )
    if counts["error"]:
        summary += f" · {counts['error']} crashed"
    doc.add(Blank(), para(Span(summary, "dim")))
    return doc


def _unevaluated_lines(findings: list[Finding]) -> list[str]:
    """One line per reason, in the order the findings come: a rule alone with its name, several rules sharing the
    reason by id (a live probe leaves dozens unevaluated for the same few things a handshake cannot show)."""
    by_reason: dict[str, list[Finding]] = {}
    for f in findings:
        by_reason.setdefault("; ".join(f.unknown), []).append(f)
    lines = []
    for reason, group in by_reason.items():
        if len(group) == 1:
            lines.append(f"  ? {group[0].rule.id} {group[0].rule.name}: {reason}")
        else:
            lines.append(f"  ? {len(group)} rules ({', '.join(f.rule.id for f in group)}): {reason}")
    return lines


def _box(r: Ranked, note: str | None) -> Box:
    f = r.finding
    body: list[Block] = [para(f.message or "")]
    for e in f.evidence:
        if not e.origins and e.value in _NOT_EVIDENCE:
            continue  # a guard such as "not forgiven": true of every case, it tells a person nothing (JSON keeps it)
        where = ", ".join(str(o) for o in e.origins)
        body.append(
            para(Span("Evidence  ", "bold"), f"{e.fact} = {e.value}", Span(f"  ({where})" if where else "", "dim"))
        )
    body.extend(para(Span("Seen as   ", "bold"), f"{c.rule.id} {c.rule.title}") for c in r.explains)
    if f.remedy:
        body += [para(Span("Fix", "bold")), Pre(f.remedy, "green")]
    for c in r.explains:
        # a setting of the server seen under the cause (optional_no_ca serving it unauthenticated, MTLS604) is
        # fixed on its own: its fix is shown with the cause's, not only behind "explain"
        if c.rule.stage is Stage.SERVER_CONFIG and c.remedy:
            body += [para(Span(f"Fix ({c.rule.id})", "bold")), Pre(c.remedy, "green")]
    body.append(para(Span(f"→ mtls-doctor explain {f.rule.id}", "dim")))
    subtitle = f"{f.severity.value} · {f.rule.confidence.value}" + (f" · {note}" if note else "")
    return Box(title=f"{f.rule.id} {f.rule.name}", subtitle=subtitle, body=tuple(body), style=_STYLE[f.severity])


def _line(f: Finding) -> Para:
    mark = f"  {_MARK[f.severity]} {f.rule.id} {f.rule.name}"
    return para(Span(mark, _STYLE[f.severity]), f" ({f.severity.value}): {f.message}")


def chain_tree(path: PathFacts, depth: int | Unknown) -> Node:
    """The path as nginx builds it, root at the top; a missing issuer as a '?' node."""
    nodes: list[tuple[Span, ...]] = []
    if path.issuer_missing:
        found = f" (it is in {path.issuer_found.origin})" if path.issuer_found else ""
        nodes.append((Span(f"? {path.issuer_missing}: not sent by the client, not in the trust store{found}", "red"),))
    position = len(path.certs) - 1
    for cert, source in reversed(list(zip(path.certs, path.sources, strict=True))):
        anchor = cert is path.anchor
        where = "sent by the client" if source is CertSource.SENT else f"from {source.value}"
        nodes.append(
            (
                Span(f"{'⚓' if anchor else '•'} {cert.subject}", "bold" if anchor else ""),
                Span(f"  depth {position} · {where} · {cert.origin}", "dim"),
            )
        )
        position -= 1
    limit = "not known" if isinstance(depth, Unknown) else str(depth)
    title = f"Chain as nginx builds it (ssl_verify_depth {limit}, {len(path.intermediates)} intermediate(s) counted)"
    child: Node | None = None
    for label in reversed(nodes):
        child = Node(label, (child,) if child else ())
    return Node((Span(title, "bold"),), (child,) if child else ())


def timeline(path: PathFacts, at: datetime, revocation: object) -> list[Block]:
    """Each certificate's (and each out-of-date CRL's) validity window against the server's clock."""
    rows: list[tuple[str, str]] = [(c.subject, _window(c.not_before, c.not_after, at)) for c in path.certs]
    if isinstance(revocation, RevocationFacts):
        for crl in (*revocation.expired_crls, *revocation.not_yet_valid_crls):
            rows.append((f"CRL of {crl.issuer}", _window(crl.this_update, crl.next_update, at)))
    return [para(Span(f"Validity at the server's clock ({_when(at)})", "bold")), Rows(tuple(rows))]


def _window(start: datetime, end: datetime | None, at: datetime) -> str:
    width = 20
    if end is None:
        return f"{start:%Y-%m-%d} → (no end)"
    if at < start:
        return f"{start:%Y-%m-%d} ●{'─' * width} {end:%Y-%m-%d}  NOT VALID YET ({(start - at).days} day(s) to go)"
    if at > end:
        return f"{start:%Y-%m-%d} {'─' * width}● {end:%Y-%m-%d}  EXPIRED {(at - end).days} day(s) ago"
    span = (end - start).total_seconds() or 1
    pos = int(width * (at - start).total_seconds() / span)
    days = (end - at).days
    return f"{start:%Y-%m-%d} {'─' * pos}●{'─' * (width - pos)} {end:%Y-%m-%d}  {days} day(s) left"


def _when(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC")
