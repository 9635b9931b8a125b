"""Errors that reach the user as one line naming the input and the problem (exit 2), never a traceback."""

from __future__ import annotations


class InputError(Exception):
    """A user-supplied input (file, option, config) cannot be used.

    ``str()`` is the one line shown to the user; it names the input first: ``client.pem: not a certificate (...)``.
    """

    def __init__(self, source: str, problem: str, *, line: int | None = None) -> None:
        self.source = source
        self.problem = problem
        self.line = line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {problem}")


class PasswordError(InputError):
    """A password is missing or wrong. The message never contains the password."""


class ConfigError(InputError):
    """An nginx configuration cannot be read (syntax, include loop, outside the allowed root, ...)."""
