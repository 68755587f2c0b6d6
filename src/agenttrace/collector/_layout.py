"""Where each resource, scope and span of a serialized trace request lies, and what it holds.

Processors screen a request's bytes in one pass and take apart only the spans that need it;
this tells them which span a byte offset belongs to, and gives the per-span counts the limits
check and the id/time checks the receiver makes, without touching the protobuf runtime.

The C accelerator (``agenttrace.collector._wire``, built at install time where a compiler
exists) and :func:`_python_layout` produce the same records; the fallback is slower, not
different.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter

_native_layout: Callable[[bytes], bytes] | None
_native_span_slots: Callable[[bytes, int, int], bytes] | None
_native_string_key_value: Callable[[bytes, int, int], tuple[int, int, int, int] | None] | None
_native_string_value_edits: Callable[..., list[tuple[int, int, bytes]]] | None
_native_string_places: Callable[..., list[Place] | None] | None
_native_pack_edits: Callable[[list[tuple[int, int, bytes]]], tuple[bytes, bytes]] | None
_native_apply_packed_edits: Callable[[bytes, bytes, bytes], bytes] | None
try:
    from agenttrace.collector._wire import apply_packed_edits as _native_apply_packed_edits
    from agenttrace.collector._wire import layout as _native_layout
    from agenttrace.collector._wire import pack_edits as _native_pack_edits
    from agenttrace.collector._wire import span_slots as _native_span_slots
    from agenttrace.collector._wire import string_key_value as _native_string_key_value
    from agenttrace.collector._wire import string_places as _native_string_places
    from agenttrace.collector._wire import string_value_edits as _native_string_value_edits
except ImportError:  # pragma: no cover - no compiler at install time
    _native_layout = _native_span_slots = _native_string_key_value = None
    _native_string_value_edits = _native_pack_edits = _native_apply_packed_edits = None
    _native_string_places = None

RESOURCE, SCOPE, SPAN = 0, 1, 2
# Problem bits of a span record.
BAD_TRACE_ID, BAD_SPAN_ID, BAD_PARENT_ID, BAD_TIME = 1, 2, 4, 8
RECORD_FIELDS = 12
# Record fields, in order.
(
    KIND,
    RESOURCE_INDEX,
    SCOPE_INDEX,
    SPAN_INDEX,
    START,
    END,
    ATTRIBUTES,
    EVENTS,
    LINKS,
    MOST_EVENT_ATTRIBUTES,
    MOST_LINK_ATTRIBUTES,
    PROBLEMS,
) = range(RECORD_FIELDS)

# Slot records of one span (:func:`span_slots`): kind, index, index within, start, end.
SLOT_FIELDS = 5
SLOT_START, SLOT_END = 3, 4
(
    SLOT_NAME,
    SLOT_TRACE_STATE,
    SLOT_STATUS,
    SLOT_ATTRIBUTE,
    SLOT_EVENT_NAME,
    SLOT_EVENT_ATTRIBUTE,
    SLOT_LINK_TRACE_STATE,
    SLOT_LINK_ATTRIBUTE,
) = range(8)

_INT64_LIMIT = 1 << 63


@dataclass(frozen=True)
class Layout:
    """The unit records of one serialized request (see ``_wire.c`` for the fields)."""

    records: Sequence[int]

    @classmethod
    def of(cls, data: bytes) -> Layout:
        """Raises ``ValueError`` on bytes that are not a well-formed request."""
        if _native_layout is not None:
            return cls(memoryview(_native_layout(data)).cast("q"))
        return cls(_python_layout(data))

    @property
    def spans(self) -> int:
        """How many spans the request holds."""
        return list(self.records[KIND::RECORD_FIELDS]).count(SPAN)

    def __len__(self) -> int:
        return len(self.records) // RECORD_FIELDS

    def unit(self, index: int) -> Sequence[int]:
        base = index * RECORD_FIELDS
        return self.records[base : base + RECORD_FIELDS]

    def units_at(self, hits: Sequence[tuple[int, int]]) -> dict[int, list[tuple[int, int]]]:
        """The units holding the hits (a byte offset, and a tag the caller chose), each with its
        hits; hits in no unit (the framing between them) are ignored."""
        records = self.records
        starts = records[START::RECORD_FIELDS]
        found: dict[int, list[tuple[int, int]]] = {}
        for hit in hits:
            offset = hit[0]
            index = bisect.bisect_right(starts, offset) - 1
            if index >= 0 and offset < records[index * RECORD_FIELDS + END]:
                found.setdefault(index, []).append(hit)
        return found


def span_slots(data: bytes, start: int, end: int) -> Sequence[int]:
    """Where the name, trace state, status, attributes, events' names and attributes, and
    links' trace states and attributes of the span in ``data[start:end]`` lie: packed records
    of :data:`SLOT_FIELDS` values, in wire order."""
    if _native_span_slots is not None:
        return memoryview(_native_span_slots(data, start, end)).cast("q")
    return _python_span_slots(data, start, end)


def matched_slots(
    data: bytes, start: int, end: int, hits: Sequence[tuple[int, int]]
) -> tuple[Sequence[int], dict[int, set[int]]]:
    """The slots of the span in ``data[start:end]`` (:func:`span_slots`), and those the screen's
    hits (offset, pattern) lie in, each with its patterns."""
    slots = span_slots(data, start, end)
    starts = slots[SLOT_START::SLOT_FIELDS]
    matched: dict[int, set[int]] = {}
    for offset, pattern in hits:
        slot = bisect.bisect_right(starts, offset) - 1
        if slot >= 0 and offset < slots[slot * SLOT_FIELDS + SLOT_END]:
            matched.setdefault(slot, set()).add(pattern)
    return slots, matched


# A matched plain string attribute of a span: where its entry's tag lies, where the entry
# ends, the key's and the text's ranges, and the screen patterns that hit it (a bit each).
Place = tuple[int, int, int, int, int, int, int]
_SPAN_ATTRIBUTES_TAG = 0x4A
_SPAN_ATTRIBUTES_TAG_BYTE = bytes((_SPAN_ATTRIBUTES_TAG,))


def string_places(
    data: bytes, start: int, end: int, hits: list[tuple[int, int]], mark: bytes
) -> list[Place] | None:
    """Every attribute of the span in ``data[start:end]`` that a screen hit lies in, in wire
    order, when each is a plain string ``KeyValue``: what the redaction processor can edit in
    the bytes. ``None`` when the span needs taking apart instead: ``mark`` occurs in it, a hit
    lies in another part (its name, an event, a link, ...), such an attribute holds anything
    else, or a pattern's index is 64 or more."""
    if _native_string_places is not None:
        return _native_string_places(data, start, end, hits, mark)
    return _python_string_places(data, start, end, hits, mark)


