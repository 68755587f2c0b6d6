"""OTLP/JSON: hex ids, integer enums, int64 as strings or numbers, unknown fields ignored."""

from __future__ import annotations

import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agenttrace.otlp_json import OtlpJsonError, decode_request, encode_request

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"
PARENT_ID = "eee19b7ec3c1b173"


def sample_request() -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    span = req.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = bytes.fromhex(TRACE_ID)
    span.span_id = bytes.fromhex(SPAN_ID)
    span.parent_span_id = bytes.fromhex(PARENT_ID)
    span.name = "chat gpt-4o"
    span.kind = Span.SPAN_KIND_CLIENT
    span.start_time_unix_nano = 1_700_000_000_000_000_000
    attr = span.attributes.add()
    attr.key = "gen_ai.usage.input_tokens"
    attr.value.int_value = 42
    link = span.links.add()
    link.trace_id = bytes.fromhex(TRACE_ID)
    link.span_id = bytes.fromhex(PARENT_ID)
    return req


def test_encode_writes_hex_ids_and_integer_enums() -> None:
    doc = orjson.loads(encode_request(sample_request()))
    span = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert (span["traceId"], span["spanId"], span["parentSpanId"]) == (TRACE_ID, SPAN_ID, PARENT_ID)
    assert span["links"][0]["spanId"] == PARENT_ID
    assert span["kind"] == 3
    assert span["startTimeUnixNano"] == "1700000000000000000"


def test_round_trip() -> None:
    req = sample_request()
    assert decode_request(encode_request(req)) == req


def test_decode_accepts_numbers_for_int64_and_ignores_unknown_fields() -> None:
    body = {
        "resourceSpans": [
            {
                "futureField": 1,
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": TRACE_ID,
                                "spanId": SPAN_ID,
                                "name": "x",
                                "kind": 1,
                                "startTimeUnixNano": 1_700_000_000_000_000_000,
                                "somethingNew": {"a": 1},
                            }
                        ]
                    }
                ],
            }
        ]
    }
    span = decode_request(orjson.dumps(body)).resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == TRACE_ID
    assert span.start_time_unix_nano == 1_700_000_000_000_000_000


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"resourceSpans": {}}', "resourceSpans must be an array"),
        (
            b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}',
            "resourceSpans[0].scopeSpans[0].spans[0].traceId is not a hex id",
        ),
        (
            b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"name": 5, "kind": "bogus"}]}]}]}',
            "does not match the OTLP trace schema",
        ),
    ],
)
def test_malformed_bodies_name_the_problem(body: bytes, problem: str) -> None:
    with pytest.raises(OtlpJsonError, match=None) as info:
        decode_request(body)
    assert problem in str(info.value)
