"""The effective settings of each server block: what nginx would use, after inheritance and defaults.

Conventions:
- A :class:`Setting` is a value and the directive it came from (``directive``; ``origin`` is its Origin, computed
  when asked); both are None when the value is nginx's default (for the nginx version the model was built for).
  Every other model object made from a directive has the same pair.
- Field names of :class:`ServerTLS` are the directive names, so a rule reads ``server.tls.ssl_verify_depth``.
  :class:`UpstreamTLS` fields are the directive names without their ``proxy_ssl_``/``grpc_ssl_``/``uwsgi_ssl_``
  prefix (``location.proxy_ssl.verify`` is ``proxy_ssl_verify``).
- File directives hold a :class:`~mtls_doctor.nginx.paths.ConfigPath`: resolved, never opened.
"""

from __future__ import annotations

import enum
from typing import Generic, TypeVar

from mtls_doctor.nginx.build import NginxBuild, TlsProtocol
from mtls_doctor.nginx.names import ServerName, pick_server
from mtls_doctor.nginx.paths import ConfigPath
from mtls_doctor.nginx.tree import Directive, MaybePlaced, NginxConfig, Placed
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import OcspMode, Origin, VerifyClient

T = TypeVar("T")


class Setting(MaybePlaced, Generic[T], Record, hot=True):
    """An effective value and where it was set."""

    value: T
    directive: Directive | None = None
    """The directive that set it (in this block or an enclosing one); None: nginx's default."""

    @property
    def is_default(self) -> bool:
        """No directive set it: nginx's built-in default applies."""
        return self.directive is None

    def __str__(self) -> str:
        """The value as nginx spells it (``on``/``off``, protocol names, paths), ``(default)`` marked."""
        text = _nginx_text(self.value)
        return f"{text} (default)" if self.directive is None else text


def _nginx_text(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple):
        return " ".join(_nginx_text(v) for v in value)
    return "(not set)" if value is None else str(value)


class Context(enum.Enum):
    """The module a server block belongs to."""

    HTTP = "http"
    STREAM = "stream"


class LogLevel(enum.IntEnum):
    """``error_log`` levels; a higher value logs more (the numbers are nginx's own, src/core/ngx_log.h)."""

    EMERG = 1
    ALERT = 2
    CRIT = 3
    ERROR = 4
    WARN = 5
    NOTICE = 6
    INFO = 7
    DEBUG = 8


class LocationModifier(enum.Enum):
    """The kind of a ``location``."""

    PREFIX = ""
    EXACT = "="
    PREFIX_NO_REGEX = "^~"
    REGEX = "~"
    REGEX_CASELESS = "~*"
    NAMED = "@"


class UpstreamModule(enum.Enum):
    """A module through which nginx connects to an upstream, possibly as a TLS client."""

    PROXY = "proxy"
    GRPC = "grpc"
    UWSGI = "uwsgi"


class Listen(MaybePlaced, Record):
    """One ``listen`` (or the one nginx adds to a server block that has none)."""

    address: str
    """``*`` (all IPv4), ``[::]``, an IP, a host name, or ``unix:/path``."""
    port: int | None
    """None for a UNIX socket."""
    ssl: bool
    default_server: bool
    """``default_server`` (or its old spelling ``default``)."""
    http2: bool
    directive: Directive | None
    """None for the implicit listen of a block without any: ``*:80`` (nginx uses 8000 when not run as root,
    ``getuid() == 0 ? 80 : 8000`` in ngx_http_core_server; this model assumes root, as a service runs)."""

    def __str__(self) -> str:
        where = f"{self.address}:{self.port}" if self.port is not None else self.address
        return f"listen {where} at {self.origin}" if self.directive is not None else f"listen {where} (implicit)"


class ErrorLog(MaybePlaced, Record):
    """One ``error_log`` in effect."""

    target: str
    """As written: a file (relative to nginx's ``-p`` prefix, not the conf prefix), ``stderr``, ``syslog:...``,
    ``memory:...``. Note ``error_log off;`` writes to a file named "off"."""
    level: LogLevel
    directive: Directive | None
    """None for nginx's default log (the build's ``--error-log-path`` at level ``error``)."""

    def __str__(self) -> str:
        where = "nginx's default error log" if self.directive is None else f"error_log {self.target}"
        return f"{where} at level {self.level.name.lower()}"


class ErrorPage(Placed, Record):
    """An ``error_page`` for one of the codes nginx uses for client-certificate trouble.

    400 is what the client finally sees; inside nginx a failed verification is 495, a missing required
    certificate 496, plain HTTP on an HTTPS port 497 (ngx_http_request.h). Only entries naming one of those are
    kept, after inheritance (an ``error_page`` at a level replaces all of its parent's).
    """

    codes: tuple[int, ...]
    response: str | None
    """``=`` or ``=NNN`` (the status to answer with instead), None when absent."""
    uri: str
    directive: Directive


