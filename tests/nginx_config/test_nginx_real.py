"""Claims about nginx's behaviour, checked against the real nginx (``nginx -t``, ``-T``, ``-V``, and a live one
on 127.0.0.1). Skipped without nginx outside CI; failing under CI=true (tests.conftest.require_nginx)."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mtls_doctor.facts.verdict import STREAM_CLOSED
from mtls_doctor.nginx import TlsProtocol, effective_settings, parse_nginx_build, read_config
from mtls_doctor.samplepki.write import ScenarioFiles, scenario_files
from tests.conftest import SAMPLE, manifest, require_nginx, require_stream_module
from tests.nginx_config.conftest import WriteTree
from tests.nginx_config.model_view import view

pytestmark = pytest.mark.nginx

TREE = {
    "nginx.conf": """\
events {}
http {
    access_log off;
    include sites/*.conf;
}
""",
    "sites/api.conf": """\
server {
    listen 127.0.0.1:18443 ssl;
    server_name api.example.com;
    include snippets/tls.conf;
    ssl_verify_client optional;
    location / {
        if ($ssl_client_verify != SUCCESS) { return 403; }
        proxy_pass https://127.0.0.1:19000;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate certs/upstream.pem;
    }
}
""",
    "snippets/tls.conf": """\
ssl_certificate certs/server.pem;
ssl_certificate_key certs/server.key;
ssl_client_certificate certs/server.pem;
""",
}


def _self_signed(directory: Path, name: str = "server") -> None:
    """``name``.pem/.key, a self-signed P-256 CA certificate, and a copy as ``upstream.pem`` (a trust anchor)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{name}.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    shutil.copy(directory / f"{name}.pem", directory / "upstream.pem")


def _installed_build() -> Any:
    done = subprocess.run([require_nginx(), "-V"], capture_output=True, text=True, timeout=10, check=True)
    return parse_nginx_build(done.stderr)


def test_nginx_dump_gives_the_same_model_as_the_files(write_tree: WriteTree, nginx: Any) -> None:
    root = write_tree(TREE)
    _self_signed(root / "certs")
    result = nginx(root / "nginx.conf", "-T")
    assert result.returncode == 0, result.stderr
    expected = view(effective_settings(read_config(root / "nginx.conf")))
    pasted = result.stderr + result.stdout  # what "nginx -T 2>&1" gives, the syntax-ok lines first
    shutil.rmtree(root)  # a dump never sends the reader to the disk
    dumped = read_config("-", text=pasted)
    assert [Path(f.name).name for f in dumped.files] == ["nginx.conf", "api.conf", "tls.conf"]
    assert view(effective_settings(dumped)) == expected


def test_nginx_version_output_of_the_installed_binary() -> None:
    build = _installed_build()
    done = subprocess.run([require_nginx(), "-v"], capture_output=True, text=True, timeout=10, check=True)
    version = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", done.stderr)
    assert version is not None
    assert build.version == tuple(int(part) for part in version.groups())
    assert build.ssl_built_with is not None
    assert build.ssl_built_with.startswith(("OpenSSL", "LibreSSL", "BoringSSL"))


def test_certificate_paths_resolve_against_the_conf_file_directory_not_the_p_prefix(
    write_tree: WriteTree, nginx: Any
) -> None:
    root = write_tree(
        {
            "conf/nginx.conf": "events {}\nhttp {\n    server {\n        listen 127.0.0.1:18443 ssl;\n"
            "        ssl_certificate certs/missing.pem;\n        ssl_certificate_key certs/missing.key;\n    }\n}\n"
        }
    )
    conf = root / "conf" / "nginx.conf"
    result = nginx(conf, "-t", prefix=root)  # -p is the parent of conf/: nginx still looks under conf/
    loaded = re.search(r'cannot load certificate "([^"]+)"', result.stderr)
    assert loaded is not None, result.stderr
    (certificate,) = effective_settings(read_config(conf)).servers[0].tls.ssl_certificate.value
    assert certificate.path == Path(loaded.group(1)) == root / "conf" / "certs" / "missing.pem"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _running(conf: Path) -> Iterator[None]:
    """The real nginx serving ``conf`` in the foreground until the block ends (then terminated, by its pid)."""
    (conf.parent / "tmp").mkdir(exist_ok=True)  # nginx creates only the last component of TEMP_PATHS
    process = subprocess.Popen(
        [
            require_nginx(),
            "-p",
            f"{conf.parent}/",
            "-c",
            str(conf),
            "-e",
            "stderr",
            "-g",
            f"daemon off; pid {conf.parent}/nginx.pid;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ports = [int(p) for p in re.findall(r"listen 127\.0\.0\.1:(\d+)", conf.read_text())]
        deadline = time.monotonic() + 10
        while not all(_accepts(port) for port in ports):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"nginx did not start: {process.communicate(timeout=5)[1]}")
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# A running nginx creates its temp directories; relative ones are under the -p prefix, the test's directory.
TEMP_PATHS = "".join(
    f"    {kind}_temp_path tmp/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
)


def _handshake(port: int, version: ssl.TLSVersion) -> bool:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = context.maximum_version = version
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw):
            return True
    except ssl.SSLError:
        return False


def test_default_protocols_are_what_the_model_says_for_this_nginx(write_tree: WriteTree) -> None:
    port = _free_port()
    root = write_tree(
        {
            "nginx.conf": f"events {{}}\nhttp {{\n    access_log off;\n{TEMP_PATHS}    server {{\n"
            f"        listen 127.0.0.1:{port} ssl;\n        ssl_certificate certs/server.pem;\n"
            "        ssl_certificate_key certs/server.key;\n    }\n}\n"
        }
    )
    _self_signed(root / "certs")
    conf = root / "nginx.conf"
    protocols = effective_settings(read_config(conf), nginx=_installed_build()).servers[0].tls.ssl_protocols
    assert protocols.is_default
    with _running(conf):
        for protocol, version in (
            (TlsProtocol.TLSV1_2, ssl.TLSVersion.TLSv1_2),
            (TlsProtocol.TLSV1_3, ssl.TLSVersion.TLSv1_3),
        ):
            assert _handshake(port, version) == (protocol in protocols.value), protocol


ROUTES = [
    "www.example.com",
    "*.example.com",
    "*.api.example.com",
    "mail.*",
    "~^(?<user>[a-z]+)\\.users\\.example\\.org$",
    ".example.net",
    "~^A\\.EXAMPLE\\.IO$",
]
HOSTS = [
    "www.example.com",
    "WWW.EXAMPLE.COM",
    "shop.example.com",
    "a.b.example.com",
    "v1.api.example.com",
    "mail.example.org",
    "alice.users.example.org",
    "example.net",
    "x.example.net",
    "a.example.io",
    "unknown.test",
]


def _get(port: int, host: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
    return answer.decode().rsplit("\r\n\r\n", 1)[1]


def test_route_picks_the_server_nginx_serves(write_tree: WriteTree) -> None:
    port = _free_port()
    servers = "".join(
        f"    server {{ listen 127.0.0.1:{port}{' default_server' if i == 4 else ''}; server_name {name}; "
        f'return 200 "{i}"; }}\n'
        for i, name in enumerate(ROUTES)
    )
    root = write_tree({"nginx.conf": f"events {{}}\nhttp {{\n    access_log off;\n{TEMP_PATHS}{servers}}}\n"})
    conf = root / "nginx.conf"
    config = effective_settings(read_config(conf))
    with _running(conf):
        served = {host: _get(port, host) for host in HOSTS}
    assert {host: config.route(host, port) for host in HOSTS} == {
        host: config.servers[int(body)] for host, body in served.items()
    }


def _client_context(where: Path, files: ScenarioFiles) -> ssl.SSLContext:
    """A TLS client presenting the scenario's certificate and key, if it has any (the server is not checked)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if files.cert:
        context.load_cert_chain(where / files.cert, where / str(files.key))
    return context


def _check_nginx(conf: Path, where: Path, files: ScenarioFiles) -> dict[str, Any]:
    """The verdict `check --nginx CONF` gives the scenario's client (JSON)."""
    argv = [sys.executable, "-m", "mtls_doctor", "check", "--nginx", str(conf), "--allow-outside", "--format", "json"]
    if files.cert:
        argv += ["--cert", str(where / files.cert), "--key", str(where / str(files.key))]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    verdict: dict[str, Any] = json.loads(run.stdout)["verdict"]
    return verdict


@pytest.mark.parametrize("name", ["good-chain", "seed-missing-intermediate", "no-client-cert"])
def test_a_stream_server_closes_the_connection_where_http_answers_400(name: str, tmp_path: Path) -> None:
    """A stream {} server decides as an http one and logs the same line, but a refused client gets no answer:
    the connection is closed after the handshake (ngx_stream_ssl_handler). check --nginx predicts exactly that."""
    module = require_stream_module()
    sc = manifest().scenarios[name]
    where = SAMPLE / "scenarios" / name
    port = _free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"load_module {module};\nevents {{}}\nerror_log {tmp_path}/error.log info;\nstream {{\n    server {{\n"
        f"        listen 127.0.0.1:{port} ssl;\n"
        f"        ssl_certificate {SAMPLE}/certs/localhost.pem;\n"
        f"        ssl_certificate_key {SAMPLE}/keys/localhost.key;\n"
        f"        ssl_client_certificate {where}/ca.pem;\n"
        f"        ssl_verify_client {sc.verify_client.value};\n"
        '        return "verify=$ssl_client_verify\\n";\n    }\n}\n'
    )
    files = scenario_files(sc)
    context = _client_context(where, files)
    with _running(conf):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw) as tls:
            try:
                answer = tls.recv(100)
            except (ssl.SSLError, ConnectionResetError):
                answer = b""
        time.sleep(0.2)  # the worker writes the log line as it closes
    logged = re.search(
        r"client (SSL certificate verify error: \(\d+:[^)]*\)|sent no required SSL certificate)",
        (tmp_path / "error.log").read_text(),
    )
    verdict = _check_nginx(conf, where, files)
    assert verdict["http_status"] is None, "a stream server answers no HTTP"
    if answer:
        assert answer == b"verify=SUCCESS\n"
        assert verdict["outcome"] == "accept"
        assert logged is None
    else:
        assert verdict["outcome"] == "reject"
        assert verdict["reason"] == STREAM_CLOSED
        assert logged is not None
        assert verdict["log_line"] == logged.group(0)


# error_page forms for a refused client, and what nginx 1.22.1 answered (status; for `= @denied`, the named
# location's own `return 401`).
ERROR_PAGES = {
    "none": ("", 400),
    "uri": ("error_page 495 496 /certerr.html;", 400),
    "uri-overwrite": ("error_page 495 496 =403 /certerr.html;", 403),
    "url": ("error_page 495 496 https://login.example.com/cert;", 302),
    "url-301": ("error_page 495 496 =301 https://login.example.com/cert;", 301),
    "named-location": ("error_page 495 496 = @denied;", 401),
    "only-400": ("error_page 400 /certerr.html;", 400),
}


@pytest.mark.parametrize("case", sorted(ERROR_PAGES))
@pytest.mark.parametrize("scenario", ["seed-missing-intermediate", "no-client-cert"])
def test_error_page_answers_a_refused_client_as_check_nginx_says(scenario: str, case: str, tmp_path: Path) -> None:
    """error_page 495/496 at the server level replaces nginx's 400 page (ngx_http_send_error_page)."""
    directive, observed = ERROR_PAGES[case]
    where = SAMPLE / "scenarios" / scenario
    # nginx's workers (user nobody, when started as root) must read the page, which pytest's 0700 tmp_path forbids:
    # an unreadable page would answer 403 of its own.
    html = Path(tempfile.mkdtemp(prefix="mtls-doctor-error-page-"))
    html.chmod(0o755)
    (html / "certerr.html").write_text("custom\n")
    (html / "certerr.html").chmod(0o644)
    port = _free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"events {{}}\nhttp {{\n    access_log off;\n{TEMP_PATHS}    server {{\n"
        f"        listen 127.0.0.1:{port} ssl;\n"
        f"        ssl_certificate {SAMPLE}/certs/localhost.pem;\n"
        f"        ssl_certificate_key {SAMPLE}/keys/localhost.key;\n"
        f"        ssl_client_certificate {where}/ca.pem;\n"
        "        ssl_verify_client on;\n"
        f"        root {html};\n"
        f"        {directive}\n"
        '        location / { return 200 "ok\\n"; }\n'
        "        location = /certerr.html { }\n"
        '        location @denied { return 401 "denied\\n"; }\n'
        "    }\n}\n"
    )
    files = scenario_files(manifest().scenarios[scenario])
    context = _client_context(where, files)
    try:
        with _running(conf):
            connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
            connection.request("GET", "/")
            status = connection.getresponse().status
            connection.close()
    finally:
        shutil.rmtree(html)
    verdict = _check_nginx(conf, where, files)
    assert verdict["outcome"] == "reject"
    assert verdict["http_status"] == observed, f"check --nginx: {verdict}"
    assert status == observed, "the table above no longer records what this nginx does"
    assert (verdict["error_page"] is not None) == (case not in {"none", "only-400"})
