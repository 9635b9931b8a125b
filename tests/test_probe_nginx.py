"""The live probe against a real nginx (issue 10): every sample scenario served by ONE nginx on 127.0.0.1 ephemeral
ports, with the page that shows $ssl_client_verify replaced by a plain "ok" (the probe must not read the verdict
off the page). For each scenario `check --connect` must report the outcome, HTTP status and page curl gets, and with
`--nginx` too the same root cause as the offline `check --nginx`, the prediction agreeing with the observation.
The server clock scenarios run under Debian's faketime (behind: not yet valid; ahead: expired). The rules' live
examples run here too. Real nginx, real curl, real TLS: nothing is mocked.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mtls_doctor.diagnosis import Report
from mtls_doctor.engine.findings import Finding
from mtls_doctor.engine.schema import Example, Rule, Scope
from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.exit_status import ExitStatus
from mtls_doctor.inputs import Inputs
from mtls_doctor.live import client_credentials, connect_report
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.probe.commands import curl as curl_command
from mtls_doctor.probe.commands import s_client
from mtls_doctor.probe.handshake import Observation, Request
from mtls_doctor.record import replace
from mtls_doctor.samplepki.manifest import Scenario
from mtls_doctor.samplepki.write import SERVER_CONF, scenario_files
from mtls_doctor.serverblock import check_nginx
from mtls_doctor.vocabulary import UNKNOWN, ClientModel, Outcome, Unknown, VerifyClient
from tests.conftest import SAMPLE, catalogue, manifest, require_nginx
from tests.support import probe_servers, realnginx

pytestmark = pytest.mark.nginx

ROOT = SAMPLE.resolve()
SERVER_CA = ROOT / "certs" / "server-root.pem"
_VERDICT_PAGE = re.compile(r'return 200 "verify=\$ssl_client_verify\\n";')
_TITLE = re.compile(rb"<title>\d+ ([^<]*)</title>")


def strip_verdict(block: str) -> str:
    """The served block without the page that shows $ssl_client_verify (the issue's "verdict bodies removed")."""
    stripped = _VERDICT_PAGE.sub('return 200 "ok\\\\n";', block)
    assert stripped != block, "the scenario's page changed: update strip_verdict"
    return stripped


class Live:
    """One scenario served and probed: curl's answer, and the reports of check --connect without and with --nginx."""

    def __init__(self, sc: Scenario, port: int) -> None:
        self.sc, self.port = sc, port
        self.curl: tuple[int | None, str | None, str] = (None, None, "")
        self.inferred: Report | None = None
        self.configured: Report | None = None
        self.offline: Report | None = None
        self.error: str | None = None
        self.log: Path | None = None
        """nginx's error log of this scenario's server (info level)."""


def scenario_inputs(sc: Scenario) -> Inputs:
    files = scenario_files(sc)
    where = ROOT / "scenarios" / sc.name
    return Inputs(
        cert=str(where / files.cert) if files.cert else None,
        key=str(where / files.key) if files.key else None,
        chain=str(where / files.chain) if files.chain else None,
    )


def request_for(sc: Scenario, port: int, client: ClientModel = ClientModel.CURL) -> Request:
    chain, key = client_credentials(scenario_inputs(sc), Passwords())
    return Request(
        host="127.0.0.1", port=port, sni="localhost", host_header="localhost", server_ca=str(SERVER_CA),
        chain=chain, key=key, client=client, timeout=10,
    )  # fmt: skip


def nginx_pipeline(sc: Scenario, now: datetime) -> Callable[[Inputs, Observation | None], Report]:
    def run(inputs: Inputs, observation: Observation | None) -> Report:
        return check_nginx(
            inputs,
            str(ROOT / "scenarios" / sc.name / SERVER_CONF),
            now=now,
            passwords=Passwords(),
            catalogue=catalogue(),
            prefix=ROOT,
            observation=observation,
        )

    return run


def curl(sc: Scenario, port: int) -> tuple[int | None, str | None, str]:
    files = scenario_files(sc)
    where = ROOT / "scenarios" / sc.name
    argv = ["curl", "-sS", "--cacert", str(SERVER_CA), "--resolve", f"localhost:{port}:127.0.0.1", "--max-time", "10"]
    if files.cert and files.key:
        cert = where / files.cert
        if files.chain:
            bundle = Path(shutil.os.environ.get("TMPDIR", "/tmp")) / f"mtls-probe-{sc.name}-{port}.pem"  # type: ignore[attr-defined]
            bundle.write_bytes(cert.read_bytes() + (where / files.chain).read_bytes())
            cert = bundle
        argv += ["--cert", str(cert), "--key", str(where / files.key)]
    argv += ["-o", "-", "-w", "\n%{http_code}", f"https://localhost:{port}/"]
    run = subprocess.run(argv, capture_output=True, timeout=20, check=False)
    if run.returncode != 0:
        return None, None, f"curl exit {run.returncode}: {run.stderr.decode(errors='replace').strip()}"
    body, _, code = run.stdout.rpartition(b"\n")
    title = _TITLE.search(body)
    return int(code), title.group(1).decode() if title else None, f"curl {int(code)}"


def _probe_one(live: Live) -> Live:
    sc, now = live.sc, datetime.now(UTC)
    try:
        live.curl = curl(sc, live.port)
        inputs = scenario_inputs(sc)
        live.inferred = connect_report(
            inputs, request_for(sc, live.port), now=lambda: datetime.now(UTC), passwords=Passwords(),
            catalogue=catalogue(),
        )  # fmt: skip
        pipeline = nginx_pipeline(sc, now)
        live.configured = connect_report(
            inputs, request_for(sc, live.port), now=lambda: datetime.now(UTC), passwords=Passwords(),
            catalogue=catalogue(), with_config=pipeline,
        )  # fmt: skip
        at = live.configured.inputs.at
        live.offline = pipeline(Inputs(cert=inputs.cert, key=inputs.key, chain=inputs.chain, at=at), None)
    except Exception as exc:  # noqa: BLE001 - one scenario's failure is that scenario's test failure
        live.error = f"{type(exc).__name__}: {exc}"
    return live


def _servable() -> list[Scenario]:
    return [sc for sc in manifest().scenarios.values() if sc.client_tool == "curl"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Live]]:
    """Every curl scenario nginx starts with, served by one nginx per server clock (running until the module's
    tests are done: the live examples probe again) and probed concurrently."""
    require_nginx()
    work = tmp_path_factory.mktemp("probe-nginx")
    scenarios = _servable()
    tested = realnginx.config_tests(scenarios, ROOT, work)
    starting = [sc for sc in scenarios if tested[sc.name].starts]
    results: dict[str, Live] = {}
    clocks: dict[datetime | None, list[Scenario]] = {}
    for sc in starting:
        clocks.setdefault(sc.server_time, []).append(sc)
    # Under faketime one nginx at a time: two faketime'd nginx running at once were both seen with the real clock.
    # The nginx of the real clock keeps running for the tests (live examples probe it again).
    with ExitStack() as stack:
        for clock, group in sorted(clocks.items(), key=lambda item: item[0] is None):
            if clock is not None:
                realnginx.require_faketime()
                context = realnginx.serve(group, ROOT, work, server_time=clock, rewrite=strip_verdict)
            else:
                context = stack.enter_context(_kept(realnginx.serve(group, ROOT, work, rewrite=strip_verdict)))
            with context as running, ThreadPoolExecutor(max_workers=8) as pool:
                lives = [Live(sc, running.ports[sc.name]) for sc in group]
                for live in lives:
                    live.log = running.logs[live.sc.name]
                for live in pool.map(_probe_one, lives):
                    results[live.sc.name] = live
        yield results


