"""Small helpers over the OTLP protobuf types shared by the pipeline processors.

``opentelemetry.proto`` ships no type information, so messages are ``Any`` here. How an
``AnyValue`` maps to Python values and back lives in :mod:`agenttrace._otlp_values`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agenttrace._otlp_values import AttrValue, set_value, to_python

STATUS_CODE_ERROR = 2


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
