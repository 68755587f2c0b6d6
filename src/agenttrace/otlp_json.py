"""OTLP/JSON encoding of trace export requests, following the OTLP specification.

The converters walk orjson documents and protobuf messages directly instead of going through
``google.protobuf.json_format``, which is several times slower (see ``bench/otlp_json.py``) and
gets OTLP/JSON wrong (base64 ids, enum names). The OTLP/JSON rules:

- field names are lowerCamelCase; the original snake_case names are accepted on input;
- trace, span and parent span ids are hex strings; other ``bytes`` values are base64;
- enums are integers (names are still accepted on input);
- 64-bit integers are written as strings and accepted as strings or numbers;
- doubles are numbers, or the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``;
- unknown fields are ignored on input, and ``null`` means "not set".

Per-field converters are derived once from the message descriptors, so every field of the
OTLP trace schema is covered. The encoder writes exactly what ``json_format.MessageToDict``
writes (fields in number order, defaults omitted), apart from the id and enum rules above.

It is agent-side code: it needs only protobuf (through opentelemetry-proto) and orjson.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from typing import Any

import orjson
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

__all__ = ["OtlpJsonError", "decode_request", "encode_request"]

_HEX_ID_FIELDS = frozenset({"trace_id", "span_id", "parent_span_id"})
_KEY_VALUE = KeyValue.DESCRIPTOR.full_name
_ANY_VALUE = AnyValue.DESCRIPTOR.full_name
_SCHEMA_PROBLEM = "body does not match the OTLP trace schema"

_Decode = Callable[[Any], Any]
_Encode = Callable[[Any], Any]


class OtlpJsonError(ValueError):
    """The body is not valid OTLP/JSON; the message names the problem and where it is."""


class _BadValue(Exception):
    """A value that does not fit its field. The path is collected while the error travels up,
    so the happy path never builds path strings."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.segments: list[str] = []

    def within(self, segment: str) -> _BadValue:
        self.segments.append(segment)
        return self

    def path(self) -> str:
        return "".join(reversed(self.segments)).lstrip(".")


def encode_request(request: ExportTraceServiceRequest) -> bytes:
    """Encode a request as one compact OTLP/JSON document (no trailing newline)."""
    return orjson.dumps(_ENCODE_REQUEST(request))


