"""Lint facts: one nginx server block, its effective settings, and what the files it names hold.

The rules of scope ``lint`` read these. Every certificate, CA and CRL file is read at most once per run (a config of
10,000 server blocks names the same few files again and again). Files are read only when the configuration's files
are on this machine (a config file read from disk, or ``--read-files``), inside the allowed root: otherwise the
facts that need them are UNKNOWN, with the reason, and their rules are not evaluated.
"""

from __future__ import annotations

import re
from ipaddress import ip_address

from cryptography.hazmat.primitives import hashes

from mtls_doctor.facts.observers import Observers
from mtls_doctor.facts.startup import (
    verify_needs_ca_file,
)
from mtls_doctor.nginx import (
    Context,
    EffectiveConfig,
    Listen,
    Location,
    LocationModifier,
    LogLevel,
    ServerBlock,
    TlsProtocol,
    UpstreamModule,
    UpstreamPass,
)
from mtls_doctor.nginx.tree import Directive
from mtls_doctor.openssl.generations import OpenSSLGeneration, generation_of
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import Origin, Unknown, VerifyClient

TLS13_DEFAULT_SINCE = (1, 23, 4)
"""nginx 1.23.4: "TLSv1.3 is now enabled by default" (CHANGES; the model's default_ssl_protocols agrees)."""
_SHA256 = hashes.SHA256()
_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----")
SSL_DIRECTIVE_REMOVED_IN = (1, 25, 1)
"""The ``ssl`` directive: deprecated (a warning) since 1.15.0, removed in 1.25.1 (then: unknown directive)."""


class NginxFacts(Record):
    """The nginx the configuration is judged for."""

    version: str
    assumed: bool
    """No version was given (--nginx-version or nginx -V): Debian 12's 1.22.1 is assumed."""
    ssl_library: str | None
    tls13_default: bool
    requires_client_certificate: bool
    """``ssl_verify_client on|optional`` needs ``ssl_client_certificate`` (before 1.27.2)."""
    ssl_directive_removed: bool


class UnverifiedUpstream(Record):
    """A TLS upstream whose certificate is not checked, placed where that was decided: the ``*_ssl_verify off``
    directive when one is written, else the ``*_pass`` (nginx's default is off)."""

    upstream: UpstreamPass

    @property
    def origin(self) -> Origin:
        """The ``*_ssl_verify off`` line, or the pass for the default."""
        return self.upstream.ssl.verify.origin or self.upstream.origin

    def __str__(self) -> str:
        verify = f"{self.upstream.module.value}_ssl_verify off"
        setting = self.upstream.ssl.verify
        how = f"{verify} at {setting.origin}" if setting.origin else f"{verify}, the default"
        return f"{self.upstream} ({how})"


class HeaderLoss(Record):
    """A location that sets proxy_set_header of its own, so the identity headers of an outer level are not sent."""

    location: Location
    own: Directive
    """The location's (or an enclosing location's) first ``proxy_set_header``: why nothing is inherited."""
    lost: tuple[str, ...]
    """The identity header names of the outer level, as written there."""
    outer: Directive
    """The first of the outer level's identity headers."""

    @property
    def origin(self) -> Origin:
        """Where the user edits: the location's own proxy_set_header."""
        return self.own.origin

    def __str__(self) -> str:
        return (
            f"{self.location} (its proxy_set_header at {self.own.origin} replaces those of {self.outer.origin}: "
            f"{', '.join(self.lost)} not sent)"
        )


class Bypass(Record):
    """Another server block that proxies to an upstream this one reaches only for verified clients."""

    upstream: UpstreamPass
    server: ServerBlock
    forgeable: tuple[str, ...]
    """Identity headers this server sends that the other does not set: a client's own pass through unchanged."""

    @property
    def origin(self) -> Origin:
        """The other block's pass: where the way around is."""
        return self.upstream.origin

    def __str__(self) -> str:
        how = "asks no certificate" if not self.server.verifies_clients else "does not require one"
        forge = f", and passes a client's own {', '.join(self.forgeable)} unchanged" if self.forgeable else ""
        return f"{self.upstream} in {self.server} ({how}{forge})"


