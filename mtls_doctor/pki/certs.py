"""Certificate files in every shape people hand over: PEM bundles (in any order, with text between blocks),
DER, PKCS#7 and PKCS#12. What is not a certificate is kept as ``Stray`` content and reported."""

from __future__ import annotations

import base64
import binascii
from types import ModuleType

from cryptography import x509

from mtls_doctor.errors import InputError
from mtls_doctor.pki import der
from mtls_doctor.pki.files import Encoding, binary_problem, read_input, sniff
from mtls_doctor.pki.keys import LoadedKey, load_pem_key_block, looks_like_der_key, signing_key
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.pki.pem import CERT_LABELS, CRL_LABELS, KEY_LABELS, PemBlock, split_pem, with_article
from mtls_doctor.pki.pfx import open_pkcs12
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import FileFormat, Origin, Stray

_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")
"""PKCS#7 signedData (1.2.840.113549.1.7.2), the start of every .p7b file."""


class LoadedCert(Record):
    """A parsed certificate and where it was found."""

    cert: x509.Certificate
    origin: Origin


class CertBundle(Record):
    """Everything in one certificate file."""

    path: str
    format: FileFormat
    certs: tuple[LoadedCert, ...]
    stray: tuple[Stray, ...]
    key_blocks: tuple[PemBlock, ...]
    """Private-key blocks inside the file, kept unparsed (curl uses them when --key is not given)."""
    crl_blocks: tuple[PemBlock, ...]
    """CRLs in a PEM file (also listed as stray): in a CA file, nginx loads them into the trust store, where they
    count for ssl_crl's check (SSL_CTX_load_verify_locations reads certificates and CRLs)."""
    pkcs12_key: LoadedKey | None


def load_cert_file(path: str, *, what: str, passwords: Passwords) -> CertBundle:
    """Read every certificate of ``path``; raise InputError (one line naming the file) when there is none.

    ``what`` names the role in messages ("client certificate", "CA").
    """
    data = read_input(path, what=what)
    encoding = sniff(data)
    if encoding is Encoding.EMPTY:
        raise InputError(path, f"is empty (expected the {what})")
    if encoding is Encoding.PEM:
        return _from_pem(path, data, what)
    if encoding is Encoding.DER:
        return _from_der(path, data, what, passwords)
    if encoding is Encoding.TEXT:
        raise InputError(path, f"holds no PEM block (expected -----BEGIN CERTIFICATE----- for the {what})")
    raise InputError(
        path, binary_problem(data, f"a certificate (not PEM, DER, PKCS#7 or PKCS#12; expected the {what})")
    )


def _from_pem(path: str, data: bytes, what: str) -> CertBundle:
    pem = split_pem(data, source=path)
    certs: list[LoadedCert] = []
    stray = [Stray(origin=Origin(source=path, line=g.line), kind="text", lines=g.lines) for g in pem.gaps]
    keys: list[PemBlock] = []
    crl_blocks: list[PemBlock] = []
    for block in pem.blocks:
        origin = Origin(source=path, block=block.position, line=block.line)
        if block.label in CERT_LABELS:
            certs.append(certificate_block(block, path))
        elif block.label == "PKCS7":
            try:
                p7 = _pkcs7().load_pem_pkcs7_certificates(block.data)
            except der.READ_ERRORS as exc:
                raise InputError(
                    path, f"PEM block {block.position} (PKCS7) is corrupt ({der.reason(exc)})", line=block.line
                ) from None
            where = f"a certificate of the PKCS#7 bundle in PEM block {block.position}"
            readable = [_readable(c, path, where, block.line) for c in p7]
            certs.extend(LoadedCert(cert=c, origin=origin) for c in chain_order(readable))
        else:
            if block.label in KEY_LABELS:
                keys.append(block)
            elif block.label in CRL_LABELS:
                crl_blocks.append(block)
            stray.append(Stray(origin=origin, kind=block.kind, lines=block.data.count(b"\n")))
    if not certs:
        kinds = sorted({s.kind for s in stray if s.kind != "text"})
        if kinds:
            found = " and ".join(with_article(k) for k in kinds)
            raise InputError(path, f"holds {found}, not a certificate (expected the {what})")
        raise InputError(path, f"holds no certificate (expected the {what})")
    stray.sort(key=lambda s: s.origin.line or 0)
    return CertBundle(
        path=path,
        format=FileFormat.PEM,
        certs=tuple(certs),
        stray=tuple(stray),
        key_blocks=tuple(keys),
        crl_blocks=tuple(crl_blocks),
        pkcs12_key=None,
    )