class VariableUse(Placed, Record):
    """A place that reads a client-certificate variable (``$ssl_client_verify``, ``$ssl_client_s_dn`` ...)."""

    variable: str
    """The client-certificate variable, without ``$``: ``ssl_client_verify``."""
    via: str | None
    """A ``map`` output variable (``$verified``) through which it is read; None when read directly."""
    directive: Directive
    """The directive that reads it: ``if``, ``proxy_set_header``, ``map``, ``return`` ..."""


class SecurityLevel(MaybePlaced, Record):
    """The OpenSSL security level of a server's SSL context; it also applies to client-certificate checks."""

    level: int
    explicit: bool
    """Set by ``@SECLEVEL=n`` in ``ssl_ciphers``; otherwise the assumed library default."""
    directive: Directive | None
    """The ``ssl_ciphers`` directive that set it; None when not explicit."""


class ServerTLS(Record):
    """A server's TLS settings (ngx_http_ssl_module / ngx_stream_ssl_module), inherited http (or stream) ->
    server. Directives the block's module lacks (``ssl_ocsp`` in stream) keep their default."""

    ssl: Setting[bool]
    """The obsolete ``ssl on;`` (http only; deprecated since 1.15.0, removed in 1.25.1)."""
    ssl_verify_client: Setting[VerifyClient]
    ssl_client_certificate: Setting[ConfigPath | None]
    ssl_trusted_certificate: Setting[ConfigPath | None]
    ssl_verify_depth: Setting[int]
    ssl_crl: Setting[ConfigPath | None]
    ssl_protocols: Setting[tuple[TlsProtocol, ...]]
    """Several ``ssl_protocols`` in one block add up (ngx_conf_set_bitmask_slot); the default depends on the
    nginx version (see NginxBuild.default_ssl_protocols)."""
    ssl_ciphers: Setting[str]
    ssl_certificate: Setting[tuple[ConfigPath, ...]]
    """All of them (one per key type); a block that sets any replaces the inherited list."""
    ssl_certificate_key: Setting[tuple[ConfigPath, ...]]
    ssl_password_file: Setting[ConfigPath | None]
    ssl_dhparam: Setting[ConfigPath | None]
    ssl_session_ticket_key: Setting[tuple[ConfigPath, ...]]
    ssl_prefer_server_ciphers: Setting[bool]
    ssl_ocsp: Setting[OcspMode]
    ssl_ocsp_responder: Setting[str | None]
    """A URL (``http://`` only); nginx then asks it instead of each certificate's own responder."""
    ssl_stapling: Setting[bool]
    ssl_stapling_verify: Setting[bool]
    ssl_stapling_file: Setting[ConfigPath | None]
    ssl_reject_handshake: Setting[bool]
    security_level: SecurityLevel
    """Derived from ``ssl_ciphers``."""


class UpstreamTLS(Record):
    """nginx as a TLS client of an upstream (``proxy_ssl_*``, ``grpc_ssl_*``, ``uwsgi_ssl_*``), inherited
    http -> server -> location (-> nested location); in stream, stream -> server."""

    module: UpstreamModule
    certificate: Setting[ConfigPath | None]
    certificate_key: Setting[ConfigPath | None]
    password_file: Setting[ConfigPath | None]
    trusted_certificate: Setting[ConfigPath | None]
    crl: Setting[ConfigPath | None]
    verify: Setting[bool]
    """Default off: the upstream's certificate is not checked at all."""
    verify_depth: Setting[int]
    name: Setting[str | None]
    """None: the host of the ``*_pass`` URL."""
    server_name: Setting[bool]
    """Send SNI; default off."""
    protocols: Setting[tuple[TlsProtocol, ...]]
    ciphers: Setting[str]
    session_reuse: Setting[bool]


class UpstreamPass(Placed, Record):
    """A ``proxy_pass``/``grpc_pass``/``uwsgi_pass``: where requests go, and whether over TLS."""

    module: UpstreamModule
    target: str
    """As written (``https://backend``, ``grpcs://10.0.0.1:443``, ``suwsgi://app``, ``upstream_name``)."""
    tls: bool
    """http: the scheme is ``https://``, ``grpcs://`` or ``suwsgi://``; stream: ``proxy_ssl on``."""
    tls_directive: Directive | None
    """What made it TLS or not: the pass directive (http), the ``proxy_ssl`` directive or None (stream)."""
    ssl: UpstreamTLS
    """The module's effective client settings where the pass is."""
    directive: Directive

    def __str__(self) -> str:
        return f"{self.module.value}_pass {self.target} at {self.origin}"

    @property
    def tls_origin(self) -> Origin | None:
        """Where ``tls`` was decided; None for stream's default (off)."""
        return None if self.tls_directive is None else self.tls_directive.origin


