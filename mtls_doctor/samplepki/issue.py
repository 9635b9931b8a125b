"""Issuing the sample certificates and CRLs from their specs, deterministically.

ECDSA signatures use RFC 6979 deterministic nonces and RSA uses PKCS#1 v1.5, so the same manifest always gives
the same bytes. SHA-1 signatures, which cryptography refuses to make through its builders, are made by re-signing
the to-be-signed bytes with the SHA-1 algorithm identifier swapped in.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mtls_doctor.facts.certificate import NS_CERT_TYPE_OID
from mtls_doctor.pki.der import RSA_PSS_KEY_ALG, children, relabel_pkcs8, tlv
from mtls_doctor.samplepki.keys import SampleKey, derive_key
from mtls_doctor.samplepki.manifest import CertSpec, CrlSpec, Manifest

_EKU = {
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "emailProtection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "codeSigning": ExtendedKeyUsageOID.CODE_SIGNING,
    "anyExtendedKeyUsage": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
}
_NS_BITS = {"client": 0x80, "server": 0x40, "email": 0x20, "objsign": 0x10, "sslCA": 0x04, "emailCA": 0x02}
# DER AlgorithmIdentifiers for SHA-1 signatures (RFC 3279 §2.2.1 and §2.2.3).
_SHA1_ALG = {
    "ec": bytes.fromhex("300906072a8648ce3d0401"),
    "rsa": bytes.fromhex("300d06092a864886f70d0101050500"),
}
# The key AlgorithmIdentifier rsaEncryption (RFC 3279 §2.3.1); id-RSASSA-PSS is pki.der.RSA_PSS_KEY_ALG.
_RSA_KEY_ALG = bytes.fromhex("300d06092a864886f70d0101010500")


class Issued(NamedTuple):
    """A certificate with its private key."""

    cert: x509.Certificate
    key: SampleKey
    key_type: str = "ec-p256"
    """The spec's key type (``rsa-pss-2048`` relabels the RSA key as RSA-PSS in the key file)."""


def issue_all(manifest: Manifest) -> dict[str, Issued]:
    """Every certificate of the manifest, issuers before the certificates they sign."""
    issued: dict[str, Issued] = {}
    keys: dict[tuple[str, str], SampleKey] = {}

    def key_of(spec: CertSpec) -> SampleKey:
        if (spec.key, spec.key_seed) not in keys:
            keys[spec.key, spec.key_seed] = derive_key(spec.key, spec.key_seed)
        return keys[spec.key, spec.key_seed]

    def issue(name: str, seen: tuple[str, ...] = ()) -> Issued:
        if name in issued:
            return issued[name]
        if name in seen:
            msg = f"issuer loop through {name}"
            raise ValueError(msg)
        spec = manifest.certs[name]
        issuer = None if spec.self_signed else issue(spec.issuer, (*seen, name))
        issued[name] = Issued(_certificate(spec, key_of(spec), issuer, manifest), key_of(spec), spec.key)
        return issued[name]

    for name in manifest.certs:
        issue(name)
    return issued


def name_of(spec: CertSpec) -> x509.Name:
    """The subject DN of a spec: C? O, OU?, CN."""
    attrs = []
    if spec.o:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.o))
    if spec.ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, spec.ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, spec.cn))
    return x509.Name(attrs)


def _serial(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"serial/{name}".encode()).digest()[:16], "big") >> 1


