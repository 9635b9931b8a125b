"""A real nginx on 127.0.0.1 serving sample_pki scenarios, and real clients (curl, openssl s_client) probing it.

One nginx process serves every scenario of a server clock, one server block (and one ephemeral port) per scenario,
each with its own error_log at ``info`` so the verify error nginx logs can be read back. Scenarios with a server
clock run under libfaketime. Configurations nginx refuses are checked with ``nginx -t``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mtls_doctor.facts.model import Outcome
from mtls_doctor.samplepki.manifest import Scenario
from mtls_doctor.samplepki.write import scenario_files

_VERIFY_LINE = re.compile(r"client SSL certificate verify error: \((\d+):([^)]*)\)")
_NO_CERT_LINE = "client sent no required SSL certificate"
_TITLE = re.compile(rb"<title>\d+ ([^<]*)</title>")
TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Observation:
    """What the real nginx and the real client did for one scenario."""

    outcome: Outcome
    status: int | None
    reason: str | None
    verify: int | None
    detail: str

    def __str__(self) -> str:
        return f"{self.outcome.value} status={self.status} verify={self.verify} reason={self.reason!r} ({self.detail})"


def nginx_binary() -> str | None:
    """The nginx to test against, if installed."""
    return shutil.which("nginx") or (("/usr/sbin/nginx") if Path("/usr/sbin/nginx").exists() else None)


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def server_block(sc: Scenario, scenario_dir: Path, sample: Path, *, listen: str, error_log: Path | None) -> str:
    """The nginx server block for ``sc`` (absolute paths, so any prefix works)."""
    files = scenario_files(sc)
    lines = [
        "server {",
        f"    listen {listen} ssl;",
        "    server_name localhost;",
        f"    ssl_certificate {sample / 'certs' / 'localhost.pem'};",
        f"    ssl_certificate_key {sample / 'keys' / 'localhost.key'};",
        "    ssl_protocols TLSv1.2 TLSv1.3;",
    ]
    if files.ca:
        lines.append(f"    ssl_client_certificate {scenario_dir / files.ca};")
    if files.trusted:
        lines.append(f"    ssl_trusted_certificate {scenario_dir / files.trusted};")
    if files.crl:
        lines.append(f"    ssl_crl {scenario_dir / files.crl};")
    lines.append(f"    ssl_verify_client {sc.verify_client.value};")
    if sc.depth is not None:
        lines.append(f"    ssl_verify_depth {sc.depth};")
    if sc.seclevel is not None:
        lines.append(f"    ssl_ciphers DEFAULT:@SECLEVEL={sc.seclevel};")
    if error_log is not None:
        lines.append(f"    error_log {error_log} info;")
    lines += ['    location / { return 200 "verify=$ssl_client_verify\\n"; }', "}"]
    return "\n".join(lines) + "\n"


def _main_conf(prefix: Path, servers: str) -> str:
    return f"""worker_processes 1;
