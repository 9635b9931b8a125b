"""The robustness table of the live probe (issue 10): each hostile server gets a named, clear explanation within
the deadline, never a traceback or a hang. Real TLS, real sockets on 127.0.0.1; nothing is mocked."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mtls_doctor.probe.handshake import Failure, Request, run
from mtls_doctor.probe.narrate import MAX_LISTED, steps
from tests.support import probe_servers as servers

DEADLINE = 2.0
HARD_LIMIT = 20


@pytest.fixture(autouse=True)
def _never_hang() -> Iterator[None]:
    """Each test under a hard timeout: a hang fails the test instead of stalling the suite (SIGALRM, main thread)."""

    def expired(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"the test ran past {HARD_LIMIT} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(HARD_LIMIT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


CASES: list[tuple[str, Callable[[], servers.Handler], set[Failure], str | None]] = [
    ("never answers", lambda: servers.silent, {Failure.TIMEOUT}, "deadline"),
    ("resets", lambda: servers.reset, {Failure.RESET}, "reset"),
    ("plain HTTP on the TLS port", lambda: servers.plain_http, {Failure.PLAIN_HTTP}, "plain HTTP"),
    ("garbage", lambda: servers.garbage, {Failure.NOT_TLS}, "not TLS"),
    ("trickles one byte a second", lambda: servers.trickle, {Failure.TIMEOUT}, "deadline"),
    ("only TLS 1.0", lambda: servers.tls10, {Failure.OLD_TLS}, None),
]


@pytest.mark.parametrize(("name", "make", "expected", "words"), CASES, ids=[c[0] for c in CASES])
def test_hostile_server_is_named_within_the_deadline(
    name: str, make: Callable[[], servers.Handler], expected: set[Failure], words: str | None
) -> None:
    with servers.listening(make()) as port:
        start = time.monotonic()
        seen = run(Request(host="127.0.0.1", port=port, sni="localhost", host_header="localhost", timeout=DEADLINE))
        elapsed = time.monotonic() - start
    assert elapsed < DEADLINE + 0.5, f"{name}: took {elapsed:.1f} s"
    assert seen.failure in expected, f"{name}: {seen.failure} {seen.failure_detail}"
    assert seen.failure_detail
    if words:
        assert words in seen.failure_detail, seen.failure_detail


def test_a_tls10_only_server_is_named_by_the_version_it_chose() -> None:
    with servers.listening(servers.tls10) as port:
        seen = run(Request(host="127.0.0.1", port=port, sni="localhost", host_header="localhost", timeout=DEADLINE))
    assert seen.server_hello_version == 0x0301
    assert seen.protocol == "TLSv1"
    lines = [text for _, text in steps(seen, None, now=datetime.now(UTC))]
    assert any("the server chose TLSv1." in line for line in lines), lines


def test_a_closed_port_is_refused() -> None:
    with servers.listening(servers.silent) as port:
        pass  # closed again: nothing listens there now
    seen = run(Request(host="127.0.0.1", port=port, sni=None, host_header="x", timeout=DEADLINE))
    assert seen.failure is Failure.REFUSED
    assert not seen.connected


def test_a_100_certificate_chain_is_read_and_bounded_in_the_narration() -> None:
    with servers.listening(servers.long_chain(100)) as port:
        seen = run(Request(host="127.0.0.1", port=port, sni="localhost", host_header="localhost", timeout=5))
    assert seen.failure is None, seen.failure_detail
    assert len(seen.server_chain) == 101
    lines = [text for _, text in steps(seen, None, now=datetime.now(UTC))]
    assert any("and 81 more" in line for line in lines)
    assert sum(1 for line in lines if " s:" in line) == MAX_LISTED


def test_a_5000_name_certificate_request_is_read_and_bounded_in_the_narration() -> None:
    with servers.listening(servers.many_names(5000)) as port:
        start = time.monotonic()
        seen = run(Request(host="127.0.0.1", port=port, sni="localhost", host_header="localhost", timeout=5))
    assert time.monotonic() - start < 5.5
    assert seen.failure is None, seen.failure_detail
    assert seen.certificate_request is not None
    assert len(seen.certificate_request.ca_names_der) == 5000
    lines = [text for _, text in steps(seen, None, now=datetime.now(UTC))]
    assert len(lines) < 100
    assert any(f"and {len(seen.ca_names) - MAX_LISTED} more" in line for line in lines)


@pytest.mark.parametrize(
    ("max_tls", "alert", "after"),
    [(None, 116, True), ("TLSv1.2", 40, False)],
    ids=["TLS 1.3: 116 after the handshake", "TLS 1.2: 40 during it"],
)
def test_a_strict_server_alert_is_read_by_number(max_tls: str | None, alert: int, after: bool) -> None:
    """No certificate for a server that requires one: TLS 1.3 has certificate_required, read after our Finished on
    the first read; TLS 1.2 has none, OpenSSL sends handshake_failure during the handshake (§A5, observed)."""
    with servers.listening(servers.strict()) as port:
        seen = run(
            Request(host="127.0.0.1", port=port, sni="localhost", host_header="localhost", timeout=5, max_tls=max_tls)
        )
    assert seen.failure is Failure.TLS_ALERT
    assert seen.alert == alert
    assert seen.failure_after_handshake is after
    assert seen.certificates_sent == 0


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["probe", "host:notaport"], "the port must be a number"),
        (["probe", "host:70000"], "the port must be a number"),
        (["probe", "127.0.0.1:1", "--tls1_2", "--tls1_3"], "--tls1_2 and --tls1_3 exclude each other"),
        (["probe", "127.0.0.1:1", "--path", "no-slash"], "must start with /"),
        (["probe", "127.0.0.1:1", "--sni", "a b"], "must be a host name"),
        (["check", "--connect", "127.0.0.1:1", "--ca", "x.pem"], "drop --ca"),
    ],
)
def test_unusable_probe_arguments_get_one_line_and_exit_2(argv: list[str], says: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "mtls_doctor", *argv], capture_output=True, text=True, timeout=30, check=False
    )
    assert run.returncode == 2, run.stderr
    assert says in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr


def test_a_targets_file_is_read_and_a_refused_target_is_one_row(tmp_path: Path) -> None:
    with servers.listening(servers.plain_http) as port:
        targets = tmp_path / "targets.txt"
        targets.write_text(f"# members\n127.0.0.1:{port}\n\n127.0.0.1:1\n")
        run = subprocess.run(
            [sys.executable, "-m", "mtls_doctor", "probe", "--targets-file", str(targets), "--timeout", "2",
             "--format", "json"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    document = json.loads(run.stdout)
    failures = [t["probe"]["failure"] for t in document["targets"]]
    assert failures == ["plain_http", "refused"]


def test_a_key_type_outside_the_signature_algorithms_goes_out_as_an_empty_certificate(tmp_path: Path) -> None:
    """TLS 1.3, an RSA client certificate, a server asking for ECDSA signatures only: OpenSSL sends an EMPTY
    Certificate, the server answers 116; the probe says why (MTLS922, the key type not among the algorithms)."""
    from mtls_doctor.engine.catalogue import load_catalogue  # noqa: PLC0415
    from mtls_doctor.inputs import Inputs  # noqa: PLC0415
    from mtls_doctor.live import client_credentials, connect_report  # noqa: PLC0415
    from mtls_doctor.pki.passwords import Passwords  # noqa: PLC0415

    cert, key = servers.rsa_client(tmp_path)
    inputs = Inputs(cert=str(cert), key=str(key))
    chain, signing = client_credentials(inputs, Passwords())
    with servers.listening(servers.ecdsa_only()) as port:
        request = Request(
            host="127.0.0.1", port=port, sni="localhost", host_header="localhost", chain=chain, key=signing, timeout=5
        )
        report = connect_report(
            inputs, request, now=lambda: datetime.now(UTC), passwords=Passwords(), catalogue=load_catalogue()
        )
    probe = report.facts.probe
    assert probe is not None
    assert probe.certificates_sent == 0
    assert probe.key_type_allowed is False
    assert probe.alert == 116
    finding = next(f for f in report.findings if f.rule.id == "MTLS922")
    assert finding.status.value == "fail", finding.unknown
