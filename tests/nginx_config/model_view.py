"""A plain view of a model, for comparing models read from different forms of the same configuration."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

from mtls_doctor.nginx import Directive, EffectiveConfig
from mtls_doctor.record import Record, record_fields

_SKIPPED_FIELDS = frozenset({"parent", "config"})  # back-references: the parent is compared on its own


def plain(value: Any, main: str) -> Any:
    """Nested tuples/dicts of ``value``; a directive becomes (file name, line) with ``main`` shown as MAIN."""
    if isinstance(value, Directive):
        return ("MAIN" if value.source == main else Path(value.source).name, value.line)
    if isinstance(value, Record):
        return {
            name: plain(getattr(value, name), main)
            for name in record_fields(type(value))
            if name not in _SKIPPED_FIELDS
        }
    if isinstance(value, tuple):
        return tuple(plain(item, main) for item in value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def view(model: EffectiveConfig) -> Any:
    """The servers and http-level variable reads of ``model``, independent of how the main file is named."""
    main = model.config.files[0].name
    return plain(model.servers, main), plain(model.http_variables, main)