def _python_string_places(
    data: bytes, start: int, end: int, hits: list[tuple[int, int]], mark: bytes
) -> list[Place] | None:
    if mark and data.find(mark, start, end) != -1:
        return None
    if any(not 0 <= pattern < 64 for _, pattern in hits):
        return None
    slots, matched = matched_slots(data, start, end, hits)
    places: list[Place] = []
    for slot, patterns in sorted(matched.items()):
        base = slot * SLOT_FIELDS
        content_start, content_end = slots[base + SLOT_START], slots[base + SLOT_END]
        found = string_key_value(data, content_start, content_end)
        tag_at = field_start(data, content_start)
        if slots[base] != SLOT_ATTRIBUTE or found is None or tag_at < 0:
            return None
        if data[tag_at] != _SPAN_ATTRIBUTES_TAG:
            return None
        mask = sum(1 << pattern for pattern in patterns)
        places.append((tag_at, content_end, *found, mask))
    return places


# -- the pure-Python twin of _wire.c --------------------------------------------------------


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end:
            raise ValueError("malformed OTLP protobuf: truncated varint")
        if shift >= 64:
            raise ValueError("malformed OTLP protobuf: varint longer than 10 bytes")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7


_MAX_GROUP_DEPTH = 100


def _field(data: bytes, pos: int, end: int, depth: int) -> tuple[int, int, int, int, int]:
    """(number, wire type, payload start, payload end, next position) of the field at ``pos``;
    a group is skipped whole (its payload is empty)."""
    tag, pos = _varint(data, pos, end)
    if tag >> 32:
        raise ValueError("malformed OTLP protobuf: field number out of range")
    number, wire = tag >> 3, tag & 7
    if number == 0:
        raise ValueError("malformed OTLP protobuf: field number 0")
    start = pos
    if wire == 0:
        _, pos = _varint(data, pos, end)
    elif wire in (1, 5):
        pos += 8 if wire == 1 else 4
        if pos > end:
            raise ValueError("malformed OTLP protobuf: truncated fixed-width field")
    elif wire == 2:
        length, pos = _varint(data, pos, end)
        if length > end - pos:
            raise ValueError("malformed OTLP protobuf: length beyond the end of its message")
        start = pos
        pos += length
    elif wire == 3:
        if depth >= _MAX_GROUP_DEPTH:
            raise ValueError("malformed OTLP protobuf: groups nested too deeply")
        while True:
            if pos >= end:
                raise ValueError("malformed OTLP protobuf: unterminated group")
            inner, inner_wire, _, _, pos = _field(data, pos, end, depth + 1)
            if inner_wire == 4:
                if inner != number:
                    raise ValueError(
                        "malformed OTLP protobuf: group ended by another field's end tag"
                    )
                break
        return number, wire, start, start, pos
    elif wire != 4:
        raise ValueError("malformed OTLP protobuf: invalid wire type")
    return number, wire, start, pos, pos


