"""A finding's severity follows the consequence: ``[[severity_when]]`` grades a failing finding from the facts.

The entries are tried in order and the first whose ``when`` holds gives the severity (and may replace the message);
none holding leaves the declared severity; a ``when`` that cannot be established leaves the finding not evaluated,
with the reason (its grade decides the exit status: a guessed grade is a false alarm or a missed one). Every
consumer reads ``Finding.severity``: ranking, the reports and the exit codes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mtls_doctor.diagnosis import diagnose
from mtls_doctor.engine.catalogue import load_catalogue
from mtls_doctor.engine.evaluate import evaluate
from mtls_doctor.engine.schema import RuleError, parse_rule
from mtls_doctor.engine.vocabulary import Severity, Status
from mtls_doctor.exit_status import ExitStatus
from mtls_doctor.facts.gather import gather
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.record import replace
from mtls_doctor.render.json_report import report_json
from mtls_doctor.render.runbook import catalogue_document
from mtls_doctor.samplepki.inputs import scenario_inputs
from tests.conftest import LOCAL_NOW, SAMPLE, catalogue, manifest, scenario_report
from tests.test_cli import mtls
from tests.test_explain_texts import RULE_HEAD
from tests.test_lint_rules import block, finding, lint

FORGIVEN = "optional-no-ca-untrusted"
REFUSED = "untrusted-ca-sends-intermediate"
"""The same untrusted CA, forgiven by optional_no_ca (200, FAILED:...) and refused by ``on`` (400, 20)."""


def _raw(*grades: dict[str, Any], severity: str = "blocking") -> dict[str, Any]:
    return {
        "schema": 1,
        "id": "MTLS298",
        "name": "graded-rule",
        "title": "A rule whose severity follows the facts",
        "stage": "trust",
        "severity": severity,
        "confidence": "certain",
        "message": "declared message: {path.issuer_missing}",
        "violated": {"all": [{"fact": "path.issuer_missing", "exists": True}]},
        "doc": {"what": "w", "why": "y", "symptoms": ["s"], "fix": "f"},
        "severity_when": list(grades),
    }


FORGIVEN_WHEN = {"fact": "verdict.forgiven", "is": True}
FORGIVEN_UNKNOWN = (
    "whether ssl_verify_client optional_no_ca forgives the failure depends on the handshake: no private key was given "
    "(--key), so the handshake cannot be reproduced"
)


def _grade(severity: str, when: dict[str, Any], **more: str) -> dict[str, Any]:
    return {"severity": severity, "when": when, "why": f"{severity} because", **more}


def _finding(raw: dict[str, Any], scenario: str) -> Any:
    report = scenario_report(scenario)
    return evaluate(parse_rule(raw, "MTLS298-graded-rule.toml"), report.facts, {})


# -- evaluation -----------------------------------------------------------------------------------------------


def test_the_first_entry_that_holds_gives_the_severity_and_the_message() -> None:
    raw = _raw(
        _grade("degraded", FORGIVEN_WHEN, message="graded message: {verdict.ssl_client_verify}"),
        _grade("advisory", FORGIVEN_WHEN),
    )
    found = _finding(raw, FORGIVEN)
    assert found.status is Status.FAIL
    assert found.severity is Severity.DEGRADED
    assert found.grade_why == "degraded because"
    assert found.message == "graded message: FAILED:unable to get local issuer certificate"
    # why the grade: its facts are evidence too
    assert "verdict.forgiven" in [e.fact for e in found.evidence]


def test_no_entry_holding_leaves_the_declared_severity_and_message() -> None:
    found = _finding(_raw(_grade("degraded", FORGIVEN_WHEN, message="graded")), REFUSED)
    assert found.status is Status.FAIL
    assert found.severity is Severity.BLOCKING
    assert found.grade is None
    assert found.grade_why is None
    assert found.message is not None
    assert found.message.startswith("declared message: ")


def test_a_later_entry_applies_when_an_earlier_one_does_not_hold() -> None:
    raw = _raw(_grade("info", {"fact": "verdict.forgiven", "is": False}), _grade("advisory", FORGIVEN_WHEN))
    assert _finding(raw, FORGIVEN).severity is Severity.ADVISORY


def test_an_unknown_condition_leaves_the_finding_not_evaluated_with_the_reason() -> None:
    """Without --key the twin cannot shake hands: whether optional_no_ca forgives is unknown, and so is the grade."""
    inputs = replace(scenario_inputs(SAMPLE, manifest().scenarios[FORGIVEN]), key=None)
    report = diagnose(inputs, now=LOCAL_NOW, passwords=Passwords(), catalogue=catalogue())
    rule = parse_rule(_raw(_grade("degraded", FORGIVEN_WHEN)), "x.toml")
    found = evaluate(rule, report.facts, gather(inputs, now=LOCAL_NOW, passwords=Passwords()).unknown_reasons)
    assert found.status is Status.NOT_EVALUATED
    assert found.unknown == (FORGIVEN_UNKNOWN,)
    assert found.severity is Severity.BLOCKING, "a finding not evaluated keeps the declared severity (exit 3)"
    shipped = next(f for f in report.findings if f.rule.id == "MTLS401")
    assert (shipped.status, shipped.unknown) == (Status.NOT_EVALUATED, (FORGIVEN_UNKNOWN,))
    assert report.exit_status is ExitStatus.INCOMPLETE


def test_a_single_check_is_a_condition_too() -> None:
    raw = _raw(_grade("degraded", {"all": [FORGIVEN_WHEN]}))
    single = _raw(_grade("degraded", FORGIVEN_WHEN))
    assert _finding(raw, FORGIVEN).severity is _finding(single, FORGIVEN).severity is Severity.DEGRADED


# -- every consumer reads the finding's severity --------------------------------------------------------------


def test_the_exit_status_follows_the_grade() -> None:
    """Served unauthenticated is not blocking: exit 0, as for MTLS604's degraded finding; refused: exit 1."""
    assert scenario_report(FORGIVEN).exit_status is ExitStatus.OK
    assert scenario_report(REFUSED).exit_status is ExitStatus.PROBLEMS_FOUND


