"""The closed vocabularies of the engine (status, severity, confidence, stage) and the Finding it produces."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from mtls_doctor.facts.model import Origin
from mtls_doctor.record import Record

if TYPE_CHECKING:
    from mtls_doctor.engine.schema import Rule


class Status(enum.Enum):
    """The outcome of one rule against one set of facts."""

    FAIL = "fail"
    """The defect is present."""
    PASS = "pass"  # noqa: S105 - a status, not a password
    """The rule applies and the defect is absent."""
    NOT_APPLICABLE = "not_applicable"
    """The question does not arise (no CRL configured for a CRL rule)."""
    NOT_EVALUATED = "not_evaluated"
    """A fact the rule needs could not be established: never counted as a pass."""
    ERROR = "error"
    """The rule crashed; the others still ran (exit code 4)."""


class Severity(enum.Enum):
    """How much a failing rule hurts."""

    BLOCKING = "blocking"
    """mTLS fails: this client will not be served (or the server will not start)."""
    DEGRADED = "degraded"
    """Works for some clients, or only for now, or without real authentication."""
    ADVISORY = "advisory"
    """Works today; worth fixing for hygiene or future compatibility."""
    INFO = "info"
    """Context worth knowing."""


class Confidence(enum.Enum):
    """How sure the rule is that its finding is real."""

    CERTAIN = "certain"
    """Observed with nginx 1.22 / OpenSSL 3.0 and confirmed by the twin."""
    LIKELY = "likely"
    """Depends on the verifier or its version."""
    POSSIBLE = "possible"
    """A heuristic."""


class Stage(enum.Enum):
    """Where in the causal chain a defect sits; the declared order is the ranking order (causes first)."""

    INPUTS = "inputs"
    CLOCK = "clock"
    CLIENT_CERTIFICATE = "client-certificate"
    CHAIN = "chain"
    TRUST = "trust"
    REVOCATION = "revocation"
    SERVER_CONFIG = "server-config"
    HANDSHAKE = "handshake"


class Evidence(Record):
    """A fact a failing rule relied on: its path, how it reads, and where it came from."""

    fact: str
    value: str
    origins: tuple[Origin, ...]


class Finding(Record):
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