def _fields(data: bytes, pos: int, end: int) -> list[tuple[int, int, int, int]]:
    """(number, wire type, payload start, payload end) of every field in ``data[pos:end]``."""
    out = []
    while pos < end:
        number, wire, start, stop, pos = _field(data, pos, end, 0)
        if wire == 4:
            raise ValueError("malformed OTLP protobuf: end of a group that was not started")
        out.append((number, wire, start, stop))
    return out


def _count(data: bytes, start: int, end: int, wanted: int) -> int:
    return sum(1 for n, w, _, _ in _fields(data, start, end) if n == wanted and w == 2)


def _span(data: bytes, start: int, end: int, record: list[int]) -> None:
    trace_id = span_id = b""
    parent_len = begin = finish = 0
    for number, wire, a, b in _fields(data, start, end):
        if number == 1 and wire == 2:
            trace_id = data[a:b]
        elif number == 2 and wire == 2:
            span_id = data[a:b]
        elif number == 4 and wire == 2:
            parent_len = b - a
        elif number == 7 and wire == 1:
            begin = int.from_bytes(data[a:b], "little")
        elif number == 8 and wire == 1:
            finish = int.from_bytes(data[a:b], "little")
        elif number == 9 and wire == 2:
            record[ATTRIBUTES] += 1
        elif number == 11 and wire == 2:
            record[EVENTS] += 1
            most = record[MOST_EVENT_ATTRIBUTES]
            record[MOST_EVENT_ATTRIBUTES] = max(most, _count(data, a, b, 3))
        elif number == 13 and wire == 2:
            record[LINKS] += 1
            most = record[MOST_LINK_ATTRIBUTES]
            record[MOST_LINK_ATTRIBUTES] = max(most, _count(data, a, b, 4))
    problems = 0
    if len(trace_id) != 16 or not any(trace_id):
        problems |= BAD_TRACE_ID
    if len(span_id) != 8 or not any(span_id):
        problems |= BAD_SPAN_ID
    if parent_len not in (0, 8):
        problems |= BAD_PARENT_ID
    if begin >= _INT64_LIMIT or finish >= _INT64_LIMIT:
        problems |= BAD_TIME
    record[PROBLEMS] = problems


