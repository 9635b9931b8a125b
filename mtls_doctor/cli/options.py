"""Options and helpers shared by several commands."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from mtls_doctor.pki.passwords import Passwords

rules_option = click.option(
    "--rules",
    "rules_dirs",
    metavar="DIR",
    multiple=True,
    help="A directory of your own rules (TOML) to add to the catalogue (repeatable).",
)


def password_source(password_file: str | None) -> Passwords:
    """Passwords from --password-file or $MTLS_DOCTOR_PASSWORD, else a hidden prompt when on a terminal."""
    prompt: Callable[[str], str | None] | None = None
    if sys.stdin.isatty():

        def ask(text: str) -> str | None:
            value: Any = click.prompt(text, hide_input=True, default="", show_default=False)
            return str(value)

        prompt = ask
    return Passwords(password_file=password_file, prompt=prompt) if prompt else Passwords(password_file=password_file)