@contextmanager
def _kept(context: Any) -> Iterator[Any]:
    """Enter ``context`` now and give back a context whose exit does nothing (the ExitStack exits it later)."""
    value = context.__enter__()
    try:
        yield nullcontext(value)
    finally:
        context.__exit__(None, None, None)


def _names() -> list[str]:
    """The scenarios whose server nginx starts with, as the manifest records it (a block nginx refuses is check
    --nginx's case: tests/test_nginx_check_differential.py)."""
    return [sc.name for sc in _servable() if sc.expect.outcome is not Outcome.SERVER_CONFIG_ERROR]


def _live(served: dict[str, Live], name: str) -> Live:
    assert name in served, f"{name}: the manifest says nginx starts with this block, but nginx -t refuses it"
    live = served[name]
    assert live.error is None, live.error
    return live


@pytest.mark.parametrize("name", _names())
def test_connect_reports_what_curl_gets(served: dict[str, Live], name: str) -> None:
    live = _live(served, name)
    assert live.inferred is not None
    status, page, detail = live.curl
    verdict = live.inferred.facts.verdict
    assert verdict.http_status == status, f"{name}: probe {verdict.http_status}, {detail}"
    if status == 200:
        assert verdict.outcome is Outcome.ACCEPT
    elif status == 400:
        assert verdict.outcome is Outcome.REJECT
        assert verdict.reason == page, f"{name}: probe says {verdict.reason!r}, curl got {page!r}"


