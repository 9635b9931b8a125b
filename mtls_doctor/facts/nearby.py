"""The missing issuer, looked for where a person keeps it: certificate files next to the inputs, and ``--issuers``.

When nginx logs 20 or 21 the issuer is usually not lost: it sits in the PKI directory the client certificate came
from (``intermediate/certs/...`` in an openssl-ca layout, ``issuing-ca.pem`` beside ``client.pem``). Naming that file
turns the fix into commands that run as written. Only local files are read (never the AIA URL: no surprise traffic),
a bounded number of small ones, and a file that cannot be read or parsed is simply not a candidate.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
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


def _files(place: Path) -> list[Path]:
    try:
        if place.is_file():
            return [place]
        if not place.is_dir():
            return []
        entries = [e for _, e in zip(range(MAX_FILES), place.iterdir(), strict=False)]
        return sorted(e for e in entries if e.suffix.lower() in SUFFIXES and e.is_file())
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
