"""``server_name`` values and how nginx picks a server block for a host name.

From the nginx 1.22.1 source (src/http/ngx_http_core_module.c ngx_http_core_server_name, ngx_http.c
ngx_http_server_names, ngx_http_request.c ngx_http_find_virtual_server, src/core/ngx_hash.c): names are
lower-cased; ``.example.com`` is both the exact ``example.com`` and ``*.example.com``; a leading ``*.`` wildcard
matches any depth of sub-domain, a trailing ``.*`` anything after the dot; a regex (``~...``) is matched against
the lower-cased host, caselessly only if the pattern contains an upper-case letter; the host has its trailing dot
removed (ngx_http_validate_host).
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mtls_doctor.nginx.tree import Directive, MaybePlaced
from mtls_doctor.record import Record

if TYPE_CHECKING:
    from mtls_doctor.nginx.model import ServerBlock


class ServerNameKind(enum.Enum):
    """How a ``server_name`` matches."""

    EXACT = "exact"
    WILDCARD_START = "wildcard_start"
    """``*.example.com``, or ``.example.com`` (which also matches ``example.com`` itself)."""
    WILDCARD_END = "wildcard_end"
    """``www.example.*``."""
    REGEX = "regex"


_PCRE_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """Python's compilation of a PCRE server_name regex; None when Python's dialect cannot read it."""
    flags = re.IGNORECASE if any("A" <= c <= "Z" for c in pattern) else 0
    try:
        return re.compile(_PCRE_NAMED_GROUP.sub("(?P<", pattern), flags)
    except re.error:
        return None


def normalise_host(host: str) -> str:
    """A Host header or SNI name as nginx compares it: lower case, without a trailing dot."""
    return host.lower().rstrip(".")


class ServerName(MaybePlaced, Record):
    """One ``server_name`` value."""

    name: str
    """Lower-cased as nginx stores it; a regex as written, without its ``~``."""
    kind: ServerNameKind
    directive: Directive | None
    """None for the empty name nginx gives a block without ``server_name``."""

    @classmethod
    def parse(cls, raw: str, directive: Directive | None) -> ServerName:
        """The ServerName for a ``server_name`` argument."""
        if raw.startswith("~"):
            return cls(name=raw[1:], kind=ServerNameKind.REGEX, directive=directive)
        name = raw.lower()
        if name.startswith(("*.", ".")):
            return cls(name=name, kind=ServerNameKind.WILDCARD_START, directive=directive)
        if name.endswith(".*"):
            return cls(name=name, kind=ServerNameKind.WILDCARD_END, directive=directive)
        return cls(name=name, kind=ServerNameKind.EXACT, directive=directive)

    def rank(self, host: str) -> tuple[int, int] | None:
        """How well it matches the normalised ``host``, lower is better; None for no match.

        (0, 0) exact; (1, -n) leading wildcard with n fixed characters; (2, -n) trailing wildcard; (3, 0) regex.
        """
        if self.kind is ServerNameKind.EXACT:
            return (0, 0) if host == self.name else None
        if self.kind is ServerNameKind.WILDCARD_START:
            suffix = self.name.lstrip("*")  # ".example.com"
            if self.name.startswith(".") and host == suffix[1:]:
                return 0, 0
            return (1, -len(suffix)) if host.endswith(suffix) and len(host) > len(suffix) else None
        if self.kind is ServerNameKind.WILDCARD_END:
            prefix = self.name[:-1]  # "www.example."
            return (2, -len(prefix)) if host.startswith(prefix) and len(host) > len(prefix) else None
        regex = _compiled(self.name)
        return (3, 0) if regex is not None and regex.search(host) else None

    def matches(self, host: str) -> bool:
        """It matches Host/SNI ``host``, as nginx compares them."""
        return self.rank(normalise_host(host)) is not None


def pick_server(servers: Sequence[ServerBlock], host: str, port: int) -> ServerBlock | None:
    """The block nginx serves ``host`` on ``port`` from, among ``servers`` (those listening on ``port``, in
    file order): best name match (ties to the earlier block, as nginx ignores a conflicting later name), else
    the ``default_server`` of the port, else the first block; None when ``servers`` is empty."""
    host = normalise_host(host)
    best: tuple[tuple[int, int], int] | None = None
    for index, server in enumerate(servers):
        for server_name in server.server_names:
            rank = server_name.rank(host)
            if rank is not None and (best is None or (rank, index) < best):
                best = (rank, index)
    if best is not None:
        return servers[best[1]]
    for server in servers:
        if any(listen.default_server and listen.port == port for listen in server.listens):
            return server
    return servers[0] if servers else None
