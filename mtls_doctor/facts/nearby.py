"""The missing issuer, and a missing CRL, looked for where a person keeps them: files next to the inputs, and
``--issuers``.

When nginx logs 20 or 21 the issuer is usually not lost: it sits in the PKI directory the client certificate came
from (``intermediate/certs/...`` in an openssl-ca layout, ``issuing-ca.pem`` beside ``client.pem``). Naming that file
turns the fix into commands that run as written; so does the CA's CRL found in ``crl/`` beside ``certs/``. Only local
files are read (never the AIA or CRL distribution point URL: no surprise traffic),
a bounded number of small ones, and a file that cannot be read or parsed is simply not a candidate.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from cryptography import x509

from mtls_doctor.facts.certificate import is_issued_by
from mtls_doctor.record import Record

MAX_FILES = 500
"""Entries looked at per directory: a directory such as /etc/ssl/certs holds a few hundred."""
MAX_BYTES = 1 << 20
"""Larger files are not certificate files a person keeps by hand (a CA bundle is ~200 KiB)."""
SUFFIXES = frozenset({".pem", ".crt", ".cer", ".cert", ".der", ".ca", ".chain", ".bundle"})
"""The names certificate files go by; keys (.key), CSRs and configuration files are not read."""
_PEM_CERT = b"-----BEGIN CERTIFICATE-----"


class FoundIssuer(Record):
    """A certificate that issued ``child``, and the file and line (of its BEGIN, 1 for DER) it is at."""

    path: Path
    line: int
    cert: x509.Certificate
    end_line: int = 0
    """The line of its END (1 for DER)."""
    alone: bool = True
    """The file holds this certificate and no other, in PEM: a fix can use the file as it is."""


EXTRACTED_ISSUER = "issuer.pem"
"""The file a fix writes the found issuer to, when the file it was found in holds other certificates too."""


def fix_file(found: FoundIssuer) -> tuple[str, str | None]:
    """The file a fix that sends or trusts ``found`` uses, and the command that writes it (None: the file it was
    found in holds it alone, in PEM, and is used as it is; else it is extracted, alone, to ``issuer.pem``)."""
    if found.alone:
        return str(found.path), None
    source = shlex.quote(str(found.path))
    if found.end_line == found.line:  # DER
        return EXTRACTED_ISSUER, f"openssl x509 -inform DER -in {source} -out {EXTRACTED_ISSUER}"
    return EXTRACTED_ISSUER, f"sed -n '{found.line},{found.end_line}p' {source} > {EXTRACTED_ISSUER}"


def find_issuer(child: x509.Certificate, places: Iterable[Path], *, skip: Iterable[Path] = ()) -> FoundIssuer | None:
    """The first certificate, in the files of ``places`` (files, or directories read one level deep, files by
    name) and not in ``skip``, whose subject is ``child``'s issuer and whose key verifies ``child``'s signature."""
    skipped = {_real(p) for p in skip}
    seen: set[Path] = set()
    for place in places:
        for path in _files(place):
            real = _real(path)
            if real in skipped or real in seen:
                continue
            seen.add(real)
            found = _in_file(child, path)
            if found is not None:
                return found
    return None


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _files(place: Path, suffixes: frozenset[str] = SUFFIXES) -> list[Path]:
    try:
        if place.is_file():
            return [place]
        if not place.is_dir():
            return []
        entries = [e for _, e in zip(range(MAX_FILES), place.iterdir(), strict=False)]
        return sorted(e for e in entries if e.suffix.lower() in suffixes and e.is_file())
    except OSError:
        return []


def _in_file(child: x509.Certificate, path: Path) -> FoundIssuer | None:
    try:
        if path.stat().st_size > MAX_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    certs = _certs(data)
    for line, end_line, cert in certs:
        if cert.subject == child.issuer and cert != child and is_issued_by(child, cert):
            alone = len(certs) == 1 and _PEM_CERT in data
            return FoundIssuer(path=path, line=line, cert=cert, end_line=end_line, alone=alone)
    return None


def _certs(data: bytes) -> list[tuple[int, int, x509.Certificate]]:
    """The certificates of a PEM bundle with the lines of their BEGIN and END, or of a DER file (line 1)."""
    if _PEM_CERT not in data:
        try:
            return [(1, 1, x509.load_der_x509_certificate(data))]
        except ValueError:
            return []
    found = []
    start = data.find(_PEM_CERT)
    while start != -1:
        end = data.find(b"-----END CERTIFICATE-----", start)
        if end == -1:
            break
        with contextlib.suppress(ValueError):  # a damaged block is not a candidate; the others still are
            cert = x509.load_pem_x509_certificate(data[start : end + 25])
            found.append((data.count(b"\n", 0, start) + 1, data.count(b"\n", 0, end) + 1, cert))
        start = data.find(_PEM_CERT, end)
    return found


CRL_SUFFIXES = SUFFIXES | {".crl", ".r0", ".r1"}
"""The names CRL files go by (``ca.crl``; ``<hash>.r0`` in a c_rehash directory), besides the certificate ones."""
CRL_DIRS = ("crl", "crls")
"""Where an openssl-ca layout keeps its CRLs: ``crl/`` beside ``certs/`` (``intermediate/crl/...``)."""
_PEM_CRL = b"-----BEGIN X509 CRL-----"


class FoundCrl(Record):
    """A CRL that ``ca`` issued, and the file and lines (of its BEGIN and END; 1 and 1 for DER) it is at."""

    path: Path
    line: int
    end_line: int
    crl: x509.CertificateRevocationList
    alone: bool
    """The file is PEM and holds this CRL and nothing else: a fix can append the file as it is."""
    der: bool


def find_crl(
    ca: x509.Certificate, places: Iterable[Path], *, at: datetime, skip: Iterable[Path] = ()
) -> FoundCrl | None:
    """The CRL of ``ca`` in the files of ``places`` (files, or directories read one level deep, with their ``crl``
    and ``crls`` subdirectories and those beside them), not in ``skip``: its issuer is ``ca``'s subject, its
    signature verifies with ``ca``'s key, and it is current at ``at`` (an expired CRL would only trade 3 for 12).
    Of several, the newest (thisUpdate): a CA's newer CRL supersedes the older ones. Only local files are read: a
    CRL distribution point is never contacted."""
    skipped = {_real(p) for p in skip}
    seen: set[Path] = set()
    best: FoundCrl | None = None
    for place in _with_crl_dirs(places):
        for path in _files(place, CRL_SUFFIXES):
            real = _real(path)
            if real in skipped or real in seen:
                continue
            seen.add(real)
            for found in _crls_in_file(path):
                crl = found.crl
                if crl.issuer != ca.subject or not _current(crl, at) or not _signed(crl, ca):
                    continue
                if best is None or crl.last_update_utc > best.crl.last_update_utc:
                    best = found
    return best


def _with_crl_dirs(places: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for place in places:
        out.append(place)
        if place.is_dir():
            out += [d / name for d in (place, place.parent) for name in CRL_DIRS]
    return list(dict.fromkeys(out))


def _current(crl: x509.CertificateRevocationList, at: datetime) -> bool:
    next_update = crl.next_update_utc
    return crl.last_update_utc <= at and (next_update is None or at <= next_update)


def _signed(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    try:
        return crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _crls_in_file(path: Path) -> list[FoundCrl]:
    try:
        if path.stat().st_size > MAX_BYTES:
            return []
        data = path.read_bytes()
    except OSError:
        return []
    if _PEM_CRL not in data:
        try:
            crl = x509.load_der_x509_crl(data)
        except ValueError:
            return []
        return [FoundCrl(path=path, line=1, end_line=1, crl=crl, alone=False, der=True)]
    blocks: list[tuple[int, int, x509.CertificateRevocationList]] = []
    start = data.find(_PEM_CRL)
    while start != -1:
        end = data.find(b"-----END X509 CRL-----", start)
        if end == -1:
            break
        with contextlib.suppress(ValueError):
            crl = x509.load_pem_x509_crl(data[start : end + 22])
            blocks.append((data.count(b"\n", 0, start) + 1, data.count(b"\n", 0, end) + 1, crl))
        start = data.find(_PEM_CRL, end)
    alone = len(blocks) == 1 and _PEM_CERT not in data
    return [FoundCrl(path=path, line=b, end_line=e, crl=c, alone=alone, der=False) for b, e, c in blocks]