@pytest.mark.parametrize("name", _names())
def test_a_server_that_answers_has_started(served: dict[str, Live], name: str) -> None:
    """A server that answered the handshake started with its configuration: nothing nginx checks at start-up (an
    unusable CA, trusted or CRL file) is left unknown, so a request it served exits 0, not 3 (incomplete)."""
    live = _live(served, name)
    assert live.inferred is not None
    server = live.inferred.facts.server
    assert server is not None
    if live.inferred.facts.probe is None or live.inferred.facts.probe.protocol is None:
        # the probe never reached the server (its client refused first, as curl does): nothing was seen running,
        # so whether its files load stays unknown (a handshake never shows ssl_trusted_certificate)
        assert server.answered is False
        assert server.trusted_file_problem is UNKNOWN
        return
    assert server.trusted_file_problem is None  # it started: the file, whatever it holds, loaded
    assert server.answered is True
    startup = [
        f.rule.id
        for f in live.inferred.findings
        if "MTLS904" in f.rule.explains and f.status is not Status.NOT_APPLICABLE
    ]
    assert startup == [], f"{name}: {startup}"
    answered = live.curl[0] == 200 and live.inferred.inputs.cert is not None  # without a client, much is unknown
    if answered and not any(f.status is Status.FAIL for f in live.inferred.findings):
        assert live.inferred.exit_status is ExitStatus.OK, [
            (f.rule.id, f.unknown) for f in live.inferred.findings if f.status is Status.NOT_EVALUATED
        ]


def _root(report: Report) -> str | None:
    return next((r.finding.rule.id for r in report.tree if r.finding.status is Status.FAIL), None)


@pytest.mark.parametrize("name", _names())
def test_connect_with_nginx_finds_the_offline_root_cause(served: dict[str, Live], name: str) -> None:
    live = _live(served, name)
    assert live.configured is not None
    assert live.offline is not None
    probe = live.configured.facts.probe
    assert probe is not None
    assert probe.prediction_disagrees is not True, f"{name}: predicted {probe.predicted}, observed {probe.observed}"
    ids = {f.rule.id for f in live.configured.findings if f.status is Status.FAIL}
    offline_root = _root(live.offline)
    assert offline_root is None or offline_root in ids, f"{name}: offline root {offline_root}, live {sorted(ids)}"
    assert (
        live.configured.facts.verdict.verify_error
        == (live.offline.facts.verdict.verify_error if live.configured.facts.verdict.http_status == 400 else None)
        or live.configured.facts.verdict.reason != "The SSL certificate error"
    )


@pytest.mark.parametrize("name", ["server-clock-behind", "server-clock-ahead"])
def test_clock_skew_is_found_against_a_faketime_nginx(served: dict[str, Live], name: str) -> None:
    live = _live(served, name)
    assert live.inferred is not None
    probe = live.inferred.facts.probe
    assert probe is not None
    assert probe.clock_skew_seconds is not None
    finding = _finding(live.inferred, "MTLS109")
    assert finding.status is Status.FAIL, (probe.server_date, probe.clock_skew_seconds, live.inferred.facts.clock)
    behind = name.endswith("behind")
    assert (probe.clock_skew_seconds < 0) is behind
    assert bool(probe.server_sees_not_yet_valid) is behind
    assert bool(probe.server_sees_expired) is not behind
    assert _finding(live.inferred, "MTLS108").status is Status.FAIL


def _finding(report: Report, rule_id: str) -> Finding:
    return next(f for f in report.findings if f.rule.id == rule_id)


