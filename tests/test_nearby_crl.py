"""The CRL MTLS501 finds missing, looked for near the inputs (facts/nearby.py find_crl, facts/revocation.py
missing_crl_commands): a CRL counts only when its issuer name is the CA's and the CA's key verifies its signature,
and it is current; the commands written run as written and append exactly that CRL; when none is found, the
placeholder is said to be one, with the CA's distribution point printed as text and never contacted."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.facts.certificate import describe
from mtls_doctor.facts.chain import Node
from mtls_doctor.facts.nearby import find_crl
from mtls_doctor.facts.revocation import missing_crl_commands
from mtls_doctor.vocabulary import CertSource, Origin
from tests.conftest import LOCAL_NOW, SAMPLE, catalogue

ISSUING = x509.load_pem_x509_certificate((SAMPLE / "certs" / "client-issuing.pem").read_bytes())
ROOT = x509.load_pem_x509_certificate((SAMPLE / "certs" / "client-root.pem").read_bytes())
CRLS = SAMPLE / "crls"


def _node(cert: x509.Certificate, where: str = "ca.pem") -> Node:
    return Node(cert=cert, facts=describe(cert, Origin(source=where, block=1)), source=CertSource.CA_FILE)


def _crl_of(path: Path) -> x509.CertificateRevocationList:
    data = path.read_bytes()
    return x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data)


def test_a_crl_counts_only_when_signed_by_the_ca_and_current(tmp_path: Path) -> None:
    # issuing-badsig carries the issuing CA's name but another key's signature; the others are out of date at
    # the server's clock: none of them is the CA's current CRL.
    for name in ("issuing-badsig.pem", "issuing-expired.pem", "issuing-future.pem", "root.pem"):
        shutil.copy(CRLS / name, tmp_path / name)
    assert find_crl(ISSUING, [tmp_path], at=LOCAL_NOW) is None
    shutil.copy(CRLS / "issuing.pem", tmp_path / "issuing.pem")
    found = find_crl(ISSUING, [tmp_path], at=LOCAL_NOW)
    assert found is not None
    assert found.path == tmp_path / "issuing.pem"
    assert found.alone
    # of two current CRLs, the newer one (its thisUpdate), which supersedes the other
    shutil.copy(CRLS / "issuing-2026.pem", tmp_path / "issuing-2026.pem")
    newest = find_crl(ISSUING, [tmp_path], at=LOCAL_NOW)
    assert newest is not None
    assert newest.path == tmp_path / "issuing-2026.pem"
    # a file of the inputs is not a candidate
    assert find_crl(ISSUING, [tmp_path], at=LOCAL_NOW, skip=[tmp_path / "issuing-2026.pem"]).path.name == "issuing.pem"  # type: ignore[union-attr]


def test_an_openssl_ca_layout_crl_beside_the_certificates_is_found(tmp_path: Path) -> None:
    """intermediate/certs/ca.pem is an input: intermediate/crl/ is looked at too (one level, by name)."""
    (tmp_path / "intermediate" / "certs").mkdir(parents=True)
    (tmp_path / "intermediate" / "crl").mkdir()
    shutil.copy(CRLS / "issuing.pem", tmp_path / "intermediate" / "crl" / "intermediate.crl.pem")
    found = find_crl(ISSUING, [tmp_path / "intermediate" / "certs"], at=LOCAL_NOW)
    assert found is not None
    assert found.path.name == "intermediate.crl.pem"


def _append_and_read(commands: str, where: Path, target: Path) -> list[x509.CertificateRevocationList]:
    argv = ["bash", "-euo", "pipefail", "-c", commands]
    run = subprocess.run(argv, cwd=where, capture_output=True, timeout=30, check=False)
    assert run.returncode == 0, run.stderr
    data = target.read_bytes()
    blocks = data.split(b"-----END X509 CRL-----")[:-1]
    return [x509.load_pem_x509_crl(b + b"-----END X509 CRL-----\n") for b in blocks]


@pytest.mark.parametrize("form", ["pem-alone", "der", "bundle"])
def test_the_commands_append_exactly_the_found_crl(form: str, tmp_path: Path) -> None:
    """A PEM file holding the CRL alone is appended as it is; a DER CRL is converted; from a bundle (the root's CRL
    and certificates too) only the CRL's own lines are taken."""
    near = tmp_path / "pki"
    near.mkdir()
    wanted = CRLS / "issuing.pem"
    if form == "pem-alone":
        shutil.copy(wanted, near / "issuing.pem")
    elif form == "der":
        (near / "issuing.crl").write_bytes(_crl_of(wanted).public_bytes(Encoding.DER))
    else:
        root = (SAMPLE / "certs" / "client-root.pem").read_bytes()
        (near / "everything.pem").write_bytes(root + (CRLS / "root.pem").read_bytes() + wanted.read_bytes())
    target = tmp_path / "crl.pem"
    shutil.copy(CRLS / "root.pem", target)
    commands = missing_crl_commands(
        [_node(ISSUING).facts], [_node(ISSUING), _node(ROOT)], target=str(target), places=[near], at=LOCAL_NOW
    )
    assert commands is not None
    assert "stands for" not in commands
    crls = _append_and_read(commands, tmp_path, target)
    assert [c.issuer for c in crls] == [ROOT.subject, ISSUING.subject]
    assert crls[1].public_bytes(Encoding.DER) == _crl_of(wanted).public_bytes(Encoding.DER)


