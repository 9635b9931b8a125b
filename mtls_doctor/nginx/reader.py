"""read_config: any form of nginx configuration in, one directive tree out, or one ConfigError."""

from __future__ import annotations

import os
import posixpath
import sys
from pathlib import Path

from mtls_doctor.errors import ConfigError
from mtls_doctor.gcpause import paused_gc
from mtls_doctor.nginx.includes import DiskIncludes, DumpIncludes, Includes, NoIncludes, Text
from mtls_doctor.nginx.parser import MisplacedAtTopError, Parser
from mtls_doctor.nginx.source import DEFAULT_MAX_BYTES, Budget, decode, read_file, split_dump
from mtls_doctor.nginx.tree import ConfigForm, Directive, NginxConfig

STDIN = "<stdin>"


def read_config(
    source: str | Path,
    *,
    text: str | bytes | None = None,
    prefix: Path | None = None,
    fallback_prefix: Path | None = None,
    allow_outside_prefix: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> NginxConfig:
    """Read an nginx configuration: a file, stdin, an ``nginx -T`` dump, a bare ``server { }``/http snippet, or the
    body of a server block.

    ``source`` is a path, or ``"-"`` for standard input (shown as ``<stdin>``). With ``text`` the content is
    taken from it and ``source`` only names it. The form is detected from the text: a dump starts (after what
    people paste with it: nginx's stderr lines, the shell prompt, ``nginx -V`` output) with
    ``# configuration file PATH:``; text whose top level holds ``http``-context directives (``server``,
    ``upstream``, ``ssl_*``...) is read as if inside ``http { }``, and text of server-level directives (``listen``,
    ``location``...) as if inside ``http { server { } }``, with its own line numbers (and a note); anything else is
    a full nginx.conf.

    ``prefix`` is nginx's conf prefix, against which ``include`` and certificate paths resolve (the directory
    of nginx.conf, not nginx's ``-p``): by default the directory of the main file when it is read from disk, or
    of the first file of a dump, else ``fallback_prefix`` (with a note saying so). Text given as ``text`` or on
    stdin without any prefix has its includes listed in ``skipped_includes`` rather than followed, and its
    relative paths unresolved. A config read from disk has its includes read wherever they are, as nginx does;
    pasted text keeps to the prefix unless ``allow_outside_prefix``. An include that cannot be read (missing,
    unreadable, outside the prefix of a paste, absent from a dump) is listed in ``unread_includes`` and skipped; a
    dump's includes come from the dump, never from the disk. ``max_bytes`` bounds all files read together.

    Raises ConfigError (one line naming the file and, where there is one, the line) for anything nginx would
    refuse to start with at parse time, and for input that is not a configuration at all.
    """
    with paused_gc():
        return _read(
            source,
            text,
            prefix=prefix,
            fallback_prefix=fallback_prefix,
            allow_outside_prefix=allow_outside_prefix,
            max_bytes=max_bytes,
        )


def _read(
    source: str | Path,
    text: str | bytes | None,
    *,
    prefix: Path | None,
    fallback_prefix: Path | None,
    allow_outside_prefix: bool,
    max_bytes: int,
) -> NginxConfig:
    budget = Budget(max_bytes)
    main, on_disk = _main_text(source, text, budget)
    pasted = main.path is None
    notes: list[str] = []
    if prefix is None and main.path is not None:
        prefix = main.path.parent
    form = ConfigForm.FULL
    includes: Includes
    dump = split_dump(main.text)
    if dump is not None:
        form, on_disk = ConfigForm.DUMP, False
        texts = [Text(name=name, path=None, text=body) for name, body in dump.files]
        main = texts[0]
        prefix = Path(os.path.abspath(prefix or posixpath.dirname(main.name)))
        includes = DumpIncludes(texts, prefix)
    else:
        if prefix is None and fallback_prefix is not None:
            prefix = fallback_prefix
            notes.append(
                f"relative paths resolve against the current directory {os.path.abspath(prefix)} "
                "(nginx resolves them against the directory of its nginx.conf: give --prefix DIR)"
            )
        if prefix is not None:
            prefix = Path(os.path.abspath(prefix))
            on_disk = True
            includes = DiskIncludes(prefix, allow_outside=allow_outside_prefix or not pasted, budget=budget)
        else:
            includes = NoIncludes()

    parser = Parser(includes)
    try:
        directives = parser.parse(main)
    except MisplacedAtTopError as misplaced:
        if form is ConfigForm.DUMP:
            raise ConfigError(misplaced.source, misplaced.problem, line=misplaced.line) from None
        parser, directives, form = _as_snippet(includes, main, misplaced)
        if form is ConfigForm.SERVER_SNIPPET:
            notes.append(
                f"{main.name} holds server-level directives and no server {{ }}: read as the body of one server block"
            )
    if not directives:
        raise ConfigError(main.name, "empty configuration: there is not a single directive in it", line=1)
    return NginxConfig(
        source=main.name if form is not ConfigForm.DUMP else _name(source),
        form=form,
        prefix=prefix,
        on_disk=on_disk,
        files=tuple(parser.files),
        directives=directives,
        skipped_includes=tuple(parser.skipped_includes),
        unread_includes=tuple(parser.unread_includes),
        unknown_directives=tuple(parser.unknown_directives),
        pasted=pasted,
        nginx_messages=dump.messages if dump else (),
        nginx_v=dump.nginx_v if dump else None,
        notes=tuple(notes),
    )


def _as_snippet(
    includes: Includes, main: Text, misplaced: MisplacedAtTopError
) -> tuple[Parser, tuple[Directive, ...], ConfigForm]:
    """``main`` read as an ``http`` snippet, else as a server body; the first error as said when neither fits.

    The same-line wrappers: as if the text were "http { " + text + "}" (or "http { server { " + text + "} }"), so
    line numbers stay the file's.
    """
    for ctx, form in ((("http",), ConfigForm.HTTP_SNIPPET), (("http", "server"), ConfigForm.SERVER_SNIPPET)):
        if form is ConfigForm.HTTP_SNIPPET and not misplaced.http_directive:
            continue
        parser = Parser(includes)
        try:
            body = parser.parse(main, ctx)
        except MisplacedAtTopError:
            continue
        if form is ConfigForm.SERVER_SNIPPET:
            body = (Directive(name="server", args=(), source=main.name, line=1, block=body),)
        return parser, (Directive(name="http", args=(), source=main.name, line=1, block=body),), form
    raise ConfigError(misplaced.source, misplaced.problem, line=misplaced.line) from None


def _name(source: str | Path) -> str:
    return STDIN if str(source) == "-" else str(source)


def _main_text(source: str | Path, text: str | bytes | None, budget: Budget) -> tuple[Text, bool]:
    """The main text and whether it came from a file on this machine."""
    name = _name(source)
    if text is None and name != STDIN:
        path = Path(source)
        return Text(name=name, path=path, text=read_file(path, name, budget, included_at=None)), True
    if text is None:
        data = sys.stdin.buffer.read(budget.limit + 1)
    else:
        data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    budget.charge(name, len(data))
    return Text(name=name, path=None, text=decode(data, name)), False
