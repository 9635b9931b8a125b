"""Process exit codes, as README.md and `mtls-doctor --help` list them."""

from __future__ import annotations

import enum


@enum.unique
class ExitStatus(enum.IntEnum):
    """Precedence when several apply: INTERNAL_ERROR > PROBLEMS_FOUND > INCOMPLETE > OK."""

    OK = 0
    """Nothing blocking was found."""
    PROBLEMS_FOUND = 1
    """At least one blocking finding."""
    USAGE = 2
    """Bad arguments or unusable input (one line on stderr says which)."""
    INCOMPLETE = 3
    """Nothing blocking, but some facts could not be established."""
    INTERNAL_ERROR = 4
    """A rule or an observer crashed; the others still ran. Please report it."""
    INTERRUPTED = 130
    """Ctrl-C."""