class PlacedNote(Record):
    """A directive that does something other than its author meant, and why."""

    directive: Directive
    why: str

    @property
    def origin(self) -> Origin:
        """The directive's line."""
        return self.directive.origin

    def __str__(self) -> str:
        return f"{self.directive.name} at {self.directive.origin} ({self.why})"


class UpstreamFacts(Record):
    """nginx as a TLS client of its upstreams (``proxy_ssl_*``, ``grpc_ssl_*``, ``uwsgi_ssl_*``), for this server."""

    tls: tuple[UpstreamPass, ...]
    """Every ``*_pass`` to a TLS upstream (https://, grpcs://, suwsgi://)."""
    unverified: tuple[UnverifiedUpstream, ...]
    """TLS upstreams whose certificate is not checked (``proxy_ssl_verify`` is off by default)."""
    unverified_module: str | None
    """The directive prefix of the first unverified pass's module (``proxy``, ``grpc``, ``uwsgi``): the fix's
    directives are that module's; None when every TLS upstream is verified."""
    ssl_name_fix: str
    """The ``proxy_ssl_name`` line MTLS720's fix needs: a real one when an unverified pass names an ``upstream {}``
    group (verification would check the group's name), else a comment."""
    certificate_without_key: tuple[UpstreamPass, ...]
    key_without_certificate: tuple[UpstreamPass, ...]
    verify_without_trusted: tuple[UpstreamPass, ...]
    name_not_checkable: tuple[UpstreamPass, ...]
    """Verified upstreams of an http server whose name to check defaults to an IP address or an ``upstream {}``
    group name."""
    stream_name_not_checkable: tuple[UpstreamPass, ...]
    """The same in a ``stream {}`` server: the check fails on every connection, which nginx closes."""
    without_sni: tuple[UpstreamPass, ...]
    """TLS upstreams named by host name that get no SNI (``proxy_ssl_server_name`` is off by default)."""


