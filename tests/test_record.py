"""Records behave as frozen, slotted, keyword-only dataclasses (mtls_doctor/record.py)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from mtls_doctor.record import Record, record_fields, replace


class Point(Record):
    x: int
    y: int = 0


class Labelled(Point):
    label: str = ""


class Pair(Record, kw_only=False):
    first: str
    second: str = ""


class HotPoint(Record, hot=True):
    """Built with a compiled ``__init__`` (a record made by the thousand): it must behave exactly as Point."""

    x: int
    y: int = 0


class HotLabelled(HotPoint):
    label: str = ""


class HotPair(Record, kw_only=False, hot=True):
    first: str
    second: str = ""


GENERIC_AND_HOT = pytest.mark.parametrize(
    ("point", "labelled", "pair"), [(Point, Labelled, Pair), (HotPoint, HotLabelled, HotPair)], ids=["generic", "hot"]
)


@GENERIC_AND_HOT
def test_fields_come_in_declaration_order_inherited_first(point: Any, labelled: Any, pair: Any) -> None:
    assert record_fields(labelled) == ("x", "y", "label")
    assert labelled(x=1, label="a") == labelled(x=1, y=0, label="a")
    assert labelled(x=1, label="a").label == "a"  # a subclass of a hot record gets its own, longer __init__


@GENERIC_AND_HOT
def test_records_take_keywords_only_unless_the_class_says_otherwise(point: Any, labelled: Any, pair: Any) -> None:
    with pytest.raises(TypeError, match=r"keyword arguments only|positional argument"):
        point(1, 2)
    assert pair("a") == pair(first="a", second="")
    assert pair("a", "b").second == "b"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        # the type checker refuses each of these calls too (hence the ignores): the checks are for run time
        (lambda: Pair("a", "b", "c"), "at most 2 positional arguments, 3 given"),  # type: ignore[call-arg]
        (lambda: Pair("a", first="b"), "multiple values for 'first'"),  # type: ignore[misc]
        (lambda: Point(y=1), "missing keyword argument 'x'"),  # type: ignore[call-arg]
        (lambda: Point(x=1, z=2), "unexpected keyword argument"),  # type: ignore[call-arg]
        # a hot record's compiled __init__ says it in Python's own words
        (lambda: HotPair("a", "b", "c"), "takes from 2 to 3 positional arguments but 4 were given"),  # type: ignore[call-arg]
        (lambda: HotPair("a", first="b"), "multiple values for argument 'first'"),  # type: ignore[misc]
        (lambda: HotPoint(y=1), "missing 1 required keyword-only argument: 'x'"),  # type: ignore[call-arg]
        (lambda: HotPoint(x=1, z=2), "unexpected keyword argument 'z'"),  # type: ignore[call-arg]
    ],
)
def test_wrong_arguments_are_type_errors(make: object, message: str) -> None:
    assert callable(make)
    with pytest.raises(TypeError, match=message):
        make()


@GENERIC_AND_HOT
def test_records_are_frozen_and_slotted(point: Any, labelled: Any, pair: Any) -> None:
    point = point(x=1)
    with pytest.raises(AttributeError, match="frozen"):
        point.x = 2
    with pytest.raises(AttributeError, match="frozen"):
        del point.x
    assert not hasattr(point, "__dict__")


@GENERIC_AND_HOT
def test_equality_and_hash_are_by_value_and_type(point: Any, labelled: Any, pair: Any) -> None:
    assert point(x=1, y=2) == point(x=1, y=2)
    assert hash(point(x=1, y=2)) == hash(point(x=1, y=2))
    assert point(x=1) != labelled(x=1)
    assert len({point(x=1), point(x=1), point(x=2)}) == 2


def test_a_mutable_default_is_refused_when_the_class_is_defined() -> None:
    with pytest.raises(TypeError, match="mutable default"):

        class Bad(Record):
            items: list[int] = []  # noqa: RUF012 - the point of the test


@GENERIC_AND_HOT
def test_replace_repr_and_pickle(point: Any, labelled: Any, pair: Any) -> None:
    made = labelled(x=1, label="a")
    assert replace(made, y=5) == labelled(x=1, y=5, label="a")
    assert repr(made) == f"{labelled.__name__}(x=1, y=0, label='a')"
    assert pickle.loads(pickle.dumps(made)) == made  # noqa: S301 - our own bytes
    assert pickle.loads(pickle.dumps(pair("a", "b"))) == pair("a", "b")  # noqa: S301 - our own bytes
