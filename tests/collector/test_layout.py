"""The wire layout of trace requests: the C reader and its pure-Python twin agree, and every
record points at the bytes the protobuf runtime itself produces for that part."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agenttrace.collector import _layout, _wire
from agenttrace.collector._layout import (
    ATTRIBUTES,
    END,
    EVENTS,
    KIND,
    LINKS,
    MOST_EVENT_ATTRIBUTES,
    MOST_LINK_ATTRIBUTES,
    PROBLEMS,
    RECORD_FIELDS,
    SCOPE,
    SLOT_FIELDS,
    SPAN,
    START,
    Layout,
)


def _request(seed: int) -> ExportTraceServiceRequest:
    rng = random.Random(seed)
    request = ExportTraceServiceRequest()
    for r in range(rng.randint(1, 3)):
        resource_spans = request.resource_spans.add()
        if rng.random() < 0.8:
            resource_spans.resource.attributes.add(key="service.name").value.string_value = f"s{r}"
        for _ in range(rng.randint(0, 3)):
            scope_spans = resource_spans.scope_spans.add()
            if rng.random() < 0.5:
                scope_spans.scope.name = "scope"
                scope_spans.scope.attributes.add(key="k").value.int_value = 1
            for i in range(rng.randint(0, 4)):
                span = scope_spans.spans.add()
                span.trace_id = rng.choice([rng.randbytes(16), bytes(16), rng.randbytes(15)])
                span.span_id = rng.choice([rng.randbytes(8), bytes(8), b"", rng.randbytes(9)])
                span.parent_span_id = rng.choice([b"", rng.randbytes(8), rng.randbytes(3)])
                span.start_time_unix_nano = rng.choice([1, 2**63, 2**64 - 1, 1_700_000_000])
                span.end_time_unix_nano = span.start_time_unix_nano
                span.name = rng.choice(["", "chat", "é" * 40])
                span.trace_state = rng.choice(["", "a=b,c=d"])
                span.status.message = rng.choice(["", "boom"])
                for a in range(rng.randint(0, 5)):
                    span.attributes.add(key=f"a{a}").value.string_value = "x" * rng.randint(0, 300)
                for e in range(rng.randint(0, 3)):
                    event = span.events.add(name=f"event{e}")
                    for a in range(rng.randint(0, 4)):
                        event.attributes.add(key=f"e{a}").value.bool_value = True
                for _ in range(rng.randint(0, 2)):
                    link = span.links.add(trace_id=bytes(16), span_id=bytes(8))
                    link.trace_state = rng.choice(["", "k=v"])
                    for a in range(rng.randint(0, 3)):
                        link.attributes.add(key=f"l{a}").value.double_value = 1.5
                span.dropped_attributes_count = i
    return request


def _spans(request: ExportTraceServiceRequest) -> list[tuple[int, int, int]]:
    return [
        (r, s, i)
        for r, rs in enumerate(request.resource_spans)
        for s, ss in enumerate(rs.scope_spans)
        for i in range(len(ss.spans))
    ]


@pytest.mark.parametrize("seed", range(40))
def test_native_and_python_layouts_agree_and_match_the_runtime(seed: int) -> None:
    request = _request(seed)
    data = request.SerializeToString()
    native = list(memoryview(_wire.layout(data)).cast("q"))
    assert native == list(_layout._python_layout(data))
    layout = Layout.of(data)
    spans = [layout.unit(u) for u in range(len(layout)) if layout.unit(u)[KIND] == SPAN]
    assert [(u[1], u[2], u[3]) for u in spans] == _spans(request)
    for record in spans:
        span = request.resource_spans[record[1]].scope_spans[record[2]].spans[record[3]]
        assert data[record[START] : record[END]] == span.SerializeToString()
        assert record[ATTRIBUTES] == len(span.attributes)
        assert record[EVENTS] == len(span.events)
        assert record[LINKS] == len(span.links)
        assert record[MOST_EVENT_ATTRIBUTES] == max(
            (len(e.attributes) for e in span.events), default=0
        )
        assert record[MOST_LINK_ATTRIBUTES] == max(
            (len(k.attributes) for k in span.links), default=0
        )
        bad = (
            len(span.trace_id) != 16 or not any(span.trace_id),
            len(span.span_id) != 8 or not any(span.span_id),
            len(span.parent_span_id) not in (0, 8),
            span.start_time_unix_nano >= 2**63,
        )
        assert record[PROBLEMS] == sum(bit << n for n, bit in enumerate(bad))
        _check_slots(data, record, span)
    for u in range(len(layout)):
        record = layout.unit(u)
        if record[KIND] == SCOPE:
            scope = request.resource_spans[record[1]].scope_spans[record[2]].scope
            assert data[record[START] : record[END]] == scope.SerializeToString()


def _check_slots(data: bytes, record: Sequence[int], span: Any) -> None:
    start, end = record[START], record[END]
    slots = list(memoryview(_wire.span_slots(data, start, end)).cast("q"))
    assert slots == list(_layout._python_span_slots(data, start, end))
    expected = []
    if span.trace_state:
        expected.append((_layout.SLOT_TRACE_STATE, -1, -1, span.trace_state.encode()))
    if span.name:
        expected.append((_layout.SLOT_NAME, -1, -1, span.name.encode()))
    for k, kv in enumerate(span.attributes):
        expected.append((_layout.SLOT_ATTRIBUTE, k, -1, kv.SerializeToString()))
    for e, event in enumerate(span.events):
        expected.append((_layout.SLOT_EVENT_NAME, e, -1, event.name.encode()))
        for k, kv in enumerate(event.attributes):
            expected.append((_layout.SLOT_EVENT_ATTRIBUTE, e, k, kv.SerializeToString()))
    for n, link in enumerate(span.links):
        if link.trace_state:
            expected.append((_layout.SLOT_LINK_TRACE_STATE, n, -1, link.trace_state.encode()))
        for k, kv in enumerate(link.attributes):
            expected.append((_layout.SLOT_LINK_ATTRIBUTE, n, k, kv.SerializeToString()))
    if span.HasField("status"):
        expected.append((_layout.SLOT_STATUS, -1, -1, span.status.SerializeToString()))
    got = [
        (kind, index, within, data[a:b])
        for kind, index, within, a, b in zip(*[iter(slots)] * SLOT_FIELDS, strict=True)
    ]
    assert sorted(got) == sorted(expected)


def test_units_at_maps_offsets_to_the_unit_holding_them() -> None:
    request = _request(3)
    data = request.SerializeToString()
    layout = Layout.of(data)
    records = layout.records
    for u in range(len(layout)):
        start, end = records[u * RECORD_FIELDS + START], records[u * RECORD_FIELDS + END]
        if end > start:
            hits = [(start, 1), (end - 1, 2)]
            assert layout.units_at(hits) == {u: hits}
    assert layout.units_at([(0, 1)]) == {}  # the framing of the first resource_spans


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\x0a\x05abc", "length beyond the end of its message"),
        (b"\x0a", "truncated varint"),
        (b"\x0e", "invalid wire type"),
        (b"\x00\x01", "field number 0"),
        (b"\x0a\x03\x12\x01\x15", "truncated"),
    ],
)
def test_malformed_bytes_are_refused_by_both_readers(data: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        _wire.layout(data)
    with pytest.raises(ValueError, match=problem):
        _layout._python_layout(data)


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    request = _request(7)
    # field 99 as varint, fixed64, length-delimited and fixed32, after the real content
    unknown = b"\x98\x06\x01" + b"\x99\x06" + bytes(8) + b"\x9a\x06\x02ab" + b"\x9d\x06" + bytes(4)
    data = request.SerializeToString() + unknown
    assert list(memoryview(_wire.layout(data)).cast("q")) == list(
        memoryview(_wire.layout(request.SerializeToString())).cast("q")
    )
    assert list(_layout._python_layout(data)) == list(_layout._python_layout(data[: -len(unknown)]))


def _group(number: int, depth: int) -> bytes:
    """A (nested) unknown group: start tags, then end tags, of fields ``number``..."""
    starts = b"".join(_tag(number + i, 3) for i in range(depth))
    return starts + b"".join(_tag(number + i, 4) for i in reversed(range(depth)))


def _tag(number: int, wire: int) -> bytes:
    value, out = number << 3 | wire, bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out) + bytes([value])


def test_unknown_groups_are_skipped_as_the_runtime_keeps_them() -> None:
    """The protobuf runtime accepts unknown groups (and keeps them), so the layout must too:
    a span carrying one still gets its records, and a request with one is still screened."""
    request = _request(11)
    data = request.SerializeToString()
    with_groups = data + _group(100, 3)
    parsed = ExportTraceServiceRequest.FromString(with_groups)  # the runtime's verdict
    assert parsed.SerializeToString() == with_groups
    assert list(memoryview(_wire.layout(with_groups)).cast("q")) == list(
        _layout._python_layout(with_groups)
    )
    assert len(Layout.of(with_groups)) == len(Layout.of(data))


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (_group(100, 101), "nested too deeply"),
        (_tag(100, 3), "unterminated group"),
        (_tag(100, 3) + _tag(101, 4), "another field's end tag"),
        (_tag(100, 4), "not started"),
        (_tag(100, 6), "invalid wire type"),
    ],
)
def test_malformed_groups_are_refused_by_both_readers(data: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        _wire.layout(data)
    with pytest.raises(ValueError, match=problem):
        _layout._python_layout(data)


def test_every_request_the_runtime_accepts_is_read_by_both_readers() -> None:
    """Byte-level mutations of real requests: whatever the protobuf runtime parses, the layout
    readers must read too (the processors screen exactly those bytes), with the same records."""
    from google.protobuf.message import DecodeError

    rng = random.Random(99)
    accepted = 0
    for seed in range(60):
        data = bytearray(_request(seed).SerializeToString())
        for _ in range(20):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                if not mutated:
                    break
                position = rng.randrange(len(mutated))
                choice = rng.random()
                if choice < 0.5:
                    mutated[position] = rng.randrange(256)
                elif choice < 0.75:
                    del mutated[position]
                else:
                    mutated.insert(position, rng.randrange(256))
            try:
                ExportTraceServiceRequest.FromString(bytes(mutated))
            except DecodeError:
                continue
            accepted += 1
            native = list(memoryview(_wire.layout(bytes(mutated))).cast("q"))
            assert native == list(_layout._python_layout(bytes(mutated)))
    assert accepted > 100


def _unit_message(request: ExportTraceServiceRequest, record: Sequence[int]) -> Any:
    kind, r, s, i = record[KIND : KIND + 4]
    resource_spans = request.resource_spans[r]
    if kind == _layout.RESOURCE:
        return resource_spans.resource
    if kind == SCOPE:
        return resource_spans.scope_spans[s].scope
    return resource_spans.scope_spans[s].spans[i]


@pytest.mark.parametrize("seed", range(30))
def test_spliced_units_give_the_request_the_runtime_serializes(seed: int) -> None:
    rng = random.Random(seed)
    request = _request(seed)
    encoded = _layout.EncodedRequest(request.SerializeToString())
    contents = {}
    for unit in range(len(encoded.layout)):
        if rng.random() < 0.5:
            continue
        message = _unit_message(request, encoded.layout.unit(unit))
        # Grow some past a length varint's byte boundary (128, 16384), shrink others.
        size = rng.choice([0, 3, 200, 20_000])
        message.attributes.add(key="grown").value.string_value = "g" * size
        if rng.random() < 0.3:
            del message.attributes[0]
        contents[unit] = message.SerializeToString()
    appended = {}
    for r, resource_spans in enumerate(request.resource_spans):
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            if rng.random() < 0.5:
                url = "https://example.com/schema/" + "v" * rng.choice([1, 200])
                scope_spans.schema_url = url
                appended[(r, s)] = b"\x1a" + _layout.encode_varint(len(url)) + url.encode()
    spliced = encoded.with_units(contents, appended)
    assert spliced is not None
    assert ExportTraceServiceRequest.FromString(spliced.data) == request
    if contents or appended:
        assert spliced.data != encoded.data


def test_a_resource_given_twice_is_not_spliced() -> None:
    request = _request(3)
    data = request.SerializeToString()
    # A second ``resource`` field in the first resource_spans: the runtime merges the two.
    extra = b"\x0a\x00"
    first = ExportTraceServiceRequest()
    first.resource_spans.add().CopyFrom(request.resource_spans[0])
    inner = first.resource_spans[0].SerializeToString() + extra
    doubled = b"\x0a" + _layout.encode_varint(len(inner)) + inner
    rest = data[len(first.SerializeToString()) :]
    encoded = _layout.EncodedRequest(doubled + rest)
    layout = encoded.layout
    units = [u for u in range(len(layout)) if layout.unit(u)[KIND] == _layout.RESOURCE]
    assert [layout.unit(u)[1] for u in units].count(0) == 2
    assert encoded.with_units({units[0]: b""}) is None


def _key_value(**fields: Any) -> bytes:
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue

    return KeyValue(**fields).SerializeToString()


_STRING_KEY_VALUE_READERS = [
    pytest.param(_wire.string_key_value, id="c"),
    pytest.param(_layout._python_string_key_value, id="python"),
]


@pytest.mark.parametrize("read", _STRING_KEY_VALUE_READERS)
@pytest.mark.parametrize("text", ["", "a", "é" * 70, "x" * 20_000])
def test_string_key_value_finds_the_key_and_the_text(read: Any, text: str) -> None:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue

    data = b"pad" + _key_value(key="k.e.y", value=AnyValue(string_value=text))
    found = read(data, 3, len(data))
    assert found is not None
    key_start, key_end, text_start, text_end = found
    assert data[key_start:key_end] == b"k.e.y"
    assert data[text_start:text_end].decode() == text


@pytest.mark.parametrize("read", _STRING_KEY_VALUE_READERS)
def test_string_key_value_refuses_every_other_shape(read: Any) -> None:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue

    string = _key_value(key="k", value=AnyValue(string_value="v"))
    others = [
        _key_value(key="k", value=AnyValue(int_value=5)),
        _key_value(key="k", value=AnyValue(bytes_value=b"v")),
        _key_value(key="k"),
        _key_value(value=AnyValue(string_value="v")),
        string + b"\x12\x03\x0a\x01w",  # a second value: the runtime keeps the last
        b"\x12\x03\x0a\x01v\x0a\x01k",  # value before key
        string[:-1],  # truncated
        b"\x0a\xff",  # a varint cut short
    ]
    assert read(string, 0, len(string)) is not None
    for data in others:
        assert read(data, 0, len(data)) is None, data


def _random_edits(rng: random.Random, size: int) -> _layout.Edits:
    """Sorted, non-overlapping edits of ``size`` bytes: replacements, deletions, insertions
    (several at one position, or one in front of a replacement starting there)."""
    edits: _layout.Edits = []
    at = 0
    while at <= size and rng.random() < 0.8:
        start = rng.randint(at, min(size, at + 10))
        end = rng.randint(start, min(size, start + 5))
        edits.append((start, end, bytes(rng.choices(b"abcdef", k=rng.randint(0, 4)))))
        at = end
    return edits


def test_composed_edits_do_what_the_two_in_turn_do() -> None:
    rng = random.Random(7)
    side_by_side = 0
    for _ in range(20_000):
        data = bytes(rng.choices(b"ABCDEFGH", k=rng.randint(0, 30)))
        first = _random_edits(rng, len(data))
        middle = _layout.apply_edits(data, first)
        second = _random_edits(rng, len(middle))
        composed = _layout.compose_edits(first, second, len(data))
        assert _layout.apply_edits(data, composed) == _layout.apply_edits(middle, second)
        # The general path, which the one-pass path hands the overlapping cases to.
        general = _layout._compose_through_pieces(first, second, len(data))
        assert _layout.apply_edits(data, general) == _layout.apply_edits(middle, second)
        side_by_side += _layout._compose_side_by_side(first, second) is not None
        # Sorted, not overlapping, none empty: what apply_edits and a worker's Outcome expect.
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(composed))
        assert all(start < end or new for start, end, new in composed)
    assert 2_000 < side_by_side < 18_000  # both paths were exercised


def test_common_affixes_are_the_longest_shared_start_and_end() -> None:
    rng = random.Random(11)
    for _ in range(3_000):
        old = bytes(rng.choices(b"ab", k=rng.randint(0, 12)))
        new = bytes(rng.choices(b"ab", k=rng.randint(0, 12)))
        same_start, same_end = _layout._common_affixes(old, new)
        shortest = min(len(old), len(new))
        expected_start = next((n for n in range(shortest) if old[n] != new[n]), shortest)
        rest = shortest - expected_start
        expected_end = next((n for n in range(rest) if old[-1 - n] != new[-1 - n]), rest)
        assert (same_start, same_end) == (expected_start, expected_end)


@pytest.mark.parametrize("seed", range(10))
def test_a_unit_changed_by_edits_splices_like_its_new_bytes(seed: int) -> None:
    """``with_units`` takes a unit's new bytes or edits inside it; both give the same request,
    and a second splice still comes back as edits of the first bytes."""
    rng = random.Random(seed)
    request = _request(seed)
    request.resource_spans.add().scope_spans.add().spans.add(name="at least one")
    data = request.SerializeToString()
    encoded = _layout.EncodedRequest(data)
    records = encoded.layout
    as_bytes: dict[int, bytes] = {}
    as_edits: dict[int, _layout.Edits] = {}
    for unit in range(len(records)):
        start, end = records.unit(unit)[START], records.unit(unit)[END]
        if records.unit(unit)[KIND] != SPAN or rng.random() < 0.3:
            continue
        # Append an attribute, some of them large enough to widen the length varints.
        extra = _key_value(key="added", value={"string_value": "v" * rng.choice([1, 300])})
        as_edits[unit] = [(end, end, b"\x4a" + _layout.encode_varint(len(extra)) + extra)]
        as_bytes[unit] = data[start:end] + as_edits[unit][0][2]
    by_bytes = encoded.with_units(as_bytes)
    by_edits = encoded.with_units(as_edits)
    assert by_bytes is not None
    assert by_edits is not None
    assert by_edits.data == by_bytes.data
    # A splice keeps every unit: the span count carries over without reading a layout.
    assert by_edits.spans == Layout.of(by_edits.data).spans == encoded.spans
    # Splicing the result again (normalize, then redaction): edits of the original bytes.
    layout = by_edits.layout
    span = next(u for u in range(len(layout)) if layout.unit(u)[KIND] == SPAN)
    extra = _key_value(key="again", value={"string_value": "w" * 200})
    end = layout.unit(span)[END]
    again = by_edits.with_units(
        {span: [(end, end, b"\x4a" + _layout.encode_varint(len(extra)) + extra)]}
    )
    assert again is not None
    assert again.edits_of is not None
    origin, edits = again.edits_of
    assert origin is data
    assert _layout.apply_edits(data, edits) == again.data
    assert b"again" in again.data
    assert ExportTraceServiceRequest.FromString(again.data)


def test_packed_edits_apply_like_the_list_in_c_and_in_python() -> None:
    rng = random.Random(5)
    for _ in range(2_000):
        data = bytes(rng.choices(b"ABCDEFGH", k=rng.randint(0, 40)))
        edits = _random_edits(rng, len(data))
        expected = _layout._join_edits(data, edits)
        packed = _wire.pack_edits(edits)
        assert packed == _layout.pack_edits(edits)
        assert _wire.apply_packed_edits(data, *packed) == expected
        assert _layout._python_apply_packed_edits(data, *packed) == expected
        assert _layout.apply_edits(data, edits) == expected


@pytest.mark.parametrize(
    "apply",
    [
        pytest.param(_wire.apply_packed_edits, id="c"),
        pytest.param(_layout._python_apply_packed_edits, id="python"),
    ],
)
@pytest.mark.parametrize(
    "edits",
    [
        [(2, 3, b"x"), (1, 2, b"y")],  # out of order
        [(1, 3, b""), (2, 4, b"")],  # overlapping
        [(4, 9, b"")],  # past the end
        [(3, 2, b"")],  # ends before it starts
    ],
)
def test_packed_edits_that_do_not_fit_the_data_are_refused(apply: Any, edits: Any) -> None:
    positions, replacements = _layout.pack_edits(edits)
    with pytest.raises(ValueError, match="do not fit"):
        apply(b"abcdef", positions, replacements)


@pytest.mark.parametrize(
    "apply",
    [
        pytest.param(_wire.apply_packed_edits, id="c"),
        pytest.param(_layout._python_apply_packed_edits, id="python"),
    ],
)
def test_packed_edits_whose_replacements_do_not_add_up_are_refused(apply: Any) -> None:
    positions, replacements = _layout.pack_edits([(1, 2, b"xy")])
    for wrong in (replacements + b"z", replacements[:1]):
        with pytest.raises(ValueError, match="do not fit"):
            apply(b"abcdef", positions, wrong)
    with pytest.raises(ValueError, match="do not fit"):
        apply(b"abcdef", positions[:-1], replacements)


def test_string_places_in_c_and_in_python_agree() -> None:
    """Which matched attributes of a span can be edited in its bytes, or that the span needs
    taking apart: hits anywhere in and around each span, on strings, numbers, arrays, names,
    events and links, with and without the summary mark in the span."""
    rng = random.Random(3)
    places_found = take_aparts = 0
    for seed in range(60):
        request = _request(seed)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    if rng.random() < 0.3:
                        span.attributes.add(key="n").value.int_value = 7
                    if rng.random() < 0.3:
                        values = span.attributes.add(key="l").value.array_value.values
                        values.add().string_value = "v"
                    if rng.random() < 0.2:
                        span.attributes.add(key="agenttrace.redaction.count").value.int_value = 1
        data = request.SerializeToString()
        layout = Layout.of(data)
        for unit in range(len(layout)):
            record = layout.unit(unit)
            if record[KIND] != SPAN:
                continue
            start, end = record[START], record[END]
            for _ in range(10):
                hits = sorted(
                    (rng.randint(max(start - 3, 0), end + 2), rng.choice([0, 5, 17, 63, 64]))
                    for _ in range(rng.randint(0, 4))
                )
                mark = rng.choice([b"", b"agenttrace.redaction."])
                native = _wire.string_places(data, start, end, hits, mark)
                assert native == _layout._python_string_places(data, start, end, hits, mark)
                places_found += bool(native)
                take_aparts += native is None
    # Both outcomes were exercised, many times.
    assert places_found > 100
    assert take_aparts > 100


def test_string_value_edits_in_c_and_in_python_give_the_new_attribute() -> None:
    """A span attribute's text replaced by edits: lengths crossing varint boundaries (127/128,
    16383/16384 bytes), texts sharing a start, an end, both or nothing."""
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    rng = random.Random(9)
    for _ in range(300):
        old = "".join(rng.choices("ab@.", k=rng.choice([0, 5, 120, 127, 128, 300, 16_383])))
        cut = rng.randint(0, len(old))
        insert = "".join(rng.choices("xyz", k=rng.choice([0, 1, 30, 16_400])))
        new = old[:cut] + insert + old[cut + rng.randint(0, len(old) - cut) :]
        span = Span(name="s")
        span.attributes.add(key="k" * rng.choice([1, 200])).value.string_value = old
        data = span.SerializeToString()
        slots = _layout.span_slots(data, 0, len(data))
        content_start, content_end = (
            slots[SLOT_FIELDS + 3],
            slots[SLOT_FIELDS + 4],
        )  # after the name's
        found = _layout.string_key_value(data, content_start, content_end)
        assert found is not None
        tag_at = _layout.field_start(data, content_start)
        args = (data, tag_at, found, new.encode())
        edits = _wire.string_value_edits(*args)
        assert edits == _layout._python_string_value_edits(*args)
        assert edits[0][:2] == (tag_at, found[2])  # the lengths and the key, up to the text
        expected = Span(name="s")
        expected.attributes.add(key=span.attributes[0].key).value.string_value = new
        assert _layout.apply_edits(data, edits) == expected.SerializeToString()
