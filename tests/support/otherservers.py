"""A real Apache httpd (mod_ssl) and a real HAProxy on 127.0.0.1, requiring client certificates from the sample PKI,
and the real curl probing them.

Never the packaged services: each server is our own foreground process (``apache2 -X``, ``haproxy -db``) with its
own configuration, ServerRoot, pid file and logs in a temporary directory, serving several sites (one per
configuration: CA file, CRL, verify depth, optional or required) on ephemeral ports of 127.0.0.1, and stopped by its
PID. The server's certificate is the sample PKI's ``localhost``; the trust files are a scenario's own (ca.pem,
crl.pem), as nginx serves them in tests/support/realnginx.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import APACHE_MODULES, require_apache, require_haproxy
from tests.support.realnginx import free_ports, stop_group, wait_listening

TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Site:
    """One client-certificate configuration of a server, served on its own port."""

    name: str
    ca: Path
    """Trusted and advertised: ``SSLCACertificateFile`` / ``ca-file``."""
    crl: Path | None = None
    """``SSLCARevocationFile`` with ``SSLCARevocationCheck chain`` / ``crl-file`` (both check every CA of the chain)."""
    depth: int | None = None
    """Apache's ``SSLVerifyDepth`` (None: Apache's default, 1); HAProxy has no such setting."""
    optional: bool = False
    """``SSLVerifyClient optional`` / ``verify optional``, with an HTTP 403 for a client without a certificate."""


@dataclass
class Running:
    """A server serving sites: ``ports[site name]``, and its logs."""

    ports: dict[str, int]
    error_log: Path
    access_log: Path

    def log_since(self, offset: int) -> str:
        """What the server logged after ``offset`` bytes of its error log (both logs for HAProxy: one file)."""
        try:
            with self.error_log.open("rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        """The error log's size now."""
        return self.error_log.stat().st_size if self.error_log.exists() else 0


def _apache_conf(work: Path, docroot: Path, sample: Path, sites: Sequence[Site], ports: dict[str, int]) -> str:
    modules = ["mpm_prefork", "authz_core", "alias", "ssl"]
    loads = "".join(f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so\n" for m in modules)
    hosts = []
    for site in sites:
        lines = [
            f"Listen 127.0.0.1:{ports[site.name]} https",
            f"<VirtualHost 127.0.0.1:{ports[site.name]}>",
            "    ServerName localhost",
            "    SSLEngine on",
            f"    SSLCertificateFile {sample / 'certs' / 'localhost.pem'}",
            f"    SSLCertificateKeyFile {sample / 'keys' / 'localhost.key'}",
            "    SSLProtocol -all +TLSv1.2 +TLSv1.3",
            f"    SSLVerifyClient {'optional' if site.optional else 'require'}",
            f"    SSLCACertificateFile {site.ca}",
        ]
        if site.depth is not None:
            lines.append(f"    SSLVerifyDepth {site.depth}")
        if site.crl is not None:
            lines += [f"    SSLCARevocationFile {site.crl}", "    SSLCARevocationCheck chain"]
        if site.optional:
            # The HTTP-level check an application does with optional: 403 for a client without a certificate.
            lines.append("    <Location />\n        Require expr %{SSL_CLIENT_VERIFY} == 'SUCCESS'\n    </Location>")
        lines.append("</VirtualHost>")
        hosts.append("\n".join(lines))
    # User nobody: Apache refuses to serve as root; it reads its keys and opens its logs before it switches, and
    # serves ok.txt from ``docroot``, a directory nobody can reach.
    return f"""ServerRoot {work}
PidFile {work}/httpd.pid
Mutex file:{work} default
DefaultRuntimeDir {work}
{loads}User nobody
Group nogroup
ServerName localhost
ErrorLog {work}/error.log
LogLevel info ssl:info
LogFormat "%h %>s verify=%{{SSL_CLIENT_VERIFY}}x proto=%{{SSL_PROTOCOL}}x" mtls
CustomLog {work}/access.log mtls
<Directory />
    AllowOverride None
</Directory>
DocumentRoot {docroot}
Alias / {docroot}/ok.txt
<Directory {docroot}>
    Require all granted
</Directory>
{chr(10).join(hosts)}
"""


def _haproxy_conf(work: Path, sample: Path, sites: Sequence[Site], ports: dict[str, int]) -> str:
    # haproxy's crt is the certificate and its key in one file.
    pem = work / "localhost.pem"
    pem.write_bytes(b"".join((sample / sub).read_bytes() for sub in ("certs/localhost.pem", "keys/localhost.key")))
    fronts = []
    for site in sites:
        bind = (
            f"    bind 127.0.0.1:{ports[site.name]} ssl crt {pem} ca-file {site.ca} "
            f"verify {'optional' if site.optional else 'required'} ssl-min-ver TLSv1.2"
        )
        if site.crl is not None:
            bind += f" crl-file {site.crl}"
        lines = [f"frontend {site.name}", bind]
        if site.optional:
            deny = "http-request return status 403 content-type text/plain string denied"
            lines.append(f"    {deny} unless {{ ssl_c_used }}")
        lines.append("    http-request return status 200 content-type text/plain string ok")
        fronts.append("\n".join(lines))
    return f"""global
    log stdout format raw local0 info
    pidfile {work}/haproxy.pid
defaults
    mode http
    log global
    timeout connect 5s
    timeout client 5s
    timeout server 5s
    log-format "%ci %ft %ST verify=%[ssl_c_verify] crt_err=%[ssl_c_err] ca_err=%[ssl_c_ca_err] used=%[ssl_c_used]"
{chr(10).join(fronts)}
"""


@contextmanager
def serve_apache(sites: Sequence[Site], sample: Path, workdir: Path) -> Iterator[Running]:
    """One Apache httpd (``apache2 -X``: one process in the foreground) serving ``sites``, each on its own port."""
    binary = require_apache()
    work = workdir / "apache"
    work.mkdir(parents=True)
    # Run as root, Apache serves as nobody, which cannot enter a test's private temporary directory: the one page
    # it serves lives in a directory of its own that anyone can read.
    docroot = Path(tempfile.mkdtemp(prefix="mtls-doctor-apache-"))
    try:
        docroot.chmod(0o755)
        (docroot / "ok.txt").write_text("ok\n")
        (docroot / "ok.txt").chmod(0o644)
        ports = dict(zip([s.name for s in sites], free_ports(len(sites)), strict=True))
        conf = work / "httpd.conf"
        conf.write_text(_apache_conf(work, docroot, sample, sites, ports))
        argv = [binary, "-X", "-d", str(work), "-f", str(conf)]
        with _running(argv, ports, work / "error.log", work / "access.log") as running:
            yield running
    finally:
        shutil.rmtree(docroot, ignore_errors=True)


@contextmanager
def serve_haproxy(sites: Sequence[Site], sample: Path, workdir: Path) -> Iterator[Running]:
    """One HAProxy (``haproxy -db``: in the foreground, logging to stdout) serving ``sites``, each on its own port."""
    binary = require_haproxy()
    work = workdir / "haproxy"
    work.mkdir(parents=True)
    ports = dict(zip([s.name for s in sites], free_ports(len(sites)), strict=True))
    conf = work / "haproxy.cfg"
    conf.write_text(_haproxy_conf(work, sample, sites, ports))
    log = work / "haproxy.log"
    argv = [binary, "-db", "-f", str(conf)]
    with _running(argv, ports, log, log, stdout=log) as running:
        yield running


@contextmanager
def _running(
    argv: list[str], ports: dict[str, int], error_log: Path, access_log: Path, *, stdout: Path | None = None
) -> Iterator[Running]:
    out = stdout.open("wb") if stdout is not None else subprocess.DEVNULL
    errors = error_log.with_suffix(".stderr")
    with errors.open("wb") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, start_new_session=True)
    try:
        wait_listening(list(ports.values()), proc, lambda: _said(errors, error_log))
        yield Running(ports=ports, error_log=error_log, access_log=access_log)
    finally:
        stop_group(proc)
        if stdout is not None and not isinstance(out, int):
            out.close()


