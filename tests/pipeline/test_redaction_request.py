"""Whole OTLP requests through the collector's redaction processor (the importers run the same
one): every place a value can hide is redacted, third-party spans too."""

from __future__ import annotations

import json

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from agenttrace.collector._layout import EncodedRequest
from agenttrace.collector.ingest import run_processors
from agenttrace.collector.processors.base import STALE, build_processor
from agenttrace.collector.processors.redaction import (
    RedactionProcessor,
    RedactionProcessorConfig,
)
from agenttrace.redaction import RedactionConfig

AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
EMAIL = "jane.doe@corp-mail.com"


def _kv(key: str, value: object) -> KeyValue:
    kv = KeyValue(key=key)
    if isinstance(value, str):
        kv.value.string_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, list):
        kv.value.array_value.values.extend(AnyValue(string_value=v) for v in value)
    return kv


def _request() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(_kv("host.owner", EMAIL))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "third.party.instrumentation"
    span = scope_spans.spans.add(name=f"GET /users/{EMAIL}")
    span.attributes.extend(
        [
            _kv(
                "gen_ai.input.messages", json.dumps([{"role": "user", "content": f"key {AWS_KEY}"}])
            ),
            _kv("http.request.header.authorization", ["Bearer a9Fk2Lm8Qp4Zx7Wv3Ty6"]),
            _kv("user.pin", 1234),
            _kv("plain", "nothing here"),
        ]
    )
    span.events.add(name="exception").attributes.append(_kv("exception.message", f"bad {EMAIL}"))
    span.links.add().attributes.append(_kv("peer.email", EMAIL))
    span.status.code = Status.STATUS_CODE_ERROR
    span.status.message = f"failed for {EMAIL}"
    nested = KeyValue(key="nested")
    nested.value.kvlist_value.values.append(_kv("inner", EMAIL))
    span.attributes.append(nested)
    return request


def test_every_location_is_redacted_and_summarised() -> None:
    request = _request()
    processor = RedactionProcessor(RedactionProcessorConfig(RedactionConfig()))
    processor.process(request)
    text = str(request)
    assert EMAIL not in text
    assert AWS_KEY not in text
    assert "a9Fk2Lm8" not in text
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.name == "GET /users/[REDACTED:email]"
    assert span.status.message == "failed for [REDACTED:email]"
    assert span.links[0].attributes[0].value.string_value == "[REDACTED:email]"
    attributes = {kv.key: kv.value for kv in span.attributes}
    assert attributes["user.pin"].int_value == 1234
    assert attributes["plain"].string_value == "nothing here"
    assert attributes["agenttrace.redaction.count"].int_value == 7
    types = [v.string_value for v in attributes["agenttrace.redaction.types"].array_value.values]
    # The authorization header's key marks its whole value as a secret (rule 3).
    assert types == ["aws_access_key_id=1", "email=5", "secret_assignment=1"]
    resource = {kv.key: kv.value for kv in request.resource_spans[0].resource.attributes}
    assert resource["agenttrace.redaction.count"].int_value == 1  # summarised where it was
    metrics = processor.metrics()
    assert (metrics["spans_redacted"], metrics["findings"]) == (1, 8)


def test_block_and_drop_apply_to_any_value_type() -> None:
    config = RedactionConfig.from_dict(
        {"block": ["user.pin"], "detectors": {"email": {"mode": "drop"}}}
    )
    request = _request()
    RedactionProcessor(RedactionProcessorConfig(config)).process(request)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    attributes = {kv.key: kv.value for kv in span.attributes}
    assert attributes["user.pin"].string_value == "[REDACTED:blocked_key]"
    assert len(span.links[0].attributes) == 0
    resource = request.resource_spans[0].resource.attributes
    assert [kv.key for kv in resource if not kv.key.startswith("agenttrace.redaction.")] == []
    assert len(attributes["nested"].kvlist_value.values) == 0


