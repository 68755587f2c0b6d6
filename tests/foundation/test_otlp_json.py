"""OTLP/JSON: hex ids, integer enums, int64 as strings or numbers, unknown fields ignored."""

from __future__ import annotations

import base64
import math
import random
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

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
            "does not match the OTLP trace schema: resourceSpans[0].scopeSpans[0].spans[0].name",
        ),
    ],
)
def test_malformed_bodies_name_the_problem(body: bytes, problem: str) -> None:
    with pytest.raises(OtlpJsonError, match=None) as info:
        decode_request(body)
    assert problem in str(info.value)


# --- the full schema -------------------------------------------------------------------------


def _any(rng: random.Random, depth: int = 0) -> AnyValue:
    kinds = ["string", "bool", "int", "double", "bytes", "empty"]
    if depth < 2:
        kinds += ["array", "kvlist"]
    kind = rng.choice(kinds)
    if kind == "string":
        return AnyValue(string_value=rng.choice(["", "plain", "ünïcödé ✓", '"quoted"\n']))
    if kind == "bool":
        return AnyValue(bool_value=rng.random() < 0.5)
    if kind == "int":
        return AnyValue(int_value=rng.choice([0, -1, 2**63 - 1, -(2**63), rng.randrange(10**12)]))
    if kind == "double":
        return AnyValue(double_value=rng.choice([0.0, -2.5, 1e300, math.inf, -math.inf, 0.1]))
    if kind == "bytes":
        return AnyValue(bytes_value=rng.randbytes(rng.randrange(0, 9)))
    if kind == "array":
        value = AnyValue()
        value.array_value.values.extend(_any(rng, depth + 1) for _ in range(rng.randrange(3)))
        return value
    if kind == "kvlist":
        value = AnyValue()
        value.kvlist_value.values.extend(_attributes(rng, depth + 1))
        return value
    return AnyValue()


def _attributes(rng: random.Random, depth: int = 0) -> list[KeyValue]:
    return [KeyValue(key=f"k{i}", value=_any(rng, depth)) for i in range(rng.randrange(4))]


def generated_request(seed: int) -> ExportTraceServiceRequest:
    """A request that sets, at random, every field of the OTLP trace schema."""
    rng = random.Random(seed)
    req = ExportTraceServiceRequest()
    for _ in range(rng.randrange(1, 3)):
        resource_spans = req.resource_spans.add(schema_url=rng.choice(["", "https://s/1"]))
        resource_spans.resource.attributes.extend(_attributes(rng))
        resource_spans.resource.dropped_attributes_count = rng.randrange(3)
        if rng.random() < 0.5:
            resource_spans.resource.entity_refs.add(
                schema_url="https://e",
                type="service",
                id_keys=["service.name"],
                description_keys=["d"],
            )
        for _ in range(rng.randrange(1, 3)):
            scope_spans = resource_spans.scope_spans.add(schema_url=rng.choice(["", "https://s/2"]))
            scope_spans.scope.name = "scope"
            scope_spans.scope.version = rng.choice(["", "1.0"])
            scope_spans.scope.attributes.extend(_attributes(rng))
            scope_spans.scope.dropped_attributes_count = rng.randrange(2)
            for _ in range(rng.randrange(1, 4)):
                _add_span(rng, scope_spans.spans.add())
    return req


