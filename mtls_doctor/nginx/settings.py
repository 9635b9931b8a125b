"""The directive tables: which directive sets which field, how its argument is read, its default, and how
repeated directives combine. Inheritance is generic over these tables: a block's own settings (``own_settings``)
over its parent's, the way nginx's ``ngx_conf_merge_*_value`` macros take the child's value when set, else the
parent's.

Defaults are nginx 1.22.1's (ngx_http_ssl_merge_srv_conf, ngx_stream_ssl_merge_conf, ngx_http_proxy/grpc/
uwsgi_merge_loc_conf, ngx_stream_proxy_merge_srv_conf), except protocols, which depend on the version.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mtls_doctor.nginx import values
from mtls_doctor.nginx.build import NginxBuild, TlsProtocol
from mtls_doctor.nginx.model import Setting, UpstreamModule
from mtls_doctor.nginx.paths import PathResolver
from mtls_doctor.nginx.tree import Directive
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import OcspMode, VerifyClient

Parse = Callable[[Directive, PathResolver], Any]
Values = Mapping[str, Setting[Any]]
"""Field name -> effective Setting at some level."""


class Repeat(enum.Enum):
    """What several occurrences of a directive in one block mean."""

    DUPLICATE = "duplicate"
    """An error, as for most directives (``"ssl_verify_depth" directive is duplicate``)."""
    LIST = "list"
    """Each adds a value, in order (``ssl_certificate``: one per key type)."""
    UNION = "union"
    """Protocol bitmasks add up (``ssl_protocols``: ngx_conf_set_bitmask_slot ORs them)."""


class Spec(Record):
    """How one directive feeds one field."""

    field: str
    parse: Parse
    default: Callable[[NginxBuild], Any]
    repeat: Repeat = Repeat.DUPLICATE
    stream: bool = True
    """The stream module has it too (ngx_stream_ssl_module lacks OCSP, stapling and ssl_reject_handshake)."""


def _path(d: Directive, resolver: PathResolver) -> Any:
    return resolver.resolve(values.one_arg(d), d)


def _flag(d: Directive, _: PathResolver) -> Any:
    return values.flag(d)


def _number(d: Directive, _: PathResolver) -> Any:
    return values.number(d)


def _text(d: Directive, _: PathResolver) -> Any:
    return values.one_arg(d)


def _protocols(d: Directive, _: PathResolver) -> Any:
    return values.protocols(d)


def _verify_client(d: Directive, _: PathResolver) -> Any:
    return values.choice(VerifyClient, d)


def _ocsp(d: Directive, _: PathResolver) -> Any:
    return values.choice(OcspMode, d)


def _const(value: Any) -> Callable[[NginxBuild], Any]:
    return lambda _: value


def _default_protocols(build: NginxBuild) -> Any:
    return build.default_ssl_protocols()


SERVER_TLS: Mapping[str, Spec] = {
    spec.field: spec
    for spec in (
        Spec(field="ssl", parse=_flag, default=_const(False), stream=False),
        Spec(field="ssl_verify_client", parse=_verify_client, default=_const(VerifyClient.OFF)),
        Spec(field="ssl_client_certificate", parse=_path, default=_const(None)),
        Spec(field="ssl_trusted_certificate", parse=_path, default=_const(None)),
        Spec(field="ssl_verify_depth", parse=_number, default=_const(1)),
        Spec(field="ssl_crl", parse=_path, default=_const(None)),
        Spec(field="ssl_protocols", parse=_protocols, default=_default_protocols, repeat=Repeat.UNION),
        Spec(field="ssl_ciphers", parse=_text, default=_const("HIGH:!aNULL:!MD5")),  # NGX_DEFAULT_CIPHERS
        Spec(field="ssl_certificate", parse=_path, default=_const(()), repeat=Repeat.LIST),
        Spec(field="ssl_certificate_key", parse=_path, default=_const(()), repeat=Repeat.LIST),
        Spec(field="ssl_password_file", parse=_path, default=_const(None)),
        Spec(field="ssl_dhparam", parse=_path, default=_const(None)),
        Spec(field="ssl_session_ticket_key", parse=_path, default=_const(()), repeat=Repeat.LIST),
        Spec(field="ssl_prefer_server_ciphers", parse=_flag, default=_const(False)),
        Spec(field="ssl_ocsp", parse=_ocsp, default=_const(OcspMode.OFF), stream=False),
        Spec(field="ssl_ocsp_responder", parse=_text, default=_const(None), stream=False),
        Spec(field="ssl_stapling", parse=_flag, default=_const(False), stream=False),
        Spec(field="ssl_stapling_verify", parse=_flag, default=_const(False), stream=False),
        Spec(field="ssl_stapling_file", parse=_path, default=_const(None), stream=False),
        Spec(field="ssl_reject_handshake", parse=_flag, default=_const(False), stream=False),
    )
}
"""ServerTLS fields, keyed by directive name (they are the same)."""

UPSTREAM_TLS: Mapping[str, Spec] = {
    spec.field: spec
    for spec in (
        Spec(field="certificate", parse=_path, default=_const(None)),
        Spec(field="certificate_key", parse=_path, default=_const(None)),
        Spec(field="password_file", parse=_path, default=_const(None)),
        Spec(field="trusted_certificate", parse=_path, default=_const(None)),
        Spec(field="crl", parse=_path, default=_const(None)),
        Spec(field="verify", parse=_flag, default=_const(False)),
        Spec(field="verify_depth", parse=_number, default=_const(1)),
        Spec(field="name", parse=_text, default=_const(None)),
        Spec(field="server_name", parse=_flag, default=_const(False)),
        Spec(field="protocols", parse=_protocols, default=_default_protocols, repeat=Repeat.UNION),
        Spec(field="ciphers", parse=_text, default=_const("DEFAULT")),
        Spec(field="session_reuse", parse=_flag, default=_const(True)),
    )
}
"""UpstreamTLS fields, keyed by the directive name without its ``<module>_ssl_`` prefix."""

STREAM_PROXY_SSL: Mapping[str, Spec] = {"proxy_ssl": Spec(field="enabled", parse=_flag, default=_const(False))}
"""stream's ``proxy_ssl on``: whether a stream server talks TLS to its upstream."""