class LintFacts(Record):
    """All a lint rule may read about one server block. None: not configured. UNKNOWN: could not be read."""

    nginx: NginxFacts
    server: ServerBlock
    verifies: bool
    """The block speaks TLS and ``ssl_verify_client`` is not off."""
    creates_ssl_context: bool
    """nginx builds an SSL context for the block (it has ``ssl_certificate`` or ``ssl_reject_handshake on``), and
    then loads its CA and CRL files and checks ``ssl_verify_client``, even when no ``listen`` has ``ssl``
    (ngx_http_ssl_merge_srv_conf returns early only without certificates; observed with nginx 1.22.1)."""
    verify_client_set_here: bool
    """``ssl_verify_client`` is written in this server block (not inherited from ``http``)."""
    mode: VerifyClient
    verify_result_checked: bool | Unknown
    """``$ssl_client_verify`` is read somewhere requests pass (server level, a location, or a map)."""
    certificate_forwarded: Directive | Unknown | None
    """Every ``*_pass`` of the block (proxy, grpc, fastcgi, uwsgi, scgi) sends the application the whole client
    certificate (``$ssl_client_escaped_cert``, ``$ssl_client_cert`` or ``$ssl_client_raw_cert`` in the
    ``proxy_set_header`` / ``grpc_set_header`` / ``*_param`` in effect there): the first such directive. None when
    some pass sends none, or the block passes nothing (stream: no headers)."""
    verify_reason_hidden: bool
    """No error log of the server is at ``info`` or more: the reason of a 400 is never written."""
    port_default_without_auth: ServerBlock | Unknown | None
    """Another block on the same port, which nginx picks for unknown or absent SNI, and which asks no certificate."""
    legacy_protocols: tuple[str, ...]
    protocols_written: bool
    """``ssl_protocols`` is written (in the block or above it); False: nginx's default list applies."""
    no_negotiable_protocol: bool
    """The block speaks TLS and its ssl_protocols hold nothing OpenSSL 3 negotiates at its security level: only
    SSLv2/SSLv3/TLSv1/TLSv1.1 with @SECLEVEL above 0 (observed, nginx 1.22.1 / OpenSSL 3.0: curl exit 35 and
    alert internal_error even from a client at SECLEVEL=0). OpenSSL 1.x negotiates TLS 1.0/1.1."""
    tls13_enabled: bool
    uses_ssl_directive: bool
    """The obsolete ``ssl on|off;`` is written (nginx 1.22 warns for both; 1.25.1 removed the directive)."""
    upstreams: UpstreamFacts | Unknown
    plain_listens: tuple[Listen, ...]
    """Listens without ``ssl`` of a block that verifies clients: plain HTTP there reaches the same locations and
    nginx asks no certificate (the verification applies to TLS connections only; observed with nginx 1.22.1 and
    curl: 200 on the plain port, 400 "No required SSL certificate was sent" on the TLS one)."""
    unchecked_locations: tuple[Location, ...]
    """Under ``optional``/``optional_no_ca``, when some location acts on ``$ssl_client_verify`` and the server
    level does not: the locations that do not (requests there are served whatever the verification said)."""
    identity_headers_lost: tuple[HeaderLoss, ...]
    """Locations that proxy and set ``proxy_set_header`` of their own while the server (or http) level sets
    identity headers (values reading ``$ssl_client_*``): nginx inherits proxy_set_header only into a level that
    sets none, so those headers are not sent from there."""
    inert_upstream_tls: tuple[PlacedNote, ...]
    """``proxy_ssl_*`` written in a location whose ``proxy_pass`` is plain ``http://``: nginx never opens TLS to
    that upstream, so they do nothing there."""
    deprecated_cert_variable: tuple[PlacedNote, ...]
    """Where ``$ssl_client_cert`` is read: deprecated since nginx 1.13.5, a multi-line value (every line after the
    first starts with a tab) that a header cannot carry; ``$ssl_client_escaped_cert`` is its replacement."""
    same_upstream_without_auth: tuple[Bypass, ...]
    """Passes of other http server blocks that ask no certificate to an upstream this verifying block proxies to:
    all of them when this block sends no identity header (the application cannot tell the ways in apart), else
    those that do not overwrite every identity header it sends (a client forges them: nginx passes a request's
    headers on unless proxy_set_header names them; an empty value sends none, observed with nginx 1.22.1)."""


class NotHere(Record):
    """A file the configuration names that cannot be read on this machine."""

    name: str
    """The path, resolved as nginx resolves it."""
    problem: str
    """nginx's words (``open() "..." failed (2: No such file or directory)``), or why it was not read."""
    directive: Directive
    """The first directive that names it (an ``include``, ``ssl_client_certificate``...)."""

    @property
    def origin(self) -> Origin:
        """Where the directive is."""
        return self.directive.origin

    def __str__(self) -> str:
        # nginx's open() words already name the file
        problem = self.problem if self.problem.startswith("open() ") else f"{self.name}: {self.problem}"
        return f"{problem} ({self.directive.name} at {self.directive.origin})"


class ParseError(Record):
    """Why nginx would not read the configuration at all, at the line nginx reports."""

    origin: Origin
    problem: str
    misplaced: str | None = None
    """The directive nginx names in '"X" directive is not allowed here', if that is the error."""

    def __str__(self) -> str:
        return self.problem


class ConfigFacts(Record):
    """What the rules of scope ``config`` read: the configuration as a whole, once per lint."""

    not_here: tuple[NotHere, ...]
    """Files nginx would read that cannot be read here: includes that are missing, unreadable, outside a paste's
    root or absent from a dump (skipped: the rest is linted), and certificate, key, CA and CRL files that do not
    exist here. nginx -t on this machine would stop on the missing ones."""
    includes_skipped: tuple[NotHere, ...]
    """Those of ``not_here`` that are includes."""
    parse_error: ParseError | None = None
    """The configuration cannot be parsed (nothing else was linted)."""