def decode_request(data: bytes | str) -> ExportTraceServiceRequest:
    """Decode an OTLP/JSON document into a request, or raise :class:`OtlpJsonError`."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise OtlpJsonError(f"body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise OtlpJsonError("body must be a JSON object with a resourceSpans array")
    try:
        fields = _DECODE_REQUEST(doc)
    except _BadValue as bad:
        raise OtlpJsonError(f"{_SCHEMA_PROBLEM}: {bad.path()} {bad.problem}") from None
    try:
        return ExportTraceServiceRequest(**fields)
    except (TypeError, ValueError) as exc:
        # The converters check every value; this keeps the OtlpJsonError contract should a
        # protobuf release be stricter than they are.
        raise OtlpJsonError(f"{_SCHEMA_PROBLEM}: {exc}") from None


# --- decoding: JSON values to protobuf constructor arguments ---------------------------------


def _string(value: Any) -> str:
    if type(value) is str:
        return value
    raise _BadValue("must be a string")


def _bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    raise _BadValue("must be true or false")


def _hex_id(value: Any) -> bytes:
    if type(value) is not str:
        raise _BadValue("must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise _BadValue("is not a hex id: OTLP/JSON ids are hex strings") from None


_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")


def _base64(value: Any) -> bytes:
    if type(value) is not str:
        raise _BadValue("must be a base64 string")
    # Protobuf JSON accepts standard and URL-safe base64, with or without padding.
    padded = value.translate(_URLSAFE_TO_STANDARD) + "=" * (-len(value) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except binascii.Error:
        raise _BadValue("is not base64") from None


def _integer(low: int, high: int) -> _Decode:
    def convert(value: Any) -> int:
        number: int
        kind = type(value)
        if kind is int:
            number = value
        elif kind is str:
            try:
                number = int(value)
            except ValueError:
                raise _BadValue("must be an integer or a string of one") from None
        elif kind is float and value.is_integer():
            number = int(value)
        else:
            raise _BadValue("must be an integer or a string of one")
        if low <= number < high:
            return number
        raise _BadValue(f"is out of range [{low}, {high})")

    return convert


_SPECIAL_DOUBLES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _double(value: Any) -> float:
    kind = type(value)
    if kind is float or kind is int:
        return float(value)
    if kind is str:
        special = _SPECIAL_DOUBLES.get(value)
        if special is not None:
            return special
        try:
            return float(value)
        except ValueError:
            pass
    raise _BadValue('must be a number, "NaN", "Infinity" or "-Infinity"')


def _enum(field: FieldDescriptor) -> _Decode:
    names: dict[str, int] = {value.name: value.number for value in field.enum_type.values}
    as_int32 = _integer(-(2**31), 2**31)

    def convert(value: Any) -> int:
        if type(value) is str:
            number = names.get(value)
            if number is not None:
                return number
            raise _BadValue(f"must be an integer or one of {', '.join(names)}")
        checked: int = as_int32(value)
        return checked

    return convert


def _repeated(convert: _Decode) -> _Decode:
    def convert_all(values: Any) -> list[Any]:
        if type(values) is not list:
            raise _BadValue("must be an array")
        try:
            return [convert(value) for value in values]
        except _BadValue:
            # Rare path: convert again one by one to learn which element is wrong.
            for index, value in enumerate(values):
                try:
                    convert(value)
                except _BadValue as bad:
                    raise bad.within(f"[{index}]") from None
            raise

    return convert_all


_INTEGER_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31),
    FieldDescriptor.TYPE_UINT32: (0, 2**32),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63),
    FieldDescriptor.TYPE_UINT64: (0, 2**64),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64),
}


def _field_decoder(field: FieldDescriptor, messages: dict[str, _Decode]) -> _Decode:
    kind = field.type
    convert: _Decode
    if kind == FieldDescriptor.TYPE_MESSAGE:
        convert = messages[field.message_type.full_name]
    elif kind == FieldDescriptor.TYPE_STRING:
        convert = _string
    elif kind == FieldDescriptor.TYPE_BOOL:
        convert = _bool
    elif kind == FieldDescriptor.TYPE_BYTES:
        convert = _hex_id if field.name in _HEX_ID_FIELDS else _base64
    elif kind == FieldDescriptor.TYPE_ENUM:
        convert = _enum(field)
    elif kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        convert = _double
    else:
        convert = _integer(*_INTEGER_RANGES[kind])
    return _repeated(convert) if field.is_repeated else convert


def _message_decoder(descriptor: Descriptor, fields: dict[str, tuple[str, _Decode]]) -> _Decode:
    """A converter from a JSON object to keyword arguments for the message's constructor.

    ``fields`` (JSON key -> field name and converter) is filled in later, once every message
    converter exists, because the schema is recursive (AnyValue holds arrays of AnyValue)."""
    oneof_groups = [frozenset(f.name for f in oneof.fields) for oneof in descriptor.oneofs]

    def convert(obj: Any) -> dict[str, Any]:
        if type(obj) is not dict:
            raise _BadValue("must be an object")
        out: dict[str, Any] = {}
        for key, value in obj.items():
            field = fields.get(key)
            if field is None or value is None:
                continue  # unknown fields are ignored; null means "not set"
            name, convert_value = field
            try:
                out[name] = convert_value(value)
            except _BadValue as bad:
                raise bad.within(f".{key}") from None
        if oneof_groups and len(out) > 1:
            for group in oneof_groups:
                if len(group.intersection(out)) > 1:
                    raise _BadValue(f"sets more than one of {', '.join(sorted(group))}")
        return out

    return convert


def _key_value_decoder(generic: _Decode, any_value: _Decode) -> _Decode:
    """Attributes are most of an agent span, so their usual shape skips the generic loop."""

    def convert(obj: Any) -> Any:
        if type(obj) is dict and len(obj) == 2:
            key = obj.get("key")
            value = obj.get("value")
            if type(key) is str and type(value) is dict:
                text = value.get("stringValue")
                if type(text) is str and len(value) == 1:
                    return {"key": key, "value": {"string_value": text}}
                try:
                    return {"key": key, "value": any_value(value)}
                except _BadValue:
                    pass  # the generic path reports it, with its path
        return generic(obj)

    return convert


def _decoders(root: Descriptor) -> _Decode:
    descriptors = _message_types(root)
    tables: dict[str, dict[str, tuple[str, _Decode]]] = {name: {} for name in descriptors}
    messages = {
        name: _message_decoder(descriptor, tables[name]) for name, descriptor in descriptors.items()
    }
    if _KEY_VALUE in messages:
        messages[_KEY_VALUE] = _key_value_decoder(messages[_KEY_VALUE], messages[_ANY_VALUE])
    for name, descriptor in descriptors.items():
        for field in descriptor.fields:
            entry = (field.name, _field_decoder(field, messages))
            tables[name][field.json_name] = entry
            tables[name][field.name] = entry
    return messages[root.full_name]


def _message_types(root: Descriptor) -> dict[str, Descriptor]:
    found: dict[str, Descriptor] = {}
    pending = [root]
    while pending:
        descriptor = pending.pop()
        if descriptor.full_name not in found:
            found[descriptor.full_name] = descriptor
            pending.extend(f.message_type for f in descriptor.fields if f.message_type)
    return found


# --- encoding: protobuf messages to JSON values ----------------------------------------------


def _hex(value: bytes) -> str:
    return value.hex()


def _base64_text(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _int64_text(value: int) -> str:
    return str(value)


def _double_json(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _each(convert: _Encode) -> _Encode:
    def convert_all(values: Any) -> list[Any]:
        return [convert(value) for value in values]

    return convert_all


_INT64_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_SFIXED64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_FIXED64,
    }
)


def _field_encoder(field: FieldDescriptor, messages: dict[str, _Encode]) -> _Encode | None:
    """The converter for one field's value, or None when the value is already JSON."""
    kind = field.type
    convert: _Encode | None = None
    if kind == FieldDescriptor.TYPE_MESSAGE:
        convert = messages[field.message_type.full_name]
    elif kind == FieldDescriptor.TYPE_BYTES:
        convert = _hex if field.name in _HEX_ID_FIELDS else _base64_text
    elif kind in _INT64_TYPES:
        convert = _int64_text
    elif kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        convert = _double_json
    if field.is_repeated:
        return _each(convert) if convert is not None else list
    return convert


