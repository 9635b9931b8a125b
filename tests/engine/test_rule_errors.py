"""A rule that crashes gives an ERROR finding, never a crashed run: the other rules still run, and the exit code is 4.

The crashing rules are real rule files, loaded through ``--rules DIR`` like a support team's own rules: the loader
checks their fact paths but not the types of their values, so ``{ fact = "server.verify_depth", lt = "deep" }``
loads, and comparing an int with a string raises TypeError when the rule runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_doctor.diagnosis import diagnose, exit_status_of
from mtls_doctor.engine.catalogue import load_catalogue
from mtls_doctor.engine.findings import Finding
from mtls_doctor.engine.schema import Rule, parse_rule
from mtls_doctor.engine.vocabulary import Severity, Status
from mtls_doctor.exit_status import ExitStatus
from mtls_doctor.linting import lint_config
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.samplepki.inputs import scenario_inputs
from tests.conftest import LOCAL_NOW, SAMPLE, manifest, scenario_report
from tests.test_cli import mtls

GOOD = "good-chain"
SERVER_BLOCK = """\
server {
    listen 443 ssl;
    server_name api.example.com;
    ssl_certificate /etc/nginx/tls/server.pem;
    ssl_certificate_key /etc/nginx/tls/server.key;
    ssl_client_certificate /etc/nginx/tls/client-ca.pem;
    ssl_verify_client on;
}
"""
"""An mTLS server block, read from stdin without its files: no shipped lint rule crashes on it."""

CRASHING = {
    "check": ("MTLS299", "crashing-check-rule", "client-certificate", "server.verify_depth"),
    "lint": ("MTLS799", "crashing-lint-rule", "server-config", "verifies"),
}
"""Per scope: the crashing rule's id, name and stage, and a fact whose value is not comparable with a string."""


def rule_toml(scope: str, *, severity: str = "blocking", violated: str | None = None) -> str:
    """A rule file of ``scope`` whose violated condition raises TypeError (or is ``violated``)."""
    rule_id, name, stage, fact = CRASHING[scope]
    condition = violated or f'{{ fact = "{fact}", lt = "deep" }}'
    return f'''\
schema = 1
id = "{rule_id}"
name = "{name}"
title = "A rule that compares a fact with a value of another type"
scope = "{scope}"
stage = "{stage}"
severity = "{severity}"
confidence = "certain"
message = "never rendered"

[violated]
all = [{condition}]

[doc]
what = "Crashes."
why = "To test that a crash is an ERROR finding."
symptoms = ["exit code 4"]
fix = "Compare values of the same type."
'''


@pytest.fixture
def crashing_rules(tmp_path: Path) -> Path:
    """A --rules directory holding one crashing rule of each scope."""
    for scope, (rule_id, name, _, _) in CRASHING.items():
        (tmp_path / f"{rule_id}-{name}.toml").write_text(rule_toml(scope))
    return tmp_path


def _by_rule(findings: tuple[Finding, ...]) -> dict[str, Status]:
    return {f.rule.id: f.status for f in findings}


def test_a_crashing_check_rule_is_an_error_finding_and_the_others_still_run(crashing_rules: Path) -> None:
    catalogue = load_catalogue([crashing_rules])
    inputs = scenario_inputs(SAMPLE, manifest().scenarios[GOOD])
    report = diagnose(inputs, now=LOCAL_NOW, passwords=Passwords(), catalogue=catalogue)
    crashed = [f for f in report.findings if f.status is Status.ERROR]
    assert [f.rule.id for f in crashed] == ["MTLS299"]
    assert crashed[0].error is not None
    assert crashed[0].error.startswith("TypeError: ")
    assert crashed[0].message is None
    others = {k: v for k, v in _by_rule(report.findings).items() if k != "MTLS299"}
    assert others == _by_rule(scenario_report(GOOD).findings), "the other rules give what they give without it"
    assert report.exit_status is ExitStatus.INTERNAL_ERROR


