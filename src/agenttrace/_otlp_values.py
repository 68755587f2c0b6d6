"""Python values in and out of OTLP ``AnyValue`` messages, shared by every producer of spans.

It needs only the protobuf message API, so agent-side and service-side code can both use it.
"""

from __future__ import annotations

from typing import Any

# The Python value of an attribute: str, bool, int, float, bytes, list or dict (kvlist).
AttrValue = Any


def to_python(value: Any) -> AttrValue:
    """The Python value held by an OTLP ``AnyValue`` (``None`` when unset)."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [to_python(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: to_python(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, which)


def set_value(target: Any, value: AttrValue) -> None:
    """Store a Python value into an OTLP ``AnyValue`` (bool before int: bool is an int)."""
    if isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, bytes):
        target.bytes_value = value
    elif isinstance(value, (list, tuple)):
        array = target.array_value
        del array.values[:]
        for item in value:
            set_value(array.values.add(), item)
    elif isinstance(value, dict):
        kvlist = target.kvlist_value
        del kvlist.values[:]
        for key, item in value.items():
            set_value(kvlist.values.add(key=str(key)).value, item)
    else:
        target.string_value = str(value)


__all__ = ["AttrValue", "set_value", "to_python"]
