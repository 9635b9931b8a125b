"""What the user asked us to diagnose: the client's files, and the server's settings from whichever source the user
has (flags, an nginx server block, later a live handshake), each setting with where it was set."""

from __future__ import annotations

from datetime import datetime

from mtls_doctor.openssl.generations import OpenSSLGeneration
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import (
    UNKNOWN,
    ClientModel,
    ErrorPageRule,
    OcspMode,
    Origin,
    ServerSource,
    Unknown,
    VerifyClient,
)

NGINX_DEFAULT_VERIFY_DEPTH = 1
"""nginx's ssl_verify_depth when the directive is absent (ngx_http_ssl_module.c: ngx_conf_merge_uint_value(..., 1))."""

DEBIAN_DEFAULT_SECLEVEL = 2
"""OpenSSL's default security level on Debian 12 and other OpenSSL 3.x builds."""

OBSERVED_NGINX_VERSION = (1, 22, 1)
"""The nginx the observations in sample_pki/MANIFEST.toml were made with (Debian 12)."""


class FileRef(Record):
    """A file the server is configured with, and where it was named."""

    path: str
    origin: Origin
    """The flag or the directive that names it."""


class TwinInference(Record):
    """The concrete values the server twin runs on where a source leaves a setting UNKNOWN (a live handshake shows
    neither the verify mode of a server that asks, nor its depth, security level or CRLs): a best effort, said as
    such ("inferred"), never a fact the rules read. ServerFacts keeps the setting UNKNOWN."""

    verify_client: VerifyClient
    verify_depth: int
    seclevel: int
    notes: tuple[str, ...]
    """Each value inferred, in words ("inferred: ..."): the report's assumptions."""


UNLIMITED_VERIFY_DEPTH = 100
"""OpenSSL's own default verify depth (X509_VERIFY_PARAM, "default_depth"): what an inference that must not make up
a depth limit runs with."""


class ServerSettings(Record):
    """The server's client-verification settings, the same fields whatever the source.

    A source fills every field; what it cannot know (a file it names but cannot have read here, a setting a
    handshake does not show) is UNKNOWN, with the reason in ``reasons`` (keyed by the ServerFacts field it leaves
    unknown); a source that leaves the verify mode, depth or security level UNKNOWN gives the twin's ``inference``.
    """

    source: ServerSource
    verify_client: VerifyClient | Unknown
    """UNKNOWN: the server asks for a certificate (on, optional or optional_no_ca), the source cannot tell which."""
    verify_depth: int | Unknown
    seclevel: int | Unknown
    max_tls: str
    """The highest protocol the server speaks (``TLSv1.3``, ``TLSv1.2``)."""
    openssl: OpenSSLGeneration
    nginx_version: tuple[int, int, int]
    ca_file: FileRef | Unknown | None
    """``ssl_client_certificate``."""
    trusted_file: FileRef | Unknown | None
    """``ssl_trusted_certificate``."""
    crl_files: tuple[FileRef, ...] | Unknown
    """``ssl_crl`` (nginx takes one file; several flags are read as if concatenated)."""
    ocsp: OcspMode | Unknown
    """``ssl_ocsp``; UNKNOWN from a handshake (the twin's verdict is then the one without OCSP)."""
    ocsp_responder: str | None
    stream: bool
    error_pages: tuple[ErrorPageRule, ...]
    ssl_context: bool
    """nginx applies these settings: it builds an SSL context for the server (always so for flags)."""
    serves_tls: bool
    """Clients reach the server over TLS: some ``listen`` has ``ssl`` (always so for flags)."""
    startup_error: str | None
    """A refusal to start that the source knows of beyond these settings (another block's error, an unknown
    directive), in nginx's words; None when there is none."""
    answered: bool
    """The server was seen running (a live handshake reached it): it started with its configuration, so nothing
    that stops nginx at start-up holds, whatever the source cannot show of its files."""
    verify_result_checked: bool | Unknown
    """``$ssl_client_verify`` is read where requests pass (a config tells; flags cannot)."""
    certificate_forwarded: bool | Unknown = False
    """Every pass to an application sends it the whole client certificate, so the application can verify it
    itself (a config tells; flags cannot)."""
    origins: dict[str, Origin]
    """Where each setting was set, by ServerFacts field name."""
    reasons: dict[str, str]
    """Why a field is UNKNOWN, by ServerFacts field name."""
    crl_check: bool | Unknown | None = None
    """Whether ssl_crl is configured at all; None: as ``crl_files`` says (a file named, read or not)."""
    inference: TwinInference | None = None
    """What the twin runs on where the verify mode, depth or security level is UNKNOWN."""
    advertised_names: tuple[str, ...] | None = None
    """The acceptable CA names as the server sent them (a handshake); None: the subjects of ``ca_file``."""
    advertised_bytes: int | None = None
    """The size of that list as sent (each DER name with its 2-byte length); None: computed from ``ca_file``."""

    def for_twin(self) -> tuple[VerifyClient, int, int]:
        """The verify mode, depth and security level the twin runs with: the settings, or where one is UNKNOWN the
        inference's (a source that leaves one UNKNOWN always gives an inference: ValueError otherwise)."""
        guess = self.inference
        mode, depth, level = self.verify_client, self.verify_depth, self.seclevel
        if isinstance(mode, Unknown) or isinstance(depth, Unknown) or isinstance(level, Unknown):
            if guess is None:
                msg = f"the {self.source.value} settings leave a setting UNKNOWN and give no inference"
                raise ValueError(msg)
            mode = guess.verify_client if isinstance(mode, Unknown) else mode
            depth = guess.verify_depth if isinstance(depth, Unknown) else depth
            level = guess.seclevel if isinstance(level, Unknown) else level
        return mode, depth, level