def _message_encoder(fields: dict[FieldDescriptor, tuple[str, _Encode | None]]) -> _Encode:
    """A converter from a message to its JSON object; ``fields`` is filled in later, as in
    :func:`_message_decoder`."""

    def convert(message: Message) -> dict[str, Any]:
        # ListFields yields only the fields that are set, in field number order: the
        # defaults-omitted output of MessageToDict, with one C call per message.
        out: dict[str, Any] = {}
        for field, value in message.ListFields():
            json_name, convert_value = fields[field]
            out[json_name] = value if convert_value is None else convert_value(value)
        return out

    return convert


def _key_value_encoder(generic: _Encode) -> _Encode:
    """The usual attribute, a string value under a plain key, skips the generic loop."""

    def convert(key_value: KeyValue) -> Any:
        value = key_value.value
        if value.WhichOneof("value") == "string_value":
            key = key_value.key
            if key and not key_value.key_strindex:
                return {"key": key, "value": {"stringValue": value.string_value}}
        return generic(key_value)

    return convert


def _encoders(root: Descriptor) -> _Encode:
    descriptors = _message_types(root)
    tables: dict[str, dict[FieldDescriptor, tuple[str, _Encode | None]]] = {
        name: {} for name in descriptors
    }
    messages = {name: _message_encoder(tables[name]) for name in descriptors}
    if _KEY_VALUE in messages:
        messages[_KEY_VALUE] = _key_value_encoder(messages[_KEY_VALUE])
    for name, descriptor in descriptors.items():
        for field in descriptor.fields:
            tables[name][field] = (field.json_name, _field_encoder(field, messages))
    return messages[root.full_name]


_DECODE_REQUEST = _decoders(ExportTraceServiceRequest.DESCRIPTOR)
_ENCODE_REQUEST = _encoders(ExportTraceServiceRequest.DESCRIPTOR)