def _python_span_slots(data: bytes, start: int, end: int) -> array[int]:
    slots = array("q")
    counts = {9: 0, 11: 0, 13: 0}
    singles = {5: SLOT_NAME, 3: SLOT_TRACE_STATE, 15: SLOT_STATUS}
    nested = {11: (2, SLOT_EVENT_NAME, 3, SLOT_EVENT_ATTRIBUTE)}
    nested[13] = (3, SLOT_LINK_TRACE_STATE, 4, SLOT_LINK_ATTRIBUTE)
    for number, wire, a, b in _fields(data, start, end):
        if wire != 2:
            continue
        if number in singles:
            slots.extend((singles[number], -1, -1, a, b))
        elif number == 9:
            slots.extend((SLOT_ATTRIBUTE, counts[9], -1, a, b))
            counts[9] += 1
        elif number in nested:
            text_field, text_kind, attribute_field, attribute_kind = nested[number]
            index, attribute = counts[number], 0
            for inner, inner_wire, c, d in _fields(data, a, b):
                if inner_wire != 2:
                    continue
                if inner == text_field:
                    slots.extend((text_kind, index, -1, c, d))
                elif inner == attribute_field:
                    slots.extend((attribute_kind, index, attribute, c, d))
                    attribute += 1
            counts[number] += 1
    return slots


def _python_layout(data: bytes) -> array[int]:
    records = array("q")
    end = len(data)

    def unit(kind: int, r: int, s: int, i: int, a: int, b: int) -> list[int]:
        return [kind, r, s, i, a, b] + [0] * (RECORD_FIELDS - 6)

    resource_index = 0
    for number, wire, a, b in _fields(data, 0, end):
        if number != 1 or wire != 2:
            continue
        scope_index = 0
        for rn, rw, ra, rb in _fields(data, a, b):
            if rw != 2:
                continue
            if rn == 1:
                record = unit(RESOURCE, resource_index, -1, -1, ra, rb)
                record[ATTRIBUTES] = _count(data, ra, rb, 1)
                records.extend(record)
            elif rn == 2:
                span_index = 0
                for sn, sw, sa, sb in _fields(data, ra, rb):
                    if sw != 2:
                        continue
                    if sn == 1:
                        record = unit(SCOPE, resource_index, scope_index, -1, sa, sb)
                        record[ATTRIBUTES] = _count(data, sa, sb, 3)
                        records.extend(record)
                    elif sn == 2:
                        record = unit(SPAN, resource_index, scope_index, span_index, sa, sb)
                        _span(data, sa, sb, record)
                        records.extend(record)
                        span_index += 1
                scope_index += 1
        resource_index += 1
    return records


