"""The UNKNOWN sentinel: a fact that could not be established (never the same as "absent")."""

from __future__ import annotations

from typing import Final, final


@final
class Unknown:
    """Could not be established: not attempted, or the attempt failed. A rule reading it is not_evaluated."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        # Truthiness of an unknown fact is a bug waiting to happen: force callers to test `is UNKNOWN`.
        msg = "UNKNOWN has no truth value; compare with `is UNKNOWN`"
        raise TypeError(msg)


UNKNOWN: Final = Unknown()
