"""Serialising captured content: orjson first, a safe repr when a value will not serialise."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
_REPR_LIMIT = 4096


def safe_repr(value: object) -> str:
    """``repr`` that cannot raise and cannot be unbounded."""
    try:
        text = repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__qualname__}>"
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT] + "..."


def _default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # pydantic v2 models, provider SDK responses
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:
            return safe_repr(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return dict(value)
    return safe_repr(value)


def to_bytes(value: object) -> bytes:
    """UTF-8 text for ``value``: strings as they are, everything else as JSON."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS)
    except (TypeError, ValueError):
        return orjson.dumps(safe_repr(value))


def truncate(data: bytes, limit: int) -> tuple[str, bool]:
    """The text of ``data`` cut to at most ``limit`` bytes on a character boundary."""
    if len(data) <= limit:
        return data.decode("utf-8", "replace"), False
    return data[:limit].decode("utf-8", "ignore"), True
