"""The configuration as read: a tree of directives, each keeping the file and line it came from."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from pathlib import Path

from mtls_doctor.record import Record
from mtls_doctor.vocabulary import Origin


class Directive(Record, hot=True):
    """One directive: ``name arg ...;`` or ``name arg ... { block }``.

    ``args`` are the tokens as nginx sees them: quotes removed, escapes kept, variables unexpanded. For ``if``
    the enclosing parentheses are removed (``if ($a = b)`` has args ``("$a", "=", "b")``), as crossplane does.
    An ``include`` directive stays in the tree, immediately followed by the directives of the files it
    included (each with its own ``source`` and ``line``).
    """

    name: str
    args: tuple[str, ...]
    source: str
    """The file it was read from, as shown to the user (see ConfigFile.name)."""
    line: int
    block: tuple[Directive, ...] | None = None
    """The directives inside ``{ }``; None for a simple directive (an empty block is ``()``)."""

    @property
    def origin(self) -> Origin:
        """Where the directive is, for a finding or an error message (built on demand: most are never asked)."""
        return Origin(source=self.source, line=self.line)

    def children(self, name: str) -> Iterator[Directive]:
        """The directives named ``name`` directly inside this block (none for a simple directive)."""
        return (child for child in self.block or () if child.name == name)


class Placed:
    """Mixin for a model object made from one directive (its ``directive`` field): ``origin`` on demand.

    Building an Origin costs as much as the rest of a small model object, and a model of 10,000 servers holds
    hundreds of thousands of placed values of which a lint reports a few hundred.
    """

    __slots__ = ()
    directive: Directive

    @property
    def origin(self) -> Origin:
        """Where the directive is."""
        return self.directive.origin


class MaybePlaced:
    """Mixin like Placed for values that may come from no directive (nginx's defaults): ``directive`` None."""

    __slots__ = ()
    directive: Directive | None

    @property
    def origin(self) -> Origin | None:
        """Where the directive is; None for a default."""
        return None if self.directive is None else self.directive.origin


class ConfigForm(enum.Enum):
    """What kind of text the reader was given."""

    FULL = "full"
    """A whole nginx.conf (or a file meant to be the main file)."""
    HTTP_SNIPPET = "http_snippet"
    """Directives of the ``http`` context, such as a bare ``server { }`` block: read as if inside ``http { }``."""
    SERVER_SNIPPET = "server_snippet"
    """Directives of a ``server { }`` body with no ``server`` around them: read as if inside ``http { server { } }``."""
    DUMP = "dump"
    """``nginx -T`` output: every file nginx read, each after a ``# configuration file PATH:`` line."""


class ConfigFile(Record):
    """A file the configuration is made of (a virtual one for stdin and for each section of a dump)."""

    name: str
    """As shown in messages: the path as given or as resolved by nginx's rules, or ``<stdin>``."""
    path: Path | None
    """The file read from disk; None for stdin and for sections of an ``nginx -T`` dump."""
    included_from: Origin | None
    """The first ``include`` that brought it in; None for the main file."""


class UnreadInclude(Record):
    """An ``include`` whose file could not be read here: skipped, the rest of the configuration still read."""

    directive: Directive
    """The ``include`` itself (it stays in the tree, with nothing after it)."""
    name: str
    """The file it names, resolved against the prefix."""
    reason: str
    context: tuple[str, ...]
    """Where it stands (crossplane's context: ``("http",)``, ``("http", "server")``...)."""


class NginxConfig(Record):
    """A configuration as read by :func:`mtls_doctor.nginx.read_config`: the directive tree and its files."""

    source: str
    """The input as shown to the user (``<stdin>`` for standard input)."""
    form: ConfigForm
    prefix: Path | None
    """nginx's *conf prefix*: relative ``include`` and certificate paths resolve against it. None when unknown
    (text pasted on stdin without a prefix): includes are then not followed and relative paths stay unresolved."""
    on_disk: bool
    """Paths in the configuration name files on this machine (False for stdin pastes and ``nginx -T`` dumps)."""
    files: tuple[ConfigFile, ...]
    """Every file read, the main one first, each once."""
    directives: tuple[Directive, ...]
    """The main context. For an HTTP_SNIPPET this is a single ``http`` directive at line 1 wrapping the text."""
    skipped_includes: tuple[Origin, ...]
    """``include`` directives that were not followed because the prefix is unknown."""
    unread_includes: tuple[UnreadInclude, ...]
    """``include`` directives whose files could not be read here (missing, unreadable, outside a paste's root)."""
    unknown_directives: tuple[Directive, ...]
    """Directives crossplane's table (nginx ~1.17) and the reader's list of newer ones do not know, where directives
    are expected (not the entries of ``map``, ``types`` ...): typos, which nginx refuses (``unknown directive``),
    or third-party modules. Kept in the tree, unchecked; blocks are listed when they close."""
    pasted: bool = False
    """The main text did not come from a file on this machine (stdin, or text given): its paths are the user's
    word, so files outside its root are read only when allowed."""
    nginx_messages: tuple[str, ...] = ()
    """What nginx said on stderr in an ``nginx -T 2>&1`` paste (warnings, "syntax is ok"), in order."""
    nginx_v: str | None = None
    """An ``nginx -V`` transcript pasted before an ``nginx -T`` dump."""
    notes: tuple[str, ...] = ()
    """How the text was read, where the reader had to decide (a server body, a prefix taken from the cwd)."""
