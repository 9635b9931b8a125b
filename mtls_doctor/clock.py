"""Reading the times people type: ISO dates, ISO timestamps, and offsets from now (``+2d``, ``-3h``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_OFFSET = r"^([+-])(\d+)([smhdw])$"
"""Compiled (and cached by re) when --at is given, not on every start."""
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, *, now: datetime) -> datetime:
    """``2026-01-31``, ``2026-01-31T12:00:00Z``, ``2026-01-31 12:00``, ``+2d``, ``-3h``; naive times are UTC.

    ValueError with a message that says what is accepted.
    """
    text = text.strip()
    match = re.match(_OFFSET, text)
    if match:
        sign, amount, unit = match.groups()
        delta = timedelta(**{_UNITS[unit]: int(amount)})
        return now + delta if sign == "+" else now - delta
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        msg = f"'{text}' is not a time: use 2026-01-31, 2026-01-31T12:00:00Z, or an offset such as +2d or -3h"
        raise ValueError(msg) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
