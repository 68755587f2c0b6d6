"""Redaction of finished OTLP requests, so every source (and pass-through OTLP) is covered."""

from __future__ import annotations

from collections.abc import MutableSequence
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from agenttrace.importers._model import AttrValue, set_any_value
from agenttrace.redaction import DROP, RedactionSummary, Redactor


def redact_request(request: ExportTraceServiceRequest, redactor: Redactor) -> None:
    """Redact every string attribute, event attribute and status message in place.

    Each span that had something replaced gets the ``agenttrace.redaction.*`` summary.
    """
    for resource_spans in request.resource_spans:
        _redact_key_values(resource_spans.resource.attributes, redactor, None)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                summary = RedactionSummary()
                _redact_key_values(span.attributes, redactor, summary)
                for event in span.events:
                    _redact_key_values(event.attributes, redactor, summary)
                if span.status.message:
                    span.status.message = redactor.redact_text(span.status.message, summary)
                if summary:
                    attrs: dict[str, AttrValue] = dict(summary.to_attributes())
                    for key, value in attrs.items():
                        set_any_value(span.attributes.add(key=key).value, value)


def _redact_key_values(
    key_values: MutableSequence[KeyValue], redactor: Redactor, summary: RedactionSummary | None
) -> None:
    kept: list[KeyValue] = []
    changed = False
    for key_value in key_values:
        original = _plain(key_value.value)
        if original is None:
            kept.append(key_value)
            continue
        redacted = redactor.redact_value(key_value.key, original, summary)
        if redacted is DROP:
            changed = True
            continue
        if redacted != original:
            changed = True
            key_value = KeyValue(key=key_value.key)
            set_any_value(key_value.value, redacted)
        kept.append(key_value)
    if changed:
        del key_values[:]
        key_values.extend(kept)


def _plain(value: AnyValue) -> Any:
    """The value if it is text the redactor should see (a string or an array of strings)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "array_value":
        items = value.array_value.values
        if items and all(item.WhichOneof("value") == "string_value" for item in items):
            return [item.string_value for item in items]
    return None