class EncodedRequest:
    """A request's current protobuf bytes, with their layout read once on first use.

    Passed along the pipeline while no processor has changed the request, so each one screens
    the same bytes instead of serializing the request again.
    """

    __slots__ = ("_layout", "_spans", "appended", "data", "edits_of")

    def __init__(
        self,
        data: bytes,
        edits_of: tuple[bytes, Edits] | None = None,
        spans: int | None = None,
        appended: Mapping[tuple[int, int], bytes] | None = None,
    ) -> None:
        self.data = data
        # (earlier bytes, edits): these bytes are ``apply_edits`` of those, which is cheaper to
        # send to another process than the bytes when the other process holds the earlier ones.
        self.edits_of = edits_of
        # Encoded fields still to append to scope_spans (by resource_spans and scope_spans
        # index): the request is ``data`` with them, spliced in by the next ``with_units`` or by
        # ``complete``. A processor that only adds such fields (normalize's schema URL) thus
        # costs no splice, and the next one no new layout.
        self.appended = appended or {}
        self._layout: Layout | None = None
        self._spans = spans

    @property
    def layout(self) -> Layout:
        if self._layout is None:
            self._layout = Layout.of(self.data)
        return self._layout

    @property
    def spans(self) -> int:
        """How many spans the request holds (known without a layout after a splice, which
        keeps every unit)."""
        if self._spans is None:
            self._spans = self.layout.spans
        return self._spans

    def with_units(
        self,
        contents: Mapping[int, bytes | Edits],
        scope_spans_fields: Mapping[tuple[int, int], bytes] | None = None,
    ) -> EncodedRequest | None:
        """These bytes with the units ``contents`` names (layout indices) holding new message
        bytes, or changed by edits (offsets in these bytes, inside the unit's message),
        ``scope_spans_fields`` (encoded fields, by resource_spans and scope_spans index)
        appended to those scope_spans after the pending ones, and the lengths of the messages
        around them fixed: the request a processor changed in a few places, without
        serializing it whole.

        ``None`` when a resource or scope to replace occurs twice in its message: the runtime
        merged the occurrences when it parsed them, so replacing one would leave the other.
        """
        records = self.layout.records
        data = self.data
        edits: list[tuple[int, int, bytes]] = []
        grown: dict[tuple[int, int], int] = {}  # (resource_spans, scope_spans or -1): bytes
        for unit, content in contents.items():
            base = unit * RECORD_FIELDS
            kind, r, s = records[base + KIND : base + SCOPE_INDEX + 1]
            if kind != SPAN and self._occurrences(kind, r, s) > 1:
                return None
            start, end = records[base + START], records[base + END]
            length_at = _length_start(data, start)
            if isinstance(content, bytes):
                length = encode_varint(len(content))
                edits.append((length_at, end, length + content))
                size = len(content)
            else:
                size = end - start + sum(len(new) - (b - a) for a, b, new in content)
                length = encode_varint(size)
                edits.append((length_at, start, length))
                edits.extend(content)
            parent = (r, -1 if kind == RESOURCE else s)
            grown[parent] = grown.get(parent, 0) + len(length) + size - (end - length_at)
        appended = self._appended_with(scope_spans_fields or {})
        for place, fields in appended.items():
            grown[place] = grown.get(place, 0) + len(fields)
        for r, (length_at, start, end, scopes) in enumerate(_containers(data)):
            resource_growth = grown.get((r, -1), 0)
            for s, (scope_length_at, scope_start, scope_end) in enumerate(scopes):
                growth = grown.get((r, s), 0)
                if (r, s) in appended:
                    edits.append((scope_end, scope_end, appended[(r, s)]))
                if growth:
                    length = encode_varint(scope_end - scope_start + growth)
                    edits.append((scope_length_at, scope_start, length))
                    resource_growth += growth + len(length) - (scope_start - scope_length_at)
            if resource_growth:
                edits.append((length_at, start, encode_varint(end - start + resource_growth)))
        # By position only: an insertion at a span's end (its summary) stays in front of one
        # at its scope's end, in the order made.
        edits.sort(key=itemgetter(0, 1))
        spliced = apply_edits(data, edits)
        if self.edits_of is None:
            return EncodedRequest(spliced, (data, edits), self.spans)
        # Still edits of the bytes received: what a worker sends back stays small.
        origin, earlier = self.edits_of
        composed = compose_edits(earlier, edits, len(origin))
        return EncodedRequest(spliced, (origin, composed), self.spans)

    def with_appended(self, scope_spans_fields: Mapping[tuple[int, int], bytes]) -> EncodedRequest:
        """This request with ``scope_spans_fields`` appended to those scope_spans: the same
        bytes and layout, the fields pending (see ``appended``)."""
        appended = self._appended_with(scope_spans_fields)
        request = EncodedRequest(self.data, self.edits_of, self._spans, appended)
        request._layout = self._layout
        return request

    def _appended_with(
        self, scope_spans_fields: Mapping[tuple[int, int], bytes]
    ) -> dict[tuple[int, int], bytes]:
        """The pending fields, then ``scope_spans_fields``, by scope_spans."""
        appended = dict(self.appended)
        for place, fields in scope_spans_fields.items():
            appended[place] = appended.get(place, b"") + fields
        return appended

    def complete(self) -> EncodedRequest:
        """This request with no fields pending: its ``data`` is the whole request."""
        if not self.appended:
            return self
        spliced = self.with_units({})
        assert spliced is not None  # only a unit to replace can make a splice impossible
        return spliced

    def _occurrences(self, kind: int, r: int, s: int) -> int:
        """How often the resource (``kind`` RESOURCE) or scope of a message occurs in it."""
        records = self.layout.records
        kinds = records[KIND::RECORD_FIELDS]
        return sum(
            1
            for index, unit_kind in enumerate(kinds)
            if unit_kind == kind
            and records[index * RECORD_FIELDS + RESOURCE_INDEX] == r
            and records[index * RECORD_FIELDS + SCOPE_INDEX] == s
        )


