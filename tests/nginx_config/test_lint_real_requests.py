"""What lint says about ways around client authentication and about the trust store, served by the real nginx and
asked with the real curl.

Each fixture pair of MTLS731 (a plain listen), MTLS733 (optional checked in some locations) and MTLS715's
``ssl_reject_handshake`` default is served as written, its ``listen`` ports moved to free ports on 127.0.0.1 and its
``proxy_pass`` replaced by an answer of nginx's own (the request reaching the location is what counts). The request
that settles the question is made without a client certificate.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mtls_doctor.engine.vocabulary import Status
from tests.conftest import REPO, require_nginx, require_stream_module
from tests.support.realnginx import free_ports, stop_group, wait_listening
from tests.test_lint_rules import FIXTURES, block, finding, lint

pytestmark = pytest.mark.nginx

_LISTEN = re.compile(r"^(\s*listen\s+)(\d+)", re.MULTILINE)
_PASS = re.compile(r"proxy_pass http://127\.0\.0\.1:8080;")
_UPSTREAM = re.compile(r"127\.0\.0\.1:(808[01])\b")


@contextmanager
def served(name: str, work: Path, *, backend: bool = False) -> Iterator[list[int]]:
    """nginx serving fixture ``name``; the free ports its listens got, in the order written.

    ``backend``: the fixture's upstreams (127.0.0.1:8080, :8081) become servers of the same nginx on free ports
    that answer with the identity header they received; else each pass to :8080 answers "served" itself.
    """
    binary = require_nginx()
    text = (FIXTURES / name).read_text()
    written = _LISTEN.findall(text)
    ports = free_ports(len(written) + 2)
    mapping = dict(zip((p for _, p in written), ports, strict=False))
    text = _LISTEN.sub(lambda m: f"{m.group(1)}127.0.0.1:{mapping[m.group(2)]}", text)
    echo = ""
    if backend:
        upstreams = {"8080": ports[-2], "8081": ports[-1]}
        text = _UPSTREAM.sub(lambda m: f"127.0.0.1:{upstreams[m.group(1)]}", text)
        echo = "".join(
            f'    server {{ listen 127.0.0.1:{port}; return 200 "{old} verify=[$http_x_ssl_client_verify]\\n"; }}\n'
            for old, port in upstreams.items()
        )
        mapping.update(upstreams)
    else:
        text = _PASS.sub('return 200 "served\\n";', text)
    conf_dir = work / "a" / "b"
    conf_dir.mkdir(parents=True)
    (work / "sample_pki").symlink_to(REPO / "sample_pki")
    (conf_dir / name).write_text(text)
    main = conf_dir / "nginx.conf"
    main.write_text(
        f"daemon off;\nmaster_process off;\npid {work}/nginx.pid;\nerror_log {work}/error.log info;\n"
        f"events {{}}\nhttp {{\n    access_log off;\n    include {name};\n{echo}}}\n"
    )
    with running(binary, main, work, sorted(set(mapping.values()))):
        yield [mapping[p] for _, p in written]


@contextmanager
def running(binary: str, main: Path, work: Path, ports: list[int]) -> Iterator[None]:
    """nginx on ``main`` (prefix ``work``) until the block exits, once it listens on ``ports``."""
    proc = subprocess.Popen(
        [binary, "-p", f"{work}/", "-c", str(main)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_listening(ports, proc)
        yield
    finally:
        stop_group(proc)


def curl(url: str, *extra: str) -> tuple[int, str]:
    """(curl's exit status, the body) of a request without a client certificate."""
    run = subprocess.run(
        ["curl", "-sk", "--max-time", "5", *extra, url], capture_output=True, text=True, timeout=20, check=False
    )
    return run.returncode, run.stdout


def status(name: str, rule: str) -> Status:
    return finding(block(lint(name, "file"), name), rule).status


def test_a_plain_listen_serves_the_verified_server_without_a_certificate(tmp_path: Path) -> None:
    with served("MTLS731-fail.conf", tmp_path / "fail") as (tls, plain):
        assert "No required SSL certificate was sent" in curl(f"https://127.0.0.1:{tls}/")[1]
        assert curl(f"http://127.0.0.1:{plain}/") == (0, "served\n")
    assert status("MTLS731-fail.conf", "MTLS731") is Status.FAIL
    with served("MTLS731-pass.conf", tmp_path / "pass") as (tls, other):
        for port in (tls, other):
            assert "No required SSL certificate was sent" in curl(f"https://127.0.0.1:{port}/")[1]
    assert status("MTLS731-pass.conf", "MTLS731") is Status.PASS


def test_optional_checked_in_one_location_leaves_the_other_open(tmp_path: Path) -> None:
    with served("MTLS733-fail.conf", tmp_path / "fail") as (port,):
        assert "403 Forbidden" in curl(f"https://127.0.0.1:{port}/admin")[1]
        assert curl(f"https://127.0.0.1:{port}/api") == (0, "served\n")
    assert status("MTLS733-fail.conf", "MTLS733") is Status.FAIL
    with served("MTLS733-pass.conf", tmp_path / "pass") as (port,):
        for path in ("/admin", "/api"):
            assert "403 Forbidden" in curl(f"https://127.0.0.1:{port}{path}")[1]
    assert status("MTLS733-pass.conf", "MTLS733") is Status.PASS


def test_a_default_server_that_rejects_handshakes_serves_nobody(tmp_path: Path) -> None:
    with served("MTLS715-pass-reject-handshake-default.conf", tmp_path) as (port, _):
        # an unknown name (or none) meets the default, which refuses the handshake: curl exit 35, nothing served
        assert curl(f"https://127.0.0.1:{port}/")[0] == 35
        resolve = f"api.example.com:{port}:127.0.0.1"
        answer = curl(f"https://api.example.com:{port}/", "--resolve", resolve)[1]
        assert "No required SSL certificate was sent" in answer
    assert status("MTLS715-pass-reject-handshake-default.conf", "MTLS715") is Status.PASS


def test_a_location_with_its_own_proxy_set_header_drops_the_identity_headers(tmp_path: Path) -> None:
    with served("MTLS734-fail.conf", tmp_path / "fail", backend=True) as (port,):
        assert curl(f"https://127.0.0.1:{port}/")[1] == "8080 verify=[NONE]\n"
        assert curl(f"https://127.0.0.1:{port}/upload")[1] == "8080 verify=[]\n"
    assert status("MTLS734-fail.conf", "MTLS734") is Status.FAIL
    with served("MTLS734-pass.conf", tmp_path / "pass", backend=True) as (port,):
        assert curl(f"https://127.0.0.1:{port}/upload")[1] == "8080 verify=[NONE]\n"
    assert status("MTLS734-pass.conf", "MTLS734") is Status.PASS


def test_another_server_to_the_same_upstream_lets_a_client_forge_the_identity(tmp_path: Path) -> None:
    forged = ("-H", "X-SSL-Client-Verify: SUCCESS")
    with served("MTLS735-fail.conf", tmp_path / "fail", backend=True) as (api, www):
        assert "No required SSL certificate was sent" in curl(f"https://127.0.0.1:{api}/", *forged)[1]
        assert curl(f"https://127.0.0.1:{www}/", *forged)[1] == "8080 verify=[SUCCESS]\n"
    assert status("MTLS735-fail.conf", "MTLS735") is Status.FAIL
    with served("MTLS735-pass.conf", tmp_path / "pass", backend=True) as (_, www):
        assert curl(f"https://127.0.0.1:{www}/", *forged)[1] == "8081 verify=[SUCCESS]\n"  # another application
    assert status("MTLS735-pass.conf", "MTLS735") is Status.PASS
    with served("MTLS735-pass-headers-overwritten.conf", tmp_path / "overwritten", backend=True) as (_, www):
        assert curl(f"https://127.0.0.1:{www}/", *forged)[1] == "8080 verify=[]\n"
    assert status("MTLS735-pass-headers-overwritten.conf", "MTLS735") is Status.PASS


# -- what the named files say: the trust store as nginx judges every client under it ----------------------------

_SAMPLE = REPO / "sample_pki"


@pytest.mark.parametrize(
    ("name", "client", "chain", "code"),
    [
        ("MTLS736-fail.conf", "leaf-under-expired-root", (), "10:certificate has expired"),
        ("MTLS737-fail.conf", "leaf-under-future-root", (), "9:certificate is not yet valid"),
        ("MTLS739-fail.conf", "alice", ("client-issuing",), "8:CRL signature failure"),
    ],
)
def test_a_trust_store_fault_rejects_a_client_under_it(
    name: str, client: str, chain: tuple[str, ...], code: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "client.pem"
    bundle.write_bytes(b"".join((_SAMPLE / "certs" / f"{c}.pem").read_bytes() for c in (client, *chain)))
    key = _SAMPLE / "keys" / f"{client}.key"
    rule = name.split("-", maxsplit=1)[0]
    with served(name, tmp_path / "nginx") as (port,):
        answer = curl(f"https://127.0.0.1:{port}/", "--cert", str(bundle), "--key", str(key))[1]
        log = (tmp_path / "nginx" / "error.log").read_text()
    assert "400 The SSL certificate error" in answer
    assert f"client SSL certificate verify error: ({code})" in log
    assert status(name, rule) is Status.FAIL
    assert status(name.replace("-fail", "-pass"), rule) is Status.PASS


@pytest.mark.parametrize(("name", "served_ok"), [("MTLS742-fail.conf", False), ("MTLS742-pass.conf", True)])
def test_a_stream_upstream_name_check_closes_every_connection(name: str, served_ok: bool, tmp_path: Path) -> None:
    binary = require_nginx()
    module = require_stream_module()
    front, back = free_ports(2)
    text = (FIXTURES / name).read_text().replace("listen 9443;", f"listen 127.0.0.1:{front};")
    text = text.replace("127.0.0.1:8443", f"127.0.0.1:{back}")
    conf_dir = tmp_path / "a" / "b"
    conf_dir.mkdir(parents=True)
    (tmp_path / "sample_pki").symlink_to(REPO / "sample_pki")
    main = conf_dir / "nginx.conf"
    main.write_text(
        f"load_module {module};\ndaemon off;\nmaster_process off;\npid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log info;\n{text}\n"
        f"http {{\n    access_log off;\n    server {{\n        listen 127.0.0.1:{back} ssl;\n"
        "        ssl_certificate ../../sample_pki/certs/localhost.pem;\n"
        "        ssl_certificate_key ../../sample_pki/keys/localhost.key;\n"
        '        return 200 "backend\\n";\n    }\n}\n'
    )
    with running(binary, main, tmp_path, [front, back]):
        code, body = curl(f"http://127.0.0.1:{front}/")
    log = (tmp_path / "error.log").read_text()
    if served_ok:
        assert (code, body) == (0, "backend\n")
    else:
        # the stream server closes the connection: curl's "Empty reply from server" (52) or, when the close is a
        # reset, "Recv failure" (56; observed); no HTTP answer either way
        assert code in (52, 56)
        assert not body
        assert 'upstream SSL certificate does not match "127.0.0.1"' in log
    assert status(name, "MTLS742") is (Status.PASS if served_ok else Status.FAIL)


def test_the_deprecated_certificate_variable_makes_the_upstream_refuse_the_request(tmp_path: Path) -> None:
    bundle = tmp_path / "alice-chain.pem"
    bundle.write_bytes(
        (_SAMPLE / "certs" / "alice.pem").read_bytes() + (_SAMPLE / "certs" / "client-issuing.pem").read_bytes()
    )
    client = ("--cert", str(bundle), "--key", str(_SAMPLE / "keys" / "alice.key"))
    with served("MTLS744-fail.conf", tmp_path / "fail", backend=True) as (port,):
        assert "400 Bad Request" in curl(f"https://127.0.0.1:{port}/", *client)[1]
        assert "client sent invalid header line" in (tmp_path / "fail" / "error.log").read_text()
    assert status("MTLS744-fail.conf", "MTLS744") is Status.FAIL
    with served("MTLS744-pass.conf", tmp_path / "pass", backend=True) as (port,):
        assert curl(f"https://127.0.0.1:{port}/", *client)[1] == "8080 verify=[]\n"
    assert status("MTLS744-pass.conf", "MTLS744") is Status.PASS
