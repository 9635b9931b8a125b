"""CRL files for ``ssl_crl``: PEM (one or many CRLs) or DER."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from mtls_doctor.errors import InputError
from mtls_doctor.facts.model import FileFormat, Origin, Stray
from mtls_doctor.pki.files import Encoding, read_input, sniff
from mtls_doctor.pki.pem import CERT_LABELS, CRL_LABELS, split_pem


@dataclass(frozen=True, slots=True)
class LoadedCrl:
    """A parsed CRL and where it was found."""

    crl: x509.CertificateRevocationList
    origin: Origin


@dataclass(frozen=True, slots=True)
class CrlBundle:
    """Everything in one CRL file."""

    path: str
    format: FileFormat
    crls: tuple[LoadedCrl, ...]
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
        except ValueError:
            raise InputError(path, "is DER data that is not a CRL (corrupt or truncated?)") from None
        return CrlBundle(path, FileFormat.DER, (LoadedCrl(crl, Origin(source=path, block=1)),), ())
    if encoding is not Encoding.PEM:
        raise InputError(path, "is not a CRL (expected -----BEGIN X509 CRL----- or DER)")
    pem = split_pem(data, source=path)
    crls: list[LoadedCrl] = []
    stray = [Stray(origin=Origin(source=path, line=g.line), kind="text", lines=g.lines) for g in pem.gaps]
    for block in pem.blocks:
        origin = Origin(source=path, block=block.index, line=block.line)
        if block.label in CRL_LABELS:
            try:
                crls.append(LoadedCrl(x509.load_pem_x509_crl(block.data), origin))
            except ValueError:
                raise InputError(
                    path, f"PEM block {block.index} is not a valid CRL (corrupt?)", line=block.line
                ) from None
        else:
            stray.append(Stray(origin=origin, kind=block.kind, lines=block.data.count(b"\n")))
    if not crls:
        if any(b.label in CERT_LABELS for b in pem.blocks):
            raise InputError(path, "holds certificates, not a CRL")
        raise InputError(path, "holds no CRL (expected -----BEGIN X509 CRL-----)")
    return CrlBundle(path, FileFormat.PEM, tuple(crls), tuple(sorted(stray, key=lambda s: s.origin.line or 0)))
