"""The span table: one row per span, as written to Parquet and read by the query layer.

This module is the single source of truth for column names, types and which span attributes
get a dedicated column; docs/storage.md explains each choice.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

import pyarrow as pa

from agenttrace import semconv

SCHEMA_VERSION: Final = "1"
"""Stored in every file's key/value metadata under :data:`SCHEMA_VERSION_KEY`. Bumped only for
changes a reader must know about (a column changing type or meaning); adding a column is not one."""

SCHEMA_VERSION_KEY: Final = "agenttrace.schema_version"


def column_name(attribute: str) -> str:
    """The column for a hot or content attribute: the attribute name with ``.`` → ``_``."""
    return attribute.replace(".", "_")


# Attributes that analyses filter and group on get typed columns so DuckDB can prune row groups
# and skip JSON parsing. A value whose type does not match its column stays in ``attributes``.
HOT_STRING_ATTRIBUTES: Final = (
    semconv.GEN_AI_OPERATION_NAME,
    semconv.GEN_AI_PROVIDER_NAME,
    semconv.GEN_AI_REQUEST_MODEL,
    semconv.GEN_AI_RESPONSE_MODEL,
    semconv.GEN_AI_AGENT_NAME,
    semconv.GEN_AI_AGENT_ID,
    semconv.GEN_AI_TOOL_NAME,
    semconv.GEN_AI_TOOL_CALL_ID,
    semconv.GEN_AI_CONVERSATION_ID,
    semconv.AGENTTRACE_RUN_ID,
    semconv.AGENTTRACE_SESSION_ID,
    semconv.AGENTTRACE_OPERATION_NAME,
    semconv.ERROR_TYPE,
)
HOT_INT_ATTRIBUTES: Final = (
    semconv.GEN_AI_USAGE_INPUT_TOKENS,
    semconv.GEN_AI_USAGE_OUTPUT_TOKENS,
    semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
)
HOT_DOUBLE_ATTRIBUTES: Final = (semconv.AGENTTRACE_COST_USD,)

# Large message payloads: their own columns, zstd, never dictionary-encoded (values are
# almost all distinct, so a dictionary only costs memory and time).
CONTENT_ATTRIBUTES: Final = (
    semconv.GEN_AI_INPUT_MESSAGES,
    semconv.GEN_AI_OUTPUT_MESSAGES,
    semconv.GEN_AI_TOOL_CALL_ARGUMENTS,
    semconv.GEN_AI_TOOL_CALL_RESULT,
    semconv.GEN_AI_SYSTEM_INSTRUCTIONS,
)

HOT_ATTRIBUTE_COLUMNS: Final = MappingProxyType(
    {
        attribute: column_name(attribute)
        for attribute in HOT_STRING_ATTRIBUTES + HOT_INT_ATTRIBUTES + HOT_DOUBLE_ATTRIBUTES
    }
)
"""Hot attribute name → column name."""

CONTENT_ATTRIBUTE_COLUMNS: Final = MappingProxyType(
    {attribute: column_name(attribute) for attribute in CONTENT_ATTRIBUTES}
)
"""Content attribute name → column name."""

CONTENT_COLUMNS: Final = tuple(CONTENT_ATTRIBUTE_COLUMNS.values())

_CORE_FIELDS: Final = (
    pa.field("trace_id", pa.string(), nullable=False),
    pa.field("span_id", pa.string(), nullable=False),
    pa.field("parent_span_id", pa.string()),
    pa.field("trace_state", pa.string()),
    pa.field("start_time_unix_nano", pa.int64(), nullable=False),
    pa.field("end_time_unix_nano", pa.int64(), nullable=False),
    pa.field("duration_nano", pa.int64(), nullable=False),
    pa.field("name", pa.string(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),
    pa.field("status_code", pa.string(), nullable=False),
    pa.field("status_message", pa.string()),
    pa.field("service_name", pa.string()),
    pa.field("scope_name", pa.string()),
    pa.field("scope_version", pa.string()),
)

SPAN_SCHEMA: Final = pa.schema(
    [
        *_CORE_FIELDS,
        *(pa.field(column_name(a), pa.string()) for a in HOT_STRING_ATTRIBUTES),
        *(pa.field(column_name(a), pa.int64()) for a in HOT_INT_ATTRIBUTES),
        *(pa.field(column_name(a), pa.float64()) for a in HOT_DOUBLE_ATTRIBUTES),
        *(pa.field(c, pa.string()) for c in CONTENT_COLUMNS),
        pa.field("attributes", pa.string(), nullable=False),
        pa.field("resource_attributes", pa.string(), nullable=False),
        pa.field("events", pa.string(), nullable=False),
        pa.field("links", pa.string(), nullable=False),
    ]
)
"""The Arrow schema of the span table, in column order."""

JSON_COLUMNS: Final = ("attributes", "resource_attributes", "events", "links")

# Columns with few distinct values per file, where a dictionary page pays for itself. Span
# ids, times and tool call ids are (nearly) unique, content and JSON are large and distinct: they
# stay plain.
DICTIONARY_COLUMNS: Final = (
    "trace_id",
    "trace_state",
    "name",
    "kind",
    "status_code",
    "status_message",
    "service_name",
    "scope_name",
    "scope_version",
    *(column_name(a) for a in HOT_STRING_ATTRIBUTES if a != semconv.GEN_AI_TOOL_CALL_ID),
    "resource_attributes",
)

PARTITION_COLUMNS: Final = ("dt", "hour")
"""Hive partition keys in the object path (``dt=YYYY-MM-DD/hour=HH``), UTC of the start time.
Readers see them as extra columns: ``dt`` string, ``hour`` int32."""

SPANS_PREFIX: Final = "spans/"
