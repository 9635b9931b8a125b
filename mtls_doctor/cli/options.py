"""Options and helpers shared by several commands."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from mtls_doctor.errors import InputError
from mtls_doctor.pki.files import stat_input
from mtls_doctor.pki.passwords import Passwords


def interactive() -> bool:
    """Someone can answer a prompt: stdin and stdout are terminals (stdin may even be closed, then None)."""
    return sys.stdin is not None and sys.stdin.isatty() and sys.stdout is not None and sys.stdout.isatty()


rules_option = click.option(
    "--rules",
    "rules_dirs",
    metavar="DIR",
    multiple=True,
    help="A directory of your own rules (TOML) to add to the catalogue (repeatable).",
)


def issuers_option(what: str, besides: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--issuers PATH`` (repeatable): where the nearby search looks for ``what``, besides ``besides``."""
    return click.option(
        "--issuers",
        metavar="PATH",
        multiple=True,
        type=click.Path(exists=True),
        help=f"Where to look for {what} (file or directory; repeatable), besides {besides}.",
    )


def password_source(password_file: str | None) -> Passwords:
    """Passwords from --password-file or $MTLS_DOCTOR_PASSWORD, else a hidden prompt when on a terminal.

    A --password-file that cannot be read is an error now, whether or not a key turns out to be encrypted: a
    mistyped name would otherwise go unnoticed until the day the key is.
    """
    if password_file is not None:
        stat_input(password_file, what="password")
    prompt: Callable[[str], str | None] | None = None
    # Only stdin needs to be a terminal: the prompt goes to stderr, so `check ... > report.txt` still asks.
    if sys.stdin is not None and sys.stdin.isatty():

        def ask(text: str) -> str | None:
            value: Any = click.prompt(text, hide_input=True, default="", show_default=False, err=True)
            return str(value)

        prompt = ask
    return Passwords(password_file=password_file, prompt=prompt) if prompt else Passwords(password_file=password_file)


def nginx_version_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--nginx-version VERSION and --nginx-v FILE (the output of `nginx -V 2>&1`)."""
    f = click.option(
        "--nginx-v",
        "nginx_v",
        metavar="FILE",
        help="A file holding `nginx -V 2>&1` output: the version and the OpenSSL it runs with.",
    )(f)
    return click.option(
        "--nginx-version",
        metavar="VERSION",
        help="The nginx version to judge for (defaults differ between versions); default: 1.22.1 (Debian 12).",
    )(f)


def read_nginx_version(version: str | None, v_file: str | None) -> str | None:
    """The version text given (a version, or the content of an `nginx -V` paste), None when neither was."""
    if version and v_file:
        raise click.UsageError("give --nginx-version or --nginx-v, not both")
    if v_file:
        from mtls_doctor.pki.files import read_input  # noqa: PLC0415

        data = read_input(v_file, what="nginx -V output")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(v_file, "is not text (expected the output of `nginx -V 2>&1`)") from None
    return version
