"""Parsing a processor's YAML section into its typed config dataclass.

Every processor config is a flat-ish dataclass; this module turns a mapping into one with errors
that name the offending key (``ConfigError("max_events_per_span", "must be an integer")``), so the
collector's loader can prefix the processor's position and users see the full path.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from agenttrace.collector.errors import ConfigError

T = TypeVar("T")

# Keys the collector's loader consumes itself before handing the section over.
_LOADER_KEYS = frozenset({"type", "name"})


def parse_dataclass(cls: type[T], data: Mapping[str, Any], prefix: str = "") -> T:
    """Build ``cls`` from ``data``, checking unknown keys and each value's type."""
    if not isinstance(data, Mapping):
        raise ConfigError(prefix.rstrip(".") or "<section>", "must be a mapping")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - fields - _LOADER_KEYS)
    if unknown:
        raise ConfigError(
            f"{prefix}{unknown[0]}", f"unknown key (known: {', '.join(sorted(fields))})"
        )
    values = {
        key: coerce(hints[key], value, f"{prefix}{key}")
        for key, value in data.items()
        if key in fields
    }
    return cls(**values)


def coerce(hint: Any, value: Any, key_path: str) -> Any:
    """Check ``value`` against the annotation ``hint``; ints are accepted where floats are."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return coerce(option, value, key_path)
            except ConfigError as err:
                errors.append(err.message)
        raise ConfigError(key_path, " or ".join(errors))
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise ConfigError(key_path, f"must be one of {', '.join(map(repr, allowed))}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(key_path, "must be a list")
        item_hint = get_args(hint)[0]
        return tuple(coerce(item_hint, item, f"{key_path}[{i}]") for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(key_path, "must be a mapping")
        value_hint = get_args(hint)[1]
        return {str(k): coerce(value_hint, v, f"{key_path}.{k}") for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(key_path, "must be true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key_path, "must be an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key_path, "must be a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(key_path, "must be a string")
        return value
    if dataclasses.is_dataclass(hint):
        return parse_dataclass(hint, value, f"{key_path}.")  # type: ignore[arg-type]
    if hint is Any:
        return value
    raise TypeError(f"unsupported config annotation {hint!r} for {key_path}")


def require_positive(key_path: str, value: float | int | None) -> None:
    if value is not None and value <= 0:
        raise ConfigError(key_path, f"must be greater than 0, got {value}")