class Location(Placed, Record):
    """One ``location`` (nested ones are listed too, after their parent)."""

    directive: Directive
    modifier: LocationModifier
    uri: str
    parent: Location | None
    """The enclosing location, for a nested one."""
    variables: tuple[VariableUse, ...]
    """Client-certificate variables read here, in its ``if`` and ``limit_except`` blocks (not in nested
    locations, which list their own)."""
    checks_ssl_client_verify: bool
    """``$ssl_client_verify`` is read here, in an enclosing location, or at the server level (directly or
    through a ``map``): requests to this location can act on the verification result."""
    proxy_ssl: UpstreamTLS
    grpc_ssl: UpstreamTLS
    uwsgi_ssl: UpstreamTLS
    upstreams: tuple[UpstreamPass, ...]
    """The ``*_pass`` directives of this location and of its ``if``/``limit_except`` blocks (not inherited:
    nginx does not inherit a handler into nested locations)."""

    def __str__(self) -> str:
        modifier = f"{self.modifier.value} " if self.modifier.value else ""
        return f"location {modifier}{self.uri} at {self.origin}"


class ServerBlock(Placed, Record):
    """One ``server { }`` of ``http { }`` or ``stream { }`` with everything nginx would apply to it."""

    directive: Directive
    context: Context
    listens: tuple[Listen, ...]
    server_names: tuple[ServerName, ...]
    """In order; ``""`` when none is set (nginx's default). Always empty in stream (no server_name in 1.22)."""
    tls: ServerTLS
    error_log: tuple[ErrorLog, ...]
    """Every log the server's messages go to (nginx writes to all), inherited main -> http/stream -> server.
    The server level is what counts for ``client SSL certificate verify error``: nginx logs it before any
    location is chosen."""
    error_pages: tuple[ErrorPage, ...]
    """The ``error_page`` entries for 400/495/496/497 in effect at the server level, where nginx handles a
    client-certificate failure (inherited from http unless the server has any ``error_page`` of its own)."""
    variables: tuple[VariableUse, ...]
    """Client-certificate variables read at the server level (including its ``if`` blocks)."""
    locations: tuple[Location, ...]
    upstreams: tuple[UpstreamPass, ...]
    """Stream only: the server's ``proxy_pass`` (in http they belong to locations)."""
    proxy_ssl: UpstreamTLS | None
    """Stream only: the server's ``proxy_ssl_*`` settings; None in http (see Location.proxy_ssl)."""

    def __str__(self) -> str:
        names = " ".join(n.name for n in self.server_names if n.name) or "(no server_name)"
        return f"server {names} at {self.origin}"

    @property
    def is_tls(self) -> bool:
        """Some ``listen`` has ``ssl``, or the obsolete ``ssl on;`` is in effect."""
        return self.tls.ssl.value or any(listen.ssl for listen in self.listens)

    @property
    def verifies_clients(self) -> bool:
        """Speaks TLS and asks for client certificates (``ssl_verify_client`` other than ``off``)."""
        return self.is_tls and self.tls.ssl_verify_client.value is not VerifyClient.OFF

    @property
    def error_log_level(self) -> LogLevel:
        """The most verbose level among the server's logs: ``INFO`` or more shows certificate verify errors."""
        return max(log.level for log in self.error_log)

    @property
    def ports(self) -> frozenset[int]:
        """The TCP ports it listens on."""
        return frozenset(listen.port for listen in self.listens if listen.port is not None)


class EffectiveConfig(Record):
    """The effective settings of every server block of a configuration, for one nginx build."""

    config: NginxConfig
    nginx: NginxBuild
    servers: tuple[ServerBlock, ...]
    """http servers first, then stream servers, each in file order."""
    http_variables: tuple[VariableUse, ...]
    """Client-certificate variables read at the ``http`` level outside servers (``map``, ``log_format`` ...)."""

    @property
    def verifying_servers(self) -> tuple[ServerBlock, ...]:
        """The server blocks that speak TLS and ask for client certificates."""
        return tuple(server for server in self.servers if server.verifies_clients)

    def find_servers(
        self, *, name: str | None = None, port: int | None = None, context: Context = Context.HTTP
    ) -> tuple[ServerBlock, ...]:
        """Server blocks of ``context`` that listen on ``port`` (any, when None) and have a ``server_name``
        matching ``name`` the way nginx matches a Host or SNI name (exact, ``*.``/``.`` and ``.*`` wildcards,
        ``~`` regular expressions); all of them when ``name`` is None."""
        return tuple(
            server
            for server in self.servers
            if server.context is context
            and (port is None or port in server.ports)
            and (name is None or any(sn.matches(name) for sn in server.server_names))
        )

    def route(self, name: str, port: int) -> ServerBlock | None:
        """The http server block nginx would pick for Host/SNI ``name`` on ``port``.

        nginx's order (ngx_http_find_virtual_server): the exact name, then the longest ``*.`` wildcard, then the
        longest ``.*`` wildcard, then the first matching regex in file order; with no match, the
        ``default_server`` of the port, else its first server. Simplification: servers are grouped by port
        only, not by listen address.
        """
        return pick_server(self.find_servers(port=port), name, port)
