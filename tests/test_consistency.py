"""The static rules and the server twin must tell the same story on every scenario.

The twin (OpenSSL itself, configured like nginx) decides the verdict; the rules name the causes. If a rule predicts
an error the twin never raised, or nginx would log an error no rule accounts for, one of them is wrong.
"""

from __future__ import annotations

import pytest

from mtls_doctor.engine.ranking import rank
from mtls_doctor.engine.vocabulary import Severity, Stage, Status
from mtls_doctor.exit_status import ExitStatus
from mtls_doctor.vocabulary import Outcome
from tests.conftest import manifest, scenario_report


def _names() -> list[str]:
    return list(manifest().scenarios)


@pytest.mark.parametrize("name", _names())
def test_verdict_matches_what_nginx_was_observed_to_do(name: str) -> None:
    expect = manifest().scenarios[name].expect
    verdict = scenario_report(name).facts.verdict
    assert verdict.outcome is expect.outcome, verdict
    if expect.status is not None:
        assert verdict.http_status == expect.status
    logged = verdict.verify_error.code if verdict.verify_error and not verdict.forgiven else None
    assert logged == expect.verify
    if expect.reason:
        assert verdict.reason is not None
        assert expect.reason in verdict.reason


@pytest.mark.parametrize("name", _names())
def test_the_first_root_cause_is_the_one_the_manifest_records(name: str) -> None:
    """The cause a person fixes first is the one the scenario was built for (MANIFEST.toml's ``cause``); no
    ``cause`` means no rule fails."""
    first = next((r.finding for r in rank(scenario_report(name).findings) if r.finding.status is Status.FAIL), None)
    assert (first.rule.id if first else None) == manifest().scenarios[name].cause, first.message if first else None


@pytest.mark.parametrize("name", _names())
def test_the_logged_error_has_a_named_cause(name: str) -> None:
    report = scenario_report(name)
    verdict = report.facts.verdict
    if verdict.verify_error is None or verdict.forgiven:
        return
    causes = [
        f for f in report.findings if f.status is Status.FAIL and f.logged and f.rule.stage is not Stage.HANDSHAKE
    ]
    assert causes, f"nginx logs {verdict.verify_error.code} but no rule names the cause"


@pytest.mark.parametrize("name", _names())
def test_every_predicted_cause_is_confirmed_by_the_twin(name: str) -> None:
    for f in scenario_report(name).findings:
        if f.status is Status.FAIL and f.confirmed is False:
            pytest.fail(f"{f.rule.id} predicts {f.rule.predicts} but the twin raised none of them")


@pytest.mark.parametrize("name", _names())
def test_blocking_findings_if_and_only_if_the_client_is_refused(name: str) -> None:
    report = scenario_report(name)
    outcome = report.facts.verdict.outcome
    blocking = [f for f in report.findings if f.status is Status.FAIL and f.severity is Severity.BLOCKING]
    if outcome is Outcome.ACCEPT:
        assert not blocking, [f.rule.id for f in blocking]
    else:
        causes = [f for f in blocking if f.rule.stage is not Stage.HANDSHAKE]
        assert causes, f"{outcome.value} without a blocking cause"


@pytest.mark.parametrize("name", _names())
def test_a_forgiven_failure_names_its_cause_first(name: str) -> None:
    """Under optional_no_ca the cause of $ssl_client_verify = FAILED:... is the first root cause (issue 9): above an
    expiry coming up or the advertised names; degraded, not blocking (nginx serves the request), with what
    optional_no_ca makes of it (MTLS604) folded under it, and a message that says what nginx does: it serves the
    request and logs nothing, never "nginx logs 20" or "answers 400"."""
    report = scenario_report(name)
    if report.facts.verdict.forgiven is not True:
        return
    first = next(r for r in rank(report.findings) if r.finding.status is Status.FAIL)
    cause = first.finding
    assert cause.severity is Severity.DEGRADED, cause.rule.id
    assert cause.decides, f"{cause.rule.id} does not predict the forgiven error {report.facts.verdict.verify_error}"
    assert not any(f.logged for f in report.findings), "nginx logs nothing when optional_no_ca forgives"
    assert report.exit_status is ExitStatus.OK
    if cause.rule.id == "MTLS604":
        return  # no rule names a more precise cause: MTLS604's message names it in words (forgiven_cause)
    assert "MTLS604" in [f.rule.id for f in first.explains], [f.rule.id for f in first.explains]
    assert cause.grade_why is not None
    message = cause.message or ""
    assert f"$ssl_client_verify = {report.facts.verdict.ssl_client_verify}" in message, message
    for contradiction in ("nginx logs", "answers 400", "nginx rejects", "is rejected"):
        assert contradiction not in message, message


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("optional-no-ca-untrusted", "The client's CA CN=Other Root CA,O=Other Org is not in the server's trust store"),
        ("optional-no-ca-untrusted-expires-soon", "The client's CA CN=Other Root CA,O=Other Org is not in"),
        ("optional-no-ca-depth-overflow", "The chain has 2 intermediate CA(s), more than ssl_verify_depth 1 admits"),
    ],
)
def test_the_forgiven_consequence_names_the_cause_in_words(name: str, cause: str) -> None:
    """MTLS604, seen under the cause, still says in words what made $ssl_client_verify FAILED (for JSON readers and
    for the failures no rule names)."""
    found = next(f for f in scenario_report(name).findings if f.rule.id == "MTLS604")
    assert found.status is Status.FAIL
    assert found.message is not None
    assert found.message.startswith(cause), found.message