# (start, end, replacement): the bytes ``start:end`` replaced; sorted, not overlapping.
Edits = list[tuple[int, int, bytes]]


def apply_edits(data: bytes, edits: Edits) -> bytes:
    if _native_pack_edits is not None and _native_apply_packed_edits is not None:
        return _native_apply_packed_edits(data, *_native_pack_edits(edits))
    return _join_edits(data, edits)


def _join_edits(data: bytes, edits: Edits) -> bytes:
    view = memoryview(data)
    pieces: list[bytes | memoryview] = []
    last = 0
    for start, end, replacement in edits:
        pieces.append(view[last:start])
        pieces.append(replacement)
        last = end
    pieces.append(view[last:])
    return b"".join(pieces)


# Edits as two flat byte strings, cheap to pickle (one object each, whatever their number):
# native int64 (start, end, replacement length) triplets, and the replacements joined.
PackedEdits = tuple[bytes, bytes]


def pack_edits(edits: Edits) -> PackedEdits:
    if _native_pack_edits is not None:
        return _native_pack_edits(edits)
    positions = array("q", [n for start, end, new in edits for n in (start, end, len(new))])
    return positions.tobytes(), b"".join(new for _, _, new in edits)


def apply_packed_edits(data: bytes, packed: PackedEdits) -> bytes:
    """``apply_edits`` of packed edits; ``ValueError`` if they are out of order, overlap,
    reach past ``data`` or the replacements do not add up."""
    if _native_apply_packed_edits is not None:
        return _native_apply_packed_edits(data, *packed)
    return _python_apply_packed_edits(data, *packed)


def _python_apply_packed_edits(data: bytes, positions: bytes, replacements: bytes) -> bytes:
    numbers = array("q", positions[: len(positions) - len(positions) % 24])
    edits: Edits = []
    fits = len(positions) % 24 == 0
    last = used = 0
    for index in range(0, len(numbers), 3):
        start, end, size = numbers[index : index + 3]
        fits = fits and last <= start <= end <= len(data) and 0 <= size <= len(replacements) - used
        edits.append((start, end, replacements[used : used + size]))
        used += size
        last = end
    if not fits or used != len(replacements):
        raise ValueError(
            "packed edits do not fit the data: out of order, overlapping, out of range "
            "or replacements of other sizes"
        )
    return _join_edits(data, edits)


def string_value_edits(
    data: bytes, tag_at: int, ranges: tuple[int, int, int, int], new: bytes
) -> Edits:
    """Edits of ``data`` that give the span attribute whose entry starts at ``tag_at`` (a plain
    string ``KeyValue``; ``ranges``: its key's and text's, as :func:`string_key_value` gives
    them) the text ``new``: the entry's lengths and key written again, and only the stretch
    where the texts differ replaced."""
    if _native_string_value_edits is not None:
        return _native_string_value_edits(data, tag_at, ranges, new)
    return _python_string_value_edits(data, tag_at, ranges, new)


