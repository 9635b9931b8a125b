"""Differential test: every sample_pki scenario's server.conf is served by a real nginx on 127.0.0.1 and probed by a
real client (curl; openssl s_client for certificates curl refuses to send); blocks nginx refuses to start with are
seen by nginx -t. nginx's answer and info-level log must equal the twin's prediction, and the observation recorded
in MANIFEST.toml. A disagreement is a bug in the prediction.

Needs nginx (Debian nginx-light) and faketime: skipped with a reason outside CI when missing, failed under CI=true.
"""

from __future__ import annotations

import re

import pytest

from mtls_doctor.vocabulary import Outcome
from tests.conftest import SAMPLE, manifest, require_nginx, scenario_report
from tests.support import realnginx
from tests.support.realnginx import Observation

pytestmark = pytest.mark.nginx


@pytest.fixture(scope="session")
def observations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Observation]:
    """What the real nginx did with every scenario's server.conf (nginx -t on each; one nginx per server clock
    serving the blocks that start). Shared with test_nginx_check_differential: computed once per session."""
    require_nginx()
    scenarios = list(manifest().scenarios.values())
    return realnginx.observe_all(scenarios, SAMPLE.resolve(), lambda: tmp_path_factory.mktemp("nginx"))


def _names() -> list[str]:
    return list(manifest().scenarios)


def test_there_are_at_least_40_scenarios() -> None:
    assert len(_names()) >= 40


@pytest.mark.parametrize("name", _names())
def test_real_nginx_agrees_with_the_twin(name: str, observations: dict[str, Observation]) -> None:
    sc = manifest().scenarios[name]
    if sc.server_time is not None:
        realnginx.require_faketime()
    seen = observations[name]
    verdict = scenario_report(name).facts.verdict
    predicted_code = verdict.verify_error.code if verdict.verify_error and not verdict.forgiven else None

    assert seen.outcome is verdict.outcome, f"nginx: {seen}; twin: {verdict.outcome.value} ({verdict.reason})"
    assert seen.verify == predicted_code, f"nginx logged {seen.verify}, the twin predicts {predicted_code}"
    if verdict.http_status is not None:
        assert seen.status == verdict.http_status
    if seen.outcome is Outcome.REJECT and seen.status is not None:
        assert seen.reason == verdict.reason, "the 400 page differs"
    if seen.log_line is not None and not verdict.forgiven:
        assert seen.log_line == verdict.log_line, "the info-level log line differs"
    if seen.outcome is Outcome.SERVER_CONFIG_ERROR:
        assert verdict.reason is not None
        nginx_says = verdict.reason.split(" (SSL:")[0]
        assert nginx_says in seen.reason if seen.reason else False, f"nginx -t: {seen.reason}"
    if seen.outcome is Outcome.CLIENT_ERROR:
        assert verdict.reason is not None
        # curl's own words, as the twin quotes them (the path part aside).
        assert verdict.reason.split(":")[1].strip().split(" '")[0].split(" from ")[0] in seen.detail
        # OpenSSL's error by number (error:0A00018F:...), not by text
        assert re.findall(r"error:([0-9A-F]{8})", verdict.reason) == re.findall(r"error:([0-9A-F]{8})", seen.detail)
    if seen.permissive is not None or verdict.permissive is not None:
        assert seen.permissive is not None, f"the twin predicts for a permissive client: {verdict.permissive}"
        assert verdict.permissive is not None, f"s_client at level 0 met: {seen.permissive}"
        allowed = verdict.permissive
        assert seen.permissive.outcome is allowed.outcome, f"s_client: {seen.permissive}; twin: {allowed}"
        assert seen.permissive.status == allowed.http_status
        assert seen.permissive.verify == (allowed.verify_error.code if allowed.verify_error else None)
        assert seen.permissive.log_line == allowed.log_line


@pytest.mark.parametrize("name", _names())
def test_the_manifest_records_what_nginx_does(name: str, observations: dict[str, Observation]) -> None:
    """MANIFEST.toml's [expect] is documentation people read: it must stay true of the real nginx."""
    sc = manifest().scenarios[name]
    if sc.server_time is not None:
        realnginx.require_faketime()
    seen, expect = observations[name], sc.expect
    assert seen.outcome is expect.outcome, str(seen)
    assert seen.verify == expect.verify, str(seen)
    if expect.status is not None:
        assert seen.status == expect.status
    if seen.outcome is Outcome.REJECT and expect.reason is not None:
        assert expect.reason in (seen.reason or seen.log_line or ""), str(seen)
    assert (seen.permissive is None) is (expect.permissive is None)
    if seen.permissive is not None and expect.permissive is not None:
        assert seen.permissive.outcome is expect.permissive.outcome, str(seen.permissive)
        assert seen.permissive.verify == expect.permissive.verify, str(seen.permissive)
        assert seen.permissive.status == expect.permissive.status, str(seen.permissive)
