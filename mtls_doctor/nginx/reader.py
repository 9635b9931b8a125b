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
    allow_outside_prefix: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> NginxConfig:
    """Read an nginx configuration: a file, stdin, an ``nginx -T`` dump, or a bare ``server { }``/http snippet.

    ``source`` is a path, or ``"-"`` for standard input (shown as ``<stdin>``). With ``text`` the content is
    taken from it and ``source`` only names it. The form is detected from the text: a dump starts (after any
    ``nginx: ...`` lines) with ``# configuration file PATH:``; text whose top level holds ``http``-context
    directives (``server``, ``upstream``, ``ssl_*``...) is read as if inside ``http { }``, with its own line
    numbers; anything else is a full nginx.conf.

    ``prefix`` is nginx's conf prefix, against which ``include`` and certificate paths resolve (the directory
    of nginx.conf, not nginx's ``-p``): by default the directory of the main file when it is read from disk, or
    of the first file of a dump. Text given as ``text`` or on stdin without a prefix has its includes listed in
    ``skipped_includes`` rather than followed, and its relative paths unresolved. Included files must lie
    within the prefix unless ``allow_outside_prefix``; a dump's includes come from the dump, never from the
    disk. ``max_bytes`` bounds all files read together.

    Raises ConfigError (one line naming the file and, where there is one, the line) for anything nginx would
    refuse to start with at parse time, and for input that is not a configuration at all.
    """
    with paused_gc():
        return _read(source, text, prefix=prefix, allow_outside_prefix=allow_outside_prefix, max_bytes=max_bytes)


def _read(
    source: str | Path, text: str | bytes | None, *, prefix: Path | None, allow_outside_prefix: bool, max_bytes: int
) -> NginxConfig:
    budget = Budget(max_bytes)
    main, on_disk = _main_text(source, text, budget)
    if prefix is None and main.path is not None:
        prefix = main.path.parent
    if prefix is not None:
        prefix = Path(os.path.abspath(prefix))

    form = ConfigForm.FULL
    includes: Includes
    sections = split_dump(main.text)
    if sections:
        form, on_disk = ConfigForm.DUMP, False
        texts = [Text(name=name, path=None, text=body) for name, body in sections]
        main = texts[0]
        prefix = prefix or Path(posixpath.dirname(main.name))
        includes = DumpIncludes(texts, prefix)
    elif prefix is not None:
        on_disk = True
        includes = DiskIncludes(prefix, allow_outside=allow_outside_prefix, budget=budget)
    else:
        includes = NoIncludes()

    parser = Parser(includes)
    try:
        directives = parser.parse(main)
    except MisplacedAtTopError as misplaced:
        if form is ConfigForm.DUMP or not misplaced.http_directive:
            raise ConfigError(misplaced.source, misplaced.problem, line=misplaced.line) from None
        parser = Parser(includes)
        try:
            body = parser.parse(main, ("http",))
        except MisplacedAtTopError:  # main-context directives too: a full config with a stray block, as first said
            raise ConfigError(misplaced.source, misplaced.problem, line=misplaced.line) from None
        # The same-line wrapper: as if the text were "http { " + text + "}", so line numbers stay the file's.
        directives = (Directive(name="http", args=(), source=main.name, line=1, block=body),)
        form = ConfigForm.HTTP_SNIPPET
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
        unknown_directives=tuple(parser.unknown_directives),
    )


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