class BlockContext:
    """What is the same for every server block of one lint run: the fallback block of each port (computed once per
    port: a per-block route made the lint quadratic in the number of server blocks)."""

    def __init__(self, model: EffectiveConfig) -> None:
        self.model = model
        self._fallbacks: dict[int, ServerBlock | None] = {}
        self._unauthenticated: dict[str, list[tuple[ServerBlock, Location | None, UpstreamPass]]] | None = None
        http = next((d for d in model.config.directives if d.name == "http"), None)
        self.http = http
        self.http_headers: list[Directive] = list(http.children("proxy_set_header")) if http else []
        """proxy_set_header at the http level, inherited by a server that sets none."""
        self.map_outputs = frozenset(v.via.lstrip("$") for v in model.http_variables if v.via)
        """``map`` outputs computed from client-certificate variables at the http level."""

    def unauthenticated_passes(self, key: str) -> list[tuple[ServerBlock, Location | None, UpstreamPass]]:
        """The proxy passes to ``key`` (``host[:port]`` or a group) of http server blocks that ask no certificate,
        with their location; indexed once per run (a scan per block would make the lint quadratic)."""
        if self._unauthenticated is None:
            index: dict[str, list[tuple[ServerBlock, Location | None, UpstreamPass]]] = {}
            for server in self.model.servers:
                if server.context is not Context.HTTP or server.verifies_clients:
                    continue
                for location, passes in [(None, server.upstreams), *((loc, loc.upstreams) for loc in server.locations)]:
                    for p in passes:
                        if p.module is UpstreamModule.PROXY:
                            index.setdefault(_pass_key(p), []).append((server, location, p))
            self._unauthenticated = index
        return self._unauthenticated.get(key, [])

    def port_fallback(self, port: int) -> ServerBlock | None:
        """``model.route("", port)``, once per port."""
        if port not in self._fallbacks:
            self._fallbacks[port] = self.model.route("", port)
        return self._fallbacks[port]


def nginx_facts(model: EffectiveConfig, *, assumed: bool = False) -> NginxFacts:
    """What the nginx version implies."""
    version = model.nginx.version
    return NginxFacts(
        version=".".join(map(str, version)),
        assumed=assumed,
        ssl_library=model.nginx.ssl_library,
        tls13_default=version >= TLS13_DEFAULT_SINCE,
        requires_client_certificate=verify_needs_ca_file(VerifyClient.ON, version),
        ssl_directive_removed=version >= SSL_DIRECTIVE_REMOVED_IN,
    )


