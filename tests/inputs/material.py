"""Certificates and keys for the input tests, derived from the sample PKI (whose keys are public test keys).

Everything is built in memory: the encrypted forms (PKCS#8, legacy PEM, PKCS#12) and the deliberately broken
certificates that cryptography loads but cannot fully parse.
"""

from __future__ import annotations

import base64
import datetime
import functools
import warnings
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import ExtensionOID, NameOID

from tests.conftest import SAMPLE

GOOD = SAMPLE / "scenarios" / "good-chain"
"""alice's leaf + the issuing CA (client.pem), her EC key (client.key), the client root (ca.pem): nginx accepts."""
RSA = SAMPLE / "scenarios" / "leaf-rsa-1024"
"""An RSA-1024 client that nginx refuses at security level 2: a failing scenario with an RSA key."""
PASSWORD = "s3cret-Pa55-ZX81"  # noqa: S105 - a test password, distinctive so that a leak is found by grep

PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER


def write(path: Path, data: bytes | str) -> str:
    """Write ``data`` to ``path`` (parents created) and return the path as the CLI gets it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


@functools.cache
def key() -> ec.EllipticCurvePrivateKey:
    """alice's private key (EC P-256)."""
    loaded = serialization.load_pem_private_key((GOOD / "client.key").read_bytes(), None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    return loaded


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    """The RSA-1024 client's private key."""
    loaded = serialization.load_pem_private_key((RSA / "client.key").read_bytes(), None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


@functools.cache
def chain() -> tuple[x509.Certificate, ...]:
    """alice's leaf and the issuing CA, in file order."""
    return tuple(x509.load_pem_x509_certificates((GOOD / "client.pem").read_bytes()))


def leaf() -> x509.Certificate:
    """alice's leaf certificate."""
    return chain()[0]


def root() -> x509.Certificate:
    """The client root CA (ca.pem)."""
    return x509.load_pem_x509_certificate((GOOD / "ca.pem").read_bytes())


def pem_of(*certs: x509.Certificate) -> bytes:
    """The certificates as one PEM bundle, in the order given."""
    return b"".join(c.public_bytes(PEM) for c in certs)


def pkcs8_pem(
    password: str | None = None, private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None
) -> bytes:
    """The key as PKCS#8 PEM, encrypted (``ENCRYPTED PRIVATE KEY``) when a password is given."""
    return (private_key or key()).private_bytes(PEM, serialization.PrivateFormat.PKCS8, _encryption(password))


def pkcs8_der(password: str | None = None) -> bytes:
    """The key as PKCS#8 DER, encrypted when a password is given."""
    return key().private_bytes(DER, serialization.PrivateFormat.PKCS8, _encryption(password))


def legacy_pem(password: str | None = None) -> bytes:
    """The key in OpenSSL's traditional format (``EC PRIVATE KEY``), with ``Proc-Type: 4,ENCRYPTED`` if a password."""
    return key().private_bytes(PEM, serialization.PrivateFormat.TraditionalOpenSSL, _encryption(password))


def p12(password: str | None, *, with_key: bool = True) -> bytes:
    """alice's leaf, the issuing CA and (by default) her key as PKCS#12; unencrypted when ``password`` is None."""
    return pkcs12.serialize_key_and_certificates(
        b"alice", key() if with_key else None, leaf(), list(chain()[1:]), _encryption(password)
    )


def pkcs7_bundle(encoding: serialization.Encoding) -> bytes:
    """The root, the leaf and the issuing CA (in that scrambled order) as a PKCS#7 certificate bundle."""
    return pkcs7.serialize_certificates([root(), leaf(), chain()[1]], encoding)


def csr_pem() -> bytes:
    """A certificate signing request for alice (what people send to a CA, not a certificate)."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(leaf().subject)
    return builder.sign(key(), hashes.SHA256()).public_bytes(PEM)


def crl_pem() -> bytes:
    """A CRL of the sample PKI."""
    return (SAMPLE / "crls" / "issuing.pem").read_bytes()


def _encryption(password: str | None) -> serialization.KeySerializationEncryption:
    if password is None:
        return serialization.NoEncryption()
    return serialization.BestAvailableEncryption(password.encode())


def _self_signed(extensions: list[x509.ExtensionType]) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "broken")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key().public_key())
        .serial_number(4242)
        .not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2090, 1, 1, tzinfo=datetime.UTC))
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(key(), hashes.SHA256())


def _patched(der: bytes, old: bytes, new: bytes) -> bytes:
    """``der`` with one occurrence of ``old`` replaced by ``new`` (same length: the structure stays valid)."""
    assert len(old) == len(new)
    assert der.count(old) == 1, f"{old.hex()} occurs {der.count(old)} times"
    return der.replace(old, new)


def cert_with_malformed_extension() -> bytes:
    """A certificate whose basicConstraints extension holds garbage: it loads, its extensions do not parse."""
    garbage = x509.UnrecognizedExtension(ExtensionOID.BASIC_CONSTRAINTS, b"\x01\x02garbage")
    return _self_signed([garbage]).public_bytes(PEM)


def cert_with_duplicate_extension() -> bytes:
    """A certificate carrying the same extension twice (RFC 5280 forbids it; OpenSSL refuses it)."""
    first, second = x509.ObjectIdentifier("1.2.3.4.1"), x509.ObjectIdentifier("1.2.3.4.2")
    cert = _self_signed(
        [x509.UnrecognizedExtension(first, b"\x05\x00"), x509.UnrecognizedExtension(second, b"\x05\x00")]
    )
    # 06 04 2a 03 04 02 is OID 1.2.3.4.2; make it 1.2.3.4.1.
    der = _patched(cert.public_bytes(DER), bytes.fromhex("06042a030402"), bytes.fromhex("06042a030401"))
    return x509.load_der_x509_certificate(der).public_bytes(PEM)


def cert_with_unknown_key_type() -> bytes:
    """alice's leaf with its key algorithm OID changed from id-ecPublicKey to an unassigned one."""
    der = _patched(leaf().public_bytes(DER), bytes.fromhex("06072a8648ce3d0201"), bytes.fromhex("06072a8648ce3d0209"))
    return x509.load_der_x509_certificate(der).public_bytes(PEM)


def cert_with_bad_utf8_subject() -> bytes:
    """alice's leaf whose subject CN (a UTF8String) holds bytes that are not UTF-8."""
    der = _patched(leaf().public_bytes(DER), b"\x0c\x05alice", b"\x0c\x05\xff\xfe\xfdce")
    return x509.load_der_x509_certificate(der).public_bytes(PEM)


def key_on_unknown_curve() -> bytes:
    """alice's key (PKCS#8 PEM) with its curve OID changed from P-256 to an unassigned one."""
    der = _patched(pkcs8_der(), bytes.fromhex("06082a8648ce3d030107"), bytes.fromhex("06082a8648ce3d030109"))
    body = base64.encodebytes(der)
    return b"-----BEGIN PRIVATE KEY-----\n" + body + b"-----END PRIVATE KEY-----\n"


def pkcs7_read_only_as_ber() -> bytes:
    """A DER PKCS#7 bundle whose SignedData version is out of range: cryptography reads it only through its BER
    fallback, and warns (a UserWarning) when it does."""
    return _patched(pkcs7_bundle(DER), b"\x02\x01\x01\x31\x00", b"\x02\x01\xe1\x31\x00")


def cert_with_negative_serial() -> bytes:
    """alice's leaf with a negative serial number: OpenSSL reads it; cryptography reads it with a deprecation
    warning."""
    serial = leaf().serial_number.to_bytes(16, "big")
    negative = bytes([serial[0] | 0x80]) + serial[1:]
    der = _patched(leaf().public_bytes(DER), b"\x02\x10" + serial, b"\x02\x10" + negative)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x509.load_der_x509_certificate(der).public_bytes(PEM)


def cert_with_invalid_version() -> bytes:
    """alice's leaf (DER) claiming X.509 version 69: cryptography raises InvalidVersion, which is no ValueError."""
    return _patched(leaf().public_bytes(DER), b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x44")


def crl_with_invalid_version() -> bytes:
    """A CRL (DER) claiming version 69."""
    crl = x509.load_pem_x509_crl(crl_pem()).public_bytes(DER)
    return crl.replace(b"\x02\x01\x01", b"\x02\x01\x44", 1)