def _live_examples() -> list[Any]:
    cases = []
    for rule in catalogue().of_scope(Scope.CHECK, Scope.SERVER):
        for example in (e for e in rule.examples if e.live):
            cases.append(pytest.param(rule, example, id=f"{rule.id}:{example.target}->{example.expect.value}"))
    return cases


@pytest.mark.parametrize(("rule", "example"), _live_examples())
def test_live_rule_example(served: dict[str, Live], tmp_path: Path, rule: Rule, example: Example) -> None:
    report = _example_report(served, tmp_path, example)
    finding = _finding(report, rule.id)
    assert finding.status is example.expect, (
        f"{rule.id} on {example.target}: {finding.status.value}, expected {example.expect.value}"
        f" ({finding.message or finding.error or finding.unknown})"
    )
    if example.expect is Status.FAIL:
        assert finding.message


def _example_report(served: dict[str, Live], tmp_path: Path, example: Example) -> Report:
    if not example.target.startswith("fixture:"):
        live = _live(served, example.target)
        client = ClientModel(example.client or "curl")
        if client is ClientModel.CURL:
            assert live.inferred is not None
            return live.inferred
        return connect_report(
            scenario_inputs(live.sc), request_for(live.sc, live.port, client), now=lambda: datetime.now(UTC),
            passwords=Passwords(), catalogue=catalogue(),
        )  # fmt: skip
    fixture = example.target.removeprefix("fixture:")
    return FIXTURES[fixture](served, tmp_path)


def _strict_server(_served: dict[str, Live], _tmp: Path) -> Report:
    with probe_servers.listening(probe_servers.strict()) as port:
        request = Request(host="127.0.0.1", port=port, sni="localhost", host_header="localhost", timeout=5)
        return connect_report(
            Inputs(), request, now=lambda: datetime.now(UTC), passwords=Passwords(), catalogue=catalogue()
        )


def _compared(served_name: str, config_name: str) -> Callable[[dict[str, Live], Path], Report]:
    """check --connect against the server of ``served_name`` with --nginx of ``config_name``'s block, as its client."""

    def run(served: dict[str, Live], _tmp: Path) -> Report:
        live = _live(served, served_name)
        sc = manifest().scenarios[config_name]
        return connect_report(
            scenario_inputs(sc), request_for(sc, live.port), now=lambda: datetime.now(UTC), passwords=Passwords(),
            catalogue=catalogue(), with_config=nginx_pipeline(sc, datetime.now(UTC)),
        )  # fmt: skip

    return run


def _misdirected(_served: dict[str, Live], tmp_path: Path) -> Report:
    """Two server blocks on one port; SNI names the one that does not verify, Host the one that does: nginx answers
    421 (ngx_http_set_virtual_server: the Host's server has ssl_verify_client on, and differs from the SNI's)."""
    require_nginx()
    block = (ROOT / "scenarios" / "good-chain" / SERVER_CONF).read_text()
    other = block.replace("server_name localhost;", "server_name other.example;").replace(
        "ssl_verify_client on;", "ssl_verify_client off;"
    )
    with realnginx.serve_blocks([block, other], ROOT, tmp_path, ["good-chain"]) as port:
        sc = manifest().scenarios["good-chain"]
        request = request_for(sc, port)
        request = replace(request, sni="other.example", host_header="localhost")
        return connect_report(
            scenario_inputs(sc), request, now=lambda: datetime.now(UTC), passwords=Passwords(), catalogue=catalogue()
        )


FIXTURES: dict[str, Callable[[dict[str, Live], Path], Report]] = {
    "alert-116": _strict_server,
    "disagree": _compared("verify-client-off", "no-client-cert"),
    "agree": _compared("good-chain", "good-chain"),
    "nginx-421": _misdirected,
}
"""The live examples that no sample scenario serves (rules' ``live = "fixture:NAME"``)."""


