"""Errors that reach the user as one line naming the input and the problem (exit 2), never a traceback."""

from __future__ import annotations

import re

from mtls_doctor.untrusted import shown

# A pattern, not a compiled object: compiled (and cached by re) on the first error, not on every start.
_BREAKS = r"[ \t]*[\r\n\t\u2028\u2029]+[ \t]*"


class InputError(Exception):
    """A user-supplied input (file, option, config) cannot be used.

    ``str()`` is the one line shown to the user; it names the input first: ``client.pem: not a certificate (...)``.
    It stays one line whatever the input's name or the problem's text hold: line breaks and tabs in the problem
    become spaces, control characters in either become escapes (a file may be named ``a\\nb.pem``).
    """

    def __init__(self, source: str, problem: str, *, line: int | None = None) -> None:
        self.source = source
        self.problem = problem
        self.line = line
        self.reported = False
        """A document holding this error was already written to stdout (no JSON error document then)."""
        where = shown(source)
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {shown(re.sub(_BREAKS, ' ', problem.strip()))}")


class PasswordError(InputError):
    """A password is missing or wrong. The message never contains the password."""


class ConfigError(InputError):
    """An nginx configuration cannot be read (syntax, include loop, outside the allowed root, ...)."""
