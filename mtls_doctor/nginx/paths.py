"""File names in a configuration, resolved the way nginx resolves them, without opening anything.

Verified in the nginx 1.22.1 source and with the real binary:

* ``include``, ``ssl_client_certificate``, ``ssl_trusted_certificate``, ``ssl_crl``, ``ssl_dhparam``,
  ``ssl_password_file``, ``ssl_stapling_file``, ``ssl_session_ticket_key`` and their ``proxy_``/``grpc_``/
  ``uwsgi_`` twins go through ``ngx_conf_full_name(cycle, name, 1)`` (src/core/ngx_conf_file.c), which joins a
  relative name to ``cycle->conf_prefix``; ``ssl_certificate``/``_key`` do the same through
  ``ngx_get_full_name(pool, &ngx_cycle->conf_prefix, ...)`` in ``ngx_ssl_load_certificate`` /
  ``ngx_ssl_load_certificate_key`` (src/event/ngx_event_openssl.c).
* ``conf_prefix`` is the directory of the main configuration file (``ngx_process_options`` in src/core/nginx.c
  sets it from the ``-c`` path once that path is made absolute against ``-p``), NOT the ``-p`` prefix.
  Observed: ``nginx -t -p /tmp/x/ -c /tmp/x/conf/nginx.conf`` with ``ssl_certificate conf/certs/c.pem`` failed
  with ``cannot load certificate "/tmp/x/conf/conf/certs/c.pem"``; ``certs/c.pem`` loaded.
* Paths are not normalised by nginx; the OS resolves ``..`` when the file is opened. We normalise for display
  and for the inside-the-root check.
"""

from __future__ import annotations

import enum
import os
import posixpath
from pathlib import Path

from mtls_doctor.nginx.tree import Directive, Placed
from mtls_doctor.record import Record


class PathKind(enum.Enum):
    """What a file directive's argument names."""

    FILE = "file"
    DATA = "data"
    """``data:...``: the PEM itself is in the value (ssl_certificate and _key, nginx 1.15.10+)."""
    VARIABLE = "variable"
    """Contains ``$``: computed per connection (ssl_certificate and _key since 1.15.9), unknown until then."""
    ENGINE = "engine"
    """``engine:name:id``: a key held by an OpenSSL engine (ssl_certificate_key)."""


class ConfigPath(Placed, Record, hot=True):
    """A file named by a directive, resolved but never opened here."""

    raw: str
    """The argument as written."""
    kind: PathKind
    path: Path | None
    """Absolute and normalised; None unless ``kind`` is FILE (and, for a relative name, the prefix is known)."""
    inside_root: bool | None
    """``path`` lies within the allowed root (the conf prefix, symlinks followed for configs read from disk);
    None when ``path`` is None or no prefix is known. A path outside is reported, not refused: certificates are
    loaded elsewhere."""
    directive: Directive

    def __str__(self) -> str:
        return str(self.path) if self.path else self.raw


def full_name(name: str, prefix: Path) -> str:
    """nginx's ngx_get_full_name: ``name`` if absolute, else ``prefix/name``; normalised."""
    return posixpath.normpath(name if name.startswith("/") else posixpath.join(str(prefix), name))


def inside(path: str, root: Path, *, on_disk: bool) -> bool:
    """``path`` lies within ``root``: by the real path (symlinks followed) on this machine, else by the name."""
    if on_disk:
        path, base = os.path.realpath(path), os.path.realpath(root)
    else:
        base = posixpath.normpath(str(root))
    return path == base or path.startswith(base.rstrip("/") + "/")


class PathResolver:
    """Resolves file arguments for one configuration; remembers each distinct argument (10,000 servers usually
    share a few dozen certificate paths, and the symlink check costs a system call per path component)."""

    __slots__ = ("_known", "_on_disk", "_prefix")

    def __init__(self, prefix: Path | None, *, on_disk: bool) -> None:
        self._prefix = prefix
        self._on_disk = on_disk
        self._known: dict[str, tuple[PathKind, Path | None, bool | None]] = {}

    def resolve(self, raw: str, directive: Directive) -> ConfigPath:
        """The ConfigPath for ``raw``, an argument of ``directive``."""
        known = self._known.get(raw)
        if known is None:
            known = self._known[raw] = self._classify(raw)
        kind, path, inside_root = known
        return ConfigPath(raw=raw, kind=kind, path=path, inside_root=inside_root, directive=directive)

    def _classify(self, raw: str) -> tuple[PathKind, Path | None, bool | None]:
        if raw.startswith("data:"):
            return PathKind.DATA, None, None
        if raw.startswith("engine:"):
            return PathKind.ENGINE, None, None
        if "$" in raw:
            return PathKind.VARIABLE, None, None
        if self._prefix is None and not raw.startswith("/"):
            return PathKind.FILE, None, None
        if self._prefix is None:  # absolute, but there is no root to be inside of
            return PathKind.FILE, Path(posixpath.normpath(raw)), None
        name = full_name(raw, self._prefix)
        return PathKind.FILE, Path(name), inside(name, self._prefix, on_disk=self._on_disk)