class Inputs(Record):
    """The client's credentials and the server's trust settings, as named on the command line."""

    cert: str | None = None
    key: str | None = None
    chain: str | None = None
    ca: str | None = None
    """``ssl_client_certificate``."""
    trusted: str | None = None
    """``ssl_trusted_certificate``."""
    crls: tuple[str, ...] = ()
    """``ssl_crl`` (nginx takes one file; several are read as if concatenated)."""
    verify_client: VerifyClient = VerifyClient.ON
    depth: int = NGINX_DEFAULT_VERIFY_DEPTH
    seclevel: int = DEBIAN_DEFAULT_SECLEVEL
    at: datetime | None = None
    """The server's clock; None means now."""
    max_tls: str = "TLSv1.3"
    openssl: OpenSSLGeneration = OpenSSLGeneration.V3
    """The OpenSSL generation nginx is linked with."""
    client: ClientModel = ClientModel.CURL
    """The client the verdict models (--client)."""
    issuers: tuple[str, ...] = ()
    """Files or directories to look for a missing issuer in (``--issuers``), besides the inputs' directories."""
    password_file: str | None = None
    nginx_version: tuple[int, int, int] = OBSERVED_NGINX_VERSION
    """The nginx judged for; its defaults and requirements depend on it."""
    ocsp: OcspMode = OcspMode.OFF
    """``ssl_ocsp``."""
    ocsp_responder: str | None = None
    """``ssl_ocsp_responder``."""
    server: ServerSettings | None = None
    """The server's settings from a source other than the flags above (an nginx server block); None: the flags."""

    def server_settings(self) -> ServerSettings:
        """The server's settings: ``server`` when another source gave them, else the flags, each named as the
        origin of what it sets."""
        if self.server is not None:
            return self.server
        flag = {
            "verify_client": "--verify-client",
            "verify_depth": "--depth",
            "seclevel": "--seclevel",
            "ocsp": "--ocsp",
            "ocsp_responder": "--ocsp-responder",
            "max_tls": "--tls",
            "ca_file": "--ca",
            "trusted_file": "--trusted",
            "crl_files": "--crl",
        }
        return ServerSettings(
            source=ServerSource.FLAGS,
            verify_client=self.verify_client,
            verify_depth=self.depth,
            seclevel=self.seclevel,
            max_tls=self.max_tls,
            openssl=self.openssl,
            nginx_version=self.nginx_version,
            ca_file=FileRef(path=self.ca, origin=Origin(source="--ca")) if self.ca else None,
            trusted_file=FileRef(path=self.trusted, origin=Origin(source="--trusted")) if self.trusted else None,
            crl_files=tuple(FileRef(path=p, origin=Origin(source="--crl")) for p in self.crls),
            ocsp=self.ocsp,
            ocsp_responder=self.ocsp_responder,
            stream=False,
            error_pages=(),
            ssl_context=True,
            serves_tls=True,
            startup_error=None,
            answered=False,
            verify_result_checked=UNKNOWN,
            certificate_forwarded=UNKNOWN,
            origins={name: Origin(source=option) for name, option in flag.items()},
            reasons={
                "verify_result_checked": "the flags do not say whether anything checks $ssl_client_verify "
                "(give --nginx to read the configuration)",
                "certificate_forwarded": "the flags do not say whether the application gets the client certificate "
                "(give --nginx to read the configuration)",
            },
        )
