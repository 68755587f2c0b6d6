"""The native OTLP decoder against the Python reference converter.

The Python path (``requests_to_table``) defines the table; the C decoder must produce
the same one for every input it accepts, and raise ``ValueError`` for anything else so that
``payloads_to_table`` can fall back.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from typing import Any, TypeVar

import pyarrow as pa
import pytest
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

# Imported directly: a missing build must fail these tests, not silently test the fallback.
from agenttrace.collector._layout import encode_varint
from agenttrace.store import (
    _otlp_columns,  # noqa: F401
    convert,
)
from agenttrace.store.convert import payloads_to_table, requests_to_table
from agenttrace.store.sample import agent_requests
from agenttrace.store.schema import (
    CONTENT_ATTRIBUTES,
    HOT_DOUBLE_ATTRIBUTES,
    HOT_INT_ATTRIBUTES,
    HOT_STRING_ATTRIBUTES,
    JSON_COLUMNS,
    SPAN_SCHEMA,
    column_name,
)

from .otlp import any_value, key_values, make_request, make_span

sys.path.insert(0, "/work/main/bench")
from collector_throughput import build_requests

HOT_STRING = HOT_STRING_ATTRIBUTES[0]
HOT_INT = HOT_INT_ATTRIBUTES[0]
HOT_DOUBLE = HOT_DOUBLE_ATTRIBUTES[0]
CONTENT = CONTENT_ATTRIBUTES[0]


# -- helpers -------------------------------------------------------------------------------


def _normalize(table: pa.Table) -> list[dict[str, Any]]:
    """Rows with JSON columns parsed (float text may differ) and NaN made comparable."""
    rows = table.to_pylist()
    for row in rows:
        for name, value in row.items():
            if name in JSON_COLUMNS:
                row[name] = json.loads(value)
            elif isinstance(value, float) and math.isnan(value):
                row[name] = "NaN"
    return rows


def _python(payloads: list[bytes]) -> pa.Table:
    requests = []
    for payload in payloads:
        request = ExportTraceServiceRequest()
        request.ParseFromString(payload)
        requests.append(request)
    return requests_to_table(requests)


def assert_same(payloads: list[bytes]) -> pa.Table:
    """The native table equals the Python one; also through the public entry points."""
    expected = _python(payloads)
    native = convert._native_table(payloads)
    assert native.schema == SPAN_SCHEMA
    assert native.num_rows == expected.num_rows
    assert _normalize(native) == _normalize(expected)
    assert _normalize(payloads_to_table(payloads)) == _normalize(expected)
    return native


def assert_requests_same(requests: list[ExportTraceServiceRequest]) -> pa.Table:
    return assert_same([request.SerializeToString() for request in requests])


def varint(value: int) -> bytes:
    return encode_varint(value & ((1 << 64) - 1))  # negative numbers as protobuf writes them


def tag(field: int, wire_type: int) -> bytes:
    return varint(field << 3 | wire_type)


def length_delimited(field: int, data: bytes) -> bytes:
    return tag(field, 2) + varint(len(data)) + data


# Unknown fields of every wire type, including a nested group, that any parser must skip.
UNKNOWN = (
    tag(1000, 0)
    + varint(2**63)
    + tag(1001, 1)
    + struct.pack("<d", 1.5)
    + length_delimited(1002, b"\x08\x01packed?")
    + tag(1003, 5)
    + struct.pack("<I", 7)
    + tag(1004, 3)
    + tag(1, 0)
    + varint(5)
    + tag(2, 3)
    + tag(2, 4)
    + tag(1004, 4)
)


M = TypeVar("M", bound=Message)


def with_unknown(message: M) -> M:
    """The same message with unknown fields appended (protobuf keeps and re-emits them)."""
    result = type(message)()
    result.ParseFromString(message.SerializeToString() + UNKNOWN)
    return result


def kv(key: str, value: AnyValue | None = None) -> KeyValue:
    result = KeyValue(key=key)
    if value is not None:
        result.value.CopyFrom(value)
    return result


def span_with(*attributes: KeyValue, **fields: Any) -> Span:
    span = make_span(1, 2, parent=3, **fields)
    span.attributes.extend(attributes)
    return span


def one_span_payload(span: Span, **request_args: Any) -> list[bytes]:
    return [make_request([span], **request_args).SerializeToString()]


# -- corpora -------------------------------------------------------------------------------


def test_benchmark_requests() -> None:
    assert_requests_same(build_requests(3))


def test_sample_agent_requests() -> None:
    assert_requests_same(list(agent_requests(1500, spans_per_request=256, seed=5)))


def test_many_payloads_and_empty_input() -> None:
    requests = list(agent_requests(300, spans_per_request=7, seed=1))
    assert_requests_same(requests)
    table = assert_same([])
    assert table.num_rows == 0
    assert assert_same([b""]).num_rows == 0


def test_store_test_builders() -> None:
    from .test_convert import CHAT_ATTRIBUTES, chat_span

    root = make_span(9, 10, name="root")
    requests = [
        make_request([chat_span(), root]),
        make_request([make_span(1, 1)], resource={"service.name": "a", "host": "h"}),
        make_request([make_span(2, 4)], resource={}, scope=("", "")),
        make_request([make_span(3, 5, attributes=CHAT_ATTRIBUTES)], scope=("s", "")),
    ]
    assert_requests_same(requests)


# -- attribute dispatch --------------------------------------------------------------------


def test_hot_and_content_dispatch() -> None:
    cases: list[list[KeyValue]] = [
        [kv(HOT_STRING, any_value(""))],  # an empty string is a string
        [kv(HOT_STRING, any_value(5)), kv(HOT_STRING_ATTRIBUTES[1], any_value(True))],
        [kv(HOT_STRING, AnyValue())],  # empty value: not taken, null in attributes
        [kv(HOT_STRING)],  # no value field at all
        [kv(CONTENT, any_value([1, "x", {"a": None}]))],
        [kv(CONTENT, any_value(""))],
        [kv(CONTENT, AnyValue())],
        [kv(CONTENT, any_value(2.5)), kv(CONTENT_ATTRIBUTES[1], any_value(b"\x00\x01"))],
        [kv(CONTENT, any_value(float("nan"))), kv(CONTENT_ATTRIBUTES[2], any_value(1e-5))],
        [kv(CONTENT, AnyValue(string_value_strindex=4))],
        [kv(HOT_INT, any_value(-(2**63))), kv(HOT_INT_ATTRIBUTES[1], any_value(1.0))],
        [kv(HOT_INT, any_value("12")), kv(HOT_INT_ATTRIBUTES[2], any_value(False))],
        [kv(HOT_DOUBLE, any_value(2))],  # an int in the double column
        [kv(HOT_DOUBLE, any_value(2**62 + 1))],
        [kv(HOT_DOUBLE, any_value(float("nan")))],
        [kv(HOT_DOUBLE, any_value(float("-inf")))],
        [kv(HOT_DOUBLE, any_value("0.5"))],
    ]
    assert_requests_same([make_request([span_with(*attrs) for attrs in cases])])


def test_duplicate_keys() -> None:
    spans = [
        # Hot: the later value wins; an untaken duplicate goes to attributes.
        span_with(kv(HOT_STRING, any_value("a")), kv(HOT_STRING, any_value("b"))),
        span_with(kv(HOT_STRING, any_value("a")), kv(HOT_STRING, any_value(3))),
        span_with(kv(HOT_STRING, any_value(3)), kv(HOT_STRING, any_value("a"))),
        span_with(kv(CONTENT, any_value([1])), kv(CONTENT, any_value({"k": 2}))),
        # Rest: first position, last value.
        span_with(kv("a", any_value(1)), kv("b", any_value(2)), kv("a", any_value([3])), kv("c")),
        span_with(kv("m", any_value({"x": 1, "y": 2})), kv("m", any_value({"z": 3}))),
        span_with(kv("", any_value(1)), kv("", any_value(2))),
    ]
    nested = AnyValue()
    nested.kvlist_value.values.extend(
        [kv("x", any_value(1)), kv("y", any_value(2)), kv("x", any_value("again"))]
    )
    spans.append(span_with(kv("nested", nested), kv(CONTENT, nested)))
    # Enough leftover attributes to take the hashed de-duplication path.
    many = [kv(f"k{i % 40}", any_value(i)) for i in range(100)]
    spans.append(span_with(*many))
    big_kvlist = AnyValue()
    big_kvlist.kvlist_value.values.extend(kv(f"k{i % 30}", any_value(i)) for i in range(90))
    spans.append(span_with(kv("big", big_kvlist)))
    assert_requests_same([make_request(spans)])


def test_any_value_kinds() -> None:
    values: dict[str, Any] = {
        "s": 'quote " backslash \\ controls \x00\x01\x1f\t\n\r\b\f del \x7f é ✓ \U0001f600',
        "i": -42,
        "big": 2**63 - 1,
        "f": 0.1,
        "f2": 1e300,
        "f3": -0.0,
        "f4": 5e-324,
        "f5": 1.5e-7,
        "f6": 3.25e-5,
        "f7": 1e16,
        "f8": 123456789.125,
        "inf": float("inf"),
        "nan": float("nan"),
        "t": True,
        "false": False,
        "bytes": [b"", b"a", b"ab", b"abc", b"\xff" * 10],
        "arr": [1, [2, [3, []]], {}, None],
        "kv": {"a": {"b": {"c": [None, True]}}},
        "none": None,
        "empty_arr": [],
    }
    span = span_with(*key_values(values))
    span.attributes.append(kv("strindex", AnyValue(string_value_strindex=3)))
    assert_same(one_span_payload(span))


def test_repeated_doubles_keep_their_exact_text() -> None:
    # The decoder reuses the text of the previous double: every repeat and every change
    # (including 0.0 after -0.0, equal as floats) must still print exactly as orjson does.
    sequence = [0.2, 0.2, 1e-5, 1e-5, 0.2, -0.0, 0.0, 1e22, 1e22, float("nan"), 0.2, 5e-324]
    spans = [
        span_with(kv("t", any_value(value)), kv("list", any_value([value, 0.5, value])))
        for value in sequence
    ]
    payloads = [make_request(spans).SerializeToString()]
    native = assert_same(payloads)
    assert native.column("attributes").to_pylist() == (
        _python(payloads).column("attributes").to_pylist()
    )


def test_oneof_last_value_wins() -> None:
    def any_bytes(*fields: bytes) -> bytes:
        return b"".join(fields)

    string = length_delimited(1, b"text")
    integer = tag(3, 0) + varint(7)
    double = tag(4, 1) + struct.pack("<d", 2.5)
    array = length_delimited(5, length_delimited(1, string))
    kvlist = length_delimited(
        6, length_delimited(1, length_delimited(1, b"k") + length_delimited(2, integer))
    )
    boolean = tag(2, 0) + varint(1)
    combos = [
        any_bytes(string, integer),
        any_bytes(integer, string),
        any_bytes(array, string),
        any_bytes(string, array),
        any_bytes(kvlist, double),
        any_bytes(array, boolean, kvlist),
        any_bytes(double, double + b"", integer),
    ]
    for key in ("rest", HOT_STRING, HOT_INT, HOT_DOUBLE, CONTENT):
        span = make_span(1, 2)
        for combo in combos:
            value = AnyValue()
            value.ParseFromString(combo)
            span.attributes.append(kv(key, value))
        assert_same(one_span_payload(span))


# -- span fields ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4, 5, 6, 99, -1, -(2**31)])
@pytest.mark.parametrize("code", [0, 1, 2, 3, -1])
def test_kind_and_status_values(kind: int, code: int) -> None:
    span = make_span(1, 2, kind=kind, status=Status(code=code, message="m" if code else ""))
    assert_same(one_span_payload(span))


def test_enum_varint_beyond_int32_is_truncated() -> None:
    # protobuf keeps the low 32 bits of an int32 varint: 2**32 + 2 reads as 2 (server).
    payload = make_span(1, 2).SerializeToString() + tag(6, 0) + varint(2**32 + 2)
    span = Span()
    span.ParseFromString(payload)
    assert_same(one_span_payload(span))


def test_ids_states_and_empty_fields() -> None:
    spans = [
        Span(trace_id=b"", span_id=b"", name=""),
        Span(trace_id=b"\x00\xff\x10", span_id=b"\x01", parent_span_id=b"\xab" * 3),
        Span(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, trace_state="a=b,c=d"),
        Span(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, start_time_unix_nano=2**63 - 1),
    ]
    assert_requests_same([make_request(spans)])


def test_events_and_links() -> None:
    span = make_span(1, 2)
    span.events.add(name="e1", time_unix_nano=2**64 - 1, attributes=key_values({"a": [1]}))
    span.events.add()
    span.events.add(name='quo"te', attributes=key_values({"x": 1, "x ": 2}))
    span.links.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    span.links.add(trace_id=b"", span_id=b"\x09", trace_state="k=v", flags=1)
    span.links.add(attributes=key_values({"t": "memory", "n": None}))
    other = make_span(1, 3)
    other.links.add(trace_state="only")
    assert_requests_same([make_request([span, other])])


def test_resources_and_scopes() -> None:
    request = ExportTraceServiceRequest()
    resources: list[dict[str, Any]] = [
        {"service.name": "svc", "host": "h"},
        {"host": "no service name"},
        {"service.name": 5},
        {"service.name": "first", "x": 1, "service.name ": "spaced", "y": {"a": 1}},
        {},
        {"service.name": ""},
    ]
    for index, resource in enumerate(resources):
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(key_values(resource))
        resource_spans.schema_url = "https://example.com/schema"
        for scope_index in range(3):
            scope_spans = resource_spans.scope_spans.add()
            if scope_index == 1:
                scope_spans.scope.name = f"scope-{index}"
            if scope_index == 2:
                scope_spans.scope.version = "1.0"
                scope_spans.scope.attributes.extend(key_values({"scope.attr": [1, "two"]}))
            scope_spans.spans.extend(make_span(index, i) for i in range(scope_index + 1))
    # Duplicate service.name: the last one decides, even when it is not a string. Bytes count
    # as a string, because the Python path checks the base64 text it converts them to.
    values_list: list[list[Any]] = [["a", "b"], ["a", 3], [3, "b"], ["a", None], [b"\x8fj"]]
    for values in values_list:
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(kv("service.name", any_value(v)) for v in values)
        resource_spans.scope_spans.add().spans.append(make_span(7, 7))
    # A ResourceSpans without a resource, and one without scope.
    request.resource_spans.add().scope_spans.add().spans.append(make_span(8, 8))
    assert_requests_same([request, request])


def test_field_order_does_not_matter() -> None:
    # Scope and resource after their spans; span fields in reverse field-number order.
    attribute = length_delimited(1, HOT_STRING.encode()) + length_delimited(
        2, length_delimited(1, b"v")
    )
    span = b"".join(
        [
            length_delimited(9, attribute),
            tag(8, 1) + struct.pack("<Q", 20),
            tag(7, 1) + struct.pack("<Q", 10),
            tag(6, 0) + varint(2),
            length_delimited(5, b"n"),
            length_delimited(3, b"s"),
            length_delimited(2, b"\x02"),
            length_delimited(1, b"\x01"),
        ]
    )
    scope = length_delimited(1, length_delimited(2, b"v1") + length_delimited(1, b"scope"))
    service = length_delimited(1, b"service.name") + length_delimited(
        2, length_delimited(1, b"svc")
    )
    resource = length_delimited(1, length_delimited(1, service))
    resource_spans = length_delimited(2, length_delimited(2, span) + scope) + resource
    table = assert_same([length_delimited(1, resource_spans)])
    row = table.to_pylist()[0]
    assert (row["service_name"], row["scope_name"], row["kind"]) == ("svc", "scope", "server")
    assert (row["trace_id"], row["duration_nano"], row[column_name(HOT_STRING)]) == ("01", 10, "v")


def test_unknown_fields_at_every_level() -> None:
    span = make_span(1, 2, attributes={HOT_STRING: "x", "rest": [1, {"k": "v"}], CONTENT: 1.5})
    span.events.add(name="e", attributes=key_values({"a": 1}))
    span.links.add(trace_id=b"\x01", attributes=key_values({"b": 2}))
    span.status.message = "m"
    for kv_ in span.attributes:
        kv_.value.CopyFrom(with_unknown(kv_.value))
        for item in kv_.value.array_value.values:
            item.CopyFrom(with_unknown(item))
        kv_.value.array_value.CopyFrom(with_unknown(kv_.value.array_value))
    attributes = [with_unknown(kv_) for kv_ in span.attributes]
    del span.attributes[:]
    span.attributes.extend(attributes)
    events = [with_unknown(event) for event in span.events]
    del span.events[:]
    span.events.extend(events)
    links = [with_unknown(link) for link in span.links]
    del span.links[:]
    span.links.extend(links)
    span.status.CopyFrom(with_unknown(span.status))
    request = make_request([with_unknown(span)])
    resource_spans = request.resource_spans[0]
    resource_spans.resource.CopyFrom(with_unknown(resource_spans.resource))
    resource_spans.scope_spans[0].scope.CopyFrom(with_unknown(resource_spans.scope_spans[0].scope))
    resource_spans.scope_spans[0].CopyFrom(with_unknown(resource_spans.scope_spans[0]))
    request.resource_spans[0].CopyFrom(with_unknown(request.resource_spans[0]))
    payload = with_unknown(request).SerializeToString()
    assert UNKNOWN in payload
    assert_same([payload])


def test_known_field_with_another_wire_type_is_unknown() -> None:
    # protobuf treats a known field number with a mismatched wire type as an unknown field.
    span_bytes = make_span(1, 2, name="kept").SerializeToString() + tag(5, 0) + varint(1)
    span_bytes += tag(7, 0) + varint(3) + tag(9, 5) + b"\0\0\0\0"
    span = Span()
    span.ParseFromString(span_bytes)
    assert_same(one_span_payload(span))


# -- inputs the native decoder hands to the Python path ------------------------------------


def _native_rejects(payloads: list[bytes], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        convert._native_table(payloads)


def raw_request(span_bytes: bytes) -> bytes:
    """A request around one serialized span, without a protobuf round trip."""
    return length_delimited(1, length_delimited(2, length_delimited(2, span_bytes)))


def test_repeated_singular_messages_fall_back() -> None:
    # protobuf merges a repeated singular message field; the C decoder leaves that to Python.
    span_bytes = make_span(1, 2).SerializeToString()
    status = length_delimited(15, length_delimited(2, b"first") + tag(3, 0) + varint(2))
    status += length_delimited(15, length_delimited(2, b"second"))
    value = length_delimited(5, length_delimited(1, length_delimited(1, b"a")))
    two_values = length_delimited(1, b"arr") + length_delimited(2, value)
    two_values += length_delimited(2, tag(3, 0) + varint(1))
    merged_arrays = length_delimited(1, b"arr") + length_delimited(2, value + value)
    resource = length_delimited(1, length_delimited(1, length_delimited(1, b"r1")))
    resource += length_delimited(1, length_delimited(1, length_delimited(1, b"r2")))
    scope = length_delimited(1, length_delimited(1, b"s")) + length_delimited(
        1, length_delimited(2, b"v")
    )
    payloads = [
        [raw_request(span_bytes + status)],
        [raw_request(span_bytes + length_delimited(9, two_values))],
        [raw_request(span_bytes + length_delimited(9, merged_arrays))],
        [length_delimited(1, resource + length_delimited(2, length_delimited(2, span_bytes)))],
        [length_delimited(1, length_delimited(2, scope + length_delimited(2, span_bytes)))],
    ]
    for payload in payloads:
        _native_rejects(payload, "unsupported")
        assert _normalize(payloads_to_table(payload)) == _normalize(_python(payload))
    table = payloads_to_table(payloads[2])
    assert json.loads(table.column("attributes")[0].as_py()) == {"arr": ["a", "a"]}
    assert payloads_to_table(payloads[0]).column("status_message").to_pylist() == ["second"]


def test_truncated_payload() -> None:
    payload = make_request([make_span(1, 2, attributes={"a": "b"})]).SerializeToString()
    for cut in (1, 5, len(payload) // 2, len(payload) - 1):
        _native_rejects([payload[:cut]], "malformed")
        with pytest.raises(DecodeError):
            payloads_to_table([payload[:cut]])


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # length varint too long
        b"\x0a\x80\x80\x80\x80\x10",  # length beyond buffer
        b"\x0f",  # wire type 7
        b"\x00",  # field number 0
        b"\x0c",  # end group without a start
        b"\x0b\x08\x01",  # unterminated group
        b"\x0b\x14",  # mismatched end group
    ],
)
def test_malformed_wire_data(garbage: bytes) -> None:
    _native_rejects([garbage], "malformed")
    with pytest.raises(DecodeError):
        payloads_to_table([garbage])


def _attribute(key: bytes, any_value_bytes: bytes) -> bytes:
    return length_delimited(9, length_delimited(1, key) + length_delimited(2, any_value_bytes))


BAD_UTF8 = [
    b"\xff\xfe",
    b"ok \xc0\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"a" * 20 + b"\xe2\x82",
    b"a" * 5 + b"\xff" + b'"' + b"b" * 20,  # just before an escape, within one 16-byte block
]


@pytest.mark.parametrize("bad", BAD_UTF8)
def test_invalid_utf8_is_rejected_wherever_it_is(bad: bytes) -> None:
    # protobuf rejects a non-UTF-8 string field even where the table never shows it.
    string = length_delimited(1, bad)
    good = length_delimited(1, b"fine")
    array = length_delimited(5, length_delimited(1, string))
    kvlist = length_delimited(6, length_delimited(1, length_delimited(1, bad)))
    integer = tag(3, 0) + varint(1)
    span_extras = [
        length_delimited(5, bad),  # name
        length_delimited(3, bad),  # trace_state
        length_delimited(15, length_delimited(2, bad)),  # status message
        _attribute(b"rest", string),
        _attribute(bad, good),  # key
        _attribute(HOT_STRING.encode(), string),  # taken by a hot column
        _attribute(HOT_INT.encode(), string),  # not taken: goes to attributes
        _attribute(CONTENT.encode(), array),
        _attribute(b"rest", string + integer),  # replaced within the oneof
        _attribute(b"rest", array + integer),
        _attribute(b"rest", kvlist),  # kvlist key
        _attribute(b"rest", string) + _attribute(b"rest", good),  # replaced duplicate
        _attribute(CONTENT.encode(), array) + _attribute(CONTENT.encode(), good),
        _attribute(HOT_STRING.encode(), string) + _attribute(HOT_STRING.encode(), good),
        length_delimited(11, length_delimited(2, bad)),  # event name
        length_delimited(13, length_delimited(3, bad)),  # link trace_state
        length_delimited(13, length_delimited(4, length_delimited(1, bad))),  # link attribute
    ]
    payloads = [raw_request(extra) for extra in span_extras]
    span = make_span(1, 2).SerializeToString()
    for resource in (
        length_delimited(1, length_delimited(1, b"service.name") + length_delimited(2, string)),
        length_delimited(1, length_delimited(1, b"other") + length_delimited(2, string)),
        length_delimited(3, length_delimited(3, bad)),  # entity_refs id_keys
    ):
        scope_spans = length_delimited(2, length_delimited(2, span))
        payloads.append(length_delimited(1, length_delimited(1, resource) + scope_spans))
    for scope in (
        length_delimited(1, bad),
        length_delimited(2, bad),
        length_delimited(3, length_delimited(1, b"k") + length_delimited(2, string)),
    ):
        scope_spans = length_delimited(1, scope) + length_delimited(2, span)
        payloads.append(length_delimited(1, length_delimited(2, scope_spans)))
    payloads.append(length_delimited(1, length_delimited(3, bad)))  # schema_url
    for payload in payloads:
        _native_rejects([payload], "UTF-8")
        with pytest.raises(DecodeError):
            payloads_to_table([payload])


def test_timestamp_beyond_int64_falls_back_to_the_python_error() -> None:
    payloads = one_span_payload(make_span(1, 2, start=2**63 + 1, duration=0))
    _native_rejects(payloads, "int64")
    with pytest.raises(ValueError, match="start_time_unix_nano"):
        payloads_to_table(payloads)


def _nested(depth: int, kind: str) -> bytes:
    value = length_delimited(1, b"leaf")
    for _ in range(depth):
        if kind == "array":
            value = length_delimited(5, length_delimited(1, value))
        else:
            entry = length_delimited(1, b"k") + length_delimited(2, value)
            value = length_delimited(6, length_delimited(1, entry))
    return length_delimited(1, b"deep") + length_delimited(2, value)


def _nesting_handled_alike(payload: bytes) -> bool:
    """Whether protobuf accepts ``payload``; if it does, the native decoder gives the same
    table, and if it does not, the native decoder refuses it for nesting too."""
    try:
        expected = _python([payload])
    except DecodeError:
        _native_rejects([payload], "nested too deeply")
        return False
    assert _normalize(convert._native_table([payload])) == _normalize(expected)
    return True


@pytest.mark.parametrize("kind", ["array", "kvlist"])
@pytest.mark.parametrize("where", ["span", "resource", "event", "link"])
def test_nesting_limit_matches_protobuf(kind: str, where: str) -> None:
    # protobuf rejects messages nested deeper than 100; the native decoder must accept exactly
    # the same inputs, so that it never returns a table where the Python path raises.
    span = make_span(1, 2).SerializeToString()
    accepted = 0
    for depth in range(25, 52):
        kv_bytes = _nested(depth, kind)
        if where == "span":
            payload = raw_request(span + length_delimited(9, kv_bytes))
        elif where == "event":
            payload = raw_request(span + length_delimited(11, length_delimited(3, kv_bytes)))
        elif where == "link":
            payload = raw_request(span + length_delimited(13, length_delimited(4, kv_bytes)))
        else:
            resource = length_delimited(1, length_delimited(1, kv_bytes))
            payload = length_delimited(1, resource + length_delimited(2, length_delimited(2, span)))
        accepted += _nesting_handled_alike(payload)
    assert 0 < accepted < 27


@pytest.mark.parametrize("where", ["request", "span", "any_value"])
def test_group_nesting_limit_matches_protobuf(where: str) -> None:
    span = make_span(1, 2).SerializeToString()
    accepted = 0
    for depth in range(90, 102):
        groups = b"".join(tag(100 + i, 3) for i in range(depth))
        groups += b"".join(tag(100 + i, 4) for i in reversed(range(depth)))
        if where == "request":
            payload = raw_request(span) + groups
        elif where == "span":
            payload = raw_request(span + groups)
        else:
            value = length_delimited(5, groups)
            payload = raw_request(
                span + length_delimited(9, length_delimited(1, b"k") + length_delimited(2, value))
            )
        accepted += _nesting_handled_alike(payload)
    assert 0 < accepted < 12


def test_overlong_tag_is_rejected_like_protobuf() -> None:
    # A tag padded to six bytes is malformed for protobuf even though its value is valid.
    payload = raw_request(make_span(1, 2).SerializeToString() + b"\xaa\x80\x80\x80\x80\x00\x01a")
    _native_rejects([payload], "field number")
    with pytest.raises(DecodeError):
        payloads_to_table([payload])
    five = raw_request(make_span(1, 2).SerializeToString() + b"\xaa\x80\x80\x80\x00\x01a")
    assert assert_same([five]).column("name").to_pylist() == ["a"]


def test_large_content_and_many_rows() -> None:
    text = "x" * 100_000 + '"' + "é" * 1000
    spans = [make_span(1, i, attributes={CONTENT: text, "long": text}) for i in range(50)]
    assert_requests_same([make_request(spans)])
