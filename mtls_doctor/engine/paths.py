"""Fact paths (``path.intermediates_without_clientauth``): resolving them against facts, and checking them against
the facts model's types when a rule loads, so a typo fails the catalogue instead of silently passing."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Sequence
from typing import Any

from mtls_doctor.record import is_record, record_fields
from mtls_doctor.vocabulary import UNKNOWN, Unknown


def resolve(root: object, path: str) -> Any:
    """The value at ``path``: None when a step is absent (None), UNKNOWN when a step could not be established."""
    return resolve_steps(root, path.split("."))


def resolve_steps(root: object, steps: Sequence[str]) -> Any:
    """resolve() of a path already split into its steps (a compiled condition splits its paths once)."""
    value: Any = root
    for step in steps:
        if value is UNKNOWN or value is None:
            return value
        value = getattr(value, step)
    return value


def unknown_prefix(root: object, path: str) -> str | None:
    """The shortest prefix of ``path`` whose value is UNKNOWN, if any (to look up why it is unknown)."""
    value: Any = root
    steps = path.split(".")
    for i, step in enumerate(steps):
        if value is None:
            return None
        value = getattr(value, step)
        if isinstance(value, Unknown):
            return ".".join(steps[: i + 1])
    return None


class PathError(ValueError):
    """A fact path that does not exist in the facts model."""


def check_path(root: type, path: str) -> type | None:
    """The type a fact path ends in; PathError naming the bad step. None when the end type is not a class.

    Generic records are followed with their type arguments: ``Setting[VerifyClient]``'s ``value`` is a VerifyClient.
    """
    current: Any = root
    walked: list[str] = []
    for step in path.split("."):
        classes = _records_in(current)
        if not classes:
            raise PathError(f"'{'.'.join(walked)}' has no fields, so '{path}' cannot go on to '{step}'")
        options = []
        known: set[str] = set()
        for cls, bindings in classes:
            hints = _hints(cls)
            known.update(hints)
            if step in hints:
                hint = hints[step]
                options.append(bindings.get(hint, hint) if isinstance(hint, typing.TypeVar) else hint)
        if not options:
            where = ".".join(walked) or root.__name__
            raise PathError(f"'{where}' has no field '{step}' (fields: {', '.join(sorted(known))})")
        current = options[0] if len(options) == 1 else typing.Union[tuple(options)]  # noqa: UP007 - built at run time
        walked.append(step)
    return current if isinstance(current, type) else None


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {name: hints[name] for name in record_fields(cls)}


def _records_in(tp: Any) -> list[tuple[type, dict[Any, Any]]]:
    """The record classes a (possibly union-typed, possibly generic) annotation can hold, each with the binding
    of its type parameters."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        return [c for arg in typing.get_args(tp) for c in _records_in(arg)]
    origin = typing.get_origin(tp)
    if origin is not None and is_record(origin):
        parameters = getattr(origin, "__parameters__", ())
        return [(origin, dict(zip(parameters, typing.get_args(tp), strict=False)))]
    if is_record(tp):
        return [(tp, {})]
    return []
