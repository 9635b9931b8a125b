"""Every check and server rule is tested by the scenario examples it declares, on sample_pki scenarios (a rule's
behaviour is data); server rules' configuration examples run in tests/test_lint_rules.py."""

from __future__ import annotations

import pytest

from mtls_doctor.engine.schema import Example, Rule, Scope
from tests.conftest import catalogue, scenario_report


def _cases() -> list[object]:
    cases: list[object] = []
    for rule in catalogue().of_scope(Scope.CHECK, Scope.SERVER):
        for example in (e for e in rule.examples if not e.config and not e.live):
            marks = [pytest.mark.xfail(reason=example.known_gap, strict=True)] if example.known_gap else []
            cases.append(
                pytest.param(rule, example, id=f"{rule.id}:{example.target}->{example.expect.value}", marks=marks)
            )
    return cases


@pytest.mark.parametrize(("rule", "example"), _cases())
def test_rule_example(rule: Rule, example: Example) -> None:
    report = scenario_report(example.target)
    finding = next(f for f in report.findings if f.rule.id == rule.id)
    assert finding.status is example.expect, (
        f"{rule.id} on {example.target}: {finding.status.value}, expected {example.expect.value}"
        f" ({finding.message or finding.error or finding.unknown})"
    )
    if example.severity is not None:
        assert finding.severity is example.severity, f"{rule.id} on {example.target}: {finding.severity.value}"