def _add_span(rng: random.Random, span: Span) -> None:
    span.trace_id = rng.randbytes(16)
    span.span_id = rng.randbytes(8)
    span.parent_span_id = rng.choice([b"", rng.randbytes(8)])
    span.trace_state = rng.choice(["", "vendor=a,other=b"])
    span.flags = rng.choice([0, 1, 0x301])
    span.name = rng.choice(["", "chat gpt-4o", "execute_tool read_file"])
    span.kind = rng.randrange(6)
    span.start_time_unix_nano = rng.randrange(2**64)
    span.end_time_unix_nano = rng.randrange(2**64)
    span.attributes.extend(_attributes(rng))
    span.dropped_attributes_count = rng.randrange(2)
    for _ in range(rng.randrange(3)):
        span.events.add(
            time_unix_nano=rng.randrange(2**63),
            name="agenttrace.retry",
            attributes=_attributes(rng),
            dropped_attributes_count=rng.randrange(2),
        )
    span.dropped_events_count = rng.randrange(2)
    for _ in range(rng.randrange(3)):
        span.links.add(
            trace_id=rng.randbytes(16),
            span_id=rng.randbytes(8),
            trace_state=rng.choice(["", "k=v"]),
            attributes=_attributes(rng),
            dropped_attributes_count=rng.randrange(2),
            flags=rng.choice([0, 0x100]),
        )
    span.dropped_links_count = rng.randrange(2)
    if rng.random() < 0.7:
        span.status.code = rng.randrange(3)
        span.status.message = rng.choice(["", "tool timed out"])


def rich_request() -> ExportTraceServiceRequest:
    """One request with every AnyValue kind and every optional field set."""
    req = generated_request(0)
    span = req.resource_spans[0].scope_spans[0].spans[0]
    values = {
        "s": AnyValue(string_value="text"),
        "b": AnyValue(bool_value=True),
        "i": AnyValue(int_value=-(2**63)),
        "d": AnyValue(double_value=1.5),
        "nan": AnyValue(double_value=math.nan),
        "inf": AnyValue(double_value=math.inf),
        "bytes": AnyValue(bytes_value=b"\x00\xff\xfe"),
        "empty": AnyValue(),
        "strindex": AnyValue(string_value_strindex=3),
    }
    span.attributes.extend(KeyValue(key=key, value=value) for key, value in values.items())
    nested = span.attributes.add(key="nested").value
    nested.array_value.values.extend(values.values())
    nested.array_value.values.add().kvlist_value.values.add(key="deep", value=values["bytes"])
    span.attributes.add(key_strindex=7)
    span.attributes.add(key="", value=values["s"])
    span.attributes.add(key="both", key_strindex=2, value=values["s"])
    span.events.add(name="e", time_unix_nano=2**64 - 1, attributes=[KeyValue(key="x")])
    span.links.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, trace_state="a=b", flags=0x300)
    span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="boom"))
    span.trace_state = "vendor=1"
    span.flags = 0x101
    span.dropped_attributes_count = span.dropped_events_count = span.dropped_links_count = 4
    return req


ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def reference_document(req: ExportTraceServiceRequest, **options: Any) -> dict[str, Any]:
    """What json_format writes, with its base64 ids turned into OTLP/JSON hex ids."""
    doc = json_format.MessageToDict(req, **options)
    for resource_spans in _values(doc, "resourceSpans", "resource_spans"):
        for scope_spans in _values(resource_spans, "scopeSpans", "scope_spans"):
            for span in scope_spans.get("spans", []):
                for owner in [span, *span.get("links", [])]:
                    for key in ID_KEYS:
                        if key in owner:
                            owner[key] = base64.b64decode(owner[key]).hex()
    return doc


def _values(obj: dict[str, Any], *keys: str) -> list[Any]:
    return next((obj[key] for key in keys if key in obj), [])


SEEDS = range(12)


def test_rich_request_round_trips() -> None:
    req = rich_request()
    assert decode_request(encode_request(req)) == req


@pytest.mark.parametrize("seed", SEEDS)
def test_encode_writes_what_json_format_writes_with_hex_ids(seed: int) -> None:
    req = generated_request(seed)
    assert encode_request(req) == orjson.dumps(reference_document(req, use_integers_for_enums=True))


def test_encode_writes_the_rich_request_like_json_format() -> None:
    req = rich_request()
    expected = orjson.dumps(reference_document(req, use_integers_for_enums=True))
    assert encode_request(req) == expected
    assert b'"doubleValue":"NaN"' in expected
    assert b'"doubleValue":"Infinity"' in expected