daemon off;
master_process off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 128; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
{servers}}}
"""


@dataclass
class RunningNginx:
    """An nginx serving scenarios; ``ports[name]`` and ``logs[name]`` per scenario."""

    ports: dict[str, int]
    logs: dict[str, Path]


@contextmanager
def serve(
    scenarios: list[Scenario], sample: Path, workdir: Path, *, server_time: datetime | None = None
) -> Iterator[RunningNginx]:
    """Run one nginx serving ``scenarios`` (all of one server clock) until the block exits."""
    binary = nginx_binary()
    assert binary, "nginx is not installed"
    prefix = workdir / (f"nginx-{server_time:%Y%m%d}" if server_time else "nginx")
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    (prefix / "logs").mkdir(exist_ok=True)
    ports = dict(zip((sc.name for sc in scenarios), _free_ports(len(scenarios)), strict=True))
    logs = {sc.name: prefix / "logs" / f"{sc.name}.log" for sc in scenarios}
    blocks = "".join(
        server_block(
            sc, sample / "scenarios" / sc.name, sample, listen=f"127.0.0.1:{ports[sc.name]}", error_log=logs[sc.name]
        )
        for sc in scenarios
    )
    conf = prefix / "nginx.conf"
    conf.write_text(_main_conf(prefix, blocks))
    argv = [binary, "-p", str(prefix), "-c", str(conf)]
    if server_time is not None:
        faketime = shutil.which("faketime")
        assert faketime, "faketime is not installed (apt-get install faketime)"
        argv = [faketime, "-f", f"@{server_time:%Y-%m-%d %H:%M:%S}", *argv]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "TZ": "UTC"})
    try:
        _wait_listening(list(ports.values()), proc)
        yield RunningNginx(ports, logs)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_listening(ports: list[int], proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT
    pending = set(ports)
    while pending and time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            msg = f"nginx exited with {proc.returncode}: {out}"
            raise RuntimeError(msg)
        for port in list(pending):
            with socket.socket() as s:
                s.settimeout(0.2)
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    pending.discard(port)
        time.sleep(0.02)
    if pending:
        msg = f"nginx did not listen on {sorted(pending)}"
        raise RuntimeError(msg)


def config_test(sc: Scenario, sample: Path, workdir: Path) -> tuple[bool, str]:
    """``nginx -t`` on the scenario's server block: (starts, nginx's own message)."""
    binary = nginx_binary()
    assert binary, "nginx is not installed"
    prefix = workdir / f"conftest-{sc.name}"
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    block = server_block(sc, sample / "scenarios" / sc.name, sample, listen="127.0.0.1:1", error_log=None)
    conf = prefix / "nginx.conf"
    conf.write_text(_main_conf(prefix, block))
    run = subprocess.run(
        [binary, "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    return run.returncode == 0, run.stderr


def probe(sc: Scenario, port: int, log: Path, sample: Path, workdir: Path) -> Observation:
    """Send one request as the scenario's client does, and read nginx's answer and error log."""
    files = scenario_files(sc)
    where = sample / "scenarios" / sc.name
    offset = log.stat().st_size if log.exists() else 0
    if sc.client_tool == "openssl" and files.cert:
        status, body, detail, failed = _s_client(sc, port, where, workdir)
    else:
        status, body, detail, failed = _curl(sc, port, where, workdir)
    logged = _read_log(log, offset)
    verify = None
    match = _VERIFY_LINE.search(logged)
    if match:
        verify = int(match.group(1))
    if failed:
        return Observation(Outcome.CLIENT_ERROR, None, None, verify, detail)
    title = _TITLE.search(body)
    reason = title.group(1).decode() if title and status != 200 else None
    if status == 200:
        outcome = Outcome.ACCEPT
    elif status == 400:
        outcome = Outcome.REJECT
    else:
        outcome = Outcome.UNKNOWN
    if _NO_CERT_LINE in logged and reason is None:
        reason = "No required SSL certificate was sent"
    return Observation(outcome, status, reason, verify, detail)


def _read_log(log: Path, offset: int) -> str:
    # nginx writes the log line before it sends the response, but give the write a moment to land.
    for _ in range(20):
        if log.exists() and log.stat().st_size > offset:
            break
        time.sleep(0.01)
    if not log.exists():
        return ""
    with log.open("rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def _client_bundle(sc: Scenario, where: Path, workdir: Path) -> Path | None:
    """The file curl gets as --cert: the cert file, plus the separate chain file when there is one."""
    files = scenario_files(sc)
    if not files.cert:
        return None
    if not files.chain:
        return where / files.cert
    bundle = workdir / f"{sc.name}-bundle.pem"
    bundle.write_bytes((where / files.cert).read_bytes() + (where / files.chain).read_bytes())
    return bundle


def _curl(sc: Scenario, port: int, where: Path, workdir: Path) -> tuple[int | None, bytes, str, bool]:
    files = scenario_files(sc)
    argv = [
        "curl",
        "-sS",
        "-k",
        "--max-time",
        str(TIMEOUT),
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        f"https://localhost:{port}/",
    ]
    argv[argv.index("-k") + 1 : argv.index("-k") + 1] = ["--resolve", f"localhost:{port}:127.0.0.1"]
    bundle = _client_bundle(sc, where, workdir)
    if bundle is not None and files.key:
        argv[1:1] = ["--cert", str(bundle), "--key", str(where / files.key)]
    run = subprocess.run(argv, capture_output=True, timeout=TIMEOUT + 5, check=False)
    if run.returncode != 0:
        return (
            None,
            b"",
            f"curl exit {run.returncode}: {run.stderr.decode(errors='replace').strip()}",
            run.returncode == 58,
        )
    body, _, code = run.stdout.rpartition(b"\n")
    return int(code), body, f"curl {int(code)}", False


def _s_client(sc: Scenario, port: int, where: Path, workdir: Path) -> tuple[int | None, bytes, str, bool]:
    """openssl s_client at security level 0: it sends certificates curl refuses to load (RSA-1024, SHA-1)."""
    files = scenario_files(sc)
    assert files.cert
    assert files.key
    bundle = _client_bundle(sc, where, workdir)
    assert bundle is not None
    rest = workdir / f"{sc.name}-rest.pem"
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", bundle.read_bytes(), re.S)
    rest.write_bytes(b"".join(blocks[1:]))
    argv = [
        "openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", "-quiet",
        "-cipher", "DEFAULT:@SECLEVEL=0", "-cert", str(bundle), "-key", str(where / files.key),
    ]  # fmt: skip
    if blocks[1:]:
        argv += ["-cert_chain", str(rest)]
    request = b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"
    run = subprocess.run(argv, input=request, capture_output=True, timeout=TIMEOUT, check=False)
    head = run.stdout.split(b"\r\n", 1)[0]
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    if not match:
        return None, b"", f"s_client exit {run.returncode}: {run.stderr.decode(errors='replace')[-300:]}", True
    return int(match.group(1)), run.stdout, f"s_client {match.group(1).decode()}", False
