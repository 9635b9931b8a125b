"""Records behave as frozen, slotted, keyword-only dataclasses (mtls_doctor/record.py)."""

from __future__ import annotations

import pickle

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


def test_fields_come_in_declaration_order_inherited_first() -> None:
    assert record_fields(Labelled) == ("x", "y", "label")
    assert Labelled(x=1, label="a") == Labelled(x=1, y=0, label="a")


def test_records_take_keywords_only_unless_the_class_says_otherwise() -> None:
    with pytest.raises(TypeError, match="keyword arguments only"):
        Point(1, 2)  # type: ignore[call-arg]
    assert Pair("a") == Pair(first="a", second="")
    assert Pair("a", "b").second == "b"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        # the type checker refuses each of these calls too (hence the ignores): the checks are for run time
        (lambda: Pair("a", "b", "c"), "at most 2 positional arguments, 3 given"),  # type: ignore[call-arg]
        (lambda: Pair("a", first="b"), "multiple values for 'first'"),  # type: ignore[misc]
        (lambda: Point(y=1), "missing keyword argument 'x'"),  # type: ignore[call-arg]
        (lambda: Point(x=1, z=2), "unexpected keyword argument"),  # type: ignore[call-arg]
    ],
)
def test_wrong_arguments_are_type_errors(make: object, message: str) -> None:
    assert callable(make)
    with pytest.raises(TypeError, match=message):
        make()


def test_records_are_frozen_and_slotted() -> None:
    point = Point(x=1)
    with pytest.raises(AttributeError, match="frozen"):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError, match="frozen"):
        del point.x
    assert not hasattr(point, "__dict__")


def test_equality_and_hash_are_by_value_and_type() -> None:
    assert Point(x=1, y=2) == Point(x=1, y=2)
    assert hash(Point(x=1, y=2)) == hash(Point(x=1, y=2))
    assert Point(x=1) != Labelled(x=1)
    assert len({Point(x=1), Point(x=1), Point(x=2)}) == 2


def test_a_mutable_default_is_refused_when_the_class_is_defined() -> None:
    with pytest.raises(TypeError, match="mutable default"):

        class Bad(Record):
            items: list[int] = []  # noqa: RUF012 - the point of the test


def test_replace_repr_and_pickle() -> None:
    point = Labelled(x=1, label="a")
    assert replace(point, y=5) == Labelled(x=1, y=5, label="a")
    assert repr(point) == "Labelled(x=1, y=0, label='a')"
    assert pickle.loads(pickle.dumps(point)) == point  # noqa: S301 - our own bytes
    assert pickle.loads(pickle.dumps(Pair("a", "b"))) == Pair("a", "b")  # noqa: S301 - our own bytes
