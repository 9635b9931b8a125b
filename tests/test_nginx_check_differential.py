"""Differential test of `check --nginx`: for every sample scenario, the CLI reading the scenario's own server block
(sample_pki/scenarios/<name>/server.conf, paths relative to the sample PKI's root, given as --prefix) predicts what a
real nginx started from that same block does: the outcome, the verify error it logs, the HTTP status, the 400 page
and the $ssl_client_verify of a served request. A block nginx refuses to start with must be predicted as
server_config_error carrying nginx's own [emerg] text, as `nginx -t` prints it on that block.

The real nginx's observations are shared with test_nginx_differential (computed once per session, see
tests/support/realnginx.observe_all). The CLI is told which nginx ran (--nginx-v with the real `nginx -V`), so the
prediction is for the binary observed. A disagreement is a bug in the prediction.

Needs nginx and faketime: skipped with a reason outside CI when missing, failed under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mtls_doctor.samplepki.manifest import Scenario
from mtls_doctor.samplepki.write import SERVER_CONF, scenario_files, server_conf
from mtls_doctor.vocabulary import Outcome
from tests.conftest import REPO, SAMPLE, manifest, require_nginx
from tests.support import realnginx
from tests.support.realnginx import Observation

pytestmark = pytest.mark.nginx

ROOT = SAMPLE.resolve()


@pytest.fixture(scope="session")
def observations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Observation]:
    """What the real nginx did with every scenario's server.conf (shared with test_nginx_differential)."""
    require_nginx()
    scenarios = list(manifest().scenarios.values())
    return realnginx.observe_all(scenarios, ROOT, lambda: tmp_path_factory.mktemp("nginx"))


def check_argv(sc: Scenario, *extra: str) -> list[str]:
    """`mtls-doctor check` for the scenario's client against the scenario's server.conf, as JSON."""
    files = scenario_files(sc)
    where = ROOT / "scenarios" / sc.name
    argv = [sys.executable, "-m", "mtls_doctor", "check"]
    if files.cert:
        argv += ["--cert", str(where / files.cert)]
    if files.key:
        argv += ["--key", str(where / files.key)]
    if files.chain:
        argv += ["--chain", str(where / files.chain)]
    if sc.client_tool != "curl":
        argv += ["--client", sc.client_tool]
    for place in sc.issuers:
        argv += ["--issuers", str(ROOT / place)]
    argv += ["--nginx", str(where / SERVER_CONF), "--prefix", str(ROOT), "--format", "json", *extra]
    if sc.server_time is not None:
        argv += ["--at", sc.server_time.strftime("%Y-%m-%dT%H:%M:%SZ")]
    return argv


def run_cli(argv: list[str]) -> dict[str, Any]:
    """The CLI's JSON report, with the process's exit status under ``exit_code_seen``; for a run that prints no
    JSON, ``{"no_json": what it printed instead}`` (that scenario's tests fail, not every test)."""
    run = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    try:
        report: dict[str, Any] = json.loads(run.stdout)
    except json.JSONDecodeError:
        said = run.stderr.strip() or run.stdout[:500]
        return {"no_json": f"{' '.join(argv[2:])}: exit {run.returncode}: {said}"}
    report["exit_code_seen"] = run.returncode
    return report


