"""Where the files named by ``include`` come from: the disk, the sections of an ``nginx -T`` dump, or nowhere.

nginx (``ngx_conf_include``, src/core/ngx_conf_file.c): the argument is joined to the conf prefix; without a
glob character (``*?[``) the file must open, else ``open() "PATH" failed (2: No such file or directory)`` at the
include line; with one, the ``glob(3)`` matches are read in sorted order, and no match is fine (observed).
"""

from __future__ import annotations

import glob
import posixpath
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Protocol

from mtls_doctor.errors import ConfigError
from mtls_doctor.nginx.paths import full_name, inside
from mtls_doctor.nginx.source import Budget, read_file
from mtls_doctor.nginx.tree import Directive
from mtls_doctor.record import Record


class Text(Record):
    """The text of one configuration file, real or virtual."""

    name: str
    path: Path | None
    text: str


class Includes(Protocol):
    """Expands an ``include`` argument into files."""

    def expand(self, at: Directive) -> list[Text] | None:
        """The files ``at`` includes, in nginx's order; None when includes are not followed."""


def _has_magic(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")  # the characters ngx_conf_include tests with strpbrk()


class NoIncludes:
    """Text pasted without a prefix: there is no directory to resolve includes against."""

    def expand(self, at: Directive) -> list[Text] | None:
        """Always None: the include is recorded as skipped."""
        return None


class DiskIncludes:
    """Files on this machine under the conf prefix; each file is read once however often it is included."""

    def __init__(self, prefix: Path, *, allow_outside: bool, budget: Budget) -> None:
        self._prefix = prefix
        self._allow_outside = allow_outside
        self._budget = budget
        self._texts: dict[str, Text] = {}

    def expand(self, at: Directive) -> list[Text] | None:
        """The files ``at`` names, read; ConfigError for a missing file or one outside the prefix."""
        pattern = full_name(at.args[0], self._prefix)
        names = sorted(glob.glob(pattern)) if _has_magic(pattern) else [pattern]
        return [self._read(name, at) for name in names]

    def _read(self, name: str, at: Directive) -> Text:
        text = self._texts.get(name)
        if text is None:
            if not self._allow_outside and not inside(name, self._prefix, on_disk=True):
                raise ConfigError(
                    at.source,
                    f'include "{at.args[0]}" reaches {name}, outside the prefix {self._prefix} '
                    f"(nothing outside it is read unless that is allowed explicitly)",
                    line=at.line,
                )
            path = Path(name)
            text = Text(name=name, path=path, text=read_file(path, name, self._budget, included_at=at.origin))
            self._texts[name] = text
        return text


def _glob_match(pattern: str, name: str) -> bool:
    """glob(3) semantics for a whole path: wildcards stay within one component and skip leading dots."""
    parts, names = pattern.split("/"), name.split("/")
    return len(parts) == len(names) and all(
        fnmatchcase(n, p) and (p.startswith(".") or not n.startswith(".")) for p, n in zip(parts, names, strict=True)
    )


class DumpIncludes:
    """The sections of an ``nginx -T`` dump: nginx already read every file, the disk is never touched."""

    def __init__(self, sections: list[Text], prefix: Path) -> None:
        self._by_normalised: dict[str, Text] = {}
        for text in sections:  # a file dumped twice: the first copy is what nginx read first
            self._by_normalised.setdefault(posixpath.normpath(text.name), text)
        self._prefix = prefix

    def expand(self, at: Directive) -> list[Text] | None:
        """The dump's files that ``at`` names; ConfigError when a plain name is missing from the dump."""
        pattern = full_name(at.args[0], self._prefix)
        if _has_magic(pattern):
            return [self._by_normalised[name] for name in sorted(self._by_normalised) if _glob_match(pattern, name)]
        text = self._by_normalised.get(pattern)
        if text is None:
            raise ConfigError(
                at.source,
                f'includes "{pattern}", which is not in this nginx -T output (nginx -T prints every file it read)',
                line=at.line,
            )
        return [text]
