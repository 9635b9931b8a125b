"""Version awareness of `lint` and `check --nginx`: the nginx version (--nginx-version, or the version line of a
pasted `nginx -V` given with --nginx-v) selects the defaults and requirements of that nginx, and the OpenSSL line of
`nginx -V` selects the OpenSSL generation whose verify behaviour the twin reproduces. Everything not observed (only
nginx 1.22.1 with OpenSSL 3.0 was) must be named in the JSON report's `assumptions`.

Every assertion is on the CLI's JSON (the commands run as subprocesses, all of them at once before the tests), except
the twin's highest TLS version, which the JSON does not carry (see test_the_twin_negotiates_what_the_version_enables).
The real `nginx -V` is used where nginx is installed; the real nginx -t confirms what 1.22.1 does with the variants.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mtls_doctor.linting import lint_config
from mtls_doctor.samplepki.write import SERVER_CONF, SERVER_LISTEN
from mtls_doctor.serverblock import choose_block
from tests.conftest import LOCAL_NOW, REPO, SAMPLE, require_nginx
from tests.support import realnginx

ROOT = SAMPLE.resolve()

# `nginx -V 2>&1` of builds that are not on this machine (as such builds print it).
NGINX_V = {
    "1.25.3-openssl-1.1.1": "nginx version: nginx/1.25.3\nbuilt with OpenSSL 1.1.1w  11 Sep 2023\n"
    "TLS SNI support enabled\nconfigure arguments: --prefix=/etc/nginx --with-http_ssl_module --with-http_v2_module\n",
    "1.14.0-openssl-1.0.2": "nginx version: nginx/1.14.0\nbuilt with OpenSSL 1.0.2u  20 Dec 2019\n"
    "TLS SNI support enabled\nconfigure arguments: --prefix=/etc/nginx --with-http_ssl_module\n",
    "1.27.3-openssl-3.0": "nginx version: nginx/1.27.3\nbuilt with OpenSSL 3.0.13 30 Jan 2024\n"
    "TLS SNI support enabled\nconfigure arguments: --prefix=/etc/nginx --with-http_ssl_module\n",
    "1.22.1-built-3.0-running-1.1.1": "nginx version: nginx/1.22.1\n"
    "built with OpenSSL 3.0.2 15 Mar 2022 (running with OpenSSL 1.1.1w  11 Sep 2023)\nTLS SNI support enabled\n",
    "1.24.0-libressl": "nginx version: nginx/1.24.0\nbuilt with LibreSSL 3.8.2\nTLS SNI support enabled\n"
    "configure arguments: --prefix=/etc/nginx --with-http_ssl_module\n",
}
REAL = "real"
"""--nginx-v with the output of the nginx installed here (`nginx -V 2>&1`)."""


def _variant(name: str) -> str:
    """good-chain's server.conf, changed in one place (paths stay relative to the sample PKI's root)."""
    text = (ROOT / "scenarios" / "good-chain" / SERVER_CONF).read_text()
    if name == "no-protocols":  # nginx's default ssl_protocols for the version
        changed = text.replace("    ssl_protocols TLSv1.2 TLSv1.3;\n", "")
    elif name == "ssl-on":  # the obsolete `ssl on;` instead of `listen ... ssl`
        changed = text.replace(SERVER_LISTEN + "\n", "    listen 8443;\n    ssl on;\n")
    elif name == "depth-2":
        changed = text.replace("    ssl_verify_client on;\n", "    ssl_verify_client on;\n    ssl_verify_depth 2;\n")
    else:
        raise AssertionError(name)
    assert changed != text
    return changed


VARIANTS = ("no-protocols", "ssl-on", "depth-2")


@dataclass(frozen=True)
class Call:
    """One CLI run: `check` (a scenario's client against a server block) or `lint` (the block alone)."""

    command: str
    block: str
    """A scenario whose server.conf is judged, or a VARIANTS name (with good-chain's client)."""
    version: str | None = None
    v_file: str | None = None
    """A key of NGINX_V, or REAL."""

    def argv(self, work: Path) -> list[str]:
        if self.block in VARIANTS:
            conf, client = work / f"{self.block}.conf", "good-chain"
        else:
            conf, client = ROOT / "scenarios" / self.block / SERVER_CONF, self.block
        argv = [sys.executable, "-m", "mtls_doctor", self.command]
        if self.command == "check":
            where = ROOT / "scenarios" / client
            if (where / "client.pem").is_file():
                argv += ["--cert", str(where / "client.pem"), "--key", str(where / "client.key")]
            argv += ["--nginx"]
        argv += [str(conf), "--prefix", str(ROOT), "--format", "json"]
        if self.version is not None:
            argv += ["--nginx-version", self.version]
        if self.v_file is not None:
            argv += ["--nginx-v", str(work / f"nginx-V-{self.v_file}.txt")]
        return argv


CALLS: list[Call] = []


def call(command: str, block: str, *, version: str | None = None, v_file: str | None = None) -> Call:
    """Register a run (all of them run concurrently, once)."""
    c = Call(command, block, version, v_file)
    if c not in CALLS:
        CALLS.append(c)
    return c


@dataclass(frozen=True)
class Result:
    exit_code: int
    doc: dict[str, Any]
    stderr: str


@functools.cache
def _real_nginx_v() -> str | None:
    binary = realnginx.nginx_binary()
    if binary is None:
        return None
    run = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=30, check=True)
    return run.stdout + run.stderr


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The variants and the nginx -V files."""
    path = tmp_path_factory.mktemp("versions")
    for name in VARIANTS:
        (path / f"{name}.conf").write_text(_variant(name))
    for name, text in NGINX_V.items():
        (path / f"nginx-V-{name}.txt").write_text(text)
    real = _real_nginx_v()
    if real is not None:
        (path / f"nginx-V-{REAL}.txt").write_text(real)
    return path


@pytest.fixture(scope="module")
def results(work: Path) -> dict[Call, Result]:
    """Every registered run, concurrently."""

    def run(c: Call) -> Result:
        proc = subprocess.run(c.argv(work), capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
        try:
            doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
        except json.JSONDecodeError:
            doc = {}
        return Result(proc.returncode, doc, proc.stderr)

    runnable = [c for c in CALLS if c.v_file != REAL or _real_nginx_v() is not None]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(zip(runnable, pool.map(run, runnable), strict=True))


def _doc(results: dict[Call, Result], c: Call) -> dict[str, Any]:
    if c.v_file == REAL:
        require_nginx()
    result = results[c]
    assert result.doc, f"{c}: exit {result.exit_code}, no JSON: {result.stderr.strip()}"
    return result.doc


def _lint_statuses(doc: dict[str, Any]) -> dict[str, str]:
    """Rule id -> status of the findings lint shows (those that fail, without --all)."""
    (server,) = doc["servers"]
    return {f["rule"]: f["status"] for f in server["findings"]}


def _documented(doc: dict[str, Any], what: str) -> bool:
    return any(a.startswith(what) and "documentation" in a for a in doc["assumptions"])


# ---------------------------------------------------------------- ssl_client_certificate, required until 1.27.2

VERIFY_WITHOUT_CA = {v: call("check", "verify-on-without-ca-file", version=v) for v in ("1.22.1", "1.24.0", "1.27.3")}
VERIFY_WITHOUT_CA_LINT = {
    v: call("lint", "verify-on-without-ca-file", version=v) for v in ("1.22.1", "1.24.0", "1.27.3")
}
VERIFY_WITHOUT_CA_V = call("check", "verify-on-without-ca-file", v_file="1.27.3-openssl-3.0")


@pytest.mark.parametrize("version", ["1.22.1", "1.24.0"])
def test_before_1_27_2_verification_without_client_certificate_does_not_start(
    version: str, results: dict[Call, Result]
) -> None:
    doc = _doc(results, VERIFY_WITHOUT_CA[version])
    verdict = doc["verdict"]
    assert verdict["outcome"] == "server_config_error"
    assert verdict["reason"] == "no ssl_client_certificate for ssl_verify_client"  # nginx -t's own words (1.22.1)
    assert verdict["http_status"] is None
    assert doc["nginx"]["version"] == version
    assert doc["nginx"]["version_assumed"] is False
    if version == "1.22.1":
        assert not _documented(doc, "nginx"), "nginx 1.22.1 is what was observed"
    else:
        assert _documented(doc, f"nginx {version}:"), doc["assumptions"]
    lint = _doc(results, VERIFY_WITHOUT_CA_LINT[version])
    assert lint["nginx"] == {"version": f"nginx/{version}", "assumed": False}
    assert _lint_statuses(lint).get("MTLS601") == "fail", "verify-client-without-client-certificate"
    assert results[VERIFY_WITHOUT_CA_LINT[version]].exit_code == 1


def test_since_1_27_2_ssl_trusted_certificate_alone_verifies(results: dict[Call, Result]) -> None:
    """nginx 1.27.2: "the ssl_client_certificate directive is not required" (CHANGES): the block starts, verifies
    against ssl_trusted_certificate, and advertises no CA names."""
    for c in (VERIFY_WITHOUT_CA["1.27.3"], VERIFY_WITHOUT_CA_V):
        doc = _doc(results, c)
        verdict = doc["verdict"]
        assert verdict["outcome"] == "accept", verdict
        assert verdict["http_status"] == 200
        assert verdict["ssl_client_verify"] == "SUCCESS"
        assert doc["acceptable_ca_names"] == []
        assert doc["nginx"]["version"] == "1.27.3"
        assert _documented(doc, "nginx 1.27.3:"), doc["assumptions"]
        assert not _documented(doc, "OpenSSL"), "nginx -V says OpenSSL 3.0: observed"
    lint = _doc(results, VERIFY_WITHOUT_CA_LINT["1.27.3"])
    statuses = _lint_statuses(lint)
    assert statuses.get("MTLS601") != "fail"
    assert statuses.get("MTLS702") == "fail", "client-ca-names-not-advertised"
    assert results[VERIFY_WITHOUT_CA_LINT["1.27.3"]].exit_code == 0, "nothing blocking any more"


# ---------------------------------------------------------------- no version given; the real nginx -V

DEFAULT_CHECK = call("check", "intermediate-no-basic-constraints")
REAL_CHECK = call("check", "intermediate-no-basic-constraints", v_file=REAL)
DEFAULT_LINT = call("lint", "verify-on-without-ca-file")
REAL_LINT = call("lint", "verify-on-without-ca-file", v_file=REAL)


def test_without_a_version_debian_12_nginx_is_assumed_and_said(results: dict[Call, Result]) -> None:
    doc = _doc(results, DEFAULT_CHECK)
    assert doc["nginx"]["version"] == "1.22.1"
    assert doc["nginx"]["version_assumed"] is True
    assert any("nginx 1.22.1 (Debian 12)" in a for a in doc["assumptions"]), doc["assumptions"]
    assert doc["verdict"]["verify_error"]["code"] == 79, "OpenSSL 3's number for invalid CA certificate"
    lint = _doc(results, DEFAULT_LINT)
    assert lint["nginx"] == {"version": "nginx/1.22.1", "assumed": True}


@pytest.mark.nginx
def test_the_real_nginx_v_is_read(results: dict[Call, Result]) -> None:
    require_nginx()
    real = _real_nginx_v()
    assert real
    version = real.split("nginx/", 1)[1].split()[0]
    doc = _doc(results, REAL_CHECK)
    assert doc["nginx"]["version"] == version
    assert doc["nginx"]["version_assumed"] is False
    lint = _doc(results, REAL_LINT)
    assert lint["nginx"] == {"version": f"nginx/{version}", "assumed": False}
    if version.startswith("1.22.") and "OpenSSL 3." in real:
        # What the observations were made with: nothing assumed, and the verdict is the assumed default's.
        assert doc["assumptions"] == []
        assert doc["verdict"] == _doc(results, DEFAULT_CHECK)["verdict"]
        assert doc["verdict"]["log_line"] == "client SSL certificate verify error: (79:invalid CA certificate)"
        assert _lint_statuses(lint).get("MTLS601") == "fail"


# ---------------------------------------------------------------- the OpenSSL generation of nginx -V

NO_BC = {
    v: call("check", "intermediate-no-basic-constraints", v_file=v)
    for v in ("1.25.3-openssl-1.1.1", "1.22.1-built-3.0-running-1.1.1")
}
NO_BC_VERSION_ONLY = call("check", "intermediate-no-basic-constraints", version="1.25.3")


@pytest.mark.parametrize("v_file", sorted(NO_BC))
def test_openssl_1_1_numbers_invalid_ca_24(v_file: str, results: dict[Call, Result]) -> None:
    """OpenSSL 1.1.1 numbers X509_V_ERR_INVALID_CA 24 (79 since 3.0); the library nginx runs with counts."""
    doc = _doc(results, NO_BC[v_file])
    verdict = doc["verdict"]
    assert verdict["outcome"] == "reject"
    assert verdict["http_status"] == 400
    assert verdict["verify_error"]["code"] == 24
    assert verdict["verify_error"]["name"] == "X509_V_ERR_INVALID_CA"
    assert verdict["log_line"] == "client SSL certificate verify error: (24:invalid CA certificate)"
    assert _documented(doc, "OpenSSL 1.1:"), doc["assumptions"]
    if v_file.startswith("1.22.1"):
        assert not _documented(doc, "nginx"), "nginx 1.22.1 itself was observed"


def test_a_bare_version_keeps_openssl_3(results: dict[Call, Result]) -> None:
    doc = _doc(results, NO_BC_VERSION_ONLY)
    assert doc["verdict"]["verify_error"]["code"] == 79
    assert _documented(doc, "nginx 1.25.3:")


DEPTH = {
    (block, v): call("check", block, v_file=v)
    for block in ("good-chain", "depth-2")
    for v in ("1.14.0-openssl-1.0.2", "1.25.3-openssl-1.1.1")
}


def test_openssl_1_0_2_depth_1_admits_no_intermediate(results: dict[Call, Result]) -> None:
    """OpenSSL 1.0.2 counted the leaf in the verify depth: nginx's default ssl_verify_depth 1 leaves no room for
    the issuing CA, and good-chain (leaf + intermediate, root trusted) is rejected; ssl_verify_depth 2 is the old
    advice that fixed it. OpenSSL 1.1+ admits one intermediate at depth 1."""
    old = _doc(results, DEPTH["good-chain", "1.14.0-openssl-1.0.2"])
    verdict = old["verdict"]
    assert verdict["outcome"] == "reject", verdict
    assert verdict["http_status"] == 400
    assert verdict["verify_error"] is not None
    assert verdict["verify_error"]["code"] == 20, "1.0.2 stops building the chain at the depth: issuer not found"
    assert _documented(old, "OpenSSL 1.0:"), old["assumptions"]
    assert _documented(old, "nginx 1.14.0:"), old["assumptions"]
    assert _doc(results, DEPTH["depth-2", "1.14.0-openssl-1.0.2"])["verdict"]["outcome"] == "accept"
    for block in ("good-chain", "depth-2"):
        assert _doc(results, DEPTH[block, "1.25.3-openssl-1.1.1"])["verdict"]["outcome"] == "accept"


LIBRESSL = call("check", "intermediate-no-basic-constraints", v_file="1.24.0-libressl")
VERSION_ONLY_OLD = call("check", "intermediate-no-basic-constraints", version="1.14.0")


def test_a_tls_library_that_is_not_openssl_is_named_as_an_assumption(results: dict[Call, Result]) -> None:
    doc = _doc(results, LIBRESSL)
    assert any("LibreSSL" in a for a in doc["assumptions"]), doc["assumptions"]


def test_an_unknown_openssl_generation_is_named_as_an_assumption(results: dict[Call, Result]) -> None:
    doc = _doc(results, VERSION_ONLY_OLD)
    assert any("OpenSSL" in a for a in doc["assumptions"]), doc["assumptions"]


# ---------------------------------------------------------------- TLS 1.3 by default since 1.23.4

PROTOCOLS_LINT = {v: call("lint", "no-protocols", version=v) for v in ("1.22.1", "1.24.0", "1.27.3")}
PROTOCOLS_CHECK = {v: call("check", "no-protocols", version=v) for v in ("1.22.1", "1.24.0", "1.27.3")}


@pytest.mark.parametrize(
    ("version", "tls13", "legacy"), [("1.22.1", False, True), ("1.24.0", True, True), ("1.27.3", True, False)]
)
def test_default_protocols_follow_the_version(
    version: str, tls13: bool, legacy: bool, results: dict[Call, Result]
) -> None:
    """Without ssl_protocols: TLSv1 TLSv1.1 TLSv1.2 before 1.23.4, plus TLSv1.3 since, minus TLSv1/1.1 since 1.27.3."""
    statuses = _lint_statuses(_doc(results, PROTOCOLS_LINT[version]))
    assert (statuses.get("MTLS719") == "fail") is not tls13, "tls13-not-enabled"
    # nginx's default alone: MTLS741's note (info); MTLS718 is for a written ssl_protocols
    assert (statuses.get("MTLS741") == "fail") is legacy, "legacy-tls-protocols-by-default"
    assert statuses.get("MTLS718") != "fail", "legacy-tls-protocols-enabled"
    doc = _doc(results, PROTOCOLS_CHECK[version])
    assert doc["verdict"]["outcome"] == "accept", "client certificates verify alike under TLS 1.2 and 1.3"
    assert doc["nginx"]["version"] == version


@pytest.mark.parametrize(("version", "max_tls"), [("1.22.1", "TLSv1.2"), ("1.23.3", "TLSv1.2"), ("1.23.4", "TLSv1.3")])
def test_the_twin_negotiates_what_the_version_enables(version: str, max_tls: str, tmp_path: Path) -> None:
    """The twin's highest protocol is the block's, nginx's default for the version included (check --nginx's own
    steps, in-process)."""
    conf = tmp_path / "no-protocols.conf"
    conf.write_text(_variant("no-protocols"))
    report = lint_config(conf, now=LOCAL_NOW, prefix=ROOT, nginx=version)
    block = choose_block(report, name=None, port=None, ask=None)
    assert block.settings.max_tls == max_tls


# ---------------------------------------------------------------- `ssl on`, removed in 1.25.1

SSL_ON_LINT = {v: call("lint", "ssl-on", version=v) for v in ("1.22.1", "1.25.0", "1.25.1", "1.27.3")}
SSL_ON_CHECK = {v: call("check", "ssl-on", version=v) for v in ("1.22.1", "1.25.1")}


@pytest.mark.parametrize(
    ("version", "removed"), [("1.22.1", False), ("1.25.0", False), ("1.25.1", True), ("1.27.3", True)]
)
def test_ssl_on_is_deprecated_then_removed(version: str, removed: bool, results: dict[Call, Result]) -> None:
    statuses = _lint_statuses(_doc(results, SSL_ON_LINT[version]))
    assert (statuses.get("MTLS716") == "fail") is not removed, "ssl-on-deprecated"
    assert (statuses.get("MTLS717") == "fail") is removed, "ssl-on-removed"
    assert results[SSL_ON_LINT[version]].exit_code == (1 if removed else 0)


def test_ssl_on_still_serves_before_1_25_1(results: dict[Call, Result]) -> None:
    doc = _doc(results, SSL_ON_CHECK["1.22.1"])
    assert doc["verdict"]["outcome"] == "accept"
    assert doc["verdict"]["http_status"] == 200
    assert not _documented(doc, "nginx"), "nginx 1.22.1 is what was observed"


@pytest.mark.nginx
def test_the_real_nginx_1_22_starts_with_ssl_on(tmp_path: Path) -> None:
    """What the prediction above rests on: nginx 1.22 warns about `ssl on;` and starts."""
    require_nginx()
    real = _real_nginx_v() or ""
    if "nginx/1.22." not in real:
        pytest.skip(f"the nginx installed is not 1.22: {real.splitlines()[0]}")
    tested = realnginx.config_test_block(_variant("ssl-on"), ROOT, tmp_path)
    assert tested.starts, tested.output
    assert 'the "ssl" directive is deprecated, use the "listen ... ssl" directive instead' in tested.output


def test_ssl_on_does_not_start_since_1_25_1(results: dict[Call, Result]) -> None:
    verdict = _doc(results, SSL_ON_CHECK["1.25.1"])["verdict"]
    assert verdict["outcome"] == "server_config_error", verdict
    assert 'unknown directive "ssl"' in (verdict["reason"] or "")


# ---------------------------------------------------------------- usage

BOTH = call("check", "good-chain", version="1.22.1", v_file="1.27.3-openssl-3.0")
NOT_A_VERSION = call("lint", "good-chain", version="latest")


def test_version_and_nginx_v_together_are_refused(results: dict[Call, Result]) -> None:
    result = results[BOTH]
    assert result.exit_code == 2
    assert "--nginx-version or --nginx-v" in result.stderr


def test_an_unreadable_version_is_refused(results: dict[Call, Result]) -> None:
    result = results[NOT_A_VERSION]
    assert result.exit_code == 2
    assert "no nginx version" in result.stderr