def _python_string_value_edits(
    data: bytes, tag_at: int, ranges: tuple[int, int, int, int], new: bytes
) -> Edits:
    key_start, key_end, text_start, text_end = ranges
    if not 0 <= tag_at <= key_start <= key_end <= text_start <= text_end <= len(data):
        raise ValueError("key-value ranges outside the data")
    key = data[key_start:key_end]
    text_prefix = encode_varint(len(new))
    value_length = 1 + len(text_prefix) + len(new)
    value_prefix = encode_varint(value_length)
    key_prefix = encode_varint(len(key))
    entry_length = 2 + len(key_prefix) + len(key) + len(value_prefix) + value_length
    entry = (_SPAN_ATTRIBUTES_TAG_BYTE, encode_varint(entry_length), b"\x0a", key_prefix, key)
    header = b"".join((*entry, b"\x12", value_prefix, b"\x0a", text_prefix))
    same_start, same_end = _common_affixes(data[text_start:text_end], new)
    middle = new[same_start : len(new) - same_end]
    return [(tag_at, text_start, header), (text_start + same_start, text_end - same_end, middle)]


def _common_affixes(old: bytes, new: bytes) -> tuple[int, int]:
    shortest = min(len(old), len(new))
    same_start = _longest(lambda n: old[:n] == new[:n], shortest)
    rest = shortest - same_start
    same_end = _longest(lambda n: old[len(old) - n :] == new[len(new) - n :], rest)
    return same_start, same_end


def _longest(holds: Callable[[int], bool], most: int) -> int:
    """The largest ``n`` up to ``most`` for which ``holds(n)``, a property true up to some
    point and false after (a binary search)."""
    low, high = 0, most
    while low < high:
        middle = (low + high + 1) // 2
        if holds(middle):
            low = middle
        else:
            high = middle - 1
    return low


def compose_edits(first: Edits, second: Edits, size: int) -> Edits:
    """Edits of ``size`` bytes with the effect of applying ``first``, then ``second`` (whose
    offsets are in the bytes ``first`` gave)."""
    composed = _compose_side_by_side(first, second)
    return composed if composed is not None else _compose_through_pieces(first, second, size)


def _compose_side_by_side(first: Edits, second: Edits) -> Edits | None:
    """:func:`compose_edits` in one pass when no edit of ``second`` cuts into what one of
    ``first`` put in, short of replacing all of it (a length varint both rewrote): the usual
    case, normalize's few edits and redaction's many. ``None`` otherwise."""
    out: Edits = []
    index = shift = 0  # shift: offset in the bytes ``first`` gave, less the original's
    for start, end, new in second:
        placed = False
        while index < len(first) and not placed:
            first_start, first_end, first_new = first[index]
            put_start = first_start + shift
            put_end = put_start + len(first_new)
            if end <= put_start:  # entirely before what this edit of ``first`` put in
                break
            if (start, end) == (put_start, put_end):  # replaces all of it
                out.append((first_start, first_end, new))
                placed = True
            elif start < put_end:
                return None
            else:
                out.append(first[index])
            shift += len(first_new) - (first_end - first_start)
            index += 1
        if not placed:
            out.append((start - shift, end - shift, new))
    out.extend(first[index:])
    return [edit for edit in out if edit[0] != edit[1] or edit[2]]


def _compose_through_pieces(first: Edits, second: Edits, size: int) -> Edits:
    # The intermediate bytes as pieces: (start there, original range or None, replacement).
    pieces: list[tuple[int, int, int, bytes]] = []
    at = last = 0
    for start, end, replacement in first:
        if start > last:
            pieces.append((at, start, last, b""))
            at += start - last
        if replacement:
            pieces.append((at, -1, -1, replacement))
            at += len(replacement)
        last = end
    if last < size:
        pieces.append((at, size, last, b""))
        at += size - last
    starts = [piece[0] for piece in pieces]
    out: list[tuple[int, int, bytes]] = []
    pending: list[bytes] = []
    cursor = 0  # in the original: what the output holds up to

    def keep(begin: int, stop: int) -> None:
        """Carry the intermediate bytes ``begin:stop`` into the output."""
        nonlocal cursor
        index = max(bisect.bisect_right(starts, begin) - 1, 0)
        while begin < stop and index < len(pieces):
            piece_at, original_end, original_start, replacement = pieces[index]
            piece_end = piece_at + (len(replacement) or original_end - original_start)
            upto = min(stop, piece_end)
            if upto > begin:
                if replacement:
                    pending.append(replacement[begin - piece_at : upto - piece_at])
                else:
                    from_ = original_start + begin - piece_at
                    if from_ != cursor or pending:
                        out.append((cursor, from_, b"".join(pending)))
                        pending.clear()
                    cursor = original_start + upto - piece_at
                begin = upto
            index += 1

    position = 0
    for start, end, replacement in second:
        keep(position, start)
        pending.append(replacement)
        position = end
    keep(position, at)
    if cursor != size or pending:
        out.append((cursor, size, b"".join(pending)))
    return [edit for edit in out if edit[0] != edit[1] or edit[2]]


