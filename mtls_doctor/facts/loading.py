"""What nginx loads from the files a server names, read exactly as its loaders read them: one place for `check`
(flags or a server block) and `lint`.

- ``ssl_client_certificate``: ``SSL_CTX_load_verify_locations`` puts its certificates AND CRLs in the trust store,
  and ``SSL_load_client_CA_file`` reads its subjects as the advertised CA names, which needs a certificate
  (ngx_ssl_client_certificate, src/event/ngx_event_openssl.c).
- ``ssl_trusted_certificate``: ``SSL_CTX_load_verify_locations`` only (ngx_ssl_trusted_certificate): a CRL-only
  file loads.
- ``ssl_crl``: ``X509_LOOKUP_load_file(..., X509_FILETYPE_PEM)``, i.e. ``X509_load_cert_crl_file``: its CRLs and its
  certificates, which are trusted though never advertised (ngx_ssl_crl; observed with nginx 1.22.1, sample_pki
  scenario crl-file-holds-intermediate).

All three read PEM only. A file nginx cannot load makes it refuse to start, and ``ServerFile.problem`` holds its
emerg line (confirmed with ``nginx -t``: sample_pki scenarios ca-file-der, crl-file-der; tests/lint_fixtures
MTLS708-*, MTLS710-*). Each file is read once per run, whatever number of directives name it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from mtls_doctor.errors import InputError
from mtls_doctor.facts.certificate import describe
from mtls_doctor.facts.chain import Node
from mtls_doctor.facts.model import Cert, CertFile
from mtls_doctor.facts.startup import (
    CA_FILE_LOADER,
    CRL_FILE_LOADER,
    ca_file_error,
    crl_file_error,
    missing_file,
    nothing_found,
)
from mtls_doctor.pki.certs import CertBundle, LoadedCert, load_cert_file
from mtls_doctor.pki.crls import CrlBundle, LoadedCrl, crl_block, load_crl_file
from mtls_doctor.pki.files import read_input
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import CertSource, FileFormat, Origin, Stray

_SHA256 = hashes.SHA256()
_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----")
_ROLE_WORDS = {
    CertSource.CA_FILE: "CA",
    CertSource.TRUSTED_FILE: "trusted CA",
    CertSource.CRL_FILE: "CRL",
}


class ServerFile(Record):
    """One file a server names (``ssl_client_certificate``, ``ssl_trusted_certificate`` or ``ssl_crl``), as nginx
    loads it."""

    role: CertSource
    path: str
    origin: Origin
    """The flag or the directive (file:line) that names the file."""
    problem: str | None
    """nginx's emerg line when it cannot load the file (it then refuses to start, and loads nothing from it); None
    when it loads."""
    format: FileFormat | None
    """How the file is encoded; None when it could not be read at all."""
    nodes: tuple[Node, ...]
    """The certificates it puts in the trust store, in file order."""
    crls: tuple[LoadedCrl, ...]
    """The CRLs it puts in the store (those of a CA file count for ssl_crl's check, as nginx loads them too)."""
    stray: tuple[Stray, ...]
    private_keys_inside: int

    @property
    def certs(self) -> tuple[Cert, ...]:
        """The facts of the certificates it loads."""
        return tuple(n.facts for n in self.nodes)

    def cert_file(self) -> CertFile:
        """The file as the facts model describes a certificate file."""
        return CertFile(
            path=self.path,
            format=self.format or FileFormat.PEM,
            certs=self.certs,
            stray=self.stray,
            private_keys_inside=self.private_keys_inside,
        )

    def __str__(self) -> str:
        return self.path


class _Read(Record):
    """What one file gives, whatever directive names it (cached per path and role)."""

    problem: str | None
    format: FileFormat | None
    certs: tuple[LoadedCert, ...]
    crls: tuple[LoadedCrl, ...]
    stray: tuple[Stray, ...]
    private_keys_inside: int


class Loader:
    """Reads server files as nginx would, each once per run, and describes each certificate once per place.

    ``strict``: a file that does not exist or cannot be opened here is an InputError (exit 2), as for a file named
    on the command line; otherwise (a configuration read from disk) it is what nginx would stop on.
    """

    def __init__(self, *, strict: bool = False, passwords: Passwords | None = None) -> None:
        self.strict = strict
        self.passwords = passwords or Passwords()
        self._read: dict[tuple[str, CertSource], _Read] = {}
        self._described: dict[tuple[bytes, Origin], Cert] = {}
        self.memo: dict[tuple[object, ...], Any] = {}
        """What depends on the files alone, computed once per run (server.py: the trust store of each distinct set
        of files; 10,000 server blocks usually share a few)."""

    def describe(self, cert: x509.Certificate, origin: Origin) -> Cert:
        """Cert facts, computed once per certificate and place (the same CA in two files is two pieces of
        evidence)."""
        key = (cert.fingerprint(_SHA256), origin)
        if key not in self._described:
            self._described[key] = describe(cert, origin)
        return self._described[key]

    def load(self, role: CertSource, path: str, origin: Origin) -> ServerFile:
        """``path`` as nginx loads it for ``role``, named at ``origin``."""
        key = (path, role)
        if key not in self._read:
            self._read[key] = self._read_file(role, path)
        got = self._read[key]
        nodes = tuple(Node(cert=c.cert, facts=self.describe(c.cert, c.origin), source=role) for c in got.certs)
        return ServerFile(
            role=role,
            path=path,
            origin=origin,
            problem=got.problem,
            format=got.format,
            nodes=nodes,
            crls=got.crls,
            stray=got.stray,
            private_keys_inside=got.private_keys_inside,
        )

    def _read_file(self, role: CertSource, path: str) -> _Read:
        if self.strict:
            # Named on the command line: a file that is not there is a typo to report, not a server to model.
            read_input(path, what=_ROLE_WORDS[role])
        missing = not Path(path).exists()
        if role is CertSource.CRL_FILE:
            return self._crl_file(path, missing=missing)
        return self._trust_file(path, role, missing=missing)

    def _trust_file(self, path: str, role: CertSource, *, missing: bool) -> _Read:
        """SSL_CTX_load_verify_locations takes certificates AND CRLs (a CRL-only file loads); ssl_client_certificate
        is also read by SSL_load_client_CA_file, which needs a certificate."""
        bundle: CertBundle | None = None
        problem: str | None = None
        if not missing:
            try:
                bundle = load_cert_file(path, what=_ROLE_WORDS[role], passwords=self.passwords)
            except InputError as exc:
                problem = exc.problem
        if bundle is None and not missing and "X509 CRL" in _pem_labels(path):
            if role is CertSource.TRUSTED_FILE:
                return _Read(
                    problem=None, format=FileFormat.PEM, certs=(), crls=_crls_in(path), stray=(), private_keys_inside=0
                )
            refused = (
                f'SSL_load_client_CA_file("{path}") failed '
                "(SSL: error:0480006C:PEM routines::no start line:Expecting: CERTIFICATE)"
            )
            return _nothing(refused, FileFormat.PEM)
        if bundle is None:
            return _nothing(_refusal(CA_FILE_LOADER, path, problem, missing=missing), None)
        format_problem = ca_file_error(path, bundle.format)
        if format_problem is not None:
            return _nothing(format_problem, bundle.format)  # nginx loads nothing from it
        try:
            crls = tuple(crl_block(block, path) for block in bundle.crl_blocks)
        except InputError as exc:
            return _nothing(f'{CA_FILE_LOADER}("{path}") failed: {exc.problem}', bundle.format)
        return _Read(
            problem=None,
            format=bundle.format,
            certs=bundle.certs,
            crls=crls,
            stray=bundle.stray,
            private_keys_inside=len(bundle.key_blocks) + (1 if bundle.pkcs12_key else 0),
        )

    def _crl_file(self, path: str, *, missing: bool) -> _Read:
        """X509_LOOKUP_load_file loads certificates as well as CRLs, so a file with certificates and no CRL starts
        fine and then fails every client (3; observed with nginx 1.22.1). A corrupt block, certificate or CRL,
        stops nginx."""
        bundle: CrlBundle | None = None
        problem: str | None = None
        if not missing:
            try:
                bundle = load_crl_file(path)
            except InputError as exc:
                problem = exc.problem
        if bundle is None and problem is not None and problem.startswith("holds certificates, not a CRL"):
            certs = load_cert_file(path, what="CRL", passwords=self.passwords).certs
            return _Read(problem=None, format=FileFormat.PEM, certs=certs, crls=(), stray=(), private_keys_inside=0)
        if bundle is None:
            return _nothing(_refusal(CRL_FILE_LOADER, path, problem, missing=missing), None)
        format_problem = crl_file_error(path, bundle.format)
        if format_problem is not None:
            return _nothing(format_problem, bundle.format)
        return _Read(
            problem=None,
            format=bundle.format,
            certs=bundle.certs,
            crls=bundle.crls,
            stray=bundle.stray,
            private_keys_inside=0,
        )


def _refusal(call: str, path: str, problem: str | None, *, missing: bool) -> str:
    """nginx's emerg line for a file its PEM loader ``call`` cannot read: nginx's exact words for a missing file or
    one in which the loader finds nothing (no PEM block at all: DER, binary, text; or no certificate or CRL), ours
    (the reader's ``problem``) for a corrupt PEM block."""
    if missing:
        return missing_file(call, path)
    if problem is None or "holds" in problem or "is empty" in problem or not _pem_labels(path):
        return nothing_found(call, path)
    return f'{call}("{path}") failed: {problem}'


def _nothing(problem: str, file_format: FileFormat | None) -> _Read:
    return _Read(problem=problem, format=file_format, certs=(), crls=(), stray=(), private_keys_inside=0)


def _pem_labels(path: str) -> frozenset[str]:
    """The PEM block labels in ``path`` (to tell a CRL file from a certificate file as nginx would)."""
    try:
        data = read_input(path, what="file")
    except InputError:
        return frozenset()
    return frozenset(m.decode() for m in _PEM_LABEL.findall(data))


def _crls_in(path: str) -> tuple[LoadedCrl, ...]:
    """The CRLs of a CRL-only file named as a CA file (they go into the store)."""
    try:
        return load_crl_file(path).crls
    except InputError:
        return ()
