"""The shared vocabulary at the bottom of the package: where a fact was read, what could not be established, and
the closed sets every layer speaks of (file formats, key types, nginx's verify modes, outcomes, verify errors).

Every package may import this module; it imports nothing of the project but record.py (which imports nothing).
"""

from __future__ import annotations

import enum
from typing import Final, final

from mtls_doctor.record import Record


@final
class Unknown:
    """Could not be established: not attempted, or the attempt failed. A rule reading it is not_evaluated."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        # Truthiness of an unknown fact is a bug waiting to happen: force callers to test `is UNKNOWN`.
        msg = "UNKNOWN has no truth value; compare with `is UNKNOWN`"
        raise TypeError(msg)


UNKNOWN: Final = Unknown()


class Origin(Record, hot=True):
    """Where a fact was read, precise enough to point a person at it."""

    source: str
    """The path as the user gave it (or ``<stdin>``, ``tls://host:port``), or the command-line flag."""
    block: int | None = None
    """1-based position of a certificate or PEM block in a bundle."""
    line: int | None = None
    """1-based line in the file (PEM blocks: the BEGIN line; nginx: the directive)."""
    note: str | None = None
    """What the place means when it is not where the value is written (nginx's default: the server block)."""

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
        if self.block is not None:
            where += f" (block {self.block})"
        if self.note is not None:
            where += f" ({self.note})"
        return where


class FileFormat(enum.Enum):
    """How a certificate or key file is encoded."""

    PEM = "pem"
    DER = "der"
    PKCS7 = "pkcs7"
    """A PKCS#7 (p7b) certificate bundle, PEM or DER."""
    PKCS12 = "pkcs12"
    """A PKCS#12 (pfx/p12) container."""


class KeyType(enum.Enum):
    """Public-key algorithm of a certificate or private key."""

    RSA = "rsa"
    RSA_PSS = "rsa-pss"
    """An RSA key restricted to PSS signatures (SubjectPublicKeyInfo id-RSASSA-PSS, RFC 4055)."""
    EC = "ec"
    DSA = "dsa"
    ED25519 = "ed25519"
    ED448 = "ed448"
    OTHER = "other"


class Stray(Record):
    """Content of a bundle that is not a certificate: kept and reported, never silently dropped."""

    origin: Origin
    kind: str
    """``text``, ``private key``, ``certificate request``, ``CRL``, ``malformed PEM block``, ``binary junk``."""
    lines: int
    """How many lines it spans (its content is never shown: it may be a private key)."""

    def __str__(self) -> str:
        return f"{self.kind} at {self.origin}"


class ClientModel(enum.Enum):
    """The client whose behaviour the verdict models and the live probe emulates (``--client``). curl and
    s_client-seclevel0 were observed against nginx 1.22.1 in the sample scenarios (knowledge/nginx-behaviour.md
    §6-§7); the certificate selection of Go, Java and browsers follows probe-and-wizard.md §A6."""

    CURL = "curl"
    """curl 7.88 on OpenSSL 3.0 at its default security level 2: refuses to load a weak key or a SHA-1-signed
    chain (exit 58); in TLS 1.3 sends an empty Certificate when its key type has no signature algorithm the server
    offers."""
    S_CLIENT_SECLEVEL0 = "s_client-seclevel0"
    """``openssl s_client -cipher DEFAULT:@SECLEVEL=0``: sends any key and chain (the same TLS 1.3 signature
    algorithm rule applies)."""
    OPENSSL = "openssl"
    """``openssl s_client`` at its default security level 2: what curl's OpenSSL does with the same files."""
    GO = "go"
    """crypto/tls CertificateRequestInfo.SupportsCertificate: only a chain whose issuers meet the advertised names."""
    JAVA = "java"
    """The JSSE key manager's chooseClientAlias gets the advertised issuers: no match, an EMPTY Certificate."""
    BROWSER = "browser"
    """Browsers list only certificates issued under an advertised name: none match, nothing is offered."""

    @property
    def filters_by_ca_names(self) -> bool:
        """It sends nothing when no certificate of its chain is issued under an advertised name."""
        return self in (ClientModel.GO, ClientModel.JAVA, ClientModel.BROWSER)

    @property
    def refuses_weak_credentials(self) -> bool:
        """OpenSSL at security level 2 refuses to load a weak key or a SHA-1-signed chain before connecting."""
        return self in (ClientModel.CURL, ClientModel.OPENSSL)


class OcspMode(enum.Enum):
    """``ssl_ocsp`` (nginx 1.19.0+): OCSP checks of client certificates."""

    OFF = "off"
    ON = "on"
    """Every certificate of the verified chain but its anchor."""
    LEAF = "leaf"
    """The client certificate only."""


class VerifyClient(enum.Enum):
    """nginx ``ssl_verify_client``."""

    ON = "on"
    OPTIONAL = "optional"
    OPTIONAL_NO_CA = "optional_no_ca"
    OFF = "off"


class CertSource(enum.Enum):
    """Where the server found a certificate of the path."""

    SENT = "sent by the client"
    CA_FILE = "ssl_client_certificate"
    TRUSTED_FILE = "ssl_trusted_certificate"
    CRL_FILE = "ssl_crl"


class ErrorPageRule(Record):
    """An ``error_page`` of the server level naming 495 (failed verification) or 496 (no certificate): nginx answers
    a refused client with it instead of its own 400 page (observed with nginx 1.22.1; an ``error_page`` inside a
    location never applies, the client is refused before a location is chosen). The facts' own record of what
    ``nginx.model.ErrorPage`` parsed: the facts model, which the rule catalogue checks against, stays free of the
    nginx package."""

    codes: tuple[int, ...]
    response: str | None
    """``=NNN`` (answer with NNN), ``=`` (with the status of what the URI produces), None (keep 400)."""
    uri: str
    """``/path`` (internal redirect), ``@name`` (named location) or a URL (redirect: 302 unless ``=301`` ...)."""
    origin: Origin
    named_return: int | None = None
    """For ``@name``: the status that named location's own ``return`` answers with, when its block says one."""

    def __str__(self) -> str:
        response = f" {self.response}" if self.response else ""
        return f"error_page {' '.join(map(str, self.codes))}{response} {self.uri} at {self.origin}"


class Outcome(enum.Enum):
    """What happens to the client's request."""

    ACCEPT = "accept"
    """nginx serves the request."""
    REJECT = "reject"
    """nginx answers 400."""
    CLIENT_ERROR = "client_error"
    """A client such as curl cannot even present these credentials."""
    SERVER_CONFIG_ERROR = "server_config_error"
    """nginx would refuse to start with these settings."""
    UNKNOWN = "unknown"


class VerifyError(Record):
    """One verification error OpenSSL raised, numbered as OpenSSL 3.0 numbers it."""

    code: int
    name: str
    text: str
    depth: int
    subject: str

    def __str__(self) -> str:
        return f"{self.code}:{self.text} at depth {self.depth} ({self.subject})"


class ServerSource(enum.Enum):
    """Where the server's settings were read."""

    FLAGS = "flags"
    """Options of `mtls-doctor check` (each setting's origin is its flag)."""
    NGINX = "nginx"
    """An nginx server block (each setting's origin is its directive's file:line)."""
    HANDSHAKE = "handshake"
    """A live handshake (``check --connect``): what the server revealed; each setting's origin is the message."""
