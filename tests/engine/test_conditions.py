"""The condition operators and all/any/none in Kleene three-valued logic (mtls_doctor/engine/conditions.py).

Each operator is stated as a truth table over the four kinds of fact value a rule can meet: one that makes the check
true, one that makes it false, UNKNOWN (could not be established) and None (absent). UNKNOWN always gives UNKNOWN;
None satisfies only ``exists = false``. The groups are stated over {YES, NO, UNKNOWN}: every pair, the empty group
and nesting. The expected tables are written out, not computed, so they say what Kleene logic is.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import pytest

from mtls_doctor.engine.conditions import Check, FactRef, Group, Op, Verdict
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import UNKNOWN

Y, N, U = Verdict.YES, Verdict.NO, Verdict.UNKNOWN
T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2027, 1, 1, tzinfo=UTC)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Inner(Record):
    value: Any = None


class Facts(Record):
    """A small typed facts record: ``value`` is the fact under test, ``other`` the one a FactRef names."""

    value: Any = None
    other: Any = None
    inner: Inner | None = None


# op, value, a fact value that makes the check true, one that makes it false, and the result for None.
TABLE: list[tuple[str, Op, Any, Any, Any, Verdict]] = [
    ("is", Op.IS, "reject", "reject", "accept", N),
    ("is-enum-by-value", Op.IS, "red", Colour.RED, Colour.BLUE, N),
    ("is-false", Op.IS, False, False, True, N),
    ("is-number", Op.IS, 3, 3, 4, N),
    ("exists-true", Op.EXISTS, True, "x", None, N),
    ("exists-false", Op.EXISTS, False, None, "x", Y),
    ("exists-true-of-false-value", Op.EXISTS, True, False, None, N),
    ("empty-true", Op.EMPTY, True, (), ("a",), N),
    ("empty-false", Op.EMPTY, False, ("a",), (), N),
    ("in", Op.IN, ("a", "b"), "a", "c", N),
    ("in-enum-by-value", Op.IN, ("red",), Colour.RED, Colour.BLUE, N),
    ("contains", Op.CONTAINS, "clientAuth", ("serverAuth", "clientAuth"), ("serverAuth",), N),
    ("contains-enum-members", Op.CONTAINS, "red", frozenset({Colour.RED}), frozenset({Colour.BLUE}), N),
    ("contains-string", Op.CONTAINS, "SSL", "The SSL certificate error", "Bad Request", N),
    ("lacks", Op.LACKS, "clientAuth", ("serverAuth",), ("clientAuth",), N),
    ("lacks-string", Op.LACKS, "SSL", "Bad Request", "The SSL certificate error", N),
    ("lt", Op.LT, 2, 1, 2, N),
    ("gt", Op.GT, 2, 3, 2, N),
    ("lt-time", Op.LT, T1, T0, T1, N),
    ("gt-time", Op.GT, T0, T1, T0, N),
]


def _four_kinds(name: str, op: Op, given: Any, true: Any, false: Any, *, none: Verdict) -> list[object]:
    """The cases of one row: ``given`` with the value that makes the check true, false, UNKNOWN and None."""
    kinds = (("true", true, Y), ("false", false, N), ("unknown", UNKNOWN, U), ("none", None, none))
    return [pytest.param(op, given, value, expected, id=f"{name}:{kind}") for kind, value, expected in kinds]


def _cases() -> list[object]:
    return [case for name, op, value, t, f, none in TABLE for case in _four_kinds(name, op, value, t, f, none=none)]


@pytest.mark.parametrize(("op", "value", "fact", "expected"), _cases())
def test_operator_truth_table(op: Op, value: Any, fact: Any, expected: Verdict) -> None:
    check = Check(fact="value", op=op, value=value)
    assert check.test(Facts(value=fact)) is expected


def test_every_operator_is_in_the_truth_table() -> None:
    assert {op for _, op, *_ in TABLE} == set(Op)


# A value that is another fact: { fact = "value", <op> = { fact = "other" } }. The referenced fact decides like a
# literal when it is established; UNKNOWN makes the check UNKNOWN, and an absent (None) one never makes it true.
REF_TABLE: list[tuple[str, Op, Any, Any, Any]] = [
    ("is", Op.IS, "a", "a", "b"),
    ("in", Op.IN, "a", ("a", "b"), ("c",)),
    ("contains", Op.CONTAINS, ("a", "b"), "a", "c"),
    ("lacks", Op.LACKS, ("a", "b"), "c", "a"),
    ("lt", Op.LT, 1, 2, 1),
    ("gt", Op.GT, 3, 2, 3),
    ("gt-time", Op.GT, T1, T0, T1),
]


def _ref_cases() -> list[object]:
    return [case for name, op, fact, t, f in REF_TABLE for case in _four_kinds(f"ref-{name}", op, fact, t, f, none=N)]


@pytest.mark.parametrize(("op", "fact", "other", "expected"), _ref_cases())
def test_fact_to_fact_truth_table(op: Op, fact: Any, other: Any, expected: Verdict) -> None:
    check = Check(fact="value", op=op, value=FactRef(path="other"))
    assert check.test(Facts(value=fact, other=other)) is expected


@pytest.mark.parametrize(("fact", "other"), [(UNKNOWN, 1), (UNKNOWN, UNKNOWN), (None, UNKNOWN)])
def test_fact_to_fact_with_an_unknown_side_is_unknown(fact: Any, other: Any) -> None:
    check = Check(fact="value", op=Op.GT, value=FactRef(path="other"))
    assert check.test(Facts(value=fact, other=other)) is U


def test_a_fact_to_fact_check_reads_both_paths() -> None:
    assert Check(fact="value", op=Op.GT, value=FactRef(path="other")).paths() == ["value", "other"]


@pytest.mark.parametrize(
    ("inner", "op", "value", "expected"),
    [
        pytest.param(UNKNOWN, Op.IS, 1, U, id="unknown-parent-is"),
        pytest.param(UNKNOWN, Op.EXISTS, False, U, id="unknown-parent-exists-false"),
        pytest.param(None, Op.IS, 1, N, id="absent-parent-is"),
        pytest.param(None, Op.EXISTS, False, Y, id="absent-parent-exists-false"),
        pytest.param(Inner(value=1), Op.IS, 1, Y, id="present-parent"),
    ],
)
def test_a_path_through_an_unknown_or_absent_fact(inner: Any, op: Op, value: Any, expected: Verdict) -> None:
    """``inner.value`` below an UNKNOWN ``inner`` is UNKNOWN; below an absent one it is absent."""
    assert Check(fact="inner.value", op=op, value=value).test(Facts(inner=inner)) is expected


def test_comparing_a_time_with_a_number_is_false() -> None:
    assert Check(fact="value", op=Op.LT, value=5).test(Facts(value=T0)) is N
    assert Check(fact="value", op=Op.GT, value=T0).test(Facts(value=5)) is N


# -- all / any / none over {YES, NO, UNKNOWN} ---------------------------------------------------------------------

CONSTANT = Facts(value=Inner(value=True), other=Inner(value=False), inner=UNKNOWN)  # type: ignore[arg-type]
"""Facts where ``value.value`` is YES, ``other.value`` NO and ``inner.value`` UNKNOWN when tested ``is = true``."""
PART = {
    Y: Check(fact="value.value", op=Op.IS, value=True),
    N: Check(fact="other.value", op=Op.IS, value=True),
    U: Check(fact="inner.value", op=Op.IS, value=True),
}

AND = {
    (Y, Y): Y, (Y, N): N, (Y, U): U,
    (N, Y): N, (N, N): N, (N, U): N,
    (U, Y): U, (U, N): N, (U, U): U,
}  # fmt: skip
OR = {
    (Y, Y): Y, (Y, N): Y, (Y, U): Y,
    (N, Y): Y, (N, N): N, (N, U): U,
    (U, Y): Y, (U, N): U, (U, U): U,
}  # fmt: skip
NOR = {
    (Y, Y): N, (Y, N): N, (Y, U): N,
    (N, Y): N, (N, N): Y, (N, U): U,
    (U, Y): N, (U, N): U, (U, U): U,
}  # fmt: skip
TABLES = {"all": AND, "any": OR, "none": NOR}


def group(kind: str, *parts: Check | Group) -> Group:
    """A group with ``parts`` as its ``kind`` list."""
    return Group(**{kind: parts})


def test_the_constant_parts_are_what_they_say() -> None:
    assert {v: p.test(CONSTANT) for v, p in PART.items()} == {Y: Y, N: N, U: U}


@pytest.mark.parametrize(
    ("kind", "a", "b", "expected"),
    [
        pytest.param(kind, a, b, expected, id=f"{kind}({a.name},{b.name})")
        for kind, table in TABLES.items()
        for (a, b), expected in table.items()
    ],
)
def test_group_truth_table(kind: str, a: Verdict, b: Verdict, expected: Verdict) -> None:
    assert group(kind, PART[a], PART[b]).test(CONSTANT) is expected


@pytest.mark.parametrize(
    ("kind", "single", "expected"),
    [
        pytest.param("all", Y, Y, id="all(YES)"),
        pytest.param("all", N, N, id="all(NO)"),
        pytest.param("all", U, U, id="all(UNKNOWN)"),
        pytest.param("any", Y, Y, id="any(YES)"),
        pytest.param("any", N, N, id="any(NO)"),
        pytest.param("any", U, U, id="any(UNKNOWN)"),
        pytest.param("none", Y, N, id="none(YES)"),
        pytest.param("none", N, Y, id="none(NO)"),
        pytest.param("none", U, U, id="none(UNKNOWN)"),
    ],
)
def test_group_of_one(kind: str, single: Verdict, expected: Verdict) -> None:
    assert group(kind, PART[single]).test(CONSTANT) is expected


@pytest.mark.parametrize("kind", ["all", "any", "none"])
def test_an_empty_group_is_yes(kind: str) -> None:
    """An empty list asks nothing (a rule without [applies] always applies)."""
    assert group(kind).test(CONSTANT) is Y
    assert Group().test(CONSTANT) is Y


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        pytest.param({"all": (PART[Y],), "any": (PART[N], PART[Y]), "none": (PART[N],)}, Y, id="all-yes"),
        pytest.param({"all": (PART[Y],), "any": (PART[N], PART[N])}, N, id="any-no"),
        pytest.param({"all": (PART[Y],), "none": (PART[Y],)}, N, id="none-of-yes"),
        pytest.param({"all": (PART[Y],), "any": (PART[U],), "none": (PART[N],)}, U, id="any-unknown"),
        pytest.param({"all": (PART[U],), "none": (PART[Y],)}, N, id="no-beats-unknown"),
    ],
)
def test_the_parts_of_one_group_are_a_conjunction(parts: dict[str, tuple[Check, ...]], expected: Verdict) -> None:
    assert Group(**parts).test(CONSTANT) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        pytest.param(group("all", group("any", PART[N], PART[Y]), PART[Y]), Y, id="all(any(NO,YES),YES)"),
        pytest.param(group("any", group("all", PART[Y], PART[U]), PART[N]), U, id="any(all(YES,UNKNOWN),NO)"),
        pytest.param(group("any", group("all", PART[Y], PART[U]), PART[Y]), Y, id="any(all(YES,UNKNOWN),YES)"),
        pytest.param(group("none", group("none", PART[Y])), Y, id="none(none(YES))"),
        pytest.param(group("none", group("none", PART[U])), U, id="none(none(UNKNOWN))"),
        pytest.param(group("all", group("none", PART[U]), PART[N]), N, id="all(none(UNKNOWN),NO)"),
        pytest.param(group("all", group("all", group("any", PART[U]))), U, id="all(all(any(UNKNOWN)))"),
    ],
)
def test_nested_groups(condition: Group, expected: Verdict) -> None:
    assert condition.test(CONSTANT) is expected


def test_checks_lists_every_check_of_nested_groups_depth_first() -> None:
    condition = Group(all=(PART[Y], group("any", PART[N], group("none", PART[U]))), none=(PART[N],))
    assert [c.fact for c in condition.checks()] == ["value.value", "other.value", "inner.value", "other.value"]
