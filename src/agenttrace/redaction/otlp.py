"""Redaction of a whole OTLP ``ExportTraceServiceRequest``, in place.

Covers every place a value can hide: resource and scope attributes, span names and
attributes, event names and attributes, link attributes and status messages, whoever
produced the span (agenttrace, another SDK, a third-party instrumentation). Each span that had
something replaced gets the ``agenttrace.redaction.*`` summary attributes. Used by the
collector's redaction processor and the importers; needs only the OTLP protobuf classes.
"""

from __future__ import annotations

from collections.abc import MutableSequence
from dataclasses import dataclass
from typing import Any

from agenttrace.redaction.engine import DROP, Redactor
from agenttrace.redaction.summary import RedactionSummary


@dataclass
class RequestStats:
    """What one request lost to redaction (counters for processor metrics)."""

    spans_redacted: int = 0
    values_redacted: int = 0


def redact_request(request: Any, redactor: Redactor) -> RequestStats:
    """Redact ``request`` (an ``ExportTraceServiceRequest``) in place."""
    stats = RequestStats()
    for resource_spans in request.resource_spans:
        shared = RedactionSummary()
        _redact_key_values(resource_spans.resource.attributes, redactor, shared)
        for scope_spans in resource_spans.scope_spans:
            _redact_key_values(scope_spans.scope.attributes, redactor, shared)
            for span in scope_spans.spans:
                summary = _redact_span(span, redactor)
                if summary:
                    stats.spans_redacted += 1
                    stats.values_redacted += summary.count
                    _append_summary(span.attributes, summary)
        stats.values_redacted += shared.count
    return stats


def _redact_span(span: Any, redactor: Redactor) -> RedactionSummary:
    summary = RedactionSummary()
    if span.name:
        span.name = redactor.redact_text(span.name, summary)
    _redact_key_values(span.attributes, redactor, summary)
    for event in span.events:
        if event.name:
            event.name = redactor.redact_text(event.name, summary)
        _redact_key_values(event.attributes, redactor, summary)
    for link in span.links:
        _redact_key_values(link.attributes, redactor, summary)
    if span.status.message:
        span.status.message = redactor.redact_text(span.status.message, summary)
    return summary


def _redact_key_values(
    key_values: MutableSequence[Any], redactor: Redactor, summary: RedactionSummary
) -> None:
    index = 0
    while index < len(key_values):
        key_value = key_values[index]
        if _redact_any_value(key_value.key, key_value.value, redactor, summary):
            index += 1
        else:
            del key_values[index]


def _redact_any_value(key: str, value: Any, redactor: Redactor, summary: RedactionSummary) -> bool:
    """Redact one AnyValue in place; False when it must be removed (drop mode)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        redacted = redactor.redact_value(key, value.string_value, summary)
        if redacted is DROP:
            return False
        value.string_value = redacted
    elif which == "array_value":
        items = value.array_value.values
        strings = [
            item.string_value for item in items if item.WhichOneof("value") == "string_value"
        ]
        if strings and len(strings) == len(items):
            redacted = redactor.redact_value(key, strings, summary)
            if redacted is DROP:
                return False
            for item, text in zip(items, redacted, strict=True):
                item.string_value = text
        else:
            for item in items:
                _redact_any_value(key, item, redactor, summary)
    elif which == "kvlist_value":
        _redact_key_values(value.kvlist_value.values, redactor, summary)
    elif which is not None:
        # Booleans, numbers and bytes: only a block rule changes them (into a marker string).
        redacted = redactor.redact_value(key, getattr(value, which), summary)
        if redacted is DROP:
            return False
        if isinstance(redacted, str):
            value.string_value = redacted
    return True


def _append_summary(key_values: Any, summary: RedactionSummary) -> None:
    for key, value in summary.to_attributes().items():
        key_value = key_values.add(key=key)
        if isinstance(value, int):
            key_value.value.int_value = value
        else:
            for text in value:
                key_value.value.array_value.values.add(string_value=text)
