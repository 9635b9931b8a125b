"""Where passwords come from: --password-file, an environment variable, or a hidden prompt on a terminal.

A password is held in memory only as long as it is needed and never appears in any message or output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from mtls_doctor.errors import InputError, PasswordError
from mtls_doctor.pki.files import read_input

PASSWORD_ENV = "MTLS_DOCTOR_PASSWORD"  # noqa: S105 - the variable's name, not a password


def _no_prompt(_prompt: str) -> str | None:
    return None


class Passwords:
    """Supplies the password for encrypted keys and PKCS#12 files, asking at most once per run.

    ``prompt`` asks the person (hidden input); the default never asks: it is wired up only on a terminal.
    """

    __slots__ = ("_cached", "password_file", "prompt")

    def __init__(self, *, password_file: str | None = None, prompt: Callable[[str], str | None] = _no_prompt) -> None:
        self.password_file = password_file
        self.prompt = prompt
        self._cached: bytes | None = None

    def __repr__(self) -> str:
        return f"Passwords(password_file={self.password_file!r})"  # never the password itself

    def get(self, source: str) -> bytes | None:
        """The password to try for ``source``, or None when none was supplied and nobody can be asked."""
        if self._cached is not None:
            return self._cached
        secret: str | None
        if self.password_file is not None:
            raw = read_input(self.password_file, what="password")
            try:
                # "utf-8-sig": Windows editors start a UTF-8 file with a byte-order mark that is not the password's.
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InputError(self.password_file, "is not a UTF-8 text file holding a password") from None
            # Like openssl's -passin file:, the first line is the password (a lone CR of CRLF is not part of it).
            secret = text.splitlines()[0] if text.strip("\r\n") else ""
        elif PASSWORD_ENV in os.environ:
            secret = os.environ[PASSWORD_ENV]
        else:
            secret = self.prompt(f"Password for {source}: ")
        if secret is None:
            return None
        self._cached = secret.encode("utf-8")
        return self._cached

    def missing(self, source: str, what: str) -> PasswordError:
        """The error for an encrypted ``what`` when no password could be had."""
        how = f"--password-file FILE or the {PASSWORD_ENV} environment variable"
        if not _on_terminal():
            how += " (no terminal to ask on)"
        return PasswordError(source, f"{what} is encrypted and no password was given: use {how}")

    def wrong(self, source: str, what: str, *, or_corrupt: bool = False) -> PasswordError:
        """The error for a password that does not open ``what``; names where the password came from.

        An empty password says so (an empty --password-file is a common slip). ``or_corrupt``: the failure may as
        well come from corrupt data, which cannot be told apart from a wrong password.
        """
        origin = (
            f"the password in {self.password_file}"
            if self.password_file
            else f"${PASSWORD_ENV}"
            if PASSWORD_ENV in os.environ
            else "the password typed"
        )
        if self._cached == b"":
            return PasswordError(source, f"{what} is encrypted and {origin} is empty")
        if or_corrupt:
            return PasswordError(source, f"{origin} does not decrypt this {what}, or the {what} is corrupt")
        return PasswordError(source, f"{origin} does not decrypt this {what}")


def _on_terminal() -> bool:
    """stdin is a terminal; False when stdin is closed (``sys.stdin`` is None) or unusable."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):
        return False
