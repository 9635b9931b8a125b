"""Frozen, typed, keyword-only records: what the facts model, the engine and the renderers' documents are made of.

Semantically a ``@dataclass(frozen=True, slots=True, kw_only=True)`` (type checkers see exactly that, through
PEP 681's dataclass_transform), but defining one costs ~0.03 ms instead of ~1.5 ms for a dataclass and ~0.2 ms for
a NamedTuple: both compile ``__init__``/``__new__`` (and more) for every class, and the ~70 record types of a
`check` run would otherwise cost more start-up time than the whole diagnosis. ``class X(Record, kw_only=False)``
also takes its fields positionally, in declaration order (small value types such as a document's spans).
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar, dataclass_transform

_R = TypeVar("_R", bound="Record")
_MISSING: Any = object()


@dataclass_transform(kw_only_default=True, frozen_default=True)
class _RecordMeta(type):
    """Turns the annotations of a Record subclass into slots, keeping defaults aside (slots forbid class values)."""

    def __new__(
        mcls,
        name: str,
        bases: tuple[type, ...],
        ns: dict[str, Any],
        *,
        kw_only: bool = True,
        hot: bool = False,
        **kw: Any,
    ) -> _RecordMeta:
        own = tuple(n for n, a in ns.get("__annotations__", {}).items() if not str(a).startswith("ClassVar"))
        inherited: tuple[str, ...] = ()
        defaults: dict[str, Any] = {}
        hot = hot or any(getattr(base, "__record_hot__", False) for base in bases)  # a subclass has more fields
        for base in bases:
            inherited += getattr(base, "__record_fields__", ())
            defaults.update(getattr(base, "__record_defaults__", {}))
        for field_name in own:
            if field_name in ns:
                default = ns.pop(field_name)
                if isinstance(default, list | dict | set):
                    msg = f"{name}.{field_name}: a mutable default would be shared by every instance"
                    raise TypeError(msg)
                defaults[field_name] = default
        ns["__slots__"] = own
        ns["__record_fields__"] = inherited + own
        ns["__record_defaults__"] = defaults
        ns["__record_positional__"] = not kw_only
        ns["__record_hot__"] = hot
        if hot:
            ns["__init__"] = _compiled_init(name, inherited + own, defaults, positional=not kw_only)
        return super().__new__(mcls, name, bases, ns, **kw)


def _compiled_init(name: str, fields: tuple[str, ...], defaults: dict[str, Any], *, positional: bool) -> Any:
    """An ``__init__`` with the fields as its parameters, for a record built in bulk (``hot=True``).

    The generic ``Record.__init__`` loops over the fields and looks each up in its keyword dict; for the records a
    lint builds by the hundred per server block (directives, settings, findings) that was a fifth of a lint. Compiling
    one costs about 0.05 ms at class creation, which is why it is opt-in: most records are built a few times a run.
    Wrong arguments are TypeErrors, in Python's own words.
    """
    params = ", ".join(f"{f}=_defaults[{f!r}]" if f in defaults else f for f in fields)
    body = "".join(f"    _set(self, {f!r}, {f})\n" for f in fields) or "    pass\n"
    star = "" if positional else "*, "
    source = f"def __init__(self, {star}{params}):\n{body}"
    scope: dict[str, Any] = {"_defaults": defaults, "_set": object.__setattr__}
    exec(compile(source, f"<record {name}>", "exec"), scope)  # noqa: S102 - our own field names, checked identifiers
    init = scope["__init__"]
    init.__qualname__ = f"{name}.__init__"
    return init


class Record(metaclass=_RecordMeta):
    """Base of every frozen record: keyword-only construction, value equality and hashing, a readable repr."""

    __slots__ = ()
    __record_fields__: ClassVar[tuple[str, ...]]
    __record_defaults__: ClassVar[dict[str, Any]]
    __record_positional__: ClassVar[bool]
    __record_hot__: ClassVar[bool]

    def __init__(self, *args: Any, **values: Any) -> None:
        if args:
            self._take_positional(args, values)
        defaults = self.__record_defaults__
        setter = object.__setattr__
        given = values.pop
        for name in self.__record_fields__:
            # sentinels, not KeyError: most records leave several fields at their defaults, and an exception per
            # field made construction the lint's largest single cost (some 280 records per server block)
            value = given(name, _MISSING)
            if value is _MISSING:
                value = defaults.get(name, _MISSING)
                if value is _MISSING:
                    msg = f"{type(self).__name__}() missing keyword argument {name!r}"
                    raise TypeError(msg)
            setter(self, name, value)
        if values:
            msg = f"{type(self).__name__}() got unexpected keyword argument(s): {', '.join(values)}"
            raise TypeError(msg)

    def _take_positional(self, args: tuple[Any, ...], values: dict[str, Any]) -> None:
        cls = type(self).__name__
        if not self.__record_positional__:
            msg = f"{cls}() takes keyword arguments only"
            raise TypeError(msg)
        if len(args) > len(self.__record_fields__):
            msg = f"{cls}() takes at most {len(self.__record_fields__)} positional arguments, {len(args)} given"
            raise TypeError(msg)
        for name, value in zip(self.__record_fields__, args, strict=False):
            if name in values:
                msg = f"{cls}() got multiple values for {name!r}"
                raise TypeError(msg)
            values[name] = value

    def __setattr__(self, name: str, value: Any) -> None:
        msg = f"{type(self).__name__} is frozen: cannot set {name!r}"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> None:
        msg = f"{type(self).__name__} is frozen: cannot delete {name!r}"
        raise AttributeError(msg)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__record_fields__)

    def __hash__(self) -> int:
        return hash((type(self), *(getattr(self, n) for n in self.__record_fields__)))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__record_fields__)
        return f"{type(self).__name__}({inner})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by value through the keyword constructor (frozen slots cannot be restored by setattr).
        return (_rebuild, (type(self), tuple(getattr(self, n) for n in self.__record_fields__)))


def _rebuild(cls: type[_R], values: tuple[Any, ...]) -> _R:
    # The values were a valid record when pickled: set them straight into the slots, without the keyword
    # constructor (unpickling the rule catalogue builds ~600 records on every start).
    record: _R = object.__new__(cls)
    setter = object.__setattr__
    for name, value in zip(cls.__record_fields__, values, strict=True):
        setter(record, name, value)
    return record


def replace(record: _R, **changes: Any) -> _R:
    """A copy of ``record`` with some fields changed."""
    values = {n: getattr(record, n) for n in record.__record_fields__}
    values.update(changes)
    return type(record)(**values)


def record_fields(cls: type) -> tuple[str, ...]:
    """The field names of a Record class, in declaration order (inherited first)."""
    return getattr(cls, "__record_fields__", ())


def is_record(tp: object) -> bool:
    """``tp`` is a Record class."""
    return isinstance(tp, type) and issubclass(tp, Record)