def _certificate(spec: CertSpec, key: SampleKey, issuer: Issued | None, m: Manifest) -> x509.Certificate:
    issuer_name = name_of(m.certs[spec.issuer]) if issuer else name_of(spec)
    signer = issuer.key if issuer else key
    b = (
        x509.CertificateBuilder()
        .subject_name(name_of(spec))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(_serial(spec.name))
        .not_valid_before(spec.not_before)
        .not_valid_after(spec.not_after)
    )
    if spec.ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=spec.ca, path_length=spec.path_length), critical=True)
    if spec.key_usage is not None:
        b = b.add_extension(_key_usage(spec.key_usage), critical=True)
    if spec.eku is not None:
        eku = [_EKU.get(u) or x509.ObjectIdentifier(u) for u in spec.eku]
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if spec.ns_cert_type is not None:
        bits = sum(_NS_BITS[t] for t in spec.ns_cert_type)
        unused = (bits & -bits).bit_length() - 1 if bits else 0
        der = bytes([0x03, 0x02, unused, bits])
        b = b.add_extension(x509.UnrecognizedExtension(NS_CERT_TYPE_OID, der), critical=False)
    if spec.san:
        b = b.add_extension(x509.SubjectAlternativeName([_general_name(n) for n in spec.san]), critical=False)
    if spec.permitted or spec.excluded:
        nc = x509.NameConstraints(
            permitted_subtrees=[_general_name(n) for n in spec.permitted] or None,
            excluded_subtrees=[_general_name(n) for n in spec.excluded] or None,
        )
        b = b.add_extension(nc, critical=True)
    if spec.key_ids:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key())
        b = b.add_extension(aki, critical=False)
    if spec.unknown_extension:
        ext = x509.UnrecognizedExtension(x509.ObjectIdentifier(spec.unknown_extension), b"\x05\x00")
        b = b.add_extension(ext, critical=spec.unknown_extension_critical)
    if isinstance(signer, dsa.DSAPrivateKey):
        msg = f"certs.{spec.name}: a DSA key signs nothing here (DSA signatures are not reproducible)"
        raise TypeError(msg)
    pss_padding = _PSS if spec.signature_padding == "pss" and isinstance(signer, rsa.RSAPrivateKey) else None
    cert = b.sign(
        signer,
        hashes.SHA256(),
        ecdsa_deterministic=True if isinstance(signer, ec.EllipticCurvePrivateKey) else None,
        rsa_padding=pss_padding,
    )
    if spec.signature_hash == "sha1" or spec.key == "rsa-pss-2048" or spec.version == 1:
        sha1, pss = spec.signature_hash == "sha1", spec.key == "rsa-pss-2048"
        return _resign(cert, signer, sha1=sha1, pss_key=pss, v1=spec.version == 1, padded=pss_padding)
    return cert


# RSASSA-PSS with SHA-256 and no salt: deterministic, so the sample PKI stays reproducible byte for byte.
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=0)


