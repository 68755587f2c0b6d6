"""Small helpers over the OTLP protobuf types shared by the pipeline processors.

``opentelemetry.proto`` ships no type information, so messages are ``Any`` here; these helpers
are the one place that knows how an ``AnyValue`` maps to Python values and back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

# The Python value of an attribute: str, bool, int, float, bytes, list or dict (kvlist).
AttrValue = Any

STATUS_CODE_ERROR = 2


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


def set_attribute(attributes: Any, key: str, value: AttrValue) -> None:
    """Set ``key`` in a repeated ``KeyValue`` field, replacing an existing entry in place."""
    for kv in attributes:
        if kv.key == key:
            kv.value.Clear()
            set_value(kv.value, value)
            return
    set_value(attributes.add(key=key).value, value)


def attributes_dict(attributes: Any) -> dict[str, AttrValue]:
    return {kv.key: to_python(kv.value) for kv in attributes}


def iter_spans(request: Any) -> Iterator[tuple[Any, Any, Any]]:
    """Every ``(resource_spans, scope_spans, span)`` of a request."""
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield resource_spans, scope_spans, span


def span_count(request: Any) -> int:
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def new_request() -> Any:
    return ExportTraceServiceRequest()


__all__ = [
    "STATUS_CODE_ERROR",
    "AttrValue",
    "attributes_dict",
    "iter_spans",
    "new_request",
    "set_attribute",
    "set_value",
    "span_count",
    "to_python",
]
