"""Conditions: a closed set of operators over fact paths, combined with all/any/none in Kleene three-valued logic.

A fact that could not be established (UNKNOWN) makes a check UNKNOWN; ``all`` is NO as soon as one part is NO,
``any`` is YES as soon as one part is YES, and otherwise UNKNOWN wins. So an unknown fact can never turn into a pass.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from mtls_doctor.engine.paths import resolve
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import Unknown


class Verdict(enum.Enum):
    """Three-valued truth."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class Op(enum.Enum):
    """The operators a check may use; nothing else. Anything harder is a derived fact with its own unit test."""

    IS = "is"
    """Equal to the value (enums compare by their value: ``{ fact = "verdict.outcome", is = "reject" }``)."""
    EXISTS = "exists"
    """``exists = true``: present (not None); ``exists = false``: absent."""
    EMPTY = "empty"
    """``empty = true``: a collection with nothing in it."""
    IN = "in"
    """The value is one of a list."""
    CONTAINS = "contains"
    """A collection (or string) holds the value."""
    LACKS = "lacks"
    """A collection (or string) does not hold the value."""
    LT = "lt"
    GT = "gt"


class FactRef(Record):
    """A value that is another fact: ``{ fact = "server.verify_depth" }``."""

    path: str


class Check(Record):
    """``{ fact = "path", <op> = value }``."""

    fact: str
    op: Op
    value: Any

    def paths(self) -> list[str]:
        """Every fact path this check reads."""
        return [self.fact, *([self.value.path] if isinstance(self.value, FactRef) else [])]

    def test(self, facts: object) -> Verdict:
        """Evaluate against ``facts``."""
        actual = resolve(facts, self.fact)
        expected = resolve(facts, self.value.path) if isinstance(self.value, FactRef) else self.value
        if isinstance(actual, Unknown) or isinstance(expected, Unknown):
            return Verdict.UNKNOWN
        return Verdict.YES if _apply(self.op, actual, expected) else Verdict.NO


class Group(Record):
    """``all`` / ``any`` / ``none`` of checks or nested groups; an empty group is YES."""

    all: tuple[Check | Group, ...] = ()
    any: tuple[Check | Group, ...] = ()
    none: tuple[Check | Group, ...] = ()

    def checks(self) -> Iterable[Check]:
        """Every check, depth first."""
        for part in (*self.all, *self.any, *self.none):
            if isinstance(part, Check):
                yield part
            else:
                yield from part.checks()

    def test(self, facts: object) -> Verdict:
        """Kleene conjunction of the all-part, the any-part and the negated none-part."""
        parts = [_all(p.test(facts) for p in self.all)]
        if self.any:
            parts.append(_any(p.test(facts) for p in self.any))
        if self.none:
            parts.append(_not(_any(p.test(facts) for p in self.none)))
        return _all(parts)


def _all(verdicts: Iterable[Verdict]) -> Verdict:
    seen = set(verdicts)
    if Verdict.NO in seen:
        return Verdict.NO
    return Verdict.UNKNOWN if Verdict.UNKNOWN in seen else Verdict.YES


def _any(verdicts: Iterable[Verdict]) -> Verdict:
    seen = set(verdicts)
    if Verdict.YES in seen:
        return Verdict.YES
    return Verdict.UNKNOWN if Verdict.UNKNOWN in seen else Verdict.NO


def _not(v: Verdict) -> Verdict:
    return {Verdict.YES: Verdict.NO, Verdict.NO: Verdict.YES}.get(v, Verdict.UNKNOWN)


def _plain(value: Any) -> Any:
    """Enum members compare by their value, so rules can name them as TOML strings."""
    return value.value if isinstance(value, enum.Enum) else value


def _apply(op: Op, actual: Any, expected: Any) -> bool:
    """One operator. A None (absent) fact satisfies only ``exists = false``; so does an absent fact named as the value
    (TOML has no null, so ``expected`` is None only for a ``{ fact = "path" }`` value)."""
    if op is Op.EXISTS:
        return (actual is not None) is bool(expected)
    if actual is None or expected is None:
        return False
    actual, expected = _plain(actual), _plain(expected)
    if op is Op.IS:
        return bool(actual == expected)
    if op is Op.EMPTY:
        return (len(actual) == 0) is bool(expected)
    if op is Op.IN:
        return actual in expected
    if op is Op.CONTAINS:
        return expected in {_plain(a) for a in actual} if not isinstance(actual, str) else expected in actual
    if op is Op.LACKS:
        return expected not in {_plain(a) for a in actual} if not isinstance(actual, str) else expected not in actual
    if isinstance(actual, datetime) != isinstance(expected, datetime):
        return False
    if op is Op.LT:
        return bool(actual < expected)
    return bool(actual > expected)
