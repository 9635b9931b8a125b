"""CRL files for ``ssl_crl``: PEM (one or many CRLs) or DER."""

from __future__ import annotations

from cryptography import x509

from mtls_doctor.errors import InputError
from mtls_doctor.pki import der
from mtls_doctor.pki.certs import LoadedCert, certificate_block
from mtls_doctor.pki.files import Encoding, binary_problem, read_input, sniff
from mtls_doctor.pki.pem import CERT_LABELS, CRL_LABELS, PemBlock, split_pem, with_article
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import FileFormat, Origin, Stray


class LoadedCrl(Record):
    """A parsed CRL and where it was found."""

    crl: x509.CertificateRevocationList
    origin: Origin


class CrlBundle(Record):
    """Everything in one CRL file."""

    path: str
    format: FileFormat
    crls: tuple[LoadedCrl, ...]
    certs: tuple[LoadedCert, ...]
    """Certificates in a PEM CRL file: nginx's ssl_crl loads them into the trust store too (X509_LOOKUP_load_file
    reads the file with X509_load_cert_crl_file), so they are trusted, though never advertised."""
    stray: tuple[Stray, ...]


def load_crl_file(path: str) -> CrlBundle:
    """Read every CRL of ``path``; InputError (one line naming the file) when it holds none."""
    data = read_input(path, what="CRL")
    encoding = sniff(data)
    if encoding is Encoding.EMPTY:
        raise InputError(path, "is empty (expected a CRL)")
    if encoding is Encoding.DER:
        try:
            crl = x509.load_der_x509_crl(data)
        except der.READ_ERRORS as exc:
            raise InputError(path, _not_crl(data, exc)) from None
        crl = _readable(crl, path, "DER CRL")
        return CrlBundle(
            path=path,
            format=FileFormat.DER,
            crls=(LoadedCrl(crl=crl, origin=Origin(source=path, block=1)),),
            certs=(),
            stray=(),
        )
    if encoding is Encoding.TEXT:
        raise InputError(path, "holds no PEM block (expected -----BEGIN X509 CRL----- or a DER CRL)")
    if encoding is not Encoding.PEM:
        raise InputError(path, binary_problem(data, "a CRL (expected -----BEGIN X509 CRL----- or DER)"))
    pem = split_pem(data, source=path)
    crls: list[LoadedCrl] = []
    certs: list[LoadedCert] = []
    stray = [Stray(origin=Origin(source=path, line=g.line), kind="text", lines=g.lines) for g in pem.gaps]
    for block in pem.blocks:
        if block.label in CRL_LABELS:
            crls.append(crl_block(block, path))
        elif block.label in CERT_LABELS:
            certs.append(certificate_block(block, path))
        else:
            origin = Origin(source=path, block=block.position, line=block.line)
            stray.append(Stray(origin=origin, kind=block.kind, lines=block.data.count(b"\n")))
    if not crls:
        if certs:
            raise InputError(path, "holds certificates, not a CRL (expected -----BEGIN X509 CRL-----)")
        kinds = sorted({s.kind for s in stray if s.kind != "text"})
        if kinds:
            found = " and ".join(with_article(k) for k in kinds)
            raise InputError(path, f"holds {found}, not a CRL (expected -----BEGIN X509 CRL-----)")
        raise InputError(path, "holds no CRL (expected -----BEGIN X509 CRL-----)")
    return CrlBundle(
        path=path,
        format=FileFormat.PEM,
        crls=tuple(crls),
        certs=tuple(certs),
        stray=tuple(sorted(stray, key=lambda s: s.origin.line or 0)),
    )


def crl_block(block: PemBlock, path: str) -> LoadedCrl:
    """The CRL of PEM ``block`` of ``path``; InputError naming a corrupt block (OpenSSL refuses the whole file)."""
    try:
        crl = x509.load_pem_x509_crl(block.data)
    except der.READ_ERRORS as exc:
        problem = "its base64 is corrupt" if "PEM" in str(exc) else f"corrupt or truncated ({der.reason(exc)})"
        raise InputError(path, f"PEM block {block.position} is not a valid CRL: {problem}", line=block.line) from None
    readable = _readable(crl, path, f"CRL in PEM block {block.position}", block.line)
    return LoadedCrl(crl=readable, origin=Origin(source=path, block=block.position, line=block.line))


def _not_crl(data: bytes, exc: Exception) -> str:
    """Why DER ``data`` is not a CRL: a certificate (a common mix-up) is named, anything else gets the parse error."""
    try:
        x509.load_der_x509_certificate(data)
    except der.READ_ERRORS:
        return f"is DER data that is not a CRL (corrupt or truncated? {der.reason(exc)})"
    return "holds a certificate (DER), not a CRL"


def _readable(
    crl: x509.CertificateRevocationList, path: str, where: str, line: int | None = None
) -> x509.CertificateRevocationList:
    """``crl``, once the parts the diagnosis reads have been parsed (cryptography parses them lazily): a malformed
    issuer, extension or revoked entry is one clear error naming the CRL, never a crash later on."""
    part = ""
    try:
        part = "issuer"
        _ = crl.issuer
        part = "extensions"
        _ = crl.extensions
        part = "list of revoked certificates"
        for revoked in crl:
            # Entry extensions (reason codes) are not read by the diagnosis; parsing them all costs 3 µs an entry.
            _ = revoked.serial_number, revoked.revocation_date_utc
    except der.READ_ERRORS as exc:
        raise InputError(path, f"{where}: its {part} cannot be read ({der.reason(exc)})", line=line) from None
    return crl