_ONE_BYTE_VARINTS = tuple(bytes((n,)) for n in range(0x80))


def encode_varint(number: int) -> bytes:
    if number < 0x80:
        return _ONE_BYTE_VARINTS[number]
    if number < 0x4000:  # message and value lengths up to 16 KB
        return bytes((number & 0x7F | 0x80, number >> 7))
    out = bytearray()
    while True:
        low = number & 0x7F
        number >>= 7
        if number:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def string_key_value(data: bytes, start: int, end: int) -> tuple[int, int, int, int] | None:
    """Where the key and the text of the ``KeyValue`` in ``data[start:end]`` lie, as
    ``(key start, key end, text start, text end)``, when it is exactly a key followed by an
    ``AnyValue`` holding a ``string_value``; ``None`` for any other shape."""
    if _native_string_key_value is not None:
        return _native_string_key_value(data, start, end)
    return _python_string_key_value(data, start, end)


def _python_string_key_value(data: bytes, start: int, end: int) -> tuple[int, int, int, int] | None:
    try:
        if start >= end or data[start] != 0x0A:
            return None
        key_start, key_end = _delimited_at(data, start + 1, end)
        if key_end >= end or data[key_end] != 0x12:
            return None
        value_start, value_end = _delimited_at(data, key_end + 1, end)
        if value_end != end or value_start >= end or data[value_start] != 0x0A:
            return None
        text_start, text_end = _delimited_at(data, value_start + 1, end)
    except ValueError:  # a truncated varint
        return None
    return (key_start, key_end, text_start, text_end) if text_end == end else None


def _delimited_at(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """The payload range of the length-prefixed payload whose length varint is at ``pos``
    (an empty range past ``end`` when it does not fit)."""
    length, pos = _varint(data, pos, end)
    if pos + length > end:
        return end + 1, end + 1
    return pos, pos + length


def field_start(data: bytes, content_start: int) -> int:
    """Where the single-byte tag of the length-delimited field whose content starts at
    ``content_start`` lies (every tag of a span's own fields is one byte)."""
    return _length_start(data, content_start) - 1


def _length_start(data: bytes, content_start: int) -> int:
    """Where the length varint in front of a message's content begins: its last byte is the
    one before the content, every earlier byte of it has the continuation bit set, and the
    field tag before it ends with a byte that has not."""
    at = content_start - 1
    while at > 0 and data[at - 1] & 0x80:
        at -= 1
    return at


def _containers(data: bytes) -> list[tuple[int, int, int, list[tuple[int, int, int]]]]:
    """(length start, content start, content end) of every ``resource_spans``, with the same
    for each of its ``scope_spans``; numbered as the layout numbers them."""
    out: list[tuple[int, int, int, list[tuple[int, int, int]]]] = []
    pos, end = 0, len(data)
    while pos < end:
        number, wire, start, stop, next_pos = _field(data, pos, end, 0)
        if number == 1 and wire == 2:
            scopes = []
            inner = start
            while inner < stop:
                inner_number, inner_wire, a, b, after = _field(data, inner, stop, 0)
                if inner_number == 2 and inner_wire == 2:
                    scopes.append((_varint(data, inner, stop)[1], a, b))
                inner = after
            out.append((_varint(data, pos, end)[1], start, stop, scopes))
        pos = next_pos
    return out