@pytest.mark.parametrize("client", [ClientModel.GO, ClientModel.JAVA, ClientModel.BROWSER])
def test_a_filtering_client_sends_an_empty_certificate_and_gets_no_required_certificate(
    served: dict[str, Live], client: ClientModel
) -> None:
    """The chain (leaf only) reaches no advertised name: Go, Java and browsers send nothing, where curl is refused
    with 400 "The SSL certificate error" (test_connect_reports_what_curl_gets)."""
    live = _live(served, "seed-missing-intermediate")
    report = connect_report(
        scenario_inputs(live.sc), request_for(live.sc, live.port, client), now=lambda: datetime.now(UTC),
        passwords=Passwords(), catalogue=catalogue(),
    )  # fmt: skip
    assert report.observation is not None
    assert report.observation.certificates_sent == 0
    assert report.observation.withheld
    assert report.facts.verdict.http_status == 400
    assert report.facts.verdict.reason == "No required SSL certificate was sent"
    assert report.facts.server.verify_client is VerifyClient.ON, "an EMPTY Certificate answered 400: the mode is on"


@pytest.mark.parametrize("name", ["good-chain", "good-separate-chain-file", "no-client-cert"])
def test_the_equivalent_commands_run_as_written(served: dict[str, Live], name: str) -> None:
    """The printed `openssl s_client` and `curl` commands, run by a shell as printed, get the page the probe got."""

    live = _live(served, name)
    inputs = scenario_inputs(live.sc)
    request = replace(request_for(live.sc, live.port), host="localhost")  # curl's --resolve is not needed then
    assert live.inferred is not None
    status = live.inferred.facts.verdict.http_status
    for command in (s_client(request, inputs), curl_command(request, inputs)):
        run = subprocess.run(["sh", "-c", command], capture_output=True, timeout=20, check=False)
        assert f"HTTP/1.1 {status} ".encode() in run.stdout, (command, run.stdout[-300:])


def test_the_probe_connects_to_the_named_target_only(served: dict[str, Live]) -> None:
    """An audit hook fails every connection but to the target: not the AIA, OCSP or CRL URLs of a certificate, not
    an upstream of a configuration (the sample certificates carry OCSP URLs)."""
    live = _live(served, "ocsp-no-responder-url" if "ocsp-no-responder-url" in served else "good-chain")
    seen: list[object] = []
    armed = {"on": True}

    def hook(event: str, args: tuple[object, ...]) -> None:
        if armed["on"] and event in ("socket.connect", "socket.getaddrinfo"):
            seen.append(args[1] if event == "socket.connect" else args[:2])

    sys.addaudithook(hook)  # an audit hook cannot be removed: it is disarmed after the test instead
    try:
        connect_report(
            scenario_inputs(live.sc), request_for(live.sc, live.port), now=lambda: datetime.now(UTC),
            passwords=Passwords(), catalogue=catalogue(), with_config=nginx_pipeline(live.sc, datetime.now(UTC)),
        )  # fmt: skip
    finally:
        armed["on"] = False
    connects = [a for a in seen if isinstance(a, tuple) and len(a) == 2 and isinstance(a[1], int)]
    assert connects, "the hook saw no connection at all"
    assert all(a in (("127.0.0.1", live.port), ("127.0.0.1", 0)) or a[1] == live.port for a in connects), connects


def test_several_targets_are_probed_concurrently_with_one_table(served: dict[str, Live]) -> None:
    names = ["good-chain", "no-client-cert", "seed-missing-intermediate"]
    lives = [_live(served, n) for n in names]
    sc = lives[0].sc
    files = scenario_files(sc)
    where = ROOT / "scenarios" / sc.name
    argv = [sys.executable, "-m", "mtls_doctor", "probe", *(f"127.0.0.1:{lv.port}" for lv in lives)]
    argv += ["--sni", "localhost", "--ca", str(SERVER_CA), "--cert", str(where / str(files.cert))]
    argv += ["--key", str(where / str(files.key))]
    run = subprocess.run([*argv, "--format", "json"], capture_output=True, text=True, timeout=60, check=False)
    document = json.loads(run.stdout)
    assert document["schema_version"] == 1
    statuses = [t["verdict"]["http_status"] for t in document["targets"]]
    assert statuses == [200, 200, 200], statuses  # one client (good-chain's) against three servers that trust it
    table = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, env={"COLUMNS": "200"})
    assert "Probed targets" in table.stdout
    assert table.stdout.count("accept") == 3, table.stdout