@pytest.mark.parametrize("seed", SEEDS)
def test_decode_reads_json_format_documents(seed: int) -> None:
    req = generated_request(seed)
    assert decode_request(orjson.dumps(reference_document(req))) == req


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_decode_accepts_snake_case_field_names(seed: int) -> None:
    req = generated_request(seed)
    doc = reference_document(req, preserving_proto_field_name=True)
    assert "resource_spans" in doc
    assert decode_request(orjson.dumps(doc)) == req


def test_decode_accepts_enum_names_and_integers() -> None:
    req = rich_request()
    named = reference_document(req)
    numbered = reference_document(req, use_integers_for_enums=True)
    assert named != numbered
    assert decode_request(orjson.dumps(named)) == decode_request(orjson.dumps(numbered)) == req


def _single_span_body(**span: Any) -> bytes:
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})


def _decoded_span(**span: Any) -> Span:
    return decode_request(_single_span_body(**span)).resource_spans[0].scope_spans[0].spans[0]


@pytest.mark.parametrize("value", [2**64 - 1, str(2**64 - 1), 1.0e18])
def test_decode_accepts_int64_as_number_or_string(value: Any) -> None:
    assert _decoded_span(endTimeUnixNano=value).end_time_unix_nano == int(value)


def test_decode_accepts_int_value_as_number_or_string() -> None:
    attributes = [
        {"key": "n", "value": {"intValue": -(2**63)}},
        {"key": "s", "value": {"intValue": "-9223372036854775808"}},
        {"key": "small", "value": {"intValue": 3}},
    ]
    span = _decoded_span(attributes=attributes)
    assert [kv.value.int_value for kv in span.attributes] == [-(2**63), -(2**63), 3]


def test_decode_reads_special_doubles() -> None:
    attributes = [
        {"key": str(i), "value": {"doubleValue": value}}
        for i, value in enumerate(["NaN", "Infinity", "-Infinity", 2, "1.5", -0.25])
    ]
    decoded = [kv.value.double_value for kv in _decoded_span(attributes=attributes).attributes]
    assert math.isnan(decoded[0])
    assert decoded[1:] == [math.inf, -math.inf, 2.0, 1.5, -0.25]


def test_decode_reads_base64_bytes_values_standard_or_url_safe() -> None:
    attributes = [
        {"key": "std", "value": {"bytesValue": "//4="}},
        {"key": "url", "value": {"bytesValue": "__4"}},
    ]
    decoded = [kv.value.bytes_value for kv in _decoded_span(attributes=attributes).attributes]
    assert decoded == [b"\xff\xfe", b"\xff\xfe"]


def test_decode_keeps_wrong_length_hex_ids_for_the_collector_to_reject() -> None:
    span = _decoded_span(traceId="abcd", spanId="00" * 9, parentSpanId="")
    assert (span.trace_id, span.span_id, span.parent_span_id) == (b"\xab\xcd", b"\x00" * 9, b"")


def test_null_means_not_set() -> None:
    span = _decoded_span(name=None, attributes=None, status=None, kind=None, traceId=None)
    assert span == Span()


def _with_unknown_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {"zzFuture": {"x": [1]}, **{k: _with_unknown_fields(v) for k, v in value.items()}}
    if isinstance(value, list):
        return [_with_unknown_fields(item) for item in value]
    return value