def test_json_carries_the_finding_severity_and_why() -> None:
    doc = json.loads(report_json(scenario_report(FORGIVEN)))
    first = doc["findings"][0]
    assert (first["rule"], first["severity"]) == ("MTLS401", "degraded")
    assert "optional_no_ca" in first["severity_why"]
    assert [e["rule"] for e in first["explains"]] == ["MTLS604"]
    refused = json.loads(report_json(scenario_report(REFUSED)))["findings"][0]
    assert (refused["rule"], refused["severity"], refused["severity_why"]) == ("MTLS401", "blocking", None)


@pytest.mark.parametrize(
    ("fixture", "severity", "exit_at_degraded"),
    [
        ("MTLS604-fail.conf", Severity.ADVISORY, ExitStatus.OK),
        ("MTLS604-fail-nothing-forwarded.conf", Severity.DEGRADED, ExitStatus.PROBLEMS_FOUND),
    ],
)
def test_lint_fail_on_reads_the_grade(fixture: str, severity: Severity, exit_at_degraded: ExitStatus) -> None:
    report = lint(fixture, "file")
    assert finding(block(report, fixture), "MTLS604").severity is severity
    others = [f for f in report.findings if f.status is Status.FAIL and f.rule.id != "MTLS604"]
    assert all(f.severity in (Severity.ADVISORY, Severity.INFO) for f in others), "the fixture tests MTLS604 alone"
    assert report.exit_status(Severity.DEGRADED) is exit_at_degraded
    assert report.exit_status(Severity.ADVISORY) is ExitStatus.PROBLEMS_FOUND


