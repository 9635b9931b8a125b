"""effective_settings: the directive tree to the effective model, one linear walk.

Each block is grouped by directive name once; every table is merged from that grouping. A level that sets
nothing of a table shares its parent's values and its parent's dataclass object, so 10,000 locations that
inherit their ``proxy_ssl_*`` cost no new objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from mtls_doctor.gcpause import paused_gc
from mtls_doctor.nginx import settings, values
from mtls_doctor.nginx.build import DEFAULT_BUILD, DEFAULT_SECURITY_LEVEL, NginxBuild, parse_nginx_build
from mtls_doctor.nginx.model import (
    Context,
    EffectiveConfig,
    ErrorLog,
    ErrorPage,
    Listen,
    Location,
    LogLevel,
    SecurityLevel,
    ServerBlock,
    ServerTLS,
    Setting,
    UpstreamModule,
    UpstreamPass,
    UpstreamTLS,
    VariableUse,
)
from mtls_doctor.nginx.names import ServerName, ServerNameKind
from mtls_doctor.nginx.paths import PathResolver
from mtls_doctor.nginx.tree import Directive, NginxConfig
from mtls_doctor.nginx.variables import VariableScanner

M = TypeVar("M")
Groups = Mapping[str, list[Directive]]

CLIENT_CERT_STATUS_CODES = frozenset({400, 495, 496, 497})
"""The codes whose ``error_page`` entries are kept (see ErrorPage)."""

_PASSES = {"proxy_pass": UpstreamModule.PROXY, "grpc_pass": UpstreamModule.GRPC, "uwsgi_pass": UpstreamModule.UWSGI}
_TLS_SCHEMES = {UpstreamModule.PROXY: "https://", UpstreamModule.GRPC: "grpcs://", UpstreamModule.UWSGI: "suwsgi://"}
_TLS = "tls"
_STREAM_PROXY_SSL = "stream_proxy_ssl"
_SECLEVEL = re.compile(r"@SECLEVEL=(\d+)")  # OpenSSL matches the keyword case-sensitively (ssl_ciph.c)
_IMPLICIT_LISTEN = Listen(address="*", port=80, ssl=False, default_server=False, http2=False, directive=None)
_NO_NAME = (ServerName(name="", kind=ServerNameKind.EXACT, directive=None),)


def effective_settings(config: NginxConfig, *, nginx: NginxBuild | str = DEFAULT_BUILD) -> EffectiveConfig:
    """The effective settings of every server block of ``config`` for the nginx ``nginx`` describes.

    ``nginx`` is an NginxBuild, or text for :func:`~mtls_doctor.nginx.build.parse_nginx_build` (a version such
    as ``"1.24.0"`` or pasted ``nginx -V`` output); it decides version-dependent defaults (``ssl_protocols``).
    Raises ConfigError for values nginx would refuse (``ssl_verify_client maybe``, a duplicate
    ``ssl_verify_depth``, ``listen 443 foo``), at the directive's file and line.
    """
    build = nginx if isinstance(nginx, NginxBuild) else parse_nginx_build(nginx)
    with paused_gc():
        return _Builder(config, build).build()


def _group(block: Iterable[Directive]) -> dict[str, list[Directive]]:
    groups: dict[str, list[Directive]] = {}
    for directive in block:
        group = groups.get(directive.name)
        if group is None:
            groups[directive.name] = [directive]
        else:
            group.append(directive)
    return groups


class _Level(Generic[M]):
    """The values of one table at one level, and the model object made from them (made once, shared down)."""

    __slots__ = ("_made", "_make", "values")

    def __init__(self, values: settings.Values, make: Callable[[settings.Values], M]) -> None:
        self.values = values
        self._make = make
        self._made: M | None = None

    def child(self, own: settings.Values | None) -> _Level[M]:
        return self if not own else _Level({**self.values, **own}, self._make)

    def get(self) -> M:
        if self._made is None:
            self._made = self._make(self.values)
        return self._made


class _Scope:
    """The levels of every table at one place of the tree."""

    __slots__ = ("levels",)

    def __init__(self, levels: dict[str, _Level[Any]]) -> None:
        self.levels = levels

    def child(self, own: Mapping[str, settings.Values]) -> _Scope:
        if not own:
            return self
        return _Scope({key: level.child(own.get(key)) for key, level in self.levels.items()})

    def tls(self) -> ServerTLS:
        made: ServerTLS = self.levels[_TLS].get()
        return made

    def upstream(self, module: UpstreamModule) -> UpstreamTLS:
        made: UpstreamTLS = self.levels[module.value].get()
        return made

    def proxy_ssl_enabled(self) -> Setting[bool]:
        made: Setting[bool] = self.levels[_STREAM_PROXY_SSL].get()
        return made


def _server_tls(fields: settings.Values) -> ServerTLS:
    ciphers: Setting[str] = fields["ssl_ciphers"]
    levels = _SECLEVEL.findall(ciphers.value)
    security = (
        SecurityLevel(level=int(levels[-1]), explicit=True, directive=ciphers.directive)
        if levels
        else SecurityLevel(level=DEFAULT_SECURITY_LEVEL, explicit=False, directive=None)
    )
    return ServerTLS(**fields, security_level=security)


def _upstream_tls(module: UpstreamModule) -> Callable[[settings.Values], UpstreamTLS]:
    return lambda fields: UpstreamTLS(module=module, **fields)


def _enabled(fields: settings.Values) -> Setting[bool]:
    enabled: Setting[bool] = fields["enabled"]
    return enabled


class _Builder:
    """One walk over one configuration."""

    def __init__(self, config: NginxConfig, build: NginxBuild) -> None:
        self._config = config
        self._build = build
        self._settings = settings.SettingsReader(PathResolver(config.prefix, on_disk=config.on_disk))
        self._variables = VariableScanner()
        upstreams = {module.value: settings.upstream_table(module) for module in UpstreamModule}
        self._location_tables = settings.dispatch(upstreams)
        self._http_tables = settings.dispatch({_TLS: settings.server_tls_table(stream=False), **upstreams})
        self._stream_tables = settings.dispatch(
            {
                _TLS: settings.server_tls_table(stream=True),
                UpstreamModule.PROXY.value: upstreams[UpstreamModule.PROXY.value],
                _STREAM_PROXY_SSL: settings.STREAM_PROXY_SSL,
            }
        )
        tls_defaults = settings.defaults(settings.SERVER_TLS.values(), build)
        upstream_defaults = settings.defaults(settings.UPSTREAM_TLS.values(), build)
        self._root = _Scope(
            {
                _TLS: _Level(tls_defaults, _server_tls),
                **{module.value: _Level(upstream_defaults, _upstream_tls(module)) for module in UpstreamModule},
                _STREAM_PROXY_SSL: _Level(settings.defaults(settings.STREAM_PROXY_SSL.values(), build), _enabled),
            }
        )

    def build(self) -> EffectiveConfig:
        top = _group(self._config.directives)
        logs = self._logs(top, (ErrorLog(target=self._build.error_log_path, level=LogLevel.ERROR, directive=None),))
        http_servers: list[ServerBlock] = []
        stream_servers: list[ServerBlock] = []
        http_variables: list[VariableUse] = []
        for http in top.get("http", ()):
            block = http.block or ()
            self._variables.add_maps(http.children("map"))
            http_variables.extend(
                self._variables.uses((d for d in block if d.name != "server"), into=("map", "geo", "split_clients"))
            )
            http_servers.extend(self._http(block, logs))
        self._variables = VariableScanner()  # stream variables are stream's own
        for stream in top.get("stream", ()):
            self._variables.add_maps(stream.children("map"))
            stream_servers.extend(self._stream(stream.block or (), logs))
        return EffectiveConfig(
            config=self._config,
            nginx=self._build,
            servers=(*http_servers, *stream_servers),
            http_variables=tuple(http_variables),
        )

    # -- shared pieces -----------------------------------------------------------------------------------------

    def _scope(self, parent: _Scope, tables: settings.Dispatch, block: Iterable[Directive]) -> _Scope:
        return parent.child(self._settings.own(tables, block))

    @staticmethod
    def _logs(block: Groups, inherited: tuple[ErrorLog, ...]) -> tuple[ErrorLog, ...]:
        own = block.get("error_log")
        return tuple(values.error_log(d) for d in own) if own else inherited

    @staticmethod
    def _listens(block: Groups, *, default_port: int | None) -> tuple[Listen, ...]:
        own = block.get("listen")
        if not own:
            return (_IMPLICIT_LISTEN,) if default_port is not None else ()
        return tuple(values.listen(d, default_port=default_port) for d in own)

    # -- http --------------------------------------------------------------------------------------------------

    def _http(self, block: tuple[Directive, ...], main_logs: tuple[ErrorLog, ...]) -> list[ServerBlock]:
        scope = self._scope(self._root, self._http_tables, block)
        http = _group(block)
        logs = self._logs(http, main_logs)
        pages = tuple(values.error_page(d) for d in http.get("error_page", ()))
        return [self._http_server(server, scope, logs, pages) for server in http.get("server", ())]

    def _http_server(
        self, server: Directive, parent: _Scope, logs: tuple[ErrorLog, ...], pages: tuple[ErrorPage, ...]
    ) -> ServerBlock:
        block = _group(server.block or ())
        scope = self._scope(parent, self._http_tables, server.block or ())
        names = tuple(ServerName.parse(arg, d) for d in block.get("server_name", ()) for arg in d.args)
        own_pages = block.get("error_page")
        if own_pages:
            pages = tuple(values.error_page(d) for d in own_pages)
        variables = self._variables.uses((d for d in server.block or () if d.name != "location"), into=("if",))
        locations: list[Location] = []
        checks = any(use.variable == "ssl_client_verify" for use in variables)
        self._locations(server.block or (), scope, None, checks, locations)
        return ServerBlock(
            directive=server,
            context=Context.HTTP,
            listens=self._listens(block, default_port=80),
            server_names=names or _NO_NAME,
            tls=scope.tls(),
            error_log=self._logs(block, logs),
            error_pages=tuple(page for page in pages if CLIENT_CERT_STATUS_CODES.intersection(page.codes)),
            variables=variables,
            locations=tuple(locations),
            upstreams=(),
            proxy_ssl=None,
        )

    def _locations(
        self,
        block: Iterable[Directive],
        parent: _Scope,
        parent_location: Location | None,
        checks: bool,
        out: list[Location],
    ) -> None:
        """Append the locations of ``block``, each followed by its nested ones, to ``out``.

        A walk with its own stack, not a recursion: nginx accepts locations nested thousands deep (10,000 pass
        ``nginx -t``; it has no limit of its own, only its C stack), far past Python's recursion limit.
        """
        stack = [(iter(block), parent, parent_location, checks)]
        while stack:
            siblings, parent, parent_location, checks = stack[-1]
            location = next((d for d in siblings if d.name == "location"), None)
            if location is None:
                stack.pop()
                continue
            own = location.block or ()
            scope = self._scope(parent, self._location_tables, own)
            modifier, uri = values.location(location)
            variables = self._variables.uses((d for d in own if d.name != "location"), into=("if", "limit_except"))
            here = checks or any(use.variable == "ssl_client_verify" for use in variables)
            made = Location(
                directive=location,
                modifier=modifier,
                uri=uri,
                parent=parent_location,
                variables=variables,
                checks_ssl_client_verify=here,
                proxy_ssl=scope.upstream(UpstreamModule.PROXY),
                grpc_ssl=scope.upstream(UpstreamModule.GRPC),
                uwsgi_ssl=scope.upstream(UpstreamModule.UWSGI),
                upstreams=tuple(self._http_passes(own, scope)),
            )
            out.append(made)
            stack.append((iter(own), scope, made, here))

    def _http_passes(self, block: Iterable[Directive], scope: _Scope) -> Iterable[UpstreamPass]:
        for directive in block:
            module = _PASSES.get(directive.name)
            if module is not None:
                target = directive.args[0]
                yield UpstreamPass(
                    module=module,
                    target=target,
                    tls=target.lower().startswith(_TLS_SCHEMES[module]),
                    tls_directive=directive,
                    ssl=scope.upstream(module),
                    directive=directive,
                )
            elif directive.name in ("if", "limit_except") and directive.block:
                yield from self._http_passes(directive.block, scope)

    # -- stream ------------------------------------------------------------------------------------------------

    def _stream(self, stream_block: tuple[Directive, ...], main_logs: tuple[ErrorLog, ...]) -> list[ServerBlock]:
        parent = self._scope(self._root, self._stream_tables, stream_block)
        stream = _group(stream_block)
        logs = self._logs(stream, main_logs)
        servers = []
        for server in stream.get("server", ()):
            block = _group(server.block or ())
            scope = self._scope(parent, self._stream_tables, server.block or ())
            ssl = scope.upstream(UpstreamModule.PROXY)
            enabled = scope.proxy_ssl_enabled()
            servers.append(
                ServerBlock(
                    directive=server,
                    context=Context.STREAM,
                    listens=self._listens(block, default_port=None),
                    server_names=(),
                    tls=scope.tls(),
                    error_log=self._logs(block, logs),
                    error_pages=(),
                    variables=self._variables.uses(server.block or ()),
                    locations=(),
                    upstreams=tuple(
                        UpstreamPass(
                            module=UpstreamModule.PROXY,
                            target=d.args[0],
                            tls=enabled.value,
                            tls_directive=enabled.directive,
                            ssl=ssl,
                            directive=d,
                        )
                        for d in block.get("proxy_pass", ())
                    ),
                    proxy_ssl=ssl,
                )
            )
        return servers
