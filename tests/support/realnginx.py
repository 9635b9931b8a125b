"""A real nginx on 127.0.0.1 serving sample_pki scenarios, and real clients (curl, openssl s_client) probing it.

nginx serves exactly the files `mtls-doctor check --nginx` reads: each scenario's scenarios/<name>/server.conf,
included from a main nginx.conf written in a copy of the sample PKI (so nginx's conf prefix, against which the
block's relative paths resolve, is the sample PKI's root, as `--prefix` tells the CLI). Only the block's listen line
is rewritten: an ephemeral port on 127.0.0.1 and an ``error_log`` at ``info`` on that same line (line numbers stay
the file's), so the verify error nginx logs can be read back. One nginx process serves every scenario of a server
clock; scenarios with a server clock run under libfaketime. ``nginx -t`` runs first on every block as committed:
the blocks it refuses are observed as server_config_error, with nginx's own [emerg] text, never served.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from mtls_doctor.samplepki.manifest import Scenario
from mtls_doctor.samplepki.write import SERVER_CONF, SERVER_LISTEN, scenario_files
from mtls_doctor.vocabulary import Outcome

_VERIFY_LINE = re.compile(r"client SSL certificate verify error: \((\d+):([^)]*)\)")
_OCSP_LINE = re.compile(r"client SSL certificate verify error: [a-z][a-z ]*?[a-z](?= while|,|$)", re.MULTILINE)
"""The verify error of ssl_ocsp (ngx_ssl_ocsp_get_status): a text, no OpenSSL code."""
_NO_CERT_LINE = "client sent no required SSL certificate"
_HANDSHAKE_LINE = re.compile(r"SSL_do_handshake\(\) failed \(SSL: [^)]*\) while SSL handshaking")
"""A handshake nginx fails itself (wrong curve, unsupported protocol): logged, and the client gets an alert."""
_TITLE = re.compile(rb"<title>\d+ ([^<]*)</title>")
_PAGE = re.compile(rb"^verify=([^\r\n]*)", re.MULTILINE)
TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Observation:
    """What the real nginx and the real client did for one scenario."""

    outcome: Outcome
    status: int | None
    reason: str | None
    verify: int | None
    detail: str
    log_line: str | None = None
    """``client SSL certificate verify error: (N:text)`` (or ``...: text`` for ssl_ocsp) as nginx logged it at info,
    if it did."""
    client_verify: str | None = None
    """``$ssl_client_verify`` as the served page (``verify=...``) showed it, when the request was served."""
    permissive: Observation | None = None
    """For a scenario with ``expect.permissive``: what nginx did when s_client at level 0 sent the same files."""

    def __str__(self) -> str:
        return f"{self.outcome.value} status={self.status} verify={self.verify} reason={self.reason!r} ({self.detail})"


def libfaketime() -> str | None:
    """Debian faketime's preload library, if installed.

    nginx is run with it preloaded (``LD_PRELOAD`` and ``FAKETIME``) rather than under the ``faketime`` wrapper, so
    that nginx itself is the process the test starts and stops: what libfaketime keeps in /dev/shm is then named by
    that process's PID, and removed after it (``_forget_faketime_state``). Under the wrapper it was named by the
    wrapper's PID and left behind when the wrapper was stopped by a signal; piled up run after run, a reused PID met
    its leftover ("faketime: sem_open: File exists") and the server-clock scenarios failed to start.
    """
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    return str(found[0]) if found else None


def _forget_faketime_state(pid: int) -> None:
    """Remove what libfaketime keeps for process ``pid`` in /dev/shm, which it leaves behind when the process is
    stopped by a signal (as a test's nginx is): piled up, a reused PID meets its leftover and fails to start."""
    for name in (f"faketime_shm_{pid}", f"sem.faketime_sem_{pid}"):
        Path("/dev/shm", name).unlink(missing_ok=True)


def require_faketime() -> None:
    """Skip outside CI when faketime is missing (server-clock scenarios need it); fail under CI=true."""
    if libfaketime() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("faketime is not installed, and CI=true requires the server-clock scenarios to run")
        pytest.skip("faketime is not installed (apt-get install faketime); needed for server-clock scenarios")


def nginx_binary() -> str | None:
    """The nginx to test against, if installed."""
    return shutil.which("nginx") or (("/usr/sbin/nginx") if Path("/usr/sbin/nginx").exists() else None)


def free_ports(count: int) -> list[int]:
    """``count`` ports of 127.0.0.1 free now."""
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


_STAGED = ("certs", "keys", "crls", "scenarios")


def stage(sample: Path, dest: Path, names: Iterable[str]) -> Path:
    """A copy of the sample PKI at ``dest`` (certs, keys, CRLs and the named scenarios' directories): nginx's conf
    prefix, so the relative paths of each scenarios/<name>/server.conf resolve exactly as against ``sample``."""
    for sub in _STAGED[:-1]:
        shutil.copytree(sample / sub, dest / sub)
    for name in names:
        shutil.copytree(sample / "scenarios" / name, dest / "scenarios" / name)
    return dest


def server_block(sc: Scenario, sample: Path, *, listen: str | None = None, error_log: Path | None = None) -> str:
    """The scenario's scenarios/<name>/server.conf under ``sample``, with only its listen line changed: ``listen``
    (an address:port on 127.0.0.1) and an ``error_log`` at info on that same line, so nginx's line numbers are the
    file's. Unchanged when neither is given."""
    text = (sample / "scenarios" / sc.name / SERVER_CONF).read_text()
    if listen is None and error_log is None:
        return text
    line = SERVER_LISTEN + "\n"
    assert text.count(line) == 1, f"{sc.name}/{SERVER_CONF}: expected one {SERVER_LISTEN.strip()!r} line"
    new = f"    listen {listen or '8443'} ssl;" + (f" error_log {error_log} info;" if error_log else "")
    return text.replace(line, new + "\n")


def _main_conf(work: Path, includes: Iterable[str]) -> str:
    servers = "".join(f"    include {name};\n" for name in includes)
    # worker_connections: every listening socket takes one of the worker's connections (one per scenario, over a
    # hundred), and each probe in flight another; with too few nginx reuses connections and probes fail.
    return f"""worker_processes 1;
daemon off;
master_process off;
pid {work}/nginx.pid;
error_log {work}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {work}/access.log;
    client_body_temp_path {work}/tmp;
    proxy_temp_path {work}/tmp;
{servers}}}
"""


@dataclass
class RunningNginx:
    """An nginx serving scenarios; ``ports[name]`` and ``logs[name]`` per scenario."""

    ports: dict[str, int]
    logs: dict[str, Path]


@contextmanager
def serve(
    scenarios: list[Scenario],
    sample: Path,
    workdir: Path,
    *,
    server_time: datetime | None = None,
    rewrite: Callable[[str], str] | None = None,
) -> Iterator[RunningNginx]:
    """Run one nginx serving ``scenarios`` (all of one server clock) until the block exits.

    nginx's main configuration sits in a copy of the sample PKI and includes each scenario's own server.conf,
    rewritten only in its listen line (see server_block), and by ``rewrite`` when given (the live probe's tests
    strip the page that shows $ssl_client_verify).
    """
    binary = nginx_binary()
    assert binary, "nginx is not installed"
    work = workdir / (f"nginx-{server_time:%Y%m%d}" if server_time else "nginx")
    if work.exists():
        work = workdir / f"{work.name}-{len(list(workdir.iterdir()))}"
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    (work / "logs").mkdir(exist_ok=True)
    root = stage(sample, work / "sample_pki", (sc.name for sc in scenarios))
    ports = dict(zip((sc.name for sc in scenarios), free_ports(len(scenarios)), strict=True))
    logs = {sc.name: work / "logs" / f"{sc.name}.log" for sc in scenarios}
    for sc in scenarios:
        block = server_block(sc, sample, listen=f"127.0.0.1:{ports[sc.name]}", error_log=logs[sc.name])
        if rewrite is not None:
            block = rewrite(block)
        (root / "scenarios" / sc.name / SERVER_CONF).write_text(block)
    conf = root / "nginx.conf"
    conf.write_text(_main_conf(work, (f"scenarios/{sc.name}/{SERVER_CONF}" for sc in scenarios)))
    argv = [binary, "-p", str(work), "-c", str(conf)]
    env = {**os.environ, "TZ": "UTC"}
    if server_time is not None:
        preload = libfaketime()
        assert preload, "faketime is not installed (apt-get install faketime)"
        # "@...": the clock starts at that time and runs on (libfaketime's FAKETIME format)
        env.update(LD_PRELOAD=preload, FAKETIME=f"@{server_time:%Y-%m-%d %H:%M:%S}")
    # A session of its own, stopped as a process group: nothing nginx starts outlives the test.
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_listening(list(ports.values()), proc)
        yield RunningNginx(ports, logs)
    finally:
        stop_group(proc)
        if server_time is not None:
            _forget_faketime_state(proc.pid)


@contextmanager
def serve_blocks(blocks: list[str], sample: Path, workdir: Path, scenarios: Iterable[str]) -> Iterator[int]:
    """Run one nginx serving the server ``blocks`` (paths relative to the sample PKI, each with the sample's
    ``listen 8443 ssl;`` line; the files of ``scenarios`` staged) together on one ephemeral port of 127.0.0.1."""
    binary = nginx_binary()
    assert binary, "nginx is not installed"
    work = workdir / "nginx-blocks"
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    root = stage(sample, work / "sample_pki", scenarios)
    (port,) = free_ports(1)
    names = []
    for i, block in enumerate(blocks):
        assert block.count(SERVER_LISTEN + "\n") == 1, "each block has the sample's listen line"
        (root / f"block{i}.conf").write_text(block.replace(SERVER_LISTEN, f"    listen 127.0.0.1:{port} ssl;"))
        names.append(f"block{i}.conf")
    conf = root / "nginx.conf"
    conf.write_text(_main_conf(work, names))
    proc = subprocess.Popen(
        [binary, "-p", str(work), "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_listening([port], proc)
        yield port
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group (nginx's graceful stop), SIGKILL after 10 s; every process of it is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def wait_listening(ports: list[int], proc: subprocess.Popen[bytes], output: Callable[[], str] | None = None) -> None:
    """Until ``proc`` listens on every port of 127.0.0.1 in ``ports`` (RuntimeError with what it said, ``output``
    or its stdout, when it exits first or does not listen in time; it is stopped then)."""
    name = Path(str(proc.args[0])).name  # type: ignore[index]
    deadline = time.monotonic() + TIMEOUT
    pending = set(ports)
    while pending and time.monotonic() < deadline:
        if proc.poll() is not None:
            said = output() if output else (proc.stdout.read().decode(errors="replace") if proc.stdout else "")
            msg = f"{name} exited with {proc.returncode}: {said}"
            raise RuntimeError(msg)
        for port in list(pending):
            with socket.socket() as s:
                s.settimeout(0.2)
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    pending.discard(port)
        time.sleep(0.02)
    if pending:
        stop_group(proc)
        msg = f"{name} did not listen on {sorted(pending)}"
        raise RuntimeError(msg)


@dataclass(frozen=True, slots=True)
class ConfigTest:
    """``nginx -t`` on one scenario's server.conf."""

    starts: bool
    output: str
    """nginx's stderr, with the staged copy's paths given as the sample PKI's."""
    emerg: str | None
    """The text of nginx's ``[emerg]`` line, without its `` in FILE:LINE`` suffix."""
    where: str | None
    """That suffix's ``FILE:LINE``, when nginx gave one."""


_EMERG = re.compile(r"\[emerg\] (?:\d+#\d+: )?(.*?)(?: in (\S+:\d+))?$", re.MULTILINE)


def config_tests(scenarios: list[Scenario], sample: Path, workdir: Path) -> dict[str, ConfigTest]:
    """``nginx -t`` on each scenario's server.conf, exactly as committed (nginx -t opens no listening socket), each
    included from its own main configuration in one copy of the sample PKI; run concurrently."""
    work = workdir / "nginx-t"
    root = stage(sample, work / "sample_pki", (sc.name for sc in scenarios))
    with ThreadPoolExecutor(max_workers=8) as pool:
        tested = pool.map(lambda sc: _nginx_t(sc.name, f"scenarios/{sc.name}/{SERVER_CONF}", root, sample), scenarios)
        return dict(zip((sc.name for sc in scenarios), tested, strict=True))


def config_test_block(block: str, sample: Path, workdir: Path) -> ConfigTest:
    """``nginx -t`` on a server block given as text, its paths relative to the sample PKI's root (a variant of some
    scenario's server.conf); it is included from a main configuration in a copy of the sample PKI."""
    root = stage(sample, workdir / "sample_pki", (p.name for p in sorted((sample / "scenarios").iterdir())))
    (root / "variant.conf").write_text(block)
    return _nginx_t("variant", "variant.conf", root, sample)


def config_test(sc: Scenario, sample: Path, workdir: Path) -> tuple[bool, str]:
    """``nginx -t`` on the scenario's server block: (starts, nginx's own message)."""
    tested = config_tests([sc], sample, workdir / f"conftest-{sc.name}")[sc.name]
    return tested.starts, tested.output


def _nginx_t(name: str, include: str, root: Path, sample: Path) -> ConfigTest:
    """``nginx -t`` with a main configuration in ``root`` (a staged copy of ``sample``) that includes ``include``;
    nginx's output names the sample PKI's files, not the copy's."""
    binary = nginx_binary()
    assert binary, "nginx is not installed"
    work = root.parent
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    conf = root / f"nginx-t-{name}.conf"
    conf.write_text(_main_conf(work, [include]))
    argv = [binary, "-t", "-p", str(work), "-c", str(conf)]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    output = run.stderr
    for sub in _STAGED:
        output = output.replace(f"{root / sub}/", f"{sample / sub}/")
    match = _EMERG.search(output)
    return ConfigTest(
        starts=run.returncode == 0,
        output=output,
        emerg=match.group(1) if match else None,
        where=match.group(2) if match else None,
    )


_OBSERVED: dict[tuple[Path, tuple[str, ...]], dict[str, Observation]] = {}


def observe_all(scenarios: list[Scenario], sample: Path, workdir: Callable[[], Path]) -> dict[str, Observation]:
    """What the real nginx does with every scenario's server.conf, computed once per test session.

    ``nginx -t`` runs on every block: one nginx refuses is observed as server_config_error, its ``[emerg]`` text as
    the reason. The others are served, one nginx per server clock (scenarios with a clock only when faketime is
    installed: the others are left out), and probed concurrently by the scenario's client.
    """
    key = (sample, tuple(sc.name for sc in scenarios))
    if key in _OBSERVED:
        return _OBSERVED[key]
    work = workdir()
    results: dict[str, Observation] = {}
    by_clock: dict[datetime | None, list[Scenario]] = defaultdict(list)
    tested_all = config_tests(scenarios, sample, work)
    for sc in scenarios:
        tested = tested_all[sc.name]
        if tested.starts:
            by_clock[sc.server_time].append(sc)
        else:
            results[sc.name] = Observation(
                Outcome.SERVER_CONFIG_ERROR, None, tested.emerg, None, f"nginx -t: {tested.output.strip()}"
            )
    for clock, group in by_clock.items():
        if clock is not None and libfaketime() is None:
            continue
        with serve(group, sample, work, server_time=clock) as running, ThreadPoolExecutor(max_workers=8) as pool:
            seen = pool.map(lambda sc: probe(sc, running.ports[sc.name], running.logs[sc.name], sample, work), group)
            results.update(zip((sc.name for sc in group), seen, strict=True))
    _OBSERVED[key] = results
    return results


def probe(sc: Scenario, port: int, log: Path, sample: Path, workdir: Path) -> Observation:
    """Send one request as the scenario's client does, and read nginx's answer and error log; for a scenario with
    ``expect.permissive``, then once more as s_client at security level 0 (``Observation.permissive``)."""
    seen = _probe_with(sc.client_tool, sc, port, log, sample=sample, workdir=workdir)
    if sc.expect.permissive is not None:
        permissive = _probe_with("s_client-seclevel0", sc, port, log, sample=sample, workdir=workdir)
        seen = dataclasses.replace(seen, permissive=permissive)
    return seen


def _probe_with(tool: str, sc: Scenario, port: int, log: Path, *, sample: Path, workdir: Path) -> Observation:
    files = scenario_files(sc)
    where = sample / "scenarios" / sc.name
    offset = log.stat().st_size if log.exists() else 0
    if tool == "s_client-seclevel0" and files.cert:
        status, body, detail, failed = _s_client(sc, port, where, workdir)
    else:
        status, body, detail, failed = _curl(sc, port, where, workdir)
    logged = _read_log(log, offset)
    verify: int | None = None
    log_line: str | None = None
    match = _VERIFY_LINE.search(logged)
    if match:
        verify, log_line = int(match.group(1)), match.group(0)
    elif ocsp := _OCSP_LINE.search(logged):
        log_line = ocsp.group(0)
    elif handshake := _HANDSHAKE_LINE.search(logged):
        # nginx failed the handshake itself: the client got an alert and no HTTP answer.
        return Observation(Outcome.REJECT, None, None, None, detail, handshake.group(0))
    if failed:
        return Observation(Outcome.CLIENT_ERROR, None, None, verify, detail, log_line)
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
    page = _PAGE.search(body) if status == 200 else None
    client_verify = page.group(1).decode() if page else None
    return Observation(outcome, status, reason, verify, detail, log_line, client_verify)


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
