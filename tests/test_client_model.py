"""The client modelled offline (issue 9): what curl and OpenSSL clients do with a certificate before and during the
handshake, computed from the certificate's facts. The end-to-end truth of each case is the sample scenarios served by
the real nginx and probed by the real curl and s_client (tests/test_nginx_differential.py); these state the rules
those observations follow, one fact at a time."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from mtls_doctor.facts.certificate import describe, ec_security_bits
from mtls_doctor.facts.client import CURL_LEVEL, key_type_not_offered, security_level_refusal
from mtls_doctor.facts.model import Cert
from mtls_doctor.openssl.generations import OpenSSLGeneration
from mtls_doctor.vocabulary import KeyType, Origin
from tests.conftest import SAMPLE


def _cert(name: str) -> Cert:
    path = SAMPLE / "certs" / f"{name}.pem"
    return describe(x509.load_pem_x509_certificate(path.read_bytes()), Origin(source=str(path)))


@pytest.mark.parametrize(
    ("chain", "error", "code"),
    [
        (["leaf-rsa1024", "client-issuing"], "ee key too small", "0A00018F"),
        (["leaf-under-int-rsa1024", "int-rsa1024"], "ca key too small", "0A00018D"),
        (["leaf-sha1", "client-issuing"], "ca md too weak", "0A00018E"),
        (["leaf-under-int-sha1", "int-sha1"], "ca md too weak", "0A00018E"),
        # the key is checked before the signature (observed: curl says ee key too small)
        (["leaf-rsa1024-sha1", "client-issuing"], "ee key too small", "0A00018F"),
    ],
)
def test_curl_refuses_what_its_security_level_forbids(chain: list[str], error: str, code: str) -> None:
    refusal = security_level_refusal([_cert(n) for n in chain], CURL_LEVEL)
    assert refusal is not None
    assert (refusal.error, refusal.openssl_error) == (error, code)


def test_a_sound_chain_and_a_sha1_self_signed_root_are_loaded() -> None:
    """A self-signed certificate's own signature is not checked (ssl_security_cert_sig skips it)."""
    assert security_level_refusal([_cert("alice"), _cert("client-issuing"), _cert("client-root")], CURL_LEVEL) is None
    assert security_level_refusal([_cert("leaf-rsa1024")], 0) is None


@pytest.mark.parametrize(
    ("name", "protocol", "withheld", "handshake_fails"),
    [
        ("leaf-dsa", "TLSv1.3", True, False),
        ("leaf-brainpool", "TLSv1.3", True, False),
        ("leaf-secp256k1", "TLSv1.3", True, False),
        ("leaf-dsa", "TLSv1.2", False, False),
        ("leaf-brainpool", "TLSv1.2", False, True),
        ("leaf-secp256k1", "TLSv1.2", False, True),
        ("leaf-rsa-pss", "TLSv1.3", False, False),
        ("leaf-p521", "TLSv1.3", False, False),
        ("alice", "TLSv1.3", False, False),
    ],
)
def test_key_types_nginx_openssl_3_offers_nothing_for(
    name: str, protocol: str, withheld: bool, handshake_fails: bool
) -> None:
    found = key_type_not_offered(_cert(name), protocol, OpenSSLGeneration.V3)
    assert (found is not None and found.empty_certificate) is withheld
    assert (found is not None and not found.empty_certificate) is handshake_fails


def test_openssl_3_2_and_later_offer_brainpool_in_tls13() -> None:
    assert key_type_not_offered(_cert("leaf-brainpool"), "TLSv1.3", OpenSSLGeneration.V4) is None


def test_rsa_pss_keys_are_named_and_ec_security_bits_are_openssls() -> None:
    assert _cert("leaf-rsa-pss").key.type is KeyType.RSA_PSS
    assert str(_cert("leaf-rsa-pss").key) == "RSA-PSS-2048"
    bits = {c().name: ec_security_bits(ec.derive_private_key(7, c()).public_key()) for c in (
        ec.SECP256R1, ec.SECP384R1, ec.SECP521R1, ec.BrainpoolP256R1, ec.SECP256K1)}  # fmt: skip
    assert bits == {"secp256r1": 128, "secp384r1": 192, "secp521r1": 256, "brainpoolP256r1": 128, "secp256k1": 128}


def test_inspect_names_rsa_pss_keys_and_their_security_bits() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "mtls_doctor", "inspect", "certs/leaf-rsa-pss.pem", "keys/leaf-rsa-pss.key",
         "certs/leaf-p521.pem"],
        cwd=SAMPLE, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "key          RSA-PSS-2048 (112 security bits)" in run.stdout
    assert "private key, RSA-PSS-2048 (112 security bits)" in run.stdout
    assert "key          EC secp521r1 (256 security bits)" in run.stdout