def _key_usage(names: tuple[str, ...]) -> x509.KeyUsage:
    flags = set(names)
    return x509.KeyUsage(
        digital_signature="digitalSignature" in flags,
        content_commitment="nonRepudiation" in flags,
        key_encipherment="keyEncipherment" in flags,
        data_encipherment="dataEncipherment" in flags,
        key_agreement="keyAgreement" in flags,
        key_cert_sign="keyCertSign" in flags,
        crl_sign="cRLSign" in flags,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(text: str) -> x509.GeneralName:
    kind, _, value = text.partition(":")
    if kind == "DNS":
        return x509.DNSName(value)
    if kind == "email":
        return x509.RFC822Name(value)
    if kind == "URI":
        return x509.UniformResourceIdentifier(value)
    if kind == "DirName":
        return x509.DirectoryName(x509.Name.from_rfc4514_string(value))
    msg = f"unsupported general name {text!r}"
    raise ValueError(msg)


def _resign(
    cert: x509.Certificate,
    signer: SampleKey,
    *,
    sha1: bool,
    pss_key: bool,
    v1: bool = False,
    padded: padding.PSS | None = None,
) -> x509.Certificate:
    """The same certificate signed with SHA-1 (swap the TBS signature AlgorithmIdentifier), with its RSA key
    labelled id-RSASSA-PSS (swap the subjectPublicKeyInfo's AlgorithmIdentifier), and/or as X.509 v1 (drop the
    version and the extensions): edit, sign, reassemble. cryptography's builders make none of them."""
    parts = children(cert.tbs_certificate_bytes)
    if v1:
        # [0] EXPLICIT version first, [3] EXPLICIT extensions last (RFC 5280 §4.1): v1 has neither
        # (an empty first part keeps the indexes below as for v3: serialNumber at 1, subjectPublicKeyInfo at 6)
        parts = [b"", *(p for p in parts if p[0] not in (0xA0, 0xA3))]
    # TBSCertificate: [0] version, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, ...
    # (RFC 5280 §4.1)
    if pss_key:
        spki = children(parts[6])
        if spki[0] != _RSA_KEY_ALG:
            msg = "an RSA-PSS certificate needs an RSA key"
            raise ValueError(msg)
        parts[6] = tlv(0x30, RSA_PSS_KEY_ALG + spki[1])
    alg = parts[2]
    if sha1:
        alg = parts[2] = _SHA1_ALG["ec" if isinstance(signer, ec.EllipticCurvePrivateKey) else "rsa"]
    digest: hashes.HashAlgorithm = hashes.SHA1() if sha1 else hashes.SHA256()  # noqa: S303 - the defect under test
    tbs = tlv(0x30, b"".join(p for p in parts if p))
    if isinstance(signer, rsa.RSAPrivateKey):
        signature = signer.sign(tbs, padded or padding.PKCS1v15(), digest)
    elif isinstance(signer, ec.EllipticCurvePrivateKey):
        signature = signer.sign(tbs, ec.ECDSA(digest, deterministic_signing=True))
    else:
        msg = "only RSA and EC keys re-sign"
        raise TypeError(msg)
    return x509.load_der_x509_certificate(tlv(0x30, tbs + alg + tlv(0x03, b"\x00" + signature)))


def key_pkcs8(item: Issued) -> bytes:
    """The unencrypted PKCS#8 DER of ``item``'s key; an ``rsa-pss-2048`` key is labelled id-RSASSA-PSS, as
    `openssl genpkey -algorithm RSA-PSS` writes it (the RSAPrivateKey inside is the same)."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - only the writer needs it

    der = item.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    if item.key_type != "rsa-pss-2048":
        return der
    return relabel_pkcs8(der, RSA_PSS_KEY_ALG)


def filler_cas(count: int) -> list[x509.Certificate]:
    """``count`` self-signed CA certificates with long names (20 OUs of 60 characters: about 1.5 KB of DER name
    each), to make a CA file whose CA names overflow a CertificateRequest. One key, deterministic signatures."""
    key = derive_key("ec-p256", "filler-ca")
    certs = []
    for i in range(count):
        ous = [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"filler unit {j:02d} " + "x" * 45) for j in range(20)
        ]
        name = x509.Name(
            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mtls-doctor sample filler"), *ous,
             x509.NameAttribute(NameOID.COMMON_NAME, f"Filler CA {i:03d}")]
        )  # fmt: skip
        b = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(_serial(f"filler-{i}"))
            .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
            .not_valid_after(datetime(2099, 12, 31, tzinfo=UTC))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        )
        certs.append(b.sign(key, hashes.SHA256(), ecdsa_deterministic=True))
    return certs


def issue_crl(spec: CrlSpec, issued: dict[str, Issued], m: Manifest) -> x509.CertificateRevocationList:
    """The CRL of ``spec``: the issuer's name, signed by the issuer's key (or ``signed_by``'s, on purpose)."""
    issuer = issued[spec.issuer]
    b = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(spec.this_update)
        .next_update(spec.next_update)
        .add_extension(x509.CRLNumber(1), critical=False)
    )
    if issuer.cert.extensions and m.certs[spec.issuer].key_ids:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
    for name in spec.revoked:
        revoked = (
            x509.RevokedCertificateBuilder()
            .serial_number(issued[name].cert.serial_number)
            .revocation_date(spec.this_update)
            .build()
        )
        b = b.add_revoked_certificate(revoked)
    key = derive_key("ec-p256", spec.signed_by) if spec.signed_by else issuer.key
    return b.sign(
        key, hashes.SHA256(), ecdsa_deterministic=True if isinstance(key, ec.EllipticCurvePrivateKey) else None
    )
