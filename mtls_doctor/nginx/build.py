"""Which nginx the model is for: its version (defaults changed over time) and the TLS library it runs with."""

from __future__ import annotations

import enum
import re
import shlex

from mtls_doctor.errors import InputError
from mtls_doctor.record import Record


class TlsProtocol(enum.Enum):
    """The protocol names ``ssl_protocols`` accepts (case-insensitively, ngx_conf_set_bitmask_slot)."""

    SSLV2 = "SSLv2"
    SSLV3 = "SSLv3"
    TLSV1 = "TLSv1"
    TLSV1_1 = "TLSv1.1"
    TLSV1_2 = "TLSv1.2"
    TLSV1_3 = "TLSv1.3"


_TLS1_0_TO_1_2 = (TlsProtocol.TLSV1, TlsProtocol.TLSV1_1, TlsProtocol.TLSV1_2)

# The default of ssl_protocols and of proxy_/grpc_/uwsgi_ssl_protocols and stream's, newest first (nginx source,
# the ngx_conf_merge_bitmask_value calls of every SSL module): TLSv1.3 added by commit 7b24b93d6 "SSL: enabled
# TLSv1.3 by default" (release 1.23.4); TLSv1 and TLSv1.1 dropped by ebd18ec18 "SSL: disabled TLSv1 and TLSv1.1
# by default" (release 1.27.3, NGX_SSL_DEFAULT_PROTOCOLS in ngx_event_openssl.h).
_DEFAULT_PROTOCOLS: tuple[tuple[tuple[int, int, int], tuple[TlsProtocol, ...]], ...] = (
    ((1, 27, 3), (TlsProtocol.TLSV1_2, TlsProtocol.TLSV1_3)),
    ((1, 23, 4), (*_TLS1_0_TO_1_2, TlsProtocol.TLSV1_3)),
    ((0, 0, 0), _TLS1_0_TO_1_2),
)

DEFAULT_SECURITY_LEVEL = 2
"""OpenSSL's security level when ``ssl_ciphers`` does not set one. Debian and Ubuntu build OpenSSL with level 2
(Debian 12 / OpenSSL 3.0, observed: RSA-1024 client certificates fail with 66), RHEL 9's crypto policy sets 2,
and upstream OpenSSL made 2 its default in 3.2; only older upstream builds use 1. The value is an assumption,
which is why SecurityLevel.explicit exists."""

_VERSION = re.compile(r"(?:^|/)(\d+)\.(\d+)\.(\d+)")
_NGINX_VERSION_LINE = re.compile(r"^nginx version: \S*?/(\d+)\.(\d+)\.(\d+)", re.MULTILINE)
_SSL_LINE = re.compile(r"^built with (.+?)(?: \(running with (.+)\))?\s*$", re.MULTILINE)
_CONFIGURE_LINE = re.compile(r"^configure arguments: ?(.*)$", re.MULTILINE)


class NginxBuild(Record):
    """An nginx binary as ``nginx -V`` describes it; only the version is needed."""

    version: tuple[int, int, int]
    ssl_built_with: str | None = None
    """``OpenSSL 3.0.22 25 Aug 2026`` from ``built with ...``."""
    ssl_running_with: str | None = None
    """From ``(running with ...)``; None when nginx -V does not say (it then runs with what it was built with)."""
    configure_arguments: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "nginx/{}.{}.{}".format(*self.version)

    @property
    def ssl_library(self) -> str | None:
        """The TLS library nginx runs with."""
        return self.ssl_running_with or self.ssl_built_with

    @property
    def error_log_path(self) -> str:
        """Where nginx logs when no ``error_log`` is configured (``--error-log-path``, else ``logs/error.log``
        under the prefix: NGX_ERROR_LOG_PATH in auto/options)."""
        for argument in self.configure_arguments:
            if argument.startswith("--error-log-path="):
                return argument.partition("=")[2]
        return "logs/error.log"

    def default_ssl_protocols(self) -> tuple[TlsProtocol, ...]:
        """The protocols every SSL module of this version enables when ``*ssl_protocols`` is not set."""
        return next(protocols for since, protocols in _DEFAULT_PROTOCOLS if self.version >= since)


DEFAULT_BUILD = NginxBuild(version=(1, 22, 1))
"""Debian 12's nginx, the version the project's observations were made with."""


def parse_nginx_build(text: str) -> NginxBuild:
    """An NginxBuild from pasted ``nginx -V`` output, or from a bare version (``1.22.1``, ``nginx/1.25.3``).

    OpenResty's ``openresty/1.21.4.1`` gives nginx 1.21.4 (its first three numbers are the nginx core).
    Raises InputError when no version can be found.
    """
    line = _NGINX_VERSION_LINE.search(text)
    if line is None:
        bare = _VERSION.search(text.strip())
        if bare is None or "\n" in text.strip():
            raise InputError(
                "nginx version",
                f"no nginx version in {text.strip()[:60]!r}; give a version such as 1.22.1 or the output of nginx -V",
            )
        return NginxBuild(version=_triple(bare))
    ssl = _SSL_LINE.search(text)
    configure = _CONFIGURE_LINE.search(text)
    return NginxBuild(
        version=_triple(line),
        ssl_built_with=ssl.group(1) if ssl else None,
        ssl_running_with=ssl.group(2) if ssl else None,
        configure_arguments=_arguments(configure.group(1)) if configure else (),
    )


def _arguments(line: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(line))
    except ValueError:  # a paste cut inside a quoted --with-cc-opt='...'
        return tuple(line.split())


def _triple(match: re.Match[str]) -> tuple[int, int, int]:
    return int(match.group(1)), int(match.group(2)), int(match.group(3))
