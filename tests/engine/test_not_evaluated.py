"""Unknown is never pass: a rule whose fact cannot be established is not_evaluated, and says why.

The catalogue's own ``expect = "not_evaluated"`` examples run in tests/test_rules.py and tests/test_lint_rules.py; here
they must exist, and each must carry the reason of the fact it could not read (not the engine's generic fallback).
Beyond the scenarios: ``check`` without ``--key`` (the server twin cannot shake hands), and ``lint`` of a config
whose files are not read.
"""

from __future__ import annotations

import pytest

from mtls_doctor.diagnosis import Report, diagnose
from mtls_doctor.engine.findings import Finding
from mtls_doctor.engine.schema import Example, Rule
from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.exit_status import ExitStatus
from mtls_doctor.linting import lint_config
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.record import replace
from mtls_doctor.samplepki.inputs import scenario_inputs
from mtls_doctor.vocabulary import Unknown
from tests.conftest import LOCAL_NOW, SAMPLE, catalogue, manifest, scenario_report
from tests.engine.test_rule_errors import SERVER_BLOCK
from tests.test_lint_rules import block, finding, lint

GENERIC = "could not be established"
"""The end of the engine's fallback reason, for an UNKNOWN fact that the facts gave no reason for."""
NO_KEY = "no private key was given (--key), so the handshake cannot be reproduced"


def _examples() -> list[tuple[Rule, Example]]:
    return [
        (rule, example)
        for rule in catalogue().rules
        for example in rule.examples
        if example.expect is Status.NOT_EVALUATED and not example.known_gap
    ]


def _example_finding(rule: Rule, example: Example) -> Finding:
    if example.config:
        return finding(block(lint(example.target, "file"), example.target), rule.id)
    return next(f for f in scenario_report(example.target).findings if f.rule.id == rule.id)


def _explained(found: Finding) -> None:
    assert found.status is Status.NOT_EVALUATED, f"{found.rule.id}: {found.status.value}"
    assert found.unknown, f"{found.rule.id}: not evaluated without a reason"
    for reason in found.unknown:
        assert reason.strip(), found.rule.id
        assert not reason.endswith(GENERIC), f"{found.rule.id}: the facts gave no reason ({reason})"


def test_the_catalogue_has_not_evaluated_examples() -> None:
    assert _examples(), "no rule shows what it does when a fact it needs cannot be established"


@pytest.mark.parametrize(("rule", "example"), [pytest.param(r, e, id=f"{r.id}:{e.target}") for r, e in _examples()])
def test_a_not_evaluated_example_says_why(rule: Rule, example: Example) -> None:
    _explained(_example_finding(rule, example))


def _without_key(scenario: str) -> Report:
    inputs = replace(scenario_inputs(SAMPLE, manifest().scenarios[scenario]), key=None)
    return diagnose(inputs, now=LOCAL_NOW, passwords=Passwords(), catalogue=catalogue())


NO_KEY_SCENARIOS = [
    pytest.param("good-chain", id="good-chain"),
    pytest.param("seed-missing-intermediate", id="seed-missing-intermediate"),
    pytest.param("optional-untrusted", id="optional-untrusted"),
    # Without the twin, whether optional_no_ca forgives the failure is UNKNOWN (facts/verdict.py), so the cause
    # rules that ask `verdict.forgiven is false` are not evaluated, not failed.
    pytest.param("optional-no-ca-untrusted", id="optional-no-ca-untrusted"),
]


@pytest.mark.parametrize("scenario", [p.values[0] for p in NO_KEY_SCENARIOS])
def test_without_a_key_the_handshake_symptoms_are_not_evaluated(scenario: str) -> None:
    """No --key: the twin is UNKNOWN, so what nginx answers (MTLS901, MTLS902) is not evaluated, never passed."""
    report = _without_key(scenario)
    assert isinstance(report.facts.twin, Unknown)
    symptoms = [f for f in report.findings if f.rule.id in {"MTLS901", "MTLS902"}]
    assert len(symptoms) == 2
    for found in symptoms:
        _explained(found)
        assert found.unknown == (NO_KEY,)


@pytest.mark.parametrize("scenario", NO_KEY_SCENARIOS)
def test_without_a_key_no_rule_fails_that_does_not_fail_with_it(scenario: str) -> None:
    """Less input can leave a rule not evaluated; it never makes one fail. A good client is then incomplete (3)."""
    with_key = scenario_report(scenario)
    before = {f.rule.id: f.status for f in with_key.findings}
    report = _without_key(scenario)
    new_failures = sorted(
        f.rule.id for f in report.findings if f.status is Status.FAIL and before[f.rule.id] is not Status.FAIL
    )
    assert not new_failures
    blocked = with_key.exit_status is ExitStatus.PROBLEMS_FOUND
    assert report.exit_status is (ExitStatus.PROBLEMS_FOUND if blocked else ExitStatus.INCOMPLETE)


def test_a_config_read_without_its_files_leaves_the_ca_file_rules_not_evaluated() -> None:
    report = lint_config("-", text=SERVER_BLOCK, read_files=False, now=LOCAL_NOW, catalogue=catalogue())
    unread = [f for f in report.findings if f.status is Status.NOT_EVALUATED]
    assert unread, "the CA file's rules cannot be decided without the CA file"
    for found in unread:
        _explained(found)
        assert any("/etc/nginx/tls/client-ca.pem" in r and "--read-files" in r for r in found.unknown), found.unknown