def test_a_second_redaction_replaces_the_summary_in_place() -> None:
    request = _request()
    processor = RedactionProcessor(RedactionProcessorConfig(RedactionConfig()))
    processor.process(request)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.attributes.append(_kv("later", f"mail {EMAIL}"))
    processor.process(request)
    keys = [kv.key for kv in span.attributes]
    assert keys.count("agenttrace.redaction.count") == 1
    attributes = {kv.key: kv.value for kv in span.attributes}
    assert attributes["later"].string_value == "mail [REDACTED:email]"
    assert attributes["agenttrace.redaction.count"].int_value == 1  # the second pass's findings


def test_a_request_carrying_an_unknown_group_is_screened_like_any_other() -> None:
    """The protobuf runtime keeps unknown groups; the byte screen must read past them."""
    group = b"\x9b\x06\x08\x01\x9c\x06"  # field 99: start group, a varint field, end group
    body = _request().SerializeToString() + group
    request = ExportTraceServiceRequest.FromString(body)
    processors = [build_processor(t, t, {}, t) for t in ("normalize", "redaction", "limits")]
    processed, encoded = run_processors(processors, request, EncodedRequest(body))
    # Whatever bytes come back are the processed request's (they go to the WAL as they are).
    assert encoded is None or ExportTraceServiceRequest.FromString(encoded.data) == processed
    text = str(processed)
    assert EMAIL not in text
    assert AWS_KEY not in text


def _mail_spans(count: int) -> ExportTraceServiceRequest:
    """Spans whose only findings lie in string attributes: redacted in their bytes."""
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    for index in range(count):
        span = spans.add(name="chat", trace_id=bytes([1] * 16), span_id=bytes([index + 1] * 8))
        span.attributes.extend([_kv("note", f"write to {EMAIL}"), _kv("a", "1"), _kv("b", "2")])
    return request


def test_a_processor_after_redaction_that_needs_no_message_gets_the_bytes_only() -> None:
    """Limits finds no span over a limit in the redacted bytes' layout, so the request the
    redaction processor left behind is never parsed again; the bytes are what the message
    path gives."""
    request = _mail_spans(3)
    processors = [build_processor(t, t, {}, t) for t in ("redaction", "limits")]
    processed, encoded = run_processors(
        processors, request, EncodedRequest(request.SerializeToString())
    )
    assert processed is STALE
    assert encoded is not None
    expected = _mail_spans(3)
    for processor in processors:
        processor.process(expected)
    assert ExportTraceServiceRequest.FromString(encoded.data) == expected
    assert EMAIL.encode() not in encoded.data


def test_a_processor_after_redaction_parses_the_redacted_bytes_when_it_needs_the_message() -> None:
    request = _mail_spans(2)
    redaction = build_processor("redaction", "redaction", {}, "redaction")
    limits = build_processor("limits", "limits", {"max_attributes_per_span": 4}, "limits")
    processed, encoded = run_processors(
        [redaction, limits], request, EncodedRequest(request.SerializeToString())
    )
    assert processed is not STALE
    for span in processed.resource_spans[0].scope_spans[0].spans:
        values = [kv.value.string_value for kv in span.attributes]
        assert "write to [REDACTED:email]" in values
        assert EMAIL not in str(span)
        assert span.dropped_attributes_count > 0
    assert encoded is None or ExportTraceServiceRequest.FromString(encoded.data) == processed


def test_a_long_value_redacted_in_its_bytes_changes_only_the_stretch_around_the_finding() -> None:
    """What a worker sends back for such a span: the lengths in front of the value, the
    replaced stretch and the summary, not the value's 20 KB again."""
    from agenttrace.collector._layout import apply_edits
    from agenttrace.collector.ingest import prepare_request

    request = _mail_spans(1)
    text = "x " * 5_000 + f"write to {EMAIL} " + "y " * 5_000
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.attributes[0].value.string_value = text
    body = request.SerializeToString()
    redaction = build_processor("redaction", "redaction", {}, "redaction")
    prepared = prepare_request(body, "protobuf", [redaction])
    assert prepared.edits is not None
    assert prepared.payload is not None
    assert apply_edits(body, prepared.edits) == prepared.payload
    assert sum(len(new) for _, _, new in prepared.edits) < 300
    redacted = ExportTraceServiceRequest.FromString(prepared.payload)
    value = redacted.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.string_value
    assert value == text.replace(EMAIL, "[REDACTED:email]")