def _said(*files: Path) -> str:
    return "".join(f.read_text(errors="replace") for f in files if f.exists())


_OPENSSL_ERROR = re.compile(r"error:([0-9A-F]{8}):")
_ALERT_OFFSET = 1000
"""OpenSSL's reason code for a received alert is SSL_AD_REASON_OFFSET (1000) + the alert number (ssl.h:
SSL_R_TLSV1_ALERT_UNKNOWN_CA 1048, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED 1116), so curl's packed error code
``error:0A000418`` names the alert by number whatever its text."""


@dataclass(frozen=True, slots=True)
class CurlResult:
    """What the real curl saw."""

    exit_code: int
    status: int | None
    """The HTTP status, when an answer came."""
    alert: int | None
    """The TLS alert received, read from OpenSSL's packed error code in curl's message."""
    stderr: str


def curl(port: int, cert: Path | None, key: Path | None, *, tls: str, server_ca: Path) -> CurlResult:
    """The real curl against ``https://localhost:PORT/`` on 127.0.0.1, offering TLS ``tls`` (``1.2`` or ``1.3``) only.

    The server's certificate is checked against ``server_ca``, never skipped with ``-k``: over TLS 1.2 curl reports
    a received certificate_expired alert as exit 60 with the text of ITS OWN verification of the server (with -k,
    "unable to get local issuer certificate"), not the alert (lib/vtls/openssl.c, ossl_connect_step2: reason
    SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED is handled as CERTIFICATE_VERIFY_FAILED; observed with curl 7.88)."""
    argv = ["curl", "-sS", "--cacert", str(server_ca), "--max-time", str(TIMEOUT),
            "--resolve", f"localhost:{port}:127.0.0.1", f"--tlsv{tls}", "--tls-max", tls,
            "-o", "/dev/null", "-w", "%{http_code}", f"https://localhost:{port}/"]  # fmt: skip
    if cert is not None and key is not None:
        argv[1:1] = ["--cert", str(cert), "--key", str(key)]
    run = subprocess.run(argv, capture_output=True, timeout=TIMEOUT + 5, check=False, text=True)
    alert = None
    for packed in _OPENSSL_ERROR.findall(run.stderr):
        reason = int(packed, 16) & 0x7FFFFF
        if _ALERT_OFFSET <= reason < _ALERT_OFFSET + 256:
            alert = reason - _ALERT_OFFSET
    status = int(run.stdout) if run.stdout.strip().isdigit() and run.stdout.strip() != "000" else None
    return CurlResult(exit_code=run.returncode, status=status, alert=alert, stderr=run.stderr.strip())