def server_tls_table(*, stream: bool) -> dict[str, Spec]:
    """Directive name -> Spec for a server block of stream (True) or http."""
    return {name: spec for name, spec in SERVER_TLS.items() if spec.stream or not stream}


def upstream_table(module: UpstreamModule) -> dict[str, Spec]:
    """Directive name (``proxy_ssl_verify``) -> Spec for one upstream module."""
    return {f"{module.value}_ssl_{suffix}": spec for suffix, spec in UPSTREAM_TLS.items()}


def defaults(specs: Iterable[Spec], build: NginxBuild) -> dict[str, Setting[Any]]:
    """Field -> default Setting (no origin) for ``build``."""
    return {spec.field: Setting(value=spec.default(build)) for spec in specs}


Dispatch = Mapping[str, tuple[str, Spec]]
"""Directive name -> (table key, Spec): several tables looked up in one pass over a block."""


def dispatch(tables: Mapping[str, Mapping[str, Spec]]) -> dict[str, tuple[str, Spec]]:
    """One Dispatch for the tables given by key (``{"tls": server_tls_table(...), "proxy": ...}``)."""
    return {name: (key, spec) for key, table in tables.items() for name, spec in table.items()}


class SettingsReader:
    """Reads the settings a block makes itself. Values of specs without paths depend only on the arguments, so
    each distinct (field, arguments) is parsed once: 10,000 servers repeat ``proxy_ssl_verify on`` verbatim."""

    __slots__ = ("_parsed", "_resolver")

    def __init__(self, resolver: PathResolver) -> None:
        self._resolver = resolver
        self._parsed: dict[tuple[str, tuple[str, ...]], Any] = {}

    def own(self, table: Dispatch, block: Iterable[Directive]) -> dict[str, dict[str, Setting[Any]]]:
        """The block's own settings, by table key then field; tables it does not touch are absent."""
        own: dict[str, dict[str, Setting[Any]]] = {}
        for directive in block:
            entry = table.get(directive.name)
            if entry is None:
                continue
            key, spec = entry
            fields = own.get(key)
            if fields is None:
                fields = own[key] = {}
            earlier = fields.get(spec.field)
            if earlier is not None and spec.repeat is Repeat.DUPLICATE:  # checked before the value, as nginx does
                raise values.fail(directive, f'"{directive.name}" directive is duplicate')
            value = self._value(spec, directive)
            if earlier is None:
                fields[spec.field] = Setting(
                    value=(value,) if spec.repeat is Repeat.LIST else value, directive=directive
                )
            elif spec.repeat is Repeat.LIST:
                fields[spec.field] = Setting(value=(*earlier.value, value), directive=earlier.directive)
            else:  # Repeat.UNION
                members = {*earlier.value, *value}
                protocols = tuple(protocol for protocol in TlsProtocol if protocol in members)
                fields[spec.field] = Setting(value=protocols, directive=earlier.directive)
        return own

    def _value(self, spec: Spec, directive: Directive) -> Any:
        if spec.parse is _path:  # a ConfigPath keeps its directive: nothing to share
            return spec.parse(directive, self._resolver)
        key = (spec.field, directive.args)
        if key in self._parsed:
            return self._parsed[key]
        value = self._parsed[key] = spec.parse(directive, self._resolver)
        return value