def test_check_connect_json_has_the_verdict_fields(served: dict[str, Live]) -> None:
    live = _live(served, "seed-missing-intermediate")
    files = scenario_files(live.sc)
    where = ROOT / "scenarios" / live.sc.name
    argv = [sys.executable, "-m", "mtls_doctor", "check", "--connect", f"127.0.0.1:{live.port}", "--sni", "localhost"]
    argv += [
        "--server-ca",
        str(SERVER_CA),
        "--cert",
        str(where / str(files.cert)),
        "--key",
        str(where / str(files.key)),
    ]
    run = subprocess.run([*argv, "--format", "json"], capture_output=True, text=True, timeout=60, check=False)
    document = json.loads(run.stdout)
    assert run.returncode == 1
    assert document["schema_version"] == 1
    verdict = document["verdict"]
    assert (verdict["outcome"], verdict["http_status"], verdict["reason"]) == (
        "reject",
        400,
        "The SSL certificate error",
    )
    assert verdict["verify_error"]["code"] == 21
    probe = document["probe"]
    assert probe["acceptable_ca_names"] == ["CN=Client Root CA,O=mtls-doctor sample"]
    assert probe["chain_reaches_advertised"] is False
    assert probe["certificates_sent"] == 1
    assert probe["inferred"] is True
    console = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    for step in ("TCP connect", "ServerHello", "CertificateRequest", "Client Certificate: sent", "HTTP/1.1 400"):
        assert step in console.stdout, step
    assert "openssl s_client -connect" in console.stdout


