"""Small builders for OTLP protobuf requests used across the store tests."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

HOUR_NS = 3_600_000_000_000
T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        result = AnyValue()
        result.array_value.values.extend(any_value(v) for v in value)
        return result
    if isinstance(value, dict):
        result = AnyValue()
        result.kvlist_value.values.extend(key_values(value))
        return result
    if value is None:
        return AnyValue()
    return AnyValue(string_value=value)


def key_values(attributes: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def make_span(
    trace: int,
    span: int,
    *,
    parent: int | None = None,
    start: int = T0,
    duration: int = 1_000_000,
    name: str = "span",
    attributes: dict[str, Any] | None = None,
    **fields: Any,
) -> Span:
    result = Span(
        trace_id=trace.to_bytes(16, "big"),
        span_id=span.to_bytes(8, "big"),
        parent_span_id=parent.to_bytes(8, "big") if parent is not None else b"",
        name=name,
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration,
        **fields,
    )
    result.attributes.extend(key_values(attributes or {}))
    return result


def make_request(
    spans: list[Span],
    *,
    resource: dict[str, Any] | None = None,
    scope: tuple[str, str] = ("agenttrace", "0.1.0"),
) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        key_values(resource if resource is not None else {"service.name": "svc"})
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name, scope_spans.scope.version = scope
    scope_spans.spans.extend(spans)
    return request