# -- the schema -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grade", "problem"),
    [
        (_grade("blocking", FORGIVEN_WHEN), "is the declared one"),
        ({"severity": "degraded", "when": FORGIVEN_WHEN}, "needs 'why'"),
        ({"severity": "degraded", "why": "w"}, "needs 'when'"),
        (_grade("fatal", FORGIVEN_WHEN), "'fatal' is not a valid Severity"),
        (_grade("degraded", FORGIVEN_WHEN, extra="x"), "unknown key(s) extra"),
        ({"severity": "degraded", "when": FORGIVEN_WHEN, "why": "{verdict.reason}"}, "'why' is plain text"),
        (_grade("degraded", {"fact": "verdict.forgiven", "near": True}), "unknown operator 'near'"),
    ],
)
def test_a_bad_entry_is_refused_with_the_file_and_the_entry(grade: dict[str, Any], problem: str) -> None:
    with pytest.raises(RuleError, match=re.escape("MTLS298-graded-rule.toml: severity_when #1")) as caught:
        parse_rule(_raw(grade), "MTLS298-graded-rule.toml")
    assert problem in str(caught.value)


def test_an_example_names_a_severity_only_for_a_failure() -> None:
    raw = _raw() | {"examples": [{"scenario": FORGIVEN, "expect": "pass", "severity": "degraded"}]}
    with pytest.raises(RuleError, match="'severity' is the severity of a failing finding"):
        parse_rule(raw, "MTLS298-graded-rule.toml")


def _toml(when: str, message: str = "") -> str:
    """A local rule (tests/test_explain_texts.py's) with one grade."""
    grade = f'[[severity_when]]\nseverity = "degraded"\nwhen = {when}\nwhy = "w"\n{message}\n'
    return RULE_HEAD.replace("[doc]", f"{grade}[doc]")


LOCAL = "MTLS299-local-texts.toml"


@pytest.mark.parametrize(
    ("when", "message", "problem"),
    [
        ('{ fact = "verdict.forgotten", is = true }', "", "fact path 'verdict.forgotten'"),
        ('{ fact = "verdict.forgiven", is = true }', 'message = "{verdict.nope}"', "fact path 'verdict.nope'"),
    ],
)
def test_the_catalogue_checks_the_paths_of_every_entry(tmp_path: Path, when: str, message: str, problem: str) -> None:
    (tmp_path / LOCAL).write_text(_toml(when, message))
    with pytest.raises(RuleError, match=re.escape(LOCAL)) as caught:
        load_catalogue([tmp_path])
    assert problem in str(caught.value)


def test_a_graded_rule_loads_from_a_rules_directory(tmp_path: Path) -> None:
    (tmp_path / LOCAL).write_text(_toml('{ fact = "verdict.forgiven", is = true }'))
    rule = load_catalogue([tmp_path]).get("MTLS299")
    assert rule is not None
    assert [g.severity for g in rule.severity_when] == [Severity.DEGRADED]


def test_the_console_shows_the_forgiven_cause_as_the_root_cause_with_the_consequence_under_it() -> None:
    """A person in an outage reads the cause first (a box, not a line of "also worth fixing"), what nginx does
    with it under it, and no claim that nginx logs anything; the command exits 0 (nothing is blocked)."""
    where = f"sample_pki/scenarios/{FORGIVEN}"
    run = mtls(
        "check", "--cert", f"{where}/client.pem", "--key", f"{where}/client.key", "--ca", f"{where}/ca.pem",
        "--verify-client", "optional_no_ca",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    root = run.stdout.split("Root cause\n", 1)[1].split("Also worth fixing", 1)[0]
    assert root.startswith("── MTLS401 client-ca-not-trusted ── degraded · certain · the cause of $ssl_client_verify")
    assert "Seen as   MTLS604 " in root
    assert "Fix (MTLS604)\n   # if every client must present a valid certificate:\n   ssl_verify_client on;" in root
    assert "nginx logs this one" not in run.stdout
    assert "MTLS604 optional-no-ca-forgives-failure (degraded)" not in run.stdout, "folded, not repeated"


def test_the_catalogue_as_data_lists_each_rule_grades() -> None:
    rules = {r["id"]: r for r in catalogue_document(catalogue())}
    assert [g["severity"] for g in rules["MTLS401"]["severity_when"]] == ["degraded"]
    assert [g["severity"] for g in rules["MTLS604"]["severity_when"]] == ["advisory"]
    assert rules["MTLS101"]["severity_when"] == []