def test_decode_ignores_unknown_fields_at_every_level() -> None:
    req = rich_request()
    doc = orjson.loads(encode_request(req))
    noisy = _with_unknown_fields(doc)
    assert noisy["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["status"]["zzFuture"]
    assert decode_request(orjson.dumps(noisy)) == req


def test_decode_accepts_str_input() -> None:
    req = rich_request()
    assert decode_request(encode_request(req).decode()) == req


def test_empty_request_round_trips() -> None:
    assert encode_request(ExportTraceServiceRequest()) == b"{}"
    assert decode_request(b"{}") == ExportTraceServiceRequest()


SPAN = "resourceSpans[0].scopeSpans[0].spans[0]"


@pytest.mark.parametrize(
    ("span", "problem"),
    [
        ({"name": 5}, f"{SPAN}.name must be a string"),
        ({"kind": "bogus"}, f"{SPAN}.kind must be an integer or one of SPAN_KIND_UNSPECIFIED"),
        ({"kind": True}, f"{SPAN}.kind must be an integer"),
        ({"traceId": 7}, f"{SPAN}.traceId must be a hex string"),
        ({"span_id": "xyz"}, f"{SPAN}.span_id is not a hex id"),
        ({"startTimeUnixNano": "soon"}, f"{SPAN}.startTimeUnixNano must be an integer"),
        ({"startTimeUnixNano": -1}, f"{SPAN}.startTimeUnixNano is out of range"),
        ({"endTimeUnixNano": 1e30}, f"{SPAN}.endTimeUnixNano is out of range"),
        ({"droppedAttributesCount": 1.5}, f"{SPAN}.droppedAttributesCount must be an integer"),
        ({"flags": 2**32}, f"{SPAN}.flags is out of range"),
        ({"attributes": {}}, f"{SPAN}.attributes must be an array"),
        ({"attributes": [{"key": "a"}, 3]}, f"{SPAN}.attributes[1] must be an object"),
        ({"attributes": [{"key": 1}]}, f"{SPAN}.attributes[0].key must be a string"),
        (
            {"attributes": [{"key": "a", "value": {"intValue": "1.5"}}]},
            f"{SPAN}.attributes[0].value.intValue must be an integer",
        ),
        (
            {"attributes": [{"key": "a", "value": {"intValue": 2**63}}]},
            f"{SPAN}.attributes[0].value.intValue is out of range",
        ),
        (
            {"attributes": [{"key": "a", "value": {"doubleValue": "lots"}}]},
            f"{SPAN}.attributes[0].value.doubleValue must be a number",
        ),
        (
            {"attributes": [{"key": "a", "value": {"boolValue": "true"}}]},
            f"{SPAN}.attributes[0].value.boolValue must be true or false",
        ),
        (
            {"attributes": [{"key": "a", "value": {"bytesValue": "!!"}}]},
            f"{SPAN}.attributes[0].value.bytesValue is not base64",
        ),
        (
            {"attributes": [{"key": "a", "value": {"stringValue": "x", "intValue": 1}}]},
            f"{SPAN}.attributes[0].value sets more than one of",
        ),
        (
            {"attributes": [{"value": {"arrayValue": {"values": [{}, {"kvlistValue": []}]}}}]},
            f"{SPAN}.attributes[0].value.arrayValue.values[1].kvlistValue must be an object",
        ),
        ({"events": [{"name": []}]}, f"{SPAN}.events[0].name must be a string"),
        ({"links": [{}, {"traceId": "0g"}]}, f"{SPAN}.links[1].traceId is not a hex id"),
        ({"status": {"code": "STATUS_CODE_MAYBE"}}, f"{SPAN}.status.code must be an integer"),
        ({"status": "error"}, f"{SPAN}.status must be an object"),
    ],
)
def test_malformed_spans_name_the_field_path(span: dict[str, Any], problem: str) -> None:
    with pytest.raises(OtlpJsonError) as info:
        decode_request(_single_span_body(**span))
    assert problem in str(info.value)


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"resourceSpans": [3]}, "resourceSpans[0] must be an object"),
        ({"resourceSpans": [{"schemaUrl": 1}]}, "resourceSpans[0].schemaUrl must be a string"),
        ({"resourceSpans": [{"resource": {"attributes": [1]}}]}, "resource.attributes[0] must be"),
        ({"resourceSpans": [{"scopeSpans": [{"scope": {"name": 2}}]}]}, "scope.name must be"),
        ({"resourceSpans": [{"scopeSpans": [{}, {"spans": {}}]}]}, "scopeSpans[1].spans must be"),
    ],
)
def test_malformed_outer_levels_name_the_path(doc: dict[str, Any], problem: str) -> None:
    with pytest.raises(OtlpJsonError) as info:
        decode_request(orjson.dumps(doc))
    assert problem in str(info.value)
