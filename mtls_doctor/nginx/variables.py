"""Where a configuration reads client-certificate variables (``$ssl_client_verify``, ``$ssl_client_s_dn`` ...).

Every variable of ngx_http_ssl_module / ngx_stream_ssl_module named ``ssl_client_*`` describes the client
certificate or its verification, so the prefix is the test. A ``map`` whose source (or one of whose values)
reads one makes its output variable an alias: ``map $ssl_client_verify $ok {...}`` then ``if ($ok)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mtls_doctor.nginx.model import VariableUse
from mtls_doctor.nginx.tree import Directive

CLIENT_CERT_PREFIX = "ssl_client_"
_VARIABLE = re.compile(r"\$\{?(\w+)", re.ASCII)  # nginx variable names: [A-Za-z0-9_], optionally ${braced}


class VariableScanner:
    """Finds client-certificate variable reads, following ``map`` aliases declared through :meth:`add_maps`."""

    __slots__ = ("_aliases", "_seen")

    def __init__(self) -> None:
        self._aliases: dict[str, tuple[str, ...]] = {}
        # Reads per directive object: an included snippet is one set of objects however often it is included
        # (the parser shares them), so 10,000 servers including the same headers are scanned once.
        self._seen: dict[int, tuple[Directive, tuple[VariableUse, ...]]] = {}

    def add_maps(self, maps: Iterable[Directive]) -> None:
        """Learn the aliases made by these ``map`` blocks, in order (a map may read an earlier map's output)."""
        for directive in maps:
            if len(directive.args) != 2:
                continue
            read = {use.variable for use in self.uses((directive, *(directive.block or ())))}
            if read:
                self._aliases[directive.args[1].lstrip("$").strip("{}")] = tuple(sorted(read))

    def uses(self, directives: Iterable[Directive], *, into: Iterable[str] = ()) -> tuple[VariableUse, ...]:
        """The reads in ``directives``, descending into the blocks named in ``into`` (``if``, ...)."""
        found: list[VariableUse] = []
        self._scan(directives, frozenset(into), found)
        return tuple(found)

    def _scan(self, directives: Iterable[Directive], nested: frozenset[str], found: list[VariableUse]) -> None:
        for directive in directives:
            for arg in directive.args:
                if "$" in arg:
                    found.extend(self._reads(directive))
                    break
            if directive.block is not None and directive.name in nested:
                self._scan(directive.block, nested, found)

    def _reads(self, directive: Directive) -> tuple[VariableUse, ...]:
        seen = self._seen.get(id(directive))
        if seen is not None and seen[0] is directive:
            return seen[1]
        reads = []
        for arg in directive.args:
            for name in _VARIABLE.findall(arg):
                if name.startswith(CLIENT_CERT_PREFIX):
                    reads.append(VariableUse(variable=name, via=None, directive=directive))
                reads.extend(
                    VariableUse(variable=variable, via=f"${name}", directive=directive)
                    for variable in self._aliases.get(name, ())
                )
        result = self._seen[id(directive)] = (directive, tuple(reads))
        return result[1]
