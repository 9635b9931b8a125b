"""Ordering findings so the root cause comes first, with the symptoms it explains folded under it.

Order: errors, failures, not evaluated, passes, not applicable; among failures, first the one predicting the error
of the verdict (the one nginx logs, or the one optional_no_ca forgives), then those explaining a failing symptom
(why nginx will not start, why the client cannot present its certificate), then by severity (the finding's own,
after its rule's [[severity_when]]), by stage (causes before symptoms), by confidence, by id (stable for goldens).
"""

from __future__ import annotations

from collections.abc import Sequence

from mtls_doctor.engine.findings import Finding
from mtls_doctor.engine.schema import Scope
from mtls_doctor.engine.vocabulary import Confidence, Severity, Stage, Status
from mtls_doctor.facts.model import Verdict
from mtls_doctor.record import Record, replace
from mtls_doctor.vocabulary import Outcome

_STATUS = {
    s: i for i, s in enumerate((Status.ERROR, Status.FAIL, Status.NOT_EVALUATED, Status.PASS, Status.NOT_APPLICABLE))
}
_SEVERITY = {s: i for i, s in enumerate(Severity)}
_STAGE = {s: i for i, s in enumerate(Stage)}
_CONFIDENCE = {c: i for i, c in enumerate(Confidence)}


class Ranked(Record, hot=True):
    """A top-level finding and the failing findings it explains (shown under it as "seen as")."""

    finding: Finding
    explains: tuple[Finding, ...]


def annotate(findings: Sequence[Finding], verdict: Verdict | None, errors_seen: frozenset[int] | None) -> list[Finding]:
    """Mark which failing findings predict the verdict's verify error (``decides``), which of them nginx logs
    (``logged``: not one under ``optional_no_ca`` when it forgives the error), and which the twin confirmed."""
    code = verdict.verify_error.code if verdict is not None and verdict.verify_error is not None else None
    forgiven = verdict is not None and verdict.forgiven is True
    out = []
    for finding in findings:
        if finding.status is Status.FAIL and finding.rule.predicts:
            predicts = set(finding.rule.predicts)
            confirmed = None if errors_seen is None else bool(predicts & errors_seen)
            decides = code in predicts
            out.append(replace(finding, decides=decides, logged=decides and not forgiven, confirmed=confirmed))
        else:
            out.append(finding)
    return out


def sort_key(f: Finding, failing: frozenset[str] = frozenset()) -> tuple[int, int, int, int, int, int, str]:
    """Most useful first; ``failing`` are the ids of the failing findings (a cause of one of them comes early); what
    waits until nginx starts (``deferred``) comes after every finding of now."""
    decisive = 0 if f.decides else 1 if not failing.isdisjoint(f.rule.explains) else 2
    return (
        _STATUS[f.status],
        int(f.deferred),
        decisive,
        _SEVERITY[f.severity],
        _STAGE[f.rule.stage],
        _CONFIDENCE[f.rule.confidence],
        f.rule.id,
    )


def defer_until_start(findings: Sequence[Finding], verdict: Verdict, refuses_to_start: str) -> list[Finding]:
    """When nginx would not start, only the start-up causes (the rules that explain ``refuses_to_start``, and that
    symptom itself) are findings of now; every other failing finding about the server and the client is what the
    client would meet once nginx starts: marked ``deferred``. The lint's findings of the block stay as they are."""
    if verdict.outcome is not Outcome.SERVER_CONFIG_ERROR:
        return list(findings)
    return [
        replace(f, deferred=True)
        if f.status is Status.FAIL
        and f.rule.scope is not Scope.LINT
        and f.rule.id != refuses_to_start
        and refuses_to_start not in f.rule.explains
        else f
        for f in findings
    ]


def ordered_findings(findings: Sequence[Finding]) -> list[Finding]:
    """All findings, most useful first."""
    failing = frozenset(f.rule.id for f in findings if f.status is Status.FAIL)
    return sorted(findings, key=lambda f: sort_key(f, failing))


def rank(findings: Sequence[Finding]) -> tuple[Ranked, ...]:
    """Findings in order, each failing symptom folded under the best-ranked failing finding that explains it."""
    return ordered_and_ranked(findings)[1]


def ordered_and_ranked(findings: Sequence[Finding]) -> tuple[tuple[Finding, ...], tuple[Ranked, ...]]:
    """ordered_findings() and rank() from one sort (a lint orders and ranks some 40 findings per server block)."""
    in_order = tuple(ordered_findings(findings))
    failing = [f for f in in_order if f.status is Status.FAIL]
    parent: dict[str, Finding] = {}
    for f in failing:
        explainer = next((e for e in failing if f.rule.id in e.rule.explains and e is not f), None)
        if explainer is not None:
            parent[f.rule.id] = explainer

    def root(f: Finding) -> Finding:
        seen = {f.rule.id}
        while f.rule.id in parent and parent[f.rule.id].rule.id not in seen:
            f = parent[f.rule.id]
            seen.add(f.rule.id)
        return f

    children: dict[str, list[Finding]] = {}
    for f in failing:
        if f.rule.id in parent:
            children.setdefault(root(f).rule.id, []).append(f)
    return in_order, tuple(
        Ranked(finding=f, explains=tuple(children.get(f.rule.id, ()))) for f in in_order if f.rule.id not in parent
    )
