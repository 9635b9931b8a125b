"""The live probe against a real Apache httpd and a real HAProxy (issue 10 item 2): servers that reject a client
certificate with a TLS alert where nginx answers 400. One row per (server, cause, TLS version), as data
(tests/data/other_servers.toml): what the real curl got (the alert by number, or the HTTP status), what the server
logged, and what the probe reports: the alert decoded, when it came (TLS 1.3: after the handshake), its likely
causes ranked with the right one among the first, the root cause `check --connect` finds in the client's files, and
what `explain` says of curl's message and of the server's log line. Each server runs once, every configuration on
a port of its own; nothing is mocked.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mtls_doctor.diagnosis import Report
from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.exit_status import ExitStatus
from mtls_doctor.explain import explain
from mtls_doctor.inputs import Inputs
from mtls_doctor.live import client_credentials, connect_report
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.probe.alerts import NOT_NGINX, NOT_NGINX_NOTE, alert_name
from mtls_doctor.probe.handshake import Request
from tests.conftest import SAMPLE, catalogue, require_apache, require_haproxy
from tests.support import otherservers
from tests.support.otherservers import Running, Site

ROOT = SAMPLE.resolve()
SERVER_CA = ROOT / "certs" / "server-root.pem"
DATA: dict[str, Any] = tomllib.loads((Path(__file__).parent / "data" / "other_servers.toml").read_text())
SITES = [
    Site(
        name,
        ca=ROOT / "scenarios" / spec["ca"] / "ca.pem",
        crl=ROOT / "scenarios" / spec["crl"] / "crl.pem" if "crl" in spec else None,
        depth=spec.get("depth"),
        optional=spec.get("optional", False),
    )
    for name, spec in DATA["site"].items()
]
ROWS = [
    pytest.param(server, case, tls, id=f"{server}-{case['site']}-{case['client'] or 'no-cert'}-tls{tls}")
    for case in DATA["case"]
    for server in case["servers"]
    for tls in ("1.2", "1.3")
]
_RANKED = re.compile(r"\((\d+)\) (.*?)(?=; \(\d+\) |\.?$)")


@pytest.fixture(scope="module")
def apache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One Apache httpd serving every site of the data file until the module's tests are done."""
    require_apache()
    with otherservers.serve_apache(SITES, ROOT, tmp_path_factory.mktemp("apache")) as running:
        yield running


@pytest.fixture(scope="module")
def haproxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One HAProxy serving every site of the data file until the module's tests are done."""
    require_haproxy()
    with otherservers.serve_haproxy(SITES, ROOT, tmp_path_factory.mktemp("haproxy")) as running:
        yield running


def _client(case: dict[str, Any]) -> tuple[Path | None, Path | None]:
    if not case["client"]:
        return None, None
    where = ROOT / "scenarios" / case["client"]
    return where / "client.pem", where / "client.key"


def _logged(running: Running, offset: int, pattern: str) -> str:
    """The server's log after ``offset``, once it matches ``pattern`` (HAProxy writes its line when the connection
    closes; a second at most)."""
    deadline = time.monotonic() + 3
    while True:
        text = running.log_since(offset)
        if re.search(pattern, text) or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def _probe(running: Running, case: dict[str, Any], tls: str) -> Report:
    cert, key = _client(case)
    inputs = Inputs(cert=str(cert) if cert else None, key=str(key) if key else None)
    chain, signing = client_credentials(inputs, Passwords())
    request = Request(
        host="127.0.0.1", port=running.ports[case["site"]], sni="localhost", host_header="localhost",
        server_ca=str(SERVER_CA), chain=chain, key=signing, timeout=10,
        max_tls="TLSv1.2" if tls == "1.2" else None, min_tls="TLSv1.3" if tls == "1.3" else None,
    )  # fmt: skip
    return connect_report(inputs, request, now=lambda: datetime.now(UTC), passwords=Passwords(), catalogue=catalogue())


def ranked_causes(message: str) -> list[str]:
    """The probe's likely causes of an alert, most likely first, as MTLS921's message words them."""
    _, _, tail = message.partition("most likely first: ")
    return [m.group(2) for m in _RANKED.finditer(tail.partition(f". {NOT_NGINX_NOTE}")[0])]


