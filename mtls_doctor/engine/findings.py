"""The Finding one rule gives on one set of facts, and the evidence it carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mtls_doctor.engine.vocabulary import Severity, Status
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import Origin

if TYPE_CHECKING:
    from mtls_doctor.engine.schema import Rule


class Evidence(Record):
    """A fact a failing rule relied on: its path, how it reads, and where it came from."""

    fact: str
    value: str
    origins: tuple[Origin, ...]


class Finding(Record, hot=True):
    """One rule's verdict on one set of facts."""

    rule: Rule
    status: Status
    message: str | None = None
    remedy: str | None = None
    """Commands for this case, rendered from the rule's remedy template."""
    evidence: tuple[Evidence, ...] = ()
    unknown: tuple[str, ...] = ()
    """Why the rule could not be evaluated (the reasons of the UNKNOWN facts it needed)."""
    error: str | None = None
    logged: bool = False
    """The rule predicts the verify error nginx will log for this client."""
    confirmed: bool | None = None
    """The twin raised one of the errors the rule predicts (None: no prediction, or no twin)."""
    deferred: bool = False
    """nginx would not start, and this is what the client would meet once it does: never a root cause now."""
    decides: bool = False
    """The rule predicts the verify error of the verdict: the one nginx logs (``logged``), or the one
    ``optional_no_ca`` forgave and ``$ssl_client_verify = FAILED:...`` carries (nginx logs nothing then)."""
    grade: Severity | None = None
    """The severity a ``[[severity_when]]`` entry of the rule gave this failing finding; None: the declared one."""
    grade_why: str | None = None
    """Why the finding has that severity here (the entry's ``why``)."""

    @property
    def severity(self) -> Severity:
        """How much this finding hurts here: its grade, else the rule's declared severity. Every consumer (ranking,
        reports, exit codes) reads this, never ``rule.severity``."""
        return self.rule.severity if self.grade is None else self.grade