def test_the_tls13_settle_read_ends_with_the_session_ticket(served: dict[str, Live]) -> None:
    """nginx sends its tickets right after our Finished: the probe goes on at once instead of waiting the window."""
    from mtls_doctor.probe.handshake import SETTLE_WINDOW  # noqa: PLC0415 - the constant under test

    live = _live(served, "good-chain")
    assert live.inferred is not None
    assert live.inferred.observation is not None
    assert live.inferred.observation.session_ticket
    assert live.inferred.observation.elapsed_ms < SETTLE_WINDOW * 1000


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_the_probe_writes_a_report_for_a_ticket(served: dict[str, Live], fmt: str, tmp_path: Path) -> None:
    """probe --format markdown|html --output FILE: the verdict first, the root cause, the handshake step by step, the
    equivalent s_client and curl commands; as check --connect gives it too."""
    live = _live(served, "seed-missing-intermediate")
    files = scenario_files(live.sc)
    where = ROOT / "scenarios" / live.sc.name
    client = ["--cert", str(where / str(files.cert)), "--key", str(where / str(files.key))]
    target = f"127.0.0.1:{live.port}"
    for argv in (
        ["probe", target, "--sni", "localhost", "--ca", str(SERVER_CA), *client],
        ["check", "--connect", target, "--sni", "localhost", "--server-ca", str(SERVER_CA), *client],
    ):
        report = tmp_path / f"{argv[0]}.{fmt}"
        run = subprocess.run(
            [sys.executable, "-m", "mtls_doctor", *argv, "--format", fmt, "--output", str(report)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert run.returncode == 1, run.stderr
        assert not run.stdout, "the report went to the file"
        text = report.read_text(encoding="utf-8")
        first = text.splitlines()[0] if fmt == "markdown" else text
        assert "400 The SSL certificate error" in first
        for part in ("MTLS301", "ServerHello", "CertificateRequest", "openssl s_client -connect", "curl "):
            assert part in text, (argv[0], part)
        key = (where / str(files.key)).read_text()
        body = "".join(key.strip().splitlines()[1:-1])
        assert "PRIVATE KEY" not in text
        assert body[10:60] not in text.replace("\n", ""), "no private key material in the report"
        if fmt == "html":
            assert "<script" not in text
            assert "http://" not in text.split("<body", 1)[1].replace("http://www.w3.org/2000/svg", "")


# The handshake as a source of the one server model states only what a handshake shows (issue 10): a server that
# asks for a certificate may be on, optional or optional_no_ca, with any ssl_verify_depth, with or without ssl_crl.


def _cli(live: Live, command: str, *, with_cert: bool = True) -> tuple[subprocess.CompletedProcess[str], Any]:
    """``check --connect`` or ``probe`` of the scenario's server as its client (or with no certificate), the console
    output and the JSON document."""
    files = scenario_files(live.sc)
    where = ROOT / "scenarios" / live.sc.name
    target = f"127.0.0.1:{live.port}"
    how = ["check", "--connect", target, "--server-ca"] if command == "check" else ["probe", target, "--ca"]
    argv = [sys.executable, "-m", "mtls_doctor", *how, str(SERVER_CA), "--sni", "localhost"]
    if with_cert and files.cert and files.key:
        argv += ["--cert", str(where / files.cert), "--key", str(where / files.key)]
    console = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, env={"COLUMNS": "200"})
    as_json = subprocess.run([*argv, "--format", "json"], capture_output=True, text=True, timeout=60, check=False)
    document = json.loads(as_json.stdout)
    return console, document.get("targets", [document])[0]


def _refused_as_nginx_logs(served: dict[str, Live], name: str, logged: str) -> Report:
    """The scenario's inferred report, once curl got 400 The SSL certificate error and nginx logged ``logged``; the
    verify error itself is not visible from outside, and is claimed nowhere."""
    live = _live(served, name)
    assert live.curl[:2] == (400, "The SSL certificate error"), live.curl
    assert live.log is not None
    assert logged in live.log.read_text()
    report = live.inferred
    assert report is not None
    verdict = report.facts.verdict
    assert (verdict.outcome, verdict.http_status, verdict.reason) == (Outcome.REJECT, 400, "The SSL certificate error")
    assert verdict.verify_error is None, "the error nginx logged is not visible from outside"
    return report


def _status(document: Any, rule_id: str) -> str:
    findings = [f for top in document["findings"] for f in (top, *top.get("explains", []))]
    return next((f["status"] for f in findings if f["rule"] == rule_id), "not shown")


def test_a_served_deep_chain_is_no_depth_failure(served: dict[str, Live]) -> None:
    """ssl_verify_depth 2 and a client sending 2 intermediates: nginx serves it (as curl sees). The probe does not
    say the depth is 1: ssl_verify_depth stays unknown, MTLS307 is not evaluated (not a false failure), and the
    lower bound the answer gives is said with its caveat."""
    live = _live(served, "depth-two-intermediates-depth-2")
    assert live.curl[0] == 200, live.curl
    report = live.inferred
    assert report is not None
    assert report.facts.verdict.outcome is Outcome.ACCEPT
    assert isinstance(report.facts.server.verify_depth, Unknown)
    depth = _finding(report, "MTLS307")
    assert depth.status is Status.NOT_EVALUATED, (depth.status, depth.message)
    assert "at least 2" in str(depth.unknown), depth.unknown
    assert not [f.rule.id for f in report.findings if f.status is Status.FAIL]
    for command in ("check", "probe"):
        console, document = _cli(live, command)
        assert "MTLS307" not in console.stdout.split("Not evaluated")[0], console.stdout
        assert console.returncode == 0, "served: nothing blocks this client, whatever a handshake cannot show"
        assert "ssl_verify_depth 1" not in console.stdout
        assert _status(document, "MTLS307") in ("not_evaluated", "not shown")
        assert document["verdict"]["http_status"] == 200
        assert document["inputs"]["verify_depth"] is None
        assert document["probe"]["settings"]["ssl_verify_depth"]["value"] is None
        assert any(note.startswith("inferred:") for note in document["probe"]["inference"])


def test_a_deep_chain_refused_at_depth_1_is_explained_without_a_made_up_certainty(served: dict[str, Live]) -> None:
    """The same chain at the default depth 1: nginx answers 400 The SSL certificate error and logs 20. The probe
    says what it saw; the depth is the likely cause, marked likely, among the others a handshake cannot show; no
    verify error is claimed; with --nginx the configuration's certain cause (MTLS307) comes back."""
    report = _refused_as_nginx_logs(
        served, "depth-two-intermediates-sent", "(20:unable to get local issuer certificate)"
    )
    live = served["depth-two-intermediates-sent"]
    assert _finding(report, "MTLS307").status is Status.NOT_EVALUATED
    assert not [f.rule.id for f in report.findings if f.status is Status.FAIL and f.rule.predicts]
    probe = report.facts.probe
    assert probe is not None
    assert probe.inference_disagrees is True
    assert probe.likely_causes[0].startswith("likely: ssl_verify_depth below 2")
    assert all(c.startswith(("likely:", "possible:")) for c in probe.likely_causes)
    console, document = _cli(live, "check")
    assert console.returncode == 1, "refused: blocking, even with no cause certain"
    assert "answered 400 The SSL certificate error" in console.stdout
    assert "likely: ssl_verify_depth below 2" in console.stdout
    assert document["verdict"]["verify_error"] is None
    assert document["probe"]["likely_causes"] == list(probe.likely_causes)
    assert live.configured is not None
    assert _finding(live.configured, "MTLS307").status is Status.FAIL
    assert live.configured.facts.verdict.verify_error is not None
    assert live.configured.facts.verdict.verify_error.code == 20


@pytest.mark.parametrize(
    ("name", "status", "mode"),
    [("no-client-cert", 400, VerifyClient.ON), ("optional-no-cert", 200, None)],
)
def test_the_mode_follows_the_answer_to_a_client_without_a_certificate(
    served: dict[str, Live], name: str, status: int, mode: VerifyClient | None
) -> None:
    """Probed with no certificate: `on` answers 400 No required SSL certificate was sent (the mode is then on);
    `optional` serves (optional or optional_no_ca: which one, a handshake cannot tell, so MTLS606 is not
    evaluated rather than guessed)."""
    live = _live(served, name)
    assert live.curl[0] == status, live.curl
    report = live.inferred
    assert report is not None
    assert report.facts.verdict.http_status == status
    seen = report.facts.server.verify_client
    if mode is None:
        assert isinstance(seen, Unknown)
        assert _finding(report, "MTLS606").status is Status.NOT_EVALUATED
        assert "optional or optional_no_ca" in str(_finding(report, "MTLS606").unknown)
    else:
        assert seen is mode
        assert report.facts.verdict.reason == "No required SSL certificate was sent"
    _console, document = _cli(live, "probe", with_cert=False)
    assert document["probe"]["settings"]["ssl_verify_client"]["value"] == (mode.value if mode else None)
    assert document["inputs"]["verify_client"] == (mode.value if mode else None)


def test_a_revoked_client_is_not_judged_as_if_there_were_no_crl(served: dict[str, Live]) -> None:
    """ssl_crl revokes the client: nginx answers 400 and logs 23. The probe does not say there is no ssl_crl: the
    CRL rules are not evaluated, ssl_crl is unknown (JSON null), and the CRL is among the possible causes."""
    report = _refused_as_nginx_logs(served, "leaf-revoked", "(23:certificate revoked)")
    live = served["leaf-revoked"]
    assert isinstance(report.facts.server.crl_check, Unknown)
    for rule_id in ("MTLS501", "MTLS505"):
        assert _finding(report, rule_id).status is Status.NOT_EVALUATED
    probe = report.facts.probe
    assert probe is not None
    assert probe.likely_causes[0].startswith("possible: ssl_crl")
    console, document = _cli(live, "check")
    assert "no ssl_crl" not in console.stdout
    assert document["inputs"]["crl"] is None
    assert document["probe"]["settings"]["ssl_crl"]["value"] is None


def test_the_advertised_names_are_the_ones_the_server_sent(tmp_path: Path) -> None:
    """The server advertises two CA names; only one of their certificates is at hand (the client's own CA). The
    server model's advertised names are the two the CertificateRequest carried, not the one the inferred store
    holds: the rules that quote them (MTLS407) quote what the server sent."""
    require_nginx()
    both = tmp_path / "two-roots.pem"
    both.write_bytes(
        (ROOT / "certs" / "client-root.pem").read_bytes() + (ROOT / "certs" / "other-root.pem").read_bytes()
    )
    block = (ROOT / "scenarios" / "good-chain" / SERVER_CONF).read_text()
    block = block.replace("ssl_client_certificate scenarios/good-chain/ca.pem;", f"ssl_client_certificate {both};")
    assert str(both) in block
    with realnginx.serve_blocks([block], ROOT, tmp_path, ["good-chain"]) as port:
        sc = manifest().scenarios["good-chain"]
        report = connect_report(
            scenario_inputs(sc), request_for(sc, port), now=lambda: datetime.now(UTC), passwords=Passwords(),
            catalogue=catalogue(),
        )  # fmt: skip
    sent = ("CN=Client Root CA,O=mtls-doctor sample", "CN=Other Root CA,O=Other Org")
    assert report.observation is not None
    assert report.observation.ca_names == sent
    assert report.facts.server.advertised_ca_names == sent
    assert report.facts.verdict.http_status == 200
