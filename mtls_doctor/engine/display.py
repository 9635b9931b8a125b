"""The one place that decides how a fact value reads in messages and evidence."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from mtls_doctor.facts.model import Cert, Crl
from mtls_doctor.vocabulary import Origin, Unknown


def display(value: Any) -> str:
    """A person-readable rendering: names in RFC 4514, times in UTC, collections comma-joined (sets sorted)."""
    if value is None:
        return "none"
    if isinstance(value, Unknown):
        return "(could not be established)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, frozenset | set):
        return ", ".join(sorted(display(v) for v in value)) or "(none)"
    if isinstance(value, tuple | list):
        return ", ".join(display(v) for v in value) or "(none)"
    return str(value)


def shell(value: Any) -> str:
    """``display`` quoted for a POSIX shell, so a remedy command runs as written whatever the path holds (a control
    character in a file name: bash's ``$'...'`` quoting, never the raw byte)."""
    from mtls_doctor.untrusted import shell_word  # noqa: PLC0415

    return shell_word(display(value))


def origins(value: Any) -> tuple[Origin, ...]:
    """Where a fact value came from: its own origin, or its members' (a tuple of certificates)."""
    if isinstance(value, Cert | Crl):
        return (value.origin,)
    origin = getattr(value, "origin", None)
    if isinstance(origin, Origin):
        return (origin,)
    if isinstance(value, tuple):
        return tuple(o for item in value for o in origins(item))
    cert = getattr(value, "cert", None)
    if isinstance(cert, Cert):
        return (cert.origin,)
    return ()
