"""Getting configuration text in: size limits, binary junk, encodings, and ``nginx -T`` dumps."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from mtls_doctor.errors import ConfigError
from mtls_doctor.pki.files import special_kind
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import Origin

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
"""The most configuration text read in one go, all files together (a 10,000-server config is about 34 MB)."""

# `nginx -T` writes "# configuration file PATH:" before each file it read, then the file, then a newline
# (src/core/nginx.c, main(), the ngx_dump_config loop). Its stderr lines ("nginx: the configuration file ...
# syntax is ok", "nginx: [warn] ...") land in the same paste when people use 2>&1.
_DUMP_MARKER = re.compile(r"^# configuration file (.+):[ \t]*\r?$", re.MULTILINE)
# What nginx writes to stderr: "nginx: ..." lines, and, when its error log is stderr (Debian's build: configure's
# --error-log-path=stderr, or -e stderr), log lines "2026/01/02 03:04:05 [warn] 1234#1234: ..." (observed, 1.22.1).
_NGINX_STDERR_LINE = re.compile(r"^(?:nginx: |\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[[a-z]+\] ).*$", re.MULTILINE)
# What people paste before a dump: nginx's stderr lines, a shell prompt with the nginx command they ran, and the
# output of nginx -V (src/core/nginx.c, ngx_show_version_info).
_PREAMBLE_LINE = re.compile(
    r"^(?:nginx: .*|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[[a-z]+\] .*|[^\n]*[$#][ \t]*(?:sudo[ \t]+)?\S*nginx\b.*"
    r"|nginx version: .*|built by .*|built with .*|TLS SNI support .*|configure arguments:.*|[ \t]*)$"
)
_NGINX_V = re.compile(r"^nginx version: .*(?:\n(?:built |TLS SNI |configure arguments:).*)*", re.MULTILINE)


class Budget:
    """How many bytes may still be read; shared by all files of one configuration."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, name: str, size: int) -> None:
        """Count ``size`` more bytes for ``name``; ConfigError when that goes over the limit."""
        self.used += size
        if self.used > self.limit:
            raise ConfigError(
                name,
                f"too large: with it the configuration is over the {_mib(self.limit)} limit "
                f"(a 10,000-server configuration is about 34 MB; raise max_bytes if this one is real)",
            )


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


def read_file(path: Path, name: str, budget: Budget, *, included_at: Origin | None) -> str:
    """The text of a configuration file, checked to be text and within budget.

    Errors name ``included_at`` (the ``include`` directive) when there is one, with nginx's own wording
    (``open() "/etc/nginx/x.conf" failed (2: No such file or directory)``), else the file itself.
    """
    where = included_at.source if included_at else name
    line = included_at.line if included_at else None
    try:
        st = path.stat()
        # A FIFO or a device would block or never end: nginx configs are regular files. The line is the one every
        # input file gets (pki.files.stat_input); an included file is named at its include directive.
        if not stat.S_ISREG(st.st_mode):
            problem = f"is not a regular file ({special_kind(st.st_mode)})"
            raise ConfigError(where, f'"{path}" {problem}' if included_at else problem, line=line)
        budget.charge(name, st.st_size)
        with path.open("rb") as f:
            data = f.read(st.st_size + 1)
    except OSError as e:
        raise ConfigError(where, f'open() "{path}" failed ({e.errno}: {e.strerror})', line=line) from None
    if len(data) > st.st_size:  # it grew since stat(): count the rest too
        budget.charge(name, len(data) - st.st_size)
    return decode(data, name)


def decode(data: bytes, name: str) -> str:
    """``data`` as text, or a ConfigError naming the line of the first NUL byte or non-UTF-8 byte.

    nginx itself reads bytes and would accept Latin-1 in a comment; mtls-doctor needs text it can show, and a NUL
    byte means the file is not a configuration at all (a binary, an archive, a truncated copy).
    """
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ConfigError(
            name, "binary data (a NUL byte): this is not an nginx configuration", line=data.count(b"\n", 0, nul) + 1
        )
    if data.startswith(b"\xef\xbb\xbf"):
        raise ConfigError(
            name,
            "starts with a UTF-8 byte-order mark, which nginx reads as part of the first "
            "directive's name; save the file without it",
            line=1,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            name,
            f"not UTF-8 text (byte 0x{data[e.start]:02x}); convert it, e.g. iconv -f latin1 -t utf-8",
            line=data.count(b"\n", 0, e.start) + 1,
        ) from None


class Dump(Record):
    """An ``nginx -T`` paste taken apart."""

    files: tuple[tuple[str, str], ...]
    """(path, text) in dump order."""
    messages: tuple[str, ...]
    """What nginx said on stderr in the paste (warnings, notices, "syntax is ok"), in order."""
    nginx_v: str | None
    """An ``nginx -V`` transcript pasted before the dump, if any."""


def split_dump(text: str) -> Dump | None:
    """The files of an ``nginx -T`` dump in dump order; None when ``text`` is not a dump.

    It is a dump when everything before its first ``# configuration file PATH:`` marker is what people paste with
    it: nginx's stderr lines (``nginx: ...``, timestamped log lines such as ``2026/01/02 03:04:05 [warn] ...``), the
    shell prompt with the nginx command, ``nginx -V`` output. Each file keeps its own line numbers (line 1 is the line
    after its marker). nginx's stderr lines inside a file (``2>&1``) are blanked, not removed, so numbering stays right.
    """
    markers = list(_DUMP_MARKER.finditer(text))
    if not markers:
        return None
    preamble = text[: markers[0].start()]
    if not all(_PREAMBLE_LINE.match(line) for line in preamble.splitlines()):
        return None
    files = []
    messages = [m.group(0) for m in _NGINX_STDERR_LINE.finditer(preamble)]
    for marker, following in zip(markers, [*markers[1:], None], strict=True):
        start = marker.end() + 1  # past the newline that ends the marker line
        end = following.start() if following else len(text)
        body = text[start:end]
        messages += [m.group(0) for m in _NGINX_STDERR_LINE.finditer(body)]
        files.append((marker.group(1), _NGINX_STDERR_LINE.sub("", body)))
    version = _NGINX_V.search(preamble)
    return Dump(files=tuple(files), messages=tuple(messages), nginx_v=version.group(0) if version else None)
