"""The rule vocabulary: what a rule's verdict can be (Status) and how a rule grades its defect (Stage, Severity,
Confidence). Apart from the TOML schema (schema.py) so that renderers and reports can speak of grades without the
loader; imports nothing of the project."""

from __future__ import annotations

import enum


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
