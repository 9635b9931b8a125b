"""ssl_ocsp as nginx applies it (ngx_ssl_ocsp_validate_next, ngx_ssl_ocsp_responder): which certificates are asked
about, where, and what the verdict can say without asking. The real-nginx cases are the sample PKI's ocsp-*
scenarios (tests/test_nginx_differential.py); these cover the responder URLs the sample certificates do not carry.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from mtls_doctor.diagnosis import Report, diagnose
from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.facts.model import OcspFacts
from mtls_doctor.inputs import Inputs
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.record import replace
from mtls_doctor.vocabulary import OcspMode, Outcome
from tests.conftest import LOCAL_NOW, catalogue

_START = datetime(2020, 1, 1, tzinfo=UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pki(tmp_path: Path, ocsp_url: str | None) -> Inputs:
    """A root and a client certificate whose authorityInfoAccess names ``ocsp_url`` (none: no extension)."""
    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("OCSP Test Root"))
        .issuer_name(_name("OCSP Test Root"))
        .public_key(root_key.public_key())
        .serial_number(1)
        .not_valid_before(_START)
        .not_valid_after(_START + timedelta(days=36500))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name("ocsp-client"))
        .issuer_name(root.subject)
        .public_key(leaf_key.public_key())
        .serial_number(2)
        .not_valid_before(_START)
        .not_valid_after(_START + timedelta(days=36500))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    if ocsp_url is not None:
        where = x509.UniformResourceIdentifier(ocsp_url)
        aia = x509.AuthorityInformationAccess([x509.AccessDescription(AuthorityInformationAccessOID.OCSP, where)])
        builder = builder.add_extension(aia, critical=False)
    leaf = builder.sign(root_key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    (tmp_path / "client.pem").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "ca.pem").write_bytes(root.public_bytes(pem))
    (tmp_path / "client.key").write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Inputs(cert=str(tmp_path / "client.pem"), key=str(tmp_path / "client.key"), ca=str(tmp_path / "ca.pem"))


def _diagnose(inputs: Inputs, monkeypatch: pytest.MonkeyPatch) -> Report:
    def no_traffic(*_: object) -> None:
        raise AssertionError("mtls-doctor opened a connection: it must never contact an OCSP responder")

    monkeypatch.setattr(socket.socket, "connect", no_traffic)
    monkeypatch.setattr(socket, "create_connection", no_traffic)
    return diagnose(inputs, now=LOCAL_NOW, passwords=Passwords(), catalogue=catalogue())


def _status(report: Report, rule: str) -> Status:
    return next(f.status for f in report.findings if f.rule.id == rule)


@pytest.mark.parametrize("mode", [OcspMode.ON, OcspMode.LEAF])
def test_a_responder_in_the_certificate_makes_the_verdict_depend_on_its_answer(
    mode: OcspMode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _diagnose(replace(_pki(tmp_path, "http://ocsp.example.com/"), ocsp=mode), monkeypatch)
    verdict = report.facts.verdict
    assert verdict.outcome is Outcome.UNKNOWN
    assert verdict.http_status is None
    assert verdict.reason is not None
    assert "http://ocsp.example.com/" in verdict.reason
    assert isinstance(report.facts.ocsp, OcspFacts)
    assert [c.subject for c in report.facts.ocsp.checked] == ["CN=ocsp-client"], "the anchor is never asked about"
    assert _status(report, "MTLS507") is Status.PASS
    assert int(report.exit_status) == 3


def test_ssl_ocsp_responder_is_asked_instead_of_the_certificates_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = replace(_pki(tmp_path, None), ocsp=OcspMode.ON, ocsp_responder="http://127.0.0.1:8888/")
    report = _diagnose(inputs, monkeypatch)
    assert isinstance(report.facts.ocsp, OcspFacts)
    assert report.facts.ocsp.responders == ("http://127.0.0.1:8888/",)
    assert report.facts.verdict.outcome is Outcome.UNKNOWN


@pytest.mark.parametrize(
    "url",
    [None, "https://ocsp.example.com/", "ldap://ocsp.example.com/"],
    ids=["no-url", "https", "ldap"],
)
def test_no_http_responder_fails_every_request(
    url: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ngx_ssl_ocsp_responder takes the first OCSP URL, and only http:// ("invalid URL prefix" otherwise)."""
    report = _diagnose(replace(_pki(tmp_path, url), ocsp=OcspMode.ON), monkeypatch)
    verdict = report.facts.verdict
    assert verdict.outcome is Outcome.REJECT
    assert verdict.http_status == 400
    assert verdict.log_line == "client SSL certificate verify error: certificate status request failed"
    assert verdict.ssl_client_verify == "FAILED:certificate status request failed"
    assert _status(report, "MTLS507") is Status.FAIL


def test_ocsp_off_asks_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = _diagnose(_pki(tmp_path, None), monkeypatch)
    assert report.facts.ocsp is None
    assert report.facts.verdict.outcome is Outcome.ACCEPT
    assert _status(report, "MTLS507") is Status.NOT_APPLICABLE