def certificate_block(block: PemBlock, path: str) -> LoadedCert:
    """The certificate of PEM ``block`` of ``path`` (a label of CERT_LABELS); InputError naming a corrupt block."""
    where = f"certificate in PEM block {block.position}"
    cert = _readable(_pem_certificate(block, path), path, where, block.line)
    return LoadedCert(cert=cert, origin=Origin(source=path, block=block.position, line=block.line))


def _pem_certificate(block: PemBlock, path: str) -> x509.Certificate:
    """Parse one certificate block; a corrupt block is an error naming it, since OpenSSL refuses the file too."""
    problem = "its DER content is truncated"
    try:
        if block.label != "TRUSTED CERTIFICATE":
            return x509.load_pem_x509_certificate(block.data)
        # OpenSSL's "trusted certificate" format: a DER certificate followed by trust settings.
        body = base64.b64decode(b"".join(block.data.splitlines()[1:-1]))
        length = der.first_tlv_length(body)
        if length is not None:
            return x509.load_der_x509_certificate(body[:length])
    except binascii.Error:
        problem = "its base64 is corrupt"
    except der.READ_ERRORS as exc:
        # cryptography reports bad base64 as a PEM framing problem, bad DER as an ASN.1 parse error.
        problem = "its base64 is corrupt" if "PEM" in str(exc) else f"corrupt or truncated ({der.reason(exc)})"
    raise InputError(path, f"PEM block {block.position} is not a valid certificate: {problem}", line=block.line)


def _readable(cert: x509.Certificate, path: str, where: str, line: int | None = None) -> x509.Certificate:
    """``cert``, once every part the diagnosis reads has been parsed (call it before ``chain_order``, which reads
    the names).

    cryptography parses names, extensions and the public key only when they are first used: a certificate with
    a malformed extension, a duplicate extension, a bad name or a key type it does not know loads fine and fails
    later. Parse them now, so that such a certificate is one clear error naming it (OpenSSL and nginx refuse
    these certificates too, at load time or during verification).
    """
    part = ""
    try:
        part = "subject"
        _ = cert.subject
        part = "issuer"
        _ = cert.issuer
        part = "extensions"
        _ = cert.extensions
        part = "public key"
        cert.public_key()
    except der.READ_ERRORS as exc:
        raise InputError(path, f"{where}: its {part} cannot be read ({der.reason(exc)})", line=line) from None
    return cert


def _from_der(path: str, data: bytes, what: str, passwords: Passwords) -> CertBundle:
    cert_error: Exception | None = None
    try:
        cert = x509.load_der_x509_certificate(data)
    except der.READ_ERRORS as exc:
        cert_error = exc
    else:
        cert = _readable(cert, path, "DER certificate")
        return _bundle(path, FileFormat.DER, [cert])
    p7_error: Exception | None = None
    try:
        p7 = _pkcs7().load_der_pkcs7_certificates(data)
    except der.READ_ERRORS as exc:
        p7_error = exc
    else:
        ordered = chain_order([_readable(c, path, "a certificate of the PKCS#7 bundle") for c in p7])
        if not ordered:
            raise InputError(path, f"is a PKCS#7 bundle with no certificate (expected the {what})")
        return _bundle(path, FileFormat.PKCS7, ordered)
    p12 = _pkcs12(path, data, passwords)
    if p12 is not None:
        return p12
    if looks_like_der_key(data):
        raise InputError(path, f"holds a private key (DER), not a certificate (expected the {what})")
    try:
        x509.load_der_x509_crl(data)
    except der.READ_ERRORS:
        pass
    else:
        raise InputError(path, f"holds a CRL, not a certificate (expected the {what})")
    if p7_error is not None and _SIGNED_DATA_OID in data[:32]:
        raise InputError(path, f"is a PKCS#7 bundle that cannot be read ({der.reason(p7_error)}; expected the {what})")
    why = f"corrupt or truncated? {der.reason(cert_error)}" if cert_error else "corrupt or truncated?"
    raise InputError(path, f"is DER data that is not a certificate, PKCS#7 or PKCS#12 ({why}); expected the {what}")