@pytest.mark.parametrize(("server", "case", "tls"), ROWS)
def test_the_probe_explains_what_the_real_server_did(
    server: str, case: dict[str, Any], tls: str, request: pytest.FixtureRequest
) -> None:
    running: Running = request.getfixturevalue(server)
    seen = case[f"tls{tls.replace('.', '')}"]
    cert, key = _client(case)

    # 1. The real curl.
    offset = running.log_size()
    got = otherservers.curl(running.ports[case["site"]], cert, key, tls=tls, server_ca=SERVER_CA)
    assert got.exit_code == seen["curl"], f"curl: {got}"
    assert got.status == seen.get("status"), f"curl: {got}"
    if "alert" in seen and got.exit_code != 60:  # exit 60 hides the alert (tests/data/other_servers.toml)
        assert got.alert == seen["alert"], f"curl: {got}"
    pattern = case.get(f"{server}_log")
    if pattern is not None:
        log = _logged(running, offset, pattern)
        assert re.search(pattern, log), f"{server} did not log {pattern!r}:\n{log}"

    # 2. The probe (check --connect with the handshake as the only source of the server's settings).
    report = _probe(running, case, tls)
    facts = report.probe_facts
    assert facts is not None
    assert facts.alert == seen.get("alert"), f"probe: alert {facts.alert}, {facts.failure_detail}"
    assert facts.http_status == seen.get("status")
    alerted = [f for f in report.findings if f.rule.id == "MTLS921" and f.status is Status.FAIL]
    if "alert" not in seen:
        assert not alerted
        if seen["status"] == 200:  # served: nothing blocking, whatever a handshake cannot show
            assert report.exit_status is ExitStatus.OK, [(f.rule.id, f.status) for f in report.findings]
        return
    # TLS 1.3: the server's verdict arrives after the client's Finished, on the first read.
    assert facts.alert_after_handshake is (tls == "1.3")
    assert facts.alert_name == alert_name(seen["alert"])
    assert alerted, [f.rule.id for f in report.findings]
    message = alerted[0].message or ""
    assert f"sent alert {seen['alert']} ({alert_name(seen['alert'])})" in message
    # No HTTP answer, so no Server header: the probe cannot name the server, only say it is not nginx.
    assert (NOT_NGINX_NOTE in message) is (seen["alert"] in NOT_NGINX), message
    causes = ranked_causes(message)
    places = [i for i, text in enumerate(causes, 1) if case["cause"] in text]
    assert places, f"{case['cause']!r} is none of the probe's causes {causes}"
    assert places[0] <= case["rank"], f"{case['cause']!r} ranked {places[0]}: {causes}"
    if "root" in case:
        roots = [r.finding.rule.id for r in report.tree if r.finding.status is Status.FAIL]
        assert case["root"] in roots, roots

    # 3. explain, on what curl printed and on the server's log line.
    lines = [got.stderr] + ([_line(log, pattern)] if pattern is not None else [])
    for text in lines:
        found = explain(text, catalogue())
        assert found is not None, f"nothing explains {text!r}"
        ids = [r.id for r in found.rules]
        assert case["explains"] in ids, f"{text!r}: {case['explains']} not among {ids}"


def _line(log: str, pattern: str) -> str:
    """The line of ``log`` that ``pattern`` matches, as a person would paste it."""
    return next(line for line in log.splitlines() if re.search(pattern, line))


@pytest.mark.parametrize("server", ["apache", "haproxy"])
@pytest.mark.parametrize(("command", "tls"), [("probe", "1.2"), ("check", "1.3")])
def test_the_commands_name_the_alert_of_the_real_server(
    server: str, command: str, tls: str, request: pytest.FixtureRequest
) -> None:
    """`mtls-doctor probe` and `check --connect`, as a person runs them, on an expired client certificate: exit 1,
    the alert by number and name, its first cause, when it came, and that this is not nginx."""
    running: Running = request.getfixturevalue(server)
    where = ROOT / "scenarios" / "leaf-expired"
    target = f"localhost:{running.ports['required']}"
    files = ["--cert", str(where / "client.pem"), "--key", str(where / "client.key")]
    if command == "probe":
        argv = ["probe", target, *files, "--ca", str(SERVER_CA), "--tls1_2"]
    else:
        argv = ["check", "--connect", target, *files, "--tls", tls]
    run = subprocess.run(
        [sys.executable, "-m", "mtls_doctor", *argv], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 1, run.stdout + run.stderr
    text = " ".join(run.stdout.split())  # rich wraps long lines
    assert "TLS alert 45 certificate_expired" in text
    assert "(1) the client certificate or a CA of its chain has expired (10)" in text
    when = "after the handshake (TLS 1.3" if tls == "1.3" else "during the handshake"
    assert f"Alert from the server {when}" in text
    assert " ".join(NOT_NGINX_NOTE.split()) in text
    if command == "check":
        assert "MTLS101 leaf-expired" in text  # the cause, from the client's own certificate