def _ca_with_child(url: str) -> tuple[x509.Certificate, x509.Certificate]:
    """A CA and a certificate it issued that names ``url`` as the CA's CRL distribution point."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lab Issuing CA; rm -rf ~")])
    start = LOCAL_NOW - timedelta(days=1)

    def build(subject: x509.Name, public: Any, extension: x509.ExtensionType) -> x509.Certificate:
        b = x509.CertificateBuilder().subject_name(subject).issuer_name(name).public_key(public)
        b = b.serial_number(x509.random_serial_number()).not_valid_before(start)
        b = b.not_valid_after(start + timedelta(days=30)).add_extension(extension, critical=False)
        return b.sign(key, hashes.SHA256())

    ca = build(name, key.public_key(), x509.BasicConstraints(ca=True, path_length=None))
    point = x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")])
    return ca, build(leaf_name, leaf_key.public_key(), x509.CRLDistributionPoints([point]))


def test_without_a_crl_nearby_the_placeholder_says_so_and_the_distribution_point_is_only_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, child = _ca_with_child("http://crl.example.invalid/issuing.crl\nrm -rf /")

    def no_network(*_: object, **__: object) -> socket.socket:
        raise AssertionError("the nearby-CRL search opened a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    commands = missing_crl_commands(
        [_node(ca).facts],
        [_node(ca), _node(child, "client.pem")],
        target=str(tmp_path / "crl.pem"),
        places=[tmp_path],
        at=datetime.now(UTC),
    )
    assert commands is not None
    lines = commands.splitlines()
    # every line but the last is a comment: the URL (with the line break it hides) and the CA's name are text
    assert all(line.startswith("#") for line in lines[:-1]), commands
    assert "http://crl.example.invalid/issuing.crl\\nrm -rf /" in commands
    assert "openssl ca -gencrl" in commands
    assert "lab-issuing-ca-rm-rf-crl.pem stands for it" in commands
    assert lines[-1] == f"cat lab-issuing-ca-rm-rf-crl.pem >> {tmp_path / 'crl.pem'}"


def test_check_nginx_names_the_crl_found_for_the_blocks_ssl_crl(tmp_path: Path) -> None:
    """With --nginx the ssl_crl file is the block's (no --crl flag): the CRL found is appended to it, and the
    search is no internal error (exit 1: the client is refused, not 4)."""
    run = subprocess.run(
        [
            sys.executable, "-m", "mtls_doctor", "check", "--nginx", "scenarios/crl-missing-root-crl/server.conf",
            "--prefix", ".", "--cert", "scenarios/crl-missing-root-crl/client.pem",
            "--key", "scenarios/crl-missing-root-crl/client.key", "--issuers", "crls", "--format", "json",
        ],
        cwd=SAMPLE, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    remedy = next(f["remedy"] for f in report["findings"] if f["rule"] == "MTLS501")
    crl_file = (SAMPLE / "scenarios" / "crl-missing-root-crl" / "crl.pem").resolve()
    assert re.search(rf"^cat crls/root[\w-]*\.pem >> {re.escape(str(crl_file))}$", remedy, re.MULTILINE), remedy


def test_lint_looks_under_issuers_for_the_missing_crl(tmp_path: Path) -> None:
    """lint has no client: the CRL missing for a CA of the trust store is looked for next to the server's files,
    then under --issuers; without one found, the placeholder says it is one."""
    from mtls_doctor.linting import lint_config  # noqa: PLC0415

    shutil.copy(SAMPLE / "certs" / "client-root.pem", tmp_path / "ca.pem")
    shutil.copy(CRLS / "issuing.pem", tmp_path / "crl.pem")  # the issuing CA's CRL only: the root's is missing
    (tmp_path / "site.conf").write_text(
        "server {\n    listen 443 ssl;\n    ssl_certificate cert.pem;\n    ssl_certificate_key key.pem;\n"
        "    ssl_client_certificate ca.pem;\n    ssl_crl crl.pem;\n    ssl_verify_client on;\n}\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(CRLS / "root.pem", elsewhere / "root.pem")

    def remedy(issuers: list[Path]) -> str:
        report = lint_config(tmp_path / "site.conf", now=LOCAL_NOW, catalogue=catalogue(), issuers=issuers)
        found = next(f for f in report.servers[0].findings if f.rule.id == "MTLS501")
        assert found.status is Status.FAIL
        assert found.remedy
        return found.remedy

    assert "root-ca-crl.pem stands for it" in remedy([])
    assert f"cat {elsewhere / 'root.pem'} >> {tmp_path / 'crl.pem'}" in remedy([elsewhere]).splitlines()
