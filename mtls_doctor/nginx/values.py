"""Directive arguments to typed values, with nginx's own error messages for values nginx would refuse.

Each message below was printed by ``nginx -t`` (1.22.1) for the same mistake, minus the ``in FILE:LINE``
that ConfigError adds: ``invalid value "maybe"``, ``"ssl_verify_depth" directive invalid number``,
``invalid log level "verbose"``, ``value "999" must be between 300 and 599``, ``invalid parameter "foo"``,
``"X" directive is duplicate``.
"""

from __future__ import annotations

import enum
import functools
from typing import TypeVar

from mtls_doctor.errors import ConfigError
from mtls_doctor.nginx.build import TlsProtocol
from mtls_doctor.nginx.model import ErrorLog, ErrorPage, Listen, LocationModifier, LogLevel
from mtls_doctor.nginx.tree import Directive

E = TypeVar("E", bound=enum.Enum)


def fail(d: Directive, problem: str) -> ConfigError:
    """A ConfigError at ``d`` (returned, for the caller to raise)."""
    return ConfigError(d.source, problem, line=d.line)


def one_arg(d: Directive) -> str:
    """The only argument (crossplane checks the count of directives it knows; newer ones are checked here)."""
    if len(d.args) != 1:
        raise fail(d, f'invalid number of arguments in "{d.name}" directive')
    return d.args[0]


def flag(d: Directive) -> bool:
    """``on``/``off``, any case (ngx_conf_set_flag_slot uses ngx_strcasecmp)."""
    value = one_arg(d).lower()
    if value not in ("on", "off"):
        raise fail(d, f'invalid value "{d.args[0]}" in "{d.name}" directive, it must be "on" or "off"')
    return value == "on"


def choice(enum_type: type[E], d: Directive) -> E:
    """A member of ``enum_type`` by its value, any case (ngx_conf_set_enum_slot)."""
    value = one_arg(d)
    for member in enum_type:
        if member.value == value.lower():
            return member
    raise fail(d, f'invalid value "{value}"')


def number(d: Directive) -> int:
    """A non-negative integer (ngx_conf_set_num_slot)."""
    value = one_arg(d)
    if not value.isdigit():
        raise fail(d, f'"{d.name}" directive invalid number')
    return int(value)


_PROTOCOLS = {p.value.lower(): p for p in TlsProtocol}


def protocols(d: Directive) -> tuple[TlsProtocol, ...]:
    """``ssl_protocols`` names, any case, in the canonical order."""
    known = _protocol_list(d.args)
    if known is None:
        bad = next(arg for arg in d.args if arg.lower() not in _PROTOCOLS)
        raise fail(d, f'invalid value "{bad}"')
    return known


@functools.lru_cache(maxsize=256)
def _protocol_list(args: tuple[str, ...]) -> tuple[TlsProtocol, ...] | None:
    """Cached: a big configuration repeats the same few ``ssl_protocols`` lines thousands of times."""
    wanted = {_PROTOCOLS.get(arg.lower()) for arg in args}
    if None in wanted:
        return None
    return tuple(p for p in TlsProtocol if p in wanted)


_LISTEN_FLAGS = frozenset(
    {
        "ssl",
        "http2",
        "spdy",
        "quic",
        "default_server",
        "default",
        "proxy_protocol",
        "deferred",
        "bind",
        "reuseport",
        "udp",
    }
)
_LISTEN_OPTIONS = (
    "backlog=",
    "rcvbuf=",
    "sndbuf=",
    "setfib=",
    "fastopen=",
    "accept_filter=",
    "ipv6only=",
    "so_keepalive=",
)


def listen(d: Directive, *, default_port: int | None) -> Listen:
    """A ``listen``: ``443``, ``*:443``, ``127.0.0.1``, ``[::]:443``, ``unix:/path`` plus parameters.

    ``default_port`` is 80 in http (an address alone listens on 80); None in stream, where a port is required.
    """
    text = d.args[0]
    for param in d.args[1:]:
        if param not in _LISTEN_FLAGS and not param.startswith(_LISTEN_OPTIONS):
            raise fail(d, f'invalid parameter "{param}"')
    address, port = _address(d, text, default_port)
    params = frozenset(d.args[1:])
    return Listen(
        address=address,
        port=port,
        ssl="ssl" in params,
        default_server=bool(params & {"default_server", "default"}),
        http2="http2" in params,
        directive=d,
    )


def _address(d: Directive, text: str, default_port: int | None) -> tuple[str, int | None]:
    if text.startswith("unix:"):
        return text, None
    if text.startswith("["):
        end = text.find("]") + 1
        host, port = text[:end], text[end + 1 :] if text[end : end + 1] == ":" else None
    elif text.isdigit():
        host, port = "*", text
    elif ":" in text:
        host, _, port = text.rpartition(":")
    else:
        host, port = text, None
    if port is None:
        if default_port is None:
            raise fail(d, f'no port in "{text}" of the "listen" directive')
        return host, default_port
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise fail(d, f'invalid port in "{text}" of the "listen" directive')
    return host, int(port)


_MODIFIERS = {m.value: m for m in LocationModifier if m is not LocationModifier.PREFIX}


def location(d: Directive) -> tuple[LocationModifier, str]:
    """(modifier, uri) of a ``location``, attached modifiers included (``=/x``, ``~*\\.php$``), as
    ngx_http_core_location reads them."""
    if len(d.args) == 2:
        modifier = _MODIFIERS.get(d.args[0])
        if modifier is None or modifier is LocationModifier.NAMED:
            raise fail(d, f'invalid location modifier "{d.args[0]}"')
        return modifier, d.args[1]
    name = d.args[0]
    for prefix in ("=", "^~", "~*", "~"):
        if name.startswith(prefix):
            return _MODIFIERS[prefix], name[len(prefix) :]
    if name.startswith("@"):
        return LocationModifier.NAMED, name
    return LocationModifier.PREFIX, name


_LEVELS = {level.name.lower(): level for level in LogLevel}


def error_log(d: Directive) -> ErrorLog:
    """An ``error_log``: the target, then a level (``error`` when absent) and/or ``debug_*`` masks."""
    level = LogLevel.ERROR
    for arg in d.args[1:]:
        if arg in _LEVELS:
            level = _LEVELS[arg]
        elif arg.startswith("debug_"):  # debug_http etc.: debug level, restricted to some modules
            level = LogLevel.DEBUG
        else:
            raise fail(d, f'invalid log level "{arg}"')
    return ErrorLog(target=d.args[0], level=level, directive=d)


def error_page(d: Directive) -> ErrorPage:
    """An ``error_page code ... [=[response]] uri``."""
    *head, uri = d.args
    response = head.pop() if head and head[-1].startswith("=") else None
    codes = []
    for code in head:
        if not code.isdigit():
            raise fail(d, f'invalid value "{code}"')
        if not 300 <= int(code) <= 599:
            raise fail(d, f'value "{code}" must be between 300 and 599')
        codes.append(int(code))
    return ErrorPage(codes=tuple(codes), response=response, uri=uri, directive=d)
