"""The neutral trace shape every importer builds before it becomes OTLP protobuf.

Importers describe a session as :class:`TraceDraft` (a flat list of :class:`SpanDraft`), which
keeps the source-specific code free of protobuf plumbing and lets shared steps (aggregates,
deterministic ids) run once for every source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span, Status

from agenttrace import semconv
from agenttrace._otlp_values import set_value

AttrValue = str | bool | int | float | Sequence[str]
Attributes = dict[str, AttrValue]

SCOPE_PREFIX = "agenttrace.importers."

SPAN_KIND_INTERNAL = Span.SpanKind.SPAN_KIND_INTERNAL
SPAN_KIND_CLIENT = Span.SpanKind.SPAN_KIND_CLIENT


def trace_id_for(source: str, session_key: str) -> bytes:
    """A 16-byte trace id that is the same every time the same session is imported."""
    return _digest(source, session_key, size=16)


def span_id_for(source: str, session_key: str, *parts: str) -> bytes:
    """An 8-byte span id derived from the session and the record that produced the span."""
    return _digest(source, session_key, *parts, size=8)


def foreign_id(value: str, size: int, source: str, *context: str) -> bytes:
    """An id from another tracing system: kept when it is already OTel hex, else hashed.

    Keeping hex ids lets spans exported twice (or linked from elsewhere) meet again.
    """
    if len(value) == size * 2:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            pass
        else:
            if any(raw):
                return raw
    return _digest(source, *context, value, size=size)


def _digest(*parts: str, size: int) -> bytes:
    raw = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=size).digest()
    # An all-zero id is invalid in OTLP; the chance is negligible but the fix is free.
    return raw if any(raw) else b"\x01" + raw[1:]


@dataclass(slots=True)
class EventDraft:
    name: str
    time_ns: int
    attributes: Attributes = field(default_factory=dict)


@dataclass(slots=True)
class SpanDraft:
    span_id: bytes
    parent_id: bytes | None
    name: str
    start_ns: int
    end_ns: int
    attributes: Attributes = field(default_factory=dict)
    events: list[EventDraft] = field(default_factory=list)
    kind: int = SPAN_KIND_INTERNAL
    error: str | None = None

    def extend_to(self, time_ns: int) -> None:
        """Widen the span so it covers ``time_ns`` (log timestamps are not always ordered)."""
        if time_ns < self.start_ns:
            self.start_ns = time_ns
        if time_ns > self.end_ns:
            self.end_ns = time_ns


@dataclass(slots=True)
class TraceDraft:
    """One imported session: a single trace whose spans share ``trace_id``."""

    source: str
    service_name: str
    trace_id: bytes
    spans: list[SpanDraft] = field(default_factory=list)
    resource_attributes: Attributes = field(default_factory=dict)


def to_request(draft: TraceDraft, scope_version: str = "") -> ExportTraceServiceRequest:
    """Convert a finished draft into one OTLP request (one resource, one scope)."""
    request = ExportTraceServiceRequest()
    resource_spans: ResourceSpans = request.resource_spans.add()
    resource_attrs: Attributes = {"service.name": draft.service_name}
    resource_attrs.update(draft.resource_attributes)
    _fill(resource_spans.resource.attributes, resource_attrs)
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = SCOPE_PREFIX + draft.source
    scope_spans.scope.version = scope_version
    scope_spans.schema_url = semconv.SCHEMA_URL
    # Roots first among spans that start together, so a reader meets parents first.
    ordered = sorted(draft.spans, key=lambda s: (s.start_ns, s.parent_id is not None, s.span_id))
    for draft_span in ordered:
        span = scope_spans.spans.add()
        span.trace_id = draft.trace_id
        span.span_id = draft_span.span_id
        if draft_span.parent_id is not None:
            span.parent_span_id = draft_span.parent_id
        span.name = draft_span.name
        span.kind = draft_span.kind
        span.start_time_unix_nano = draft_span.start_ns
        span.end_time_unix_nano = max(draft_span.end_ns, draft_span.start_ns)
        _fill(span.attributes, draft_span.attributes)
        for draft_event in draft_span.events:
            event = span.events.add()
            event.name = draft_event.name
            event.time_unix_nano = draft_event.time_ns
            _fill(event.attributes, draft_event.attributes)
        if draft_span.error is not None:
            span.status.code = Status.StatusCode.STATUS_CODE_ERROR
            span.status.message = draft_span.error
    return request


def _fill(target: Sequence[KeyValue], attributes: Mapping[str, AttrValue]) -> None:
    add = target.add  # type: ignore[attr-defined]
    for key, value in attributes.items():
        set_value(add(key=key).value, value)