def server_facts(server: ServerBlock, nginx: NginxFacts, context: BlockContext, observe: Observers) -> LintFacts:
    """The lint facts of one server block; what ``observe`` could not compute (a crash) is UNKNOWN."""
    tls = server.tls
    protocols = tls.ssl_protocols.value
    ssl_directive = tls.ssl.directive
    return LintFacts(
        nginx=nginx,
        server=server,
        verifies=server.verifies_clients,
        creates_ssl_context=bool(tls.ssl_certificate.value) or tls.ssl_reject_handshake.value,
        verify_client_set_here=tls.ssl_verify_client.directive is not None
        and any(d is tls.ssl_verify_client.directive for d in server.directive.block or ()),
        mode=tls.ssl_verify_client.value,
        verify_result_checked=observe.run(
            "the $ssl_client_verify search", "verify_result_checked", lambda: checks_verify_result(server)
        ),
        certificate_forwarded=observe.run(
            "the forwarded certificate search", "certificate_forwarded", lambda: forwarded_certificate(server, context)
        ),
        verify_reason_hidden=server.error_log_level < LogLevel.INFO,
        port_default_without_auth=observe.run(
            "the port's default server",
            "port_default_without_auth",
            lambda: _port_default_without_auth(server, context),
        ),
        legacy_protocols=tuple(p.value for p in protocols if p.value in ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")),
        protocols_written=tls.ssl_protocols.directive is not None,
        no_negotiable_protocol=server.is_tls
        and not (TlsProtocol.TLSV1_2 in protocols or TlsProtocol.TLSV1_3 in protocols)
        and tls.security_level.level > 0
        and generation_of(nginx.ssl_library) in (None, OpenSSLGeneration.V3, OpenSSLGeneration.V4),
        tls13_enabled=TlsProtocol.TLSV1_3 in protocols,
        uses_ssl_directive=ssl_directive is not None,
        upstreams=observe.run("the upstream facts", "upstreams", lambda: _upstreams(server)),
        plain_listens=_plain_listens(server),
        unchecked_locations=_unchecked_locations(server),
        identity_headers_lost=_headers_lost(server, context),
        inert_upstream_tls=_inert_upstream_tls(server),
        deprecated_cert_variable=tuple(
            PlacedNote(directive=v.directive, why="$ssl_client_cert: use $ssl_client_escaped_cert")
            for v in (*server.variables, *(v for loc in server.locations for v in loc.variables))
            if v.variable == "ssl_client_cert"
        ),
        same_upstream_without_auth=_bypasses(server, context),
    )


_IDENTITY_VALUE = re.compile(r"\$\{?(ssl_client_\w+)")


def _headers(directives: list[Directive]) -> dict[str, Directive]:
    """proxy_set_header name (lower case) -> its directive."""
    return {d.args[0].lower(): d for d in directives if d.args}


def _identity(headers: dict[str, Directive], maps: frozenset[str]) -> dict[str, Directive]:
    """The headers whose value carries the client's certificate identity: a ``$ssl_client_*`` variable, or a
    ``map`` output computed from one."""
    found = {}
    for name, d in headers.items():
        value = " ".join(d.args[1:])
        if _IDENTITY_VALUE.search(value) or any(f"${m}" in value or f"${{{m}}}" in value for m in maps):
            found[name] = d
    return found


def _level_headers(server: ServerBlock, context: BlockContext) -> list[Directive]:
    """The proxy_set_header that the server level has in effect (its own, else the http level's)."""
    own = list(server.directive.children("proxy_set_header"))
    return own or context.http_headers


def _location_headers(location: Location | None) -> list[Directive]:
    """The proxy_set_header a location has in effect from its own level or an enclosing location's; [] when it
    inherits the server's (nginx merges the list into a level only when that level sets none)."""
    level = location
    while level is not None:
        own = list(level.directive.children("proxy_set_header"))
        if own:
            return own
        level = level.parent
    return []


def _effective_at(location: Location | None, server: ServerBlock, context: BlockContext) -> list[Directive]:
    return _location_headers(location) or _level_headers(server, context)


def _maps(server: ServerBlock, context: BlockContext) -> frozenset[str]:
    return context.map_outputs | frozenset(v.via.lstrip("$") for v in server.variables if v.via)


def _sent_identity(server: ServerBlock, context: BlockContext) -> dict[str, Directive]:
    return _identity(_headers(_level_headers(server, context)), _maps(server, context))


def _headers_lost(server: ServerBlock, context: BlockContext) -> tuple[HeaderLoss, ...]:
    if not server.verifies_clients:
        return ()
    outer = _sent_identity(server, context)
    if not outer:
        return ()
    losses = []
    for location in server.locations:
        if not any(p.module is UpstreamModule.PROXY for p in location.upstreams):
            continue
        effective = _location_headers(location)
        if not effective:
            continue
        names = set(_headers(effective))
        lost = tuple(outer[n].args[0] for n in outer if n not in names)
        if lost:
            losses.append(HeaderLoss(location=location, own=effective[0], lost=lost, outer=next(iter(outer.values()))))
    return tuple(losses)


def _inert_upstream_tls(server: ServerBlock) -> tuple[PlacedNote, ...]:
    notes = []
    for location in server.locations:
        proxied = [p for p in location.upstreams if p.module is UpstreamModule.PROXY]
        if not proxied or any(p.tls for p in proxied):
            continue
        plain = proxied[0]
        notes += [
            PlacedNote(directive=d, why=f"{plain} is plain HTTP: no TLS to the upstream")
            for d in location.directive.block or ()
            if d.name.startswith("proxy_ssl_")
        ]
    return tuple(notes)


def _pass_key(p: UpstreamPass) -> str:
    """Where a pass goes, without scheme and URI: ``host[:port]`` or the upstream group's name."""
    return p.target.split("://", 1)[-1].split("/", 1)[0].lower()


def _bypasses(server: ServerBlock, context: BlockContext) -> tuple[Bypass, ...]:
    if not server.verifies_clients or server.context is not Context.HTTP:
        return ()
    mine = {_pass_key(p) for p in _all_passes(server) if "$" not in p.target}
    if not mine:
        return ()
    sent = _sent_identity(server, context)
    found = []
    for other, location, upstream in (entry for key in sorted(mine) for entry in context.unauthenticated_passes(key)):
        if other is server:
            continue
        overwritten = set(_headers(_effective_at(location, other, context)))
        forgeable = tuple(d.args[0] for name, d in sent.items() if name not in overwritten)
        # With identity headers the application can tell the ways in apart, unless the other way lets a client
        # send them itself; without any, it cannot.
        if forgeable or not sent:
            found.append(Bypass(upstream=upstream, server=other, forgeable=forgeable))
    return tuple(found)


def _all_passes(server: ServerBlock) -> list[UpstreamPass]:
    passes = list(server.upstreams)
    for location in server.locations:
        passes.extend(location.upstreams)
    return passes


def _plain_listens(server: ServerBlock) -> tuple[Listen, ...]:
    if not server.verifies_clients or server.tls.ssl.value:  # ssl on makes every listen TLS
        return ()
    return tuple(listen for listen in server.listens if not listen.ssl and listen.directive is not None)


def _unchecked_locations(server: ServerBlock) -> tuple[Location, ...]:
    if server.tls.ssl_verify_client.value not in (VerifyClient.OPTIONAL, VerifyClient.OPTIONAL_NO_CA):
        return ()
    if any(v.variable == "ssl_client_verify" for v in server.variables):
        return ()  # the server level acts on it, for every location
    served = [loc for loc in server.locations if loc.modifier is not LocationModifier.NAMED]
    if not any(loc.checks_ssl_client_verify for loc in served):
        return ()  # nothing checks anywhere: MTLS703's finding
    return tuple(loc for loc in served if not loc.checks_ssl_client_verify)


def parse_error(server: ServerBlock, nginx: NginxFacts) -> str | None:
    """The error nginx stops at while parsing the block, before it merges any settings (ngx_conf_parse)."""
    directive = server.tls.ssl.directive
    if directive is not None and nginx.ssl_directive_removed:
        return f'unknown directive "ssl" in {directive.origin}'
    return None


def checks_verify_result(server: ServerBlock) -> bool:
    """``$ssl_client_verify`` is read somewhere requests pass (server level, a location, or a map)."""
    if any(v.variable == "ssl_client_verify" for v in server.variables):
        return True
    return any(location.checks_ssl_client_verify for location in server.locations)


_FORWARDS = {
    "proxy_pass": "proxy_set_header",
    "grpc_pass": "grpc_set_header",
    "fastcgi_pass": "fastcgi_param",
    "uwsgi_pass": "uwsgi_param",
    "scgi_pass": "scgi_param",
}
"""Each way of passing a request to an application, and the directive that gives it headers (or params)."""
_WHOLE_CERTIFICATE = re.compile(r"\$\{?ssl_client_(?:escaped_|raw_)?cert\b")
"""The variables that carry the whole client certificate (ngx_http_ssl_module), not only its names or hash."""


def forwarded_certificate(server: ServerBlock, context: BlockContext) -> Directive | None:
    """The directive through which the application gets the whole client certificate, when every pass of the block
    sends it (the first pass's); None when one pass sends none or nothing is passed. nginx inherits
    ``proxy_set_header`` (and grpc_set_header, the ``*_param`` lists) into a level only when that level sets none of
    its own (ngx_http_proxy_merge_headers; the same merge for the params), so the list in effect is the innermost
    level's that has one: the location, an enclosing location, the server, then http."""
    if server.context is not Context.HTTP:
        return None
    first: Directive | None = None
    for location in server.locations:
        own = location.directive.block or ()
        passes = [d for d in own if d.name in _FORWARDS]
        passes += [
            d for block in own if block.name in ("if", "limit_except") for d in block.block or () if d.name in _FORWARDS
        ]
        for directive in passes:
            sent = next(
                (d for d in _in_effect(_FORWARDS[directive.name], location, server, context) if _carries_cert(d)), None
            )
            if sent is None:
                return None
            first = first or sent
    return first


def _carries_cert(directive: Directive) -> bool:
    return bool(_WHOLE_CERTIFICATE.search(" ".join(directive.args[1:])))


def _in_effect(name: str, location: Location, server: ServerBlock, context: BlockContext) -> list[Directive]:
    level: Location | None = location
    while level is not None:
        own = list(level.directive.children(name))
        if own:
            return own
        level = level.parent
    return list(server.directive.children(name)) or (list(context.http.children(name)) if context.http else [])


def _port_default_without_auth(server: ServerBlock, context: BlockContext) -> ServerBlock | None:
    """The block nginx falls back to on this server's port (unknown or absent SNI), if it is another one that asks
    for no certificate: SNI then selects it while Host names this one (421), and clients land there by default."""
    if not server.verifies_clients:
        return None
    for port in sorted(server.ports):
        fallback = context.port_fallback(port)
        if (
            fallback is not None
            and fallback is not server
            and not fallback.verifies_clients
            and fallback.is_tls
            # a default that refuses every handshake serves nobody: the correct pattern, not a way around
            and not fallback.tls.ssl_reject_handshake.value
        ):
            return fallback
    return None


def _upstreams(server: ServerBlock) -> UpstreamFacts:
    passes: list[UpstreamPass] = list(server.upstreams)
    for location in server.locations:
        passes.extend(location.upstreams)
    tls = [p for p in passes if p.tls]
    unverified = [p for p in tls if not p.ssl.verify.value]
    unnamed = [
        p
        for p in tls
        if p.ssl.verify.value
        and p.ssl.name.value is None
        and "$" not in _host(p.target)  # known only per request: nothing to say before
        and not _is_dns_name(_host(p.target))
    ]
    return UpstreamFacts(
        tls=tuple(tls),
        unverified=tuple(UnverifiedUpstream(upstream=p) for p in unverified),
        unverified_module=unverified[0].module.value if unverified else None,
        ssl_name_fix=_ssl_name_fix(unverified),
        certificate_without_key=tuple(
            p for p in tls if p.ssl.certificate.value is not None and p.ssl.certificate_key.value is None
        ),
        key_without_certificate=tuple(
            p for p in tls if p.ssl.certificate_key.value is not None and p.ssl.certificate.value is None
        ),
        verify_without_trusted=tuple(p for p in tls if p.ssl.verify.value and p.ssl.trusted_certificate.value is None),
        name_not_checkable=tuple(p for p in unnamed if server.context is Context.HTTP),
        stream_name_not_checkable=tuple(p for p in unnamed if server.context is Context.STREAM),
        # SNI carries proxy_ssl_name when set, else the host of the URL (ngx_http_upstream_ssl_name).
        without_sni=tuple(
            p for p in tls if not p.ssl.server_name.value and _is_dns_name(p.ssl.name.value or _host(p.target))
        ),
    )


def _ssl_name_fix(unverified: list[UpstreamPass]) -> str:
    """With verification on, nginx checks ``*_ssl_name`` or else the host of the URL, which for an ``upstream {}``
    group is the group's name, in no certificate (MTLS723): the fix must name the certificate's host."""
    groups = [p for p in unverified if p.ssl.name.value is None and _is_group(_host(p.target))]
    if not groups:
        return "# the name checked is the URL's host; proxy_ssl_name sets another"
    group = groups[0]
    return (
        f"{group.module.value}_ssl_name backend.internal.example;   # the name in the upstream's certificate: "
        f'"{_host(group.target)}" is an upstream {{}} group, which nginx would check otherwise'
    )


def _is_group(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return "." not in host and "$" not in host
    return False


def _host(target: str) -> str:
    rest = target.split("://", 1)[-1]
    host = rest.split("/", 1)[0]
    if host.startswith("["):
        return host[1 : host.find("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_dns_name(host: str) -> bool:
    """A name a certificate's DNS SAN can match: not an IP, not a bare upstream-group name, no variable."""
    try:
        ip_address(host)
    except ValueError:
        return "." in host and "$" not in host
    return False