def test_a_crashing_lint_rule_is_an_error_finding_and_the_others_still_run(crashing_rules: Path) -> None:
    def lint(dirs: list[Path]) -> dict[str, Status]:
        catalogue = load_catalogue(dirs)
        report = lint_config("-", text=SERVER_BLOCK, read_files=False, now=LOCAL_NOW, catalogue=catalogue)
        assert len(report.servers) == 1
        crashed = any(f.status is Status.ERROR for f in report.findings)
        for fail_on in (None, *Severity):
            assert (report.exit_status(fail_on) is ExitStatus.INTERNAL_ERROR) is crashed, fail_on
        return _by_rule(report.findings)

    with_crash = lint([crashing_rules])
    assert with_crash.pop("MTLS799") is Status.ERROR
    assert with_crash == lint([])
    assert Status.ERROR not in with_crash.values()


def _rule(scope: str = "check", *, severity: str = "blocking") -> Rule:
    import tomllib  # noqa: PLC0415

    return parse_rule(tomllib.loads(rule_toml(scope, severity=severity)), "test")


@pytest.mark.parametrize(
    ("statuses", "unknown_verdict", "expected"),
    [
        pytest.param([("error", "info"), ("fail", "blocking")], False, ExitStatus.INTERNAL_ERROR, id="error>fail"),
        pytest.param([("error", "info"), ("not_evaluated", "blocking")], True, ExitStatus.INTERNAL_ERROR, id="error"),
        pytest.param([("fail", "blocking"), ("not_evaluated", "blocking")], True, ExitStatus.PROBLEMS_FOUND, id="fail"),
        pytest.param([("fail", "degraded"), ("pass", "blocking")], False, ExitStatus.OK, id="degraded-fail"),
        pytest.param([("not_evaluated", "blocking")], False, ExitStatus.INCOMPLETE, id="not-evaluated-blocking"),
        pytest.param([("not_evaluated", "advisory")], False, ExitStatus.OK, id="not-evaluated-advisory"),
        pytest.param([("pass", "blocking")], True, ExitStatus.INCOMPLETE, id="unknown-verdict"),
        pytest.param([("pass", "blocking"), ("not_applicable", "blocking")], False, ExitStatus.OK, id="ok"),
    ],
)
def test_exit_status_precedence(
    statuses: list[tuple[str, str]], *, unknown_verdict: bool, expected: ExitStatus
) -> None:
    """4 (a rule crashed) > 1 (blocking failure) > 3 (incomplete) > 0."""
    findings = [Finding(rule=_rule(severity=severity), status=Status(status)) for status, severity in statuses]
    assert exit_status_of(findings, unknown_verdict=unknown_verdict) is expected


def test_check_exits_4_when_a_rule_crashes(crashing_rules: Path) -> None:
    where = SAMPLE / "scenarios" / GOOD
    files = ("--cert", str(where / "client.pem"), "--key", str(where / "client.key"), "--ca", str(where / "ca.pem"))
    assert mtls("check", *files).returncode == ExitStatus.OK, "the scenario is good without the crashing rule"
    run = mtls("check", *files, "--rules", str(crashing_rules))
    assert run.returncode == ExitStatus.INTERNAL_ERROR, run.stdout + run.stderr
    assert "MTLS299 crashed: TypeError" in run.stdout
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("fail_on", ["blocking", "never"])
def test_lint_exits_4_when_a_rule_crashes(crashing_rules: Path, fail_on: str) -> None:
    assert mtls("lint", "-", "--fail-on", fail_on, stdin=SERVER_BLOCK).returncode != ExitStatus.INTERNAL_ERROR
    run = mtls("lint", "-", "--fail-on", fail_on, "--rules", str(crashing_rules), stdin=SERVER_BLOCK)
    assert run.returncode == ExitStatus.INTERNAL_ERROR, run.stdout + run.stderr
    assert "MTLS799" in run.stdout
    assert "Traceback" not in run.stderr
