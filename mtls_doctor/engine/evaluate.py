"""One rule against one set of facts gives one Finding.

Never raises: a crashing rule becomes an ERROR finding and the others still run.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from typing import Any

from mtls_doctor.engine.conditions import Verdict
from mtls_doctor.engine.display import display, origins, shell
from mtls_doctor.engine.findings import Evidence, Finding
from mtls_doctor.engine.paths import resolve, unknown_prefix
from mtls_doctor.engine.schema import Rule
from mtls_doctor.engine.vocabulary import Status

_NO_REASON = "a fact it needs could not be established"


def evaluate(rule: Rule, facts: object, reasons: Mapping[str, str]) -> Finding:
    """Decide one rule against one set of facts."""
    try:
        applies = rule.applies.test(facts)
        if applies is Verdict.NO:
            return Finding(rule=rule, status=Status.NOT_APPLICABLE)
        if applies is Verdict.UNKNOWN:
            return _not_evaluated(rule, facts, reasons, rule.applies.checks())
        violated = rule.violated.test(facts)
        if violated is Verdict.NO:
            return Finding(rule=rule, status=Status.PASS)
        if violated is Verdict.UNKNOWN:
            return _not_evaluated(rule, facts, reasons, rule.violated.checks())
        grade = None
        for entry in rule.severity_when:
            holds = entry.when.test(facts)
            if holds is Verdict.UNKNOWN:
                # The grade decides the exit status: a guessed one is a false alarm or a missed one. Unknown is
                # never pass, and never a severity either (rules/README.md, [[severity_when]]).
                return _not_evaluated(rule, facts, reasons, entry.when.checks())
            if holds is Verdict.YES:
                grade = entry
                break
        message = grade.message if grade is not None and grade.message else rule.message
        return Finding(
            rule=rule,
            status=Status.FAIL,
            message=render(message, facts),
            remedy=render(rule.remedy, facts) if rule.remedy else None,
            evidence=_evidence(rule, facts, grade.when.checks() if grade is not None else ()),
            grade=grade.severity if grade is not None else None,
            grade_why=grade.why if grade is not None else None,
        )
    except Exception as exc:  # noqa: BLE001 - one broken rule must not hide the others
        return Finding(rule=rule, status=Status.ERROR, error=f"{type(exc).__name__}: {exc}")


def render(template: str, facts: object) -> str:
    """Fill ``{fact.path}`` placeholders with display()-formatted values; ``{path!q}`` quotes for a shell;
    ``{path:text}`` (or ``{path!q:text}``) gives ``text`` when the fact is absent: a template itself, one level deep
    (``{path.intermediate_count:{server.deepest_ca_intermediates}}``), so one message reads right with a client and
    without one (lint)."""
    out: list[str] = []
    for literal, field, fallback, conversion in string.Formatter().parse(template):
        out.append(literal)
        if field:
            value = resolve(facts, field)
            if value is None and fallback:
                out.append(render(fallback, facts) if "{" in fallback else fallback)
            else:
                out.append(shell(value) if conversion == "q" else display(value))
    return "".join(out)


def _evidence(rule: Rule, facts: object, graded: Iterable[Any] = ()) -> tuple[Evidence, ...]:
    """The facts of ``violated``, then those of the grade that applies (why the severity is what it is)."""
    seen: dict[str, Evidence] = {}
    for check in (*rule.violated.checks(), *graded):
        for path in check.paths():
            if path not in seen:
                value: Any = resolve(facts, path)
                seen[path] = Evidence(fact=path, value=display(value), origins=_nearest_origins(facts, path, value))
    return tuple(seen.values())


def _nearest_origins(facts: object, path: str, value: Any) -> tuple[Any, ...]:
    """The value's own origins, else where its record says the field was set (a record's ``origins`` mapping: the
    flag, or the directive's file:line), else those of the closest enclosing fact that has one."""
    found = origins(value)
    steps = path.split(".")
    while not found and len(steps) > 1:
        field = steps.pop()
        parent = resolve(facts, ".".join(steps))
        declared = getattr(parent, "origins", None)
        found = (declared[field],) if isinstance(declared, dict) and field in declared else origins(parent)
    return found


def _not_evaluated(rule: Rule, facts: object, reasons: Mapping[str, str], checks: Iterable[Any]) -> Finding:
    why: list[str] = []
    for check in checks:
        for path in check.paths():
            prefix = unknown_prefix(facts, path)
            if prefix is not None:
                reason = reasons.get(prefix, f"{prefix}: {_NO_REASON}")
                if reason not in why:
                    why.append(reason)
    return Finding(rule=rule, status=Status.NOT_EVALUATED, unknown=tuple(why) or (_NO_REASON,))