def _report(predictions: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    report = predictions[name]
    assert "no_json" not in report, report.get("no_json")
    return report


@pytest.fixture(scope="session")
def nginx_v(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real nginx's `nginx -V 2>&1`, in a file for --nginx-v."""
    binary = require_nginx()
    out = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=30, check=True)
    path = tmp_path_factory.mktemp("nginx-V") / "nginx-V.txt"
    path.write_text(out.stdout + out.stderr)
    return path


@pytest.fixture(scope="session")
def predictions(nginx_v: Path) -> dict[str, dict[str, Any]]:
    """`check --nginx` on every scenario, run concurrently (each run is a fresh interpreter)."""
    scenarios = list(manifest().scenarios.values())
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        reports = pool.map(lambda sc: run_cli(check_argv(sc, "--nginx-v", str(nginx_v))), scenarios)
        return dict(zip((sc.name for sc in scenarios), reports, strict=True))


def _names() -> list[str]:
    return list(manifest().scenarios)


def test_each_server_conf_is_what_the_manifest_writes() -> None:
    """The files nginx serves and the CLI reads are the manifest's (`sample_pki/build.py --check` proves all files)."""
    m = manifest()
    for sc in m.scenarios.values():
        assert (ROOT / "scenarios" / sc.name / SERVER_CONF).read_text() == server_conf(sc, m.server_cert), sc.name


@pytest.mark.parametrize("name", _names())
def test_check_nginx_predicts_the_real_nginx(
    name: str, observations: dict[str, Observation], predictions: dict[str, dict[str, Any]]
) -> None:
    sc = manifest().scenarios[name]
    if sc.server_time is not None:
        realnginx.require_faketime()
    seen = observations[name]
    report = _report(predictions, name)
    verdict = report["verdict"]
    error = verdict["verify_error"]
    predicted_code = error["code"] if error and not verdict["forgiven"] else None
    said = f"nginx: {seen}; check --nginx: {json.dumps(verdict)}"

    assert verdict["outcome"] == seen.outcome.value, said
    assert predicted_code == seen.verify, said
    assert verdict["http_status"] == seen.status, said
    if seen.outcome is Outcome.REJECT and seen.status is not None:
        assert verdict["reason"] == seen.reason, f"the 400 page differs: {said}"
    if seen.log_line is not None and not verdict["forgiven"]:
        assert verdict["log_line"] == seen.log_line, f"the info-level log line differs: {said}"
    if seen.outcome is Outcome.ACCEPT:
        assert verdict["ssl_client_verify"] == seen.client_verify, f"the page's $ssl_client_verify differs: {said}"
        # the block's lint findings join the client's: none of them may claim a client nginx serves is refused
        blocking = [f["rule"] for f in report["findings"] if f["status"] == "fail" and f["severity"] == "blocking"]
        assert not blocking, f"nginx serves the client, yet blocking findings: {blocking}"
    if seen.outcome is Outcome.SERVER_CONFIG_ERROR:
        assert seen.reason, f"nginx -t failed without an [emerg] line: {seen.detail}"
        assert seen.reason in (verdict["reason"] or ""), f"nginx -t says {seen.reason!r}: {said}"
    if seen.outcome is Outcome.CLIENT_ERROR:
        assert verdict["reason"], said
        # curl's own words, as the prediction quotes them (the path part aside).
        assert verdict["reason"].split(":")[1].strip().split(" '")[0].split(" from ")[0] in seen.detail, said
        # OpenSSL's error by number (error:0A00018F:...), not by text
        assert re.findall(r"error:([0-9A-F]{8})", verdict["reason"]) == re.findall(r"error:([0-9A-F]{8})", seen.detail)
    allowed = verdict["permissive"]
    assert (allowed is None) is (seen.permissive is None), f"s_client at level 0: {seen.permissive}; {said}"
    if allowed is not None and seen.permissive is not None:
        error = allowed["verify_error"]
        assert allowed["outcome"] == seen.permissive.outcome.value, said
        assert allowed["http_status"] == seen.permissive.status, said
        assert (error["code"] if error else None) == seen.permissive.verify, said
        assert allowed["log_line"] == seen.permissive.log_line, said


@pytest.mark.parametrize("name", _names())
def test_check_nginx_reads_the_block_nginx_was_started_from(name: str, predictions: dict[str, dict[str, Any]]) -> None:
    """The verdict is about the scenario's server.conf, for the nginx -V given, with nothing assumed: the real
    nginx is the one the observations were made with (1.22, OpenSSL 3.0), or the assumption is named."""
    report = _report(predictions, name)
    assert report["exit_code_seen"] == report["exit_code"]
    origin = report["nginx"]["origin"]
    assert Path(origin["source"]).resolve() == ROOT / "scenarios" / name / SERVER_CONF
    assert report["nginx"]["version_assumed"] is False
    version = tuple(int(x) for x in report["nginx"]["version"].split(".")[:2])
    if version == (1, 22):
        assert report["assumptions"] == []
    else:
        assert any("documentation" in a for a in report["assumptions"]), report["assumptions"]


def test_a_block_that_stops_nginx_stops_the_block_being_checked(nginx_v: Path, tmp_path: Path) -> None:
    """nginx starts all server blocks or none: a sound block is still refused when another block of the same
    configuration stops nginx. Here the other block listens without ssl but has a certificate, so nginx builds its
    SSL context and checks its ssl_verify_client (observed: nginx -t refuses it)."""
    sound = (ROOT / "scenarios" / "good-chain" / SERVER_CONF).read_text()
    broken = (
        "server {\n    listen 8444;\n    server_name other;\n    ssl_certificate certs/localhost.pem;\n"
        "    ssl_certificate_key keys/localhost.key;\n    ssl_verify_client on;\n}\n"
    )
    block = f"{sound}\n{broken}"
    tested = realnginx.config_test_block(block, ROOT, tmp_path / "nginx")
    assert not tested.starts, tested.output
    assert tested.emerg, tested.output
    conf = tmp_path / "two-blocks.conf"
    conf.write_text(block)
    sc = manifest().scenarios["good-chain"]
    argv = [arg if arg != str(ROOT / "scenarios" / "good-chain" / SERVER_CONF) else str(conf) for arg in check_argv(sc)]
    report = run_cli([*argv, "--server", "localhost", "--listen", "8443", "--nginx-v", str(nginx_v)])
    assert "no_json" not in report, report.get("no_json")
    verdict = report["verdict"]
    assert verdict["outcome"] == Outcome.SERVER_CONFIG_ERROR.value, verdict
    assert tested.emerg in verdict["reason"], (tested.output, verdict)
    assert "other" in verdict["reason"], "the reason names the block that stops nginx"
