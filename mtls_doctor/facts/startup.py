"""When nginx refuses to start with a server's client-certificate settings, and what it says.

One place for both `check` (settings given as options) and `check --nginx` / `lint` (settings read from a
configuration), so the two always agree. Messages are nginx 1.22's own, confirmed with ``nginx -t``
(sample_pki scenarios verify-on-without-ca-file, ca-file-der, crl-file-der).
"""

from __future__ import annotations

from mtls_doctor.vocabulary import FileFormat, OcspMode, VerifyClient

CLIENT_CERTIFICATE_OPTIONAL_SINCE = (1, 27, 2)
"""nginx 1.27.2 changelog: "now the ssl_client_certificate directive is not required for client SSL certificates
verification". Documented, not observed here (Debian 12 ships 1.22.1)."""

_NOT_FOUND = "x509 certificate routines::no certificate or crl found"


def _no_such_file(path: str) -> str:
    return (
        f"error:80000002:system library::No such file or directory:calling fopen({path}, r) "
        "error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib"
    )


def verify_needs_ca_file(mode: VerifyClient, version: tuple[int, int, int]) -> bool:
    """nginx refuses ``ssl_verify_client on|optional`` without ``ssl_client_certificate`` (ngx_http_ssl_merge_srv_conf:
    verify 1 and 2 need it, optional_no_ca does not), before 1.27.2."""
    return mode in (VerifyClient.ON, VerifyClient.OPTIONAL) and version < CLIENT_CERTIFICATE_OPTIONAL_SINCE


def missing_ca_file_error() -> str:
    """nginx's emerg line for verification without ssl_client_certificate."""
    return "no ssl_client_certificate for ssl_verify_client"


def ca_file_error(path: str, file_format: FileFormat | None, *, missing: bool = False) -> str | None:
    """nginx's emerg line when ssl_client_certificate/ssl_trusted_certificate cannot be loaded, else None."""
    return _load_error(CA_FILE_LOADER, path, file_format, missing=missing)


def crl_file_error(path: str, file_format: FileFormat | None, *, missing: bool = False) -> str | None:
    """nginx's emerg line when ssl_crl cannot be loaded (ngx_ssl_crl: X509_LOOKUP_load_file as PEM), else None."""
    return _load_error(CRL_FILE_LOADER, path, file_format, missing=missing)


CA_FILE_LOADER = "SSL_CTX_load_verify_locations"
"""How nginx loads ssl_client_certificate and ssl_trusted_certificate (ngx_ssl_client_certificate)."""
CRL_FILE_LOADER = "X509_LOOKUP_load_file"
"""How nginx loads ssl_crl (ngx_ssl_crl)."""


def nothing_found(call: str, path: str) -> str:
    """nginx's emerg line when OpenSSL's PEM loader ``call`` finds no certificate or CRL in ``path`` (DER, empty)."""
    return f'{call}("{path}") failed (SSL: error:05800088:{_NOT_FOUND})'


def missing_file(call: str, path: str) -> str:
    """nginx's emerg line when the file OpenSSL's loader ``call`` is to read does not exist."""
    return f'{call}("{path}") failed (SSL: {_no_such_file(path)})'


def _load_error(call: str, path: str, file_format: FileFormat | None, *, missing: bool) -> str | None:
    """The emerg line of OpenSSL's PEM loader ``call`` on a missing or non-PEM file (the two read PEM alike)."""
    if missing:
        return missing_file(call, path)
    if file_format is not None and file_format is not FileFormat.PEM:
        return nothing_found(call, path)
    return None


def ocsp_error(mode: VerifyClient, ocsp: OcspMode) -> str | None:
    """nginx's emerg line for ``ssl_ocsp`` with ``ssl_verify_client optional_no_ca`` (ngx_http_ssl_merge_srv_conf,
    after the CA and CRL files; confirmed with nginx -t on 1.22.1), else None."""
    if ocsp is not OcspMode.OFF and mode is VerifyClient.OPTIONAL_NO_CA:
        return '"ssl_ocsp" is incompatible with "ssl_verify_client optional_no_ca"'
    return None
