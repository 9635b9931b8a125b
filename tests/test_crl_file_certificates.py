"""Certificates inside the ssl_crl file, as nginx treats them: X509_LOOKUP_load_file loads them into the trust store
(the verdicts: sample_pki scenarios crl-file-holds-intermediate*), and a corrupt one stops nginx like a corrupt CRL.
Each case is also started with `nginx -t` (skipped without nginx outside CI, failing under CI=true)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.linting import ServerLint, lint_config
from tests.conftest import LOCAL_NOW, SAMPLE, catalogue, require_nginx

CORRUPT_CERTIFICATE = b"-----BEGIN CERTIFICATE-----\nMIIBzzzzzzzzzzzzzzzz\n-----END CERTIFICATE-----\n"

CASES: dict[str, tuple[list[Path | bytes], bool, str]] = {
    # file content, nginx starts, the lint rule that fails
    "crls-and-a-ca": (
        [SAMPLE / "crls" / "root.pem", SAMPLE / "crls" / "issuing.pem", SAMPLE / "certs" / "client-issuing.pem"],
        True,
        "MTLS727",
    ),
    "crls-and-a-corrupt-certificate": (
        [SAMPLE / "crls" / "root.pem", SAMPLE / "crls" / "issuing.pem", CORRUPT_CERTIFICATE],
        False,
        "MTLS710",
    ),
}


def _server(tmp_path: Path, parts: list[Path | bytes]) -> Path:
    crl = tmp_path / "crl.pem"
    crl.write_bytes(b"".join(p if isinstance(p, bytes) else p.read_bytes() for p in parts))
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        "events {}\nhttp {\n    access_log off;\n    server {\n        listen 127.0.0.1:18443 ssl;\n"
        f"        ssl_certificate {SAMPLE}/certs/localhost.pem;\n"
        f"        ssl_certificate_key {SAMPLE}/keys/localhost.key;\n"
        f"        ssl_client_certificate {SAMPLE}/certs/client-root.pem;\n"
        "        ssl_verify_client on;\n"
        f"        ssl_crl {crl};\n    }}\n}}\n"
    )
    return conf


def _lint(conf: Path) -> ServerLint:
    report = lint_config(conf, now=LOCAL_NOW, nginx=None, allow_outside=True, catalogue=catalogue())
    (server,) = report.servers
    return server


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_lint_reads_the_crl_file_as_nginx_does(case: str, tmp_path: Path) -> None:
    parts, starts, rule = CASES[case]
    server = _lint(_server(tmp_path, parts))
    failing = {f.rule.id for f in server.findings if f.status is Status.FAIL}
    assert rule in failing, failing
    assert (server.config_error is None) == starts, server.config_error
    assert "MTLS501" not in failing, "the file holds a CRL for both CAs"


@pytest.mark.nginx
@pytest.mark.parametrize("case", sorted(CASES))
def test_nginx_starts_exactly_when_the_lint_says(case: str, tmp_path: Path) -> None:
    parts, starts, _ = CASES[case]
    conf = _server(tmp_path, parts)
    argv = [
        require_nginx(),
        "-t",
        "-p",
        f"{tmp_path}/",
        "-c",
        str(conf),
        "-e",
        "stderr",
        "-g",
        f"pid {tmp_path}/x.pid;",
    ]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    assert (run.returncode == 0) == starts, run.stderr
    error = _lint(conf).config_error
    if not starts:
        assert error is not None
        assert f'X509_LOOKUP_load_file("{tmp_path}/crl.pem") failed' in run.stderr
        assert error.startswith(f'X509_LOOKUP_load_file("{tmp_path}/crl.pem") failed')
