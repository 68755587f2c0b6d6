"""OTLP protobuf → Arrow span table (:data:`~agenttrace.store.schema.SPAN_SCHEMA`).

This runs on the collector's publish path, so it is written column-wise: one preallocated
Python list per column, filled by row index, turned into an Arrow array once per batch.
Attribute values are dispatched with a single dict lookup on the key; only the long tail that
goes to the ``attributes`` JSON builds a per-span dict.

Reading attributes through protobuf message objects dominates that cost, so
:func:`payloads_to_table` skips them: the optional C extension ``_otlp_columns`` decodes the
wire format straight into Arrow buffers. The Python code stays the reference the extension is
tested against, and the fallback for input the extension declines.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from agenttrace.store.schema import (
    CONTENT_ATTRIBUTE_COLUMNS,
    HOT_DOUBLE_ATTRIBUTES,
    HOT_INT_ATTRIBUTES,
    HOT_STRING_ATTRIBUTES,
    JSON_COLUMNS,
    SPAN_SCHEMA,
    column_name,
)

if TYPE_CHECKING:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

__all__ = [
    "any_value_to_python",
    "native_payloads_to_table",
    "payloads_to_table",
    "requests_to_table",
]

SPAN_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUS_CODES = ("unset", "ok", "error")
_SERVICE_NAME = "service.name"

# Dispatch kinds for attributes with a dedicated column.
_STRING, _INT, _DOUBLE, _CONTENT = range(4)


def any_value_to_python(value: Any) -> Any:
    """An OTLP ``AnyValue`` as a JSON-ready Python value.

    Arrays become lists, kvlists objects, bytes base64 strings, an empty value ``None``.
    """
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "bool_value":
        return value.bool_value
    if which == "array_value":
        return [any_value_to_python(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value_to_python(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def _key_values_to_dict(key_values: Iterable[Any]) -> dict[str, Any]:
    return {kv.key: any_value_to_python(kv.value) for kv in key_values}


def _json(obj: Any) -> bytes:
    # NaN/Infinity have no JSON form; orjson writes them as null rather than failing the batch.
    return orjson.dumps(obj)


_EMPTY_OBJECT = b"{}"
_EMPTY_ARRAY = b"[]"


class _Columns:
    """Preallocated per-column value lists for ``n`` rows."""

    def __init__(self, n: int) -> None:
        self.values: dict[str, list[Any]] = {field.name: [None] * n for field in SPAN_SCHEMA}
        # Most spans have no events, links or leftover attributes: start from the empty JSON.
        self.values["attributes"] = [_EMPTY_OBJECT] * n
        self.values["events"] = [_EMPTY_ARRAY] * n
        self.values["links"] = [_EMPTY_ARRAY] * n
        self.dispatch: dict[str, tuple[list[Any], int]] = {}
        for attrs, kind in (
            (HOT_STRING_ATTRIBUTES, _STRING),
            (HOT_INT_ATTRIBUTES, _INT),
            (HOT_DOUBLE_ATTRIBUTES, _DOUBLE),
        ):
            for attribute in attrs:
                self.dispatch[attribute] = (self.values[column_name(attribute)], kind)
        for attribute, column in CONTENT_ATTRIBUTE_COLUMNS.items():
            self.dispatch[attribute] = (self.values[column], _CONTENT)


def _count_spans(requests: list[ExportTraceServiceRequest]) -> int:
    return sum(
        len(scope_spans.spans)
        for request in requests
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
    )


def _events_json(events: Any) -> bytes:
    return _json(
        [
            {
                "name": event.name,
                "time_unix_nano": event.time_unix_nano,
                "attributes": _key_values_to_dict(event.attributes),
            }
            for event in events
        ]
    )


def _links_json(links: Any) -> bytes:
    out = []
    for link in links:
        entry: dict[str, Any] = {
            "trace_id": link.trace_id.hex(),
            "span_id": link.span_id.hex(),
            "attributes": _key_values_to_dict(link.attributes),
        }
        if link.trace_state:
            entry["trace_state"] = link.trace_state
        out.append(entry)
    return _json(out)


def _array(values: list[Any], field: pa.Field) -> pa.Array:
    try:
        if field.name in JSON_COLUMNS:
            # JSON comes out of orjson as bytes; a binary→string cast validates UTF-8 in C++
            # without a Python-level decode per row.
            return pa.array(values, type=pa.binary()).cast(pa.string())
        return pa.array(values, type=field.type)
    except (OverflowError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"span column {field.name!r}: {exc}") from exc


def requests_to_table(requests: Iterable[ExportTraceServiceRequest]) -> pa.Table:
    """Convert OTLP trace export requests to one Arrow table with :data:`SPAN_SCHEMA`.

    Row order follows the input. Raises ``ValueError`` naming the column if a value cannot be
    represented (for example a timestamp beyond int64). This is the reference the native
    decoder of :func:`payloads_to_table` must reproduce exactly.
    """
    batch = list(requests)
    n = _count_spans(batch)
    columns = _Columns(n)
    v = columns.values
    dispatch = columns.dispatch
    trace_ids, span_ids, parent_ids = v["trace_id"], v["span_id"], v["parent_span_id"]
    trace_states = v["trace_state"]
    starts, ends = v["start_time_unix_nano"], v["end_time_unix_nano"]
    names, kinds = v["name"], v["kind"]
    status_codes, status_messages = v["status_code"], v["status_message"]
    services, scope_names, scope_versions = v["service_name"], v["scope_name"], v["scope_version"]
    attributes_json, resource_json = v["attributes"], v["resource_attributes"]
    events_json, links_json = v["events"], v["links"]
    kind_names, status_names = SPAN_KINDS, STATUS_CODES

    row = 0
    for request in batch:
        for resource_spans in request.resource_spans:
            resource = _key_values_to_dict(resource_spans.resource.attributes)
            service = resource.get(_SERVICE_NAME)
            service_name = service if isinstance(service, str) else None
            resource_bytes = _json(resource) if resource else _EMPTY_OBJECT
            for scope_spans in resource_spans.scope_spans:
                scope = scope_spans.scope
                scope_name = scope.name or None
                scope_version = scope.version or None
                spans = scope_spans.spans
                # Per-scope values fill their whole block of rows at once.
                block = slice(row, row + len(spans))
                services[block] = [service_name] * len(spans)
                scope_names[block] = [scope_name] * len(spans)
                scope_versions[block] = [scope_version] * len(spans)
                resource_json[block] = [resource_bytes] * len(spans)
                for span in spans:
                    trace_ids[row] = span.trace_id.hex()
                    span_ids[row] = span.span_id.hex()
                    parent = span.parent_span_id
                    if parent:
                        parent_ids[row] = parent.hex()
                    trace_state = span.trace_state
                    if trace_state:
                        trace_states[row] = trace_state
                    starts[row] = span.start_time_unix_nano
                    ends[row] = span.end_time_unix_nano
                    names[row] = span.name
                    kind = span.kind
                    kinds[row] = kind_names[kind] if 0 <= kind < 6 else "unspecified"
                    status = span.status
                    code = status.code
                    status_codes[row] = status_names[code] if 0 <= code < 3 else "unset"
                    if status.message:
                        status_messages[row] = status.message
                    rest: dict[str, Any] | None = None
                    for kv in span.attributes:
                        key = kv.key
                        value = kv.value
                        target = dispatch.get(key)
                        if target is not None:
                            column, want = target
                            if want in (_STRING, _CONTENT):
                                # Reading string_value first skips WhichOneof for the common
                                # case; only an empty or non-string value needs the check.
                                text = value.string_value
                                if text:
                                    column[row] = text
                                    continue
                                which = value.WhichOneof("value")
                                if which == "string_value":
                                    column[row] = text
                                    continue
                                if want == _CONTENT and which is not None:
                                    column[row] = _json(any_value_to_python(value)).decode()
                                    continue
                            else:
                                which = value.WhichOneof("value")
                                if which == "int_value":
                                    number = value.int_value
                                    column[row] = number if want == _INT else float(number)
                                    continue
                                if which == "double_value" and want == _DOUBLE:
                                    column[row] = value.double_value
                                    continue
                        if rest is None:
                            rest = {}
                        # A non-empty string_value can only come from a string: skip the
                        # generic decoder for the most common long-tail type.
                        text = value.string_value
                        rest[key] = text if text else any_value_to_python(value)
                    if rest:
                        attributes_json[row] = _json(rest)
                    events = span.events
                    if events:
                        events_json[row] = _events_json(events)
                    links = span.links
                    if links:
                        links_json[row] = _links_json(links)
                    row += 1

    arrays = {
        field.name: _array(v[field.name], field)
        for field in SPAN_SCHEMA
        if field.name != "duration_nano"
    }
    arrays["duration_nano"] = pc.subtract(
        arrays["end_time_unix_nano"], arrays["start_time_unix_nano"]
    )
    return pa.Table.from_arrays([arrays[name] for name in SPAN_SCHEMA.names], schema=SPAN_SCHEMA)


# -- native decoder ---------------------------------------------------------------------------

_native: Any
try:
    from agenttrace.store import _otlp_columns as _native
except ImportError:  # built with optional=True: a missing compiler leaves only the Python path
    _native = None

# (attribute, kind) in the native module's numbering, and the column each one fills.
_NATIVE_SPEC: tuple[tuple[str, int], ...] = (
    *((attribute, _STRING) for attribute in HOT_STRING_ATTRIBUTES),
    *((attribute, _INT) for attribute in HOT_INT_ATTRIBUTES),
    *((attribute, _DOUBLE) for attribute in HOT_DOUBLE_ATTRIBUTES),
    *((attribute, _CONTENT) for attribute in CONTENT_ATTRIBUTE_COLUMNS),
)
_NATIVE_COLUMNS: tuple[str, ...] = tuple(
    CONTENT_ATTRIBUTE_COLUMNS[attribute] if kind == _CONTENT else column_name(attribute)
    for attribute, kind in _NATIVE_SPEC
)


def _buffer(data: bytes | None) -> pa.Buffer | None:
    return None if data is None else pa.py_buffer(data)


def _native_array(field: pa.Field, n: int, buffers: tuple[bytes | None, ...]) -> pa.Array:
    if pa.types.is_string(field.type):
        validity, offsets, data = buffers
        arrow_buffers = [_buffer(validity), _buffer(offsets), _buffer(data)]
        # Checks the offsets in C++: a decoder bug must not produce a table that reads out of
        # bounds. Validated as binary because the decoder already checked every string it
        # copies from the wire for UTF-8 (and writes only ASCII around them); Arrow's second
        # UTF-8 pass read every byte of the columns again.
        pa.Array.from_buffers(pa.binary(), n, arrow_buffers).validate(full=True)
        return pa.Array.from_buffers(field.type, n, arrow_buffers)
    validity, data = buffers
    array = pa.Array.from_buffers(field.type, n, [_buffer(validity), _buffer(data)])
    array.validate()  # buffer sizes; any bit pattern is a valid int64 or float64
    return array


def _native_table(payloads: Sequence[bytes | memoryview]) -> pa.Table:
    n, core, hot = _native.decode(payloads, _NATIVE_SPEC, _SERVICE_NAME)
    buffers: dict[str, tuple[bytes | None, ...]] = dict(core)
    buffers.update(zip(_NATIVE_COLUMNS, hot, strict=True))
    arrays = {
        field.name: _native_array(field, n, buffers[field.name])
        for field in SPAN_SCHEMA
        if field.name != "duration_nano"
    }
    arrays["duration_nano"] = pc.subtract(
        arrays["end_time_unix_nano"], arrays["start_time_unix_nano"]
    )
    return pa.Table.from_arrays([arrays[name] for name in SPAN_SCHEMA.names], schema=SPAN_SCHEMA)


def _parse(payloads: Sequence[bytes | memoryview]) -> list[ExportTraceServiceRequest]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    requests = []
    for payload in payloads:
        request = ExportTraceServiceRequest()
        request.ParseFromString(payload)
        requests.append(request)
    return requests


def native_payloads_to_table(payloads: Sequence[bytes | memoryview]) -> pa.Table | None:
    """The native decoder's table for serialized ``ExportTraceServiceRequest`` payloads, or
    ``None`` when the extension is not built or declines the input (malformed, or a rare
    encoding it does not reproduce); :func:`payloads_to_table` then falls back to Python."""
    if _native is None:
        return None
    try:
        return _native_table(payloads)
    except ValueError:  # includes pa.ArrowInvalid from validation
        return None


def payloads_to_table(payloads: Sequence[bytes | memoryview]) -> pa.Table:
    """Like :func:`requests_to_table`, from serialized ``ExportTraceServiceRequest`` bytes.

    Decodes the protobuf wire format in C when the native module is built. Input it rejects
    goes through the Python path, which gives the same table or raises its own error
    (``DecodeError`` for bad protobuf).
    """
    table = native_payloads_to_table(payloads)
    return table if table is not None else requests_to_table(_parse(payloads))