def _pkcs12(path: str, data: bytes, passwords: Passwords) -> CertBundle | None:
    opened = open_pkcs12(path, data, passwords)
    if opened is None:
        return None
    loaded, encrypted = opened
    certs: list[x509.Certificate] = []
    if loaded.cert is not None:
        certs.append(loaded.cert.certificate)
    certs.extend(c.certificate for c in loaded.additional_certs)
    if not certs:
        raise InputError(path, "is a PKCS#12 file with no certificate in it")
    certs = [_readable(c, path, "a certificate of the PKCS#12 file") for c in certs]
    if loaded.cert is None:
        certs = chain_order(certs)
    if loaded.key is None:
        return _bundle(path, FileFormat.PKCS12, certs)
    key = LoadedKey(key=signing_key(loaded.key, path), origin=Origin(source=path), encrypted=encrypted)
    return _bundle(path, FileFormat.PKCS12, certs, key)


def _bundle(path: str, fmt: FileFormat, certs: list[x509.Certificate], key: LoadedKey | None = None) -> CertBundle:
    """A binary file's bundle: its certificates numbered from 1, no text around them, maybe a PKCS#12 key."""
    loaded = tuple(LoadedCert(cert=c, origin=Origin(source=path, block=i)) for i, c in enumerate(certs, 1))
    return CertBundle(path=path, format=fmt, certs=loaded, stray=(), key_blocks=(), crl_blocks=(), pkcs12_key=key)


def load_key_from_bundle(bundle: CertBundle, passwords: Passwords) -> LoadedKey | None:
    """The private key inside a certificate file (PKCS#12 key or a PEM key block), as curl would use it."""
    if bundle.pkcs12_key is not None:
        return bundle.pkcs12_key
    if bundle.key_blocks:
        return load_pem_key_block(bundle.key_blocks[0], bundle.path, passwords)
    return None


def chain_order(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """Order a set of certificates leaf first, each followed by its issuer (PKCS#7 does not keep file order).

    The chain is the longest one that starts at a certificate issuing none of the others (an unrelated self-signed
    certificate in the set is not taken for the leaf); on a tie, the first such certificate in the original order.
    Certificates not linked into that chain follow it, in their original order.
    """
    if len(certs) < 2:
        return list(certs)
    issuers_of_others = {c.issuer.public_bytes() for c in certs if c.issuer != c.subject}
    leaves = [c for c in certs if c.subject.public_bytes() not in issuers_of_others] or certs[:1]
    best: list[x509.Certificate] = []
    for leaf in leaves:
        chain = _chain_from(leaf, certs)
        if len(chain) > len(best):
            best = chain
    return best + [c for c in certs if all(c is not b for b in best)]


def _chain_from(leaf: x509.Certificate, certs: list[x509.Certificate]) -> list[x509.Certificate]:
    ordered = [leaf]
    remaining = [c for c in certs if c is not leaf]
    while remaining:
        current = ordered[-1]
        if current.issuer == current.subject:
            break
        issuer = next((c for c in remaining if c.subject == current.issuer), None)
        if issuer is None:
            break
        ordered.append(issuer)
        remaining.remove(issuer)
    return ordered


def _pkcs7() -> ModuleType:
    """cryptography's PKCS#7 module, imported on first use: it pulls in the email package (~10 ms of start-up)."""
    from cryptography.hazmat.primitives.serialization import pkcs7  # noqa: PLC0415

    return pkcs7
