"""Where the files named by ``include`` come from: the disk, the sections of an ``nginx -T`` dump, or nowhere.

nginx (``ngx_conf_include``, src/core/ngx_conf_file.c): the argument is joined to the conf prefix; without a
glob character (``*?[``) the file must open, else ``open() "PATH" failed (2: No such file or directory)`` at the
include line; with one, the ``glob(3)`` matches are read in sorted order, and no match is fine (observed).
"""

from __future__ import annotations

import glob
import os
import posixpath
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Protocol

from mtls_doctor.nginx.paths import full_name, inside
from mtls_doctor.nginx.source import Budget, read_file
from mtls_doctor.nginx.tree import Directive
from mtls_doctor.record import Record


class Text(Record):
    """The text of one configuration file, real or virtual."""

    name: str
    path: Path | None
    text: str


class UnreadableIncludeError(Exception):
    """An included file that cannot be read here: the include is skipped and listed, the rest is still read."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class Includes(Protocol):
    """Expands an ``include`` argument into files."""

    def expand(self, at: Directive) -> list[Text] | None:
        """The files ``at`` includes, in nginx's order; None when includes are not followed.

        UnreadableIncludeError when a file it names cannot be read here (missing, unreadable, outside the root).
        """


def _has_magic(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")  # the characters ngx_conf_include tests with strpbrk()


class NoIncludes:
    """Text pasted without a prefix: there is no directory to resolve includes against."""

    def expand(self, at: Directive) -> list[Text] | None:
        """Always None: the include is recorded as skipped."""
        return None


class DiskIncludes:
    """Files on this machine; each file is read once however often it is included.

    nginx opens an include wherever it points; ``allow_outside`` False (pasted text) keeps to the conf prefix.
    """

    def __init__(self, prefix: Path, *, allow_outside: bool, budget: Budget) -> None:
        self._prefix = prefix
        self._allow_outside = allow_outside
        self._budget = budget
        self._texts: dict[str, Text] = {}

    def expand(self, at: Directive) -> list[Text] | None:
        """The files ``at`` names, read; UnreadableIncludeError for one missing, unreadable or outside the prefix."""
        pattern = full_name(at.args[0], self._prefix)
        names = sorted(glob.glob(pattern)) if _has_magic(pattern) else [pattern]
        return [self._read(name, at) for name in names]

    def _read(self, name: str, at: Directive) -> Text:
        text = self._texts.get(name)
        if text is None:
            if not self._allow_outside and not inside(name, self._prefix, on_disk=True):
                raise UnreadableIncludeError(
                    name, f"outside the prefix {self._prefix} of a pasted configuration (--allow-outside reads it)"
                )
            path = Path(name)
            # nginx's own words for a file it cannot open (ngx_conf_parse: open() "..." failed (2: ...)).
            try:
                path.stat()
                if not os.access(name, os.R_OK):
                    raise PermissionError(13, os.strerror(13))
            except OSError as e:
                raise UnreadableIncludeError(name, f'open() "{name}" failed ({e.errno}: {e.strerror})') from None
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
        """The dump's files that ``at`` names; UnreadableIncludeError when a plain name is missing from the dump."""
        pattern = full_name(at.args[0], self._prefix)
        if _has_magic(pattern):
            return [self._by_normalised[name] for name in sorted(self._by_normalised) if _glob_match(pattern, name)]
        text = self._by_normalised.get(pattern)
        if text is None:
            raise UnreadableIncludeError(
                pattern, "not in this nginx -T output (nginx -T prints every file it read: is the paste cut short?)"
            )
        return [text]
