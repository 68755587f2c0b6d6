"""OTLP/JSON encoding of trace export requests, following the OTLP specification.

``google.protobuf.json_format`` alone gets OTLP/JSON wrong: it writes ``bytes`` fields (trace and
span ids) as base64 where OTLP requires lowercase hex, and it writes enums as names where OTLP
requires integers. This module wraps it with those rules:

- trace, span and parent span ids are hex strings;
- enums are integers (names are still accepted on input);
- int64 values are written as strings and accepted as strings or numbers;
- unknown fields are ignored on input.

It is agent-side code: it needs only protobuf (through opentelemetry-proto) and orjson.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

__all__ = ["OtlpJsonError", "decode_request", "encode_request"]

_SPAN_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_LINK_ID_FIELDS = ("traceId", "spanId")


class OtlpJsonError(ValueError):
    """The body is not valid OTLP/JSON; the message names the problem and where it is."""


def encode_request(request: ExportTraceServiceRequest) -> bytes:
    """Encode a request as one compact OTLP/JSON document (no trailing newline)."""
    doc = json_format.MessageToDict(request, use_integers_for_enums=True)
    _convert_ids(doc, _base64_to_hex)
    return orjson.dumps(doc)


def decode_request(data: bytes | str) -> ExportTraceServiceRequest:
    """Decode an OTLP/JSON document into a request, or raise :class:`OtlpJsonError`."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise OtlpJsonError(f"body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise OtlpJsonError("body must be a JSON object with a resourceSpans array")
    _convert_ids(doc, _hex_to_base64)
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(doc, request, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise OtlpJsonError(f"body does not match the OTLP trace schema: {exc}") from None
    return request


def _convert_ids(doc: dict[str, Any], convert: Callable[[str, str], str]) -> None:
    for path, span in _spans(doc):
        _convert_fields(span, _SPAN_ID_FIELDS, path, convert)
        for j, link in enumerate(_list(span, "links", path)):
            _convert_fields(link, _LINK_ID_FIELDS, f"{path}.links[{j}]", convert)


def _spans(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for r, resource_spans in enumerate(_list(doc, "resourceSpans", "")):
        rpath = f"resourceSpans[{r}]"
        for s, scope_spans in enumerate(_list(resource_spans, "scopeSpans", rpath)):
            spath = f"{rpath}.scopeSpans[{s}]"
            for i, span in enumerate(_list(scope_spans, "spans", spath)):
                if not isinstance(span, dict):
                    raise OtlpJsonError(f"{spath}.spans[{i}] must be an object")
                yield f"{spath}.spans[{i}]", span


def _list(obj: Any, key: str, path: str) -> list[Any]:
    if not isinstance(obj, dict):
        raise OtlpJsonError(f"{path or 'body'} must be an object")
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise OtlpJsonError(f"{path + '.' if path else ''}{key} must be an array")
    return value


def _convert_fields(
    obj: dict[str, Any], fields: tuple[str, ...], path: str, convert: Callable[[str, str], str]
) -> None:
    for name in fields:
        value = obj.get(name)
        if value:
            if not isinstance(value, str):
                raise OtlpJsonError(f"{path}.{name} must be a hex string")
            obj[name] = convert(value, f"{path}.{name}")


def _hex_to_base64(value: str, where: str) -> str:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise OtlpJsonError(f"{where} is not a hex id: OTLP/JSON ids are hex strings") from None
    return base64.b64encode(raw).decode("ascii")


def _base64_to_hex(value: str, where: str) -> str:
    try:
        return base64.b64decode(value, validate=True).hex()
    except binascii.Error:
        raise OtlpJsonError(f"{where} is not base64") from None
