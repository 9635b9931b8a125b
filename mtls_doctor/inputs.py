"""What the user asked us to diagnose: file paths and the server settings to judge them against."""

from __future__ import annotations

from datetime import datetime

from mtls_doctor.openssl.generations import OpenSSLGeneration
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import ErrorPageRule, OcspMode, VerifyClient

NGINX_DEFAULT_VERIFY_DEPTH = 1
"""nginx's ssl_verify_depth when the directive is absent (ngx_http_ssl_module.c: ngx_conf_merge_uint_value(..., 1))."""

DEBIAN_DEFAULT_SECLEVEL = 2
"""OpenSSL's default security level on Debian 12 and other OpenSSL 3.x builds."""


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
    issuers: tuple[str, ...] = ()
    """Files or directories to look for a missing issuer in (``--issuers``), besides the inputs' directories."""
    password_file: str | None = None
    startup_error: str | None = None
    """nginx's own refusal to start with the server settings (from a configuration), when it would refuse."""
    nginx_version: tuple[int, int, int] = (1, 22, 1)
    """The nginx judged for; its defaults and requirements depend on it."""
    ocsp: OcspMode = OcspMode.OFF
    """``ssl_ocsp``."""
    ocsp_responder: str | None = None
    """``ssl_ocsp_responder``."""
    stream: bool = False
    """A ``stream {}`` server: no HTTP, a refused client's connection is closed after the handshake."""
    error_pages: tuple[ErrorPageRule, ...] = ()
    """The server's ``error_page`` entries for 495/496."""
