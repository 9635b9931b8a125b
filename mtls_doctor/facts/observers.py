"""Observer isolation: a crash inside one observer (path, revocation, nearby issuers, twin, OCSP, lint facts)
becomes UNKNOWN with the reason "internal error in …", and the rest of the report is still computed and printed;
the exit status is then 4 (README: exit codes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mtls_doctor.errors import InputError
from mtls_doctor.vocabulary import UNKNOWN, Unknown

_T = TypeVar("_T")


class Observers:
    """Runs each observer in isolation: a crash becomes UNKNOWN with the reason "internal error in …", and the
    rest of the diagnosis goes on (the report still prints; the exit status is 4). Unusable input (InputError) is
    not a crash and still ends the run with its one line (exit 2)."""

    def __init__(self, reasons: dict[str, str]) -> None:
        """``reasons``: where the reason of each UNKNOWN fact is recorded (fact path -> reason)."""
        self.reasons = reasons
        self.errors: list[str] = []

    def run(self, name: str, fact: str, compute: Callable[[], _T]) -> _T | Unknown:
        """``compute()``, or UNKNOWN (its reason recorded under ``fact``) when it crashes."""
        try:
            return compute()
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - one broken observer must not hide the others
            why = f"internal error in {name}: {type(exc).__name__}: {exc} (please report it, with --traceback)"
            self.errors.append(why)
            self.reasons[fact] = why
            return UNKNOWN
