"""Conditions: a closed set of operators over fact paths, combined with all/any/none in Kleene three-valued logic.

A fact that could not be established (UNKNOWN) makes a check UNKNOWN; ``all`` is NO as soon as one part is NO,
``any`` is YES as soon as one part is YES, and otherwise UNKNOWN wins. So an unknown fact can never turn into a pass.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from mtls_doctor.engine.paths import resolve_steps
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import UNKNOWN


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
        return _compiled(self)(facts)


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
        return _compiled(self)(facts)


_Test = Callable[[object], Verdict]
_COMPILED: dict[int, tuple[Check | Group, _Test]] = {}
"""Each condition's test, built on first use and kept with the condition (so its id is never reused). A lint
evaluates some 40 rules on every server block: 400,000 tests at 10,000 blocks, where walking the condition records
and splitting their fact paths again each time was a third of the lint's time."""


def _compiled(part: Check | Group) -> _Test:
    entry = _COMPILED.get(id(part))
    if entry is None:
        entry = _COMPILED[id(part)] = (part, _check_test(part) if isinstance(part, Check) else _group_test(part))
    return entry[1]


def _getter(path: str) -> Callable[[object], Any]:
    """``resolve(facts, path)`` with the path split once."""
    steps = tuple(path.split("."))
    return lambda facts: resolve_steps(facts, steps)


def _check_test(check: Check) -> _Test:
    actual_of = _getter(check.fact)
    op, value = check.op, check.value
    if isinstance(value, FactRef):
        expected_of = _getter(value.path)

        def against_fact(facts: object) -> Verdict:
            actual, expected = actual_of(facts), expected_of(facts)
            if actual is UNKNOWN or expected is UNKNOWN:
                return Verdict.UNKNOWN
            return Verdict.YES if _apply(op, actual, expected) else Verdict.NO

        return against_fact

    def against_value(facts: object) -> Verdict:
        actual = actual_of(facts)
        if actual is UNKNOWN:
            return Verdict.UNKNOWN
        return Verdict.YES if _apply(op, actual, value) else Verdict.NO

    return against_value


def _group_test(group: Group) -> _Test:
    # Kleene logic, short-circuited: a NO part makes ``all`` NO and a YES part makes ``any`` YES whatever the
    # others are (an UNKNOWN among them included), so the rest need not be evaluated.
    parts = [_compiled(p) for p in group.all]
    if group.any:
        anys = tuple(_compiled(p) for p in group.any)
        parts.append(lambda facts: _kleene(anys, facts, Verdict.YES))
    if group.none:
        nones = tuple(_compiled(p) for p in group.none)
        parts.append(lambda facts: _NOT[_kleene(nones, facts, Verdict.YES)])

    def test(facts: object) -> Verdict:
        return _kleene(parts, facts, Verdict.NO)

    return test


_NOT = {Verdict.YES: Verdict.NO, Verdict.NO: Verdict.YES, Verdict.UNKNOWN: Verdict.UNKNOWN}


def _kleene(parts: Sequence[_Test], facts: object, decisive: Verdict) -> Verdict:
    """Kleene conjunction (``decisive`` NO) or disjunction (YES): ``decisive`` at the first part that is, else
    UNKNOWN if a part was, else the other answer."""
    result = Verdict.YES if decisive is Verdict.NO else Verdict.NO
    for part in parts:
        verdict = part(facts)
        if verdict is decisive:
            return decisive
        if verdict is Verdict.UNKNOWN:
            result = Verdict.UNKNOWN
    return result


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
