"""Langfuse observation exports to traces: API JSON (camelCase) and blob-export JSONL
(snake_case, ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC timestamps).

Observations are grouped by trace; each Langfuse trace becomes one OTLP trace and each
observation one span, nested by ``parentObservationId``. Ids that are already OTel hex are
kept; others are hashed deterministically. ``GENERATION`` becomes ``chat`` (or embeddings),
``TOOL`` ``execute_tool``, ``AGENT`` ``invoke_agent``, ``RETRIEVER`` ``retrieval``; an ``EVENT``
becomes a span event on its parent. ``usageDetails`` follows Langfuse's convention, where
``input`` excludes the cached and other ``input_*`` details, so GenAI input is their sum.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agenttrace import semconv
from agenttrace.importers import _genai as genai
from agenttrace.importers._base import Importer, ImportUnit, finish
from agenttrace.importers._io import (
    Line,
    ProblemLog,
    any_time_to_ns,
    int_or_zero,
    str_or_none,
)
from agenttrace.importers._model import EventDraft, SpanDraft, TraceDraft, foreign_id
from agenttrace.importers._records import iter_records

SOURCE = "langfuse"
_SNAKE = re.compile(r"_([a-z])")
_OPERATIONS = {
    "GENERATION": genai.CHAT,
    "EMBEDDING": "embeddings",
    "TOOL": genai.EXECUTE_TOOL,
    "AGENT": genai.INVOKE_AGENT,
    "RETRIEVER": "retrieval",
}
_CUSTOM_OPERATIONS = {"GUARDRAIL": "guardrail", "CHAIN": "workflow"}
_CACHE_READ_KEYS = ("input_cached_tokens", "cache_read_input_tokens", "input_cache_read")
_CACHE_WRITE_KEYS = ("cache_creation_input_tokens", "input_cache_creation", "input_cache_write")


class LangfuseImporter(Importer):
    source = SOURCE
    patterns = ("*.json", "*.jsonl")

    def convert(
        self, unit: ImportUnit, problems: ProblemLog
    ) -> Iterator[ExportTraceServiceRequest]:
        path = unit.files[0]
        traces: dict[str, list[tuple[Line, dict[str, Any]]]] = {}
        for line in iter_records(path, problems, ("data", "observations")):
            record = _camel(line.data)
            trace_key, observation_id = record.get("traceId"), record.get("id")
            if not isinstance(trace_key, str) or not isinstance(observation_id, str):
                problems.add(path, line.number, "observation without id and traceId; skipped")
                continue
            traces.setdefault(trace_key, []).append((line, record))
        for trace_key, records in traces.items():
            yield finish(_trace(trace_key, records, problems, str(path)))


def _trace(
    trace_key: str,
    records: list[tuple[Line, dict[str, Any]]],
    problems: ProblemLog,
    path: str,
) -> TraceDraft:
    draft = TraceDraft(SOURCE, SOURCE, foreign_id(trace_key, 16, SOURCE))
    spans: dict[str, SpanDraft] = {}
    events: list[tuple[str | None, EventDraft]] = []
    for line, record in records:
        start = any_time_to_ns(record.get("startTime"))
        if start is None:
            problems.add(path, line.number, "observation without a valid startTime; skipped")
            continue
        end = any_time_to_ns(record.get("endTime")) or start
        parent = str_or_none(record.get("parentObservationId"))
        if str(record.get("type") or "").upper() == "EVENT":
            events.append((parent, _event(record, start, line.number)))
            continue
        span = _span(trace_key, record, start, end, line.number)
        spans[str(record["id"])] = span
    for parent, event in events:
        target = spans.get(parent or "")
        if target is not None:
            target.events.append(event)
        else:
            # An event with no parent in the export is kept as a zero-length span.
            span = SpanDraft(
                foreign_id(str(event.attributes["langfuse.observation.id"]), 8, SOURCE, trace_key),
                foreign_id(parent, 8, SOURCE, trace_key) if parent else None,
                event.name,
                event.time_ns,
                event.time_ns,
                event.attributes,
            )
            spans[span.span_id.hex()] = span
    draft.spans = list(spans.values())
    return draft


def _span(trace_key: str, record: dict[str, Any], start: int, end: int, line: int) -> SpanDraft:
    kind = str(record.get("type") or "SPAN").upper()
    name = str(record.get("name") or kind.lower())
    parent = str_or_none(record.get("parentObservationId"))
    span = SpanDraft(
        foreign_id(str(record["id"]), 8, SOURCE, trace_key),
        foreign_id(parent, 8, SOURCE, trace_key) if parent else None,
        name,
        start,
        max(start, end),
        {
            semconv.AGENTTRACE_IMPORT_SOURCE: SOURCE,
            semconv.AGENTTRACE_IMPORT_LINE: line,
            "langfuse.observation.type": kind,
        },
    )
    operation = _OPERATIONS.get(kind)
    model = str_or_none(record.get("model")) or str_or_none(record.get("providedModelName"))
    if operation == genai.CHAT:
        cost = record.get("costDetails")
        genai.chat_span(
            span,
            model=model,
            provider=None,
            usage=_usage(record),
            logged_cost_usd=_total_cost(cost, record.get("calculatedTotalCost")),
        )
        _set_content(span, semconv.GEN_AI_INPUT_MESSAGES, record.get("input"), "user")
        _set_content(span, semconv.GEN_AI_OUTPUT_MESSAGES, record.get("output"), "assistant")
    elif operation == genai.EXECUTE_TOOL:
        genai.tool_span(
            span,
            name=name,
            call_id=None,
            arguments=record.get("input"),
            result=record.get("output"),
            has_result="output" in record,
        )
    elif operation is not None:
        span.attributes[semconv.GEN_AI_OPERATION_NAME] = operation
        if operation == genai.INVOKE_AGENT:
            span.attributes[semconv.GEN_AI_AGENT_NAME] = name
            span.name = f"{genai.INVOKE_AGENT} {name}"
        elif model:
            span.attributes[semconv.GEN_AI_REQUEST_MODEL] = model
    else:
        span.attributes[semconv.AGENTTRACE_OPERATION_NAME] = _CUSTOM_OPERATIONS.get(kind, "custom")
    if operation not in (genai.CHAT, genai.EXECUTE_TOOL):
        _set_io(span, record)
    _set_level(span, record)
    metadata = record.get("metadata")
    if metadata:
        span.attributes["langfuse.observation.metadata"] = genai.as_text(metadata)
    return span


def _event(record: dict[str, Any], time_ns: int, line: int) -> EventDraft:
    attrs: dict[str, Any] = {
        "langfuse.observation.id": str(record["id"]),
        semconv.AGENTTRACE_IMPORT_LINE: line,
    }
    for key in ("input", "output", "metadata"):
        if record.get(key) is not None:
            attrs[f"langfuse.observation.{key}"] = genai.as_text(record[key])
    return EventDraft(str(record.get("name") or "event"), time_ns, attrs)


def _usage(record: dict[str, Any]) -> genai.Usage | None:
    details = record.get("usageDetails")
    if not isinstance(details, dict) or not details:
        details = _legacy_usage(record)
    if details is None:
        return None
    values = {str(key): int_or_zero(value) for key, value in details.items()}
    input_total = sum(
        value
        for key, value in values.items()
        if key == "input" or key.startswith("input_") or key in _CACHE_WRITE_KEYS + _CACHE_READ_KEYS
    )
    output_total = sum(
        value for key, value in values.items() if key == "output" or key.startswith("output_")
    )
    return genai.Usage(
        input=input_total,
        output=output_total,
        cache_read=sum(values.get(key, 0) for key in _CACHE_READ_KEYS),
        cache_write=sum(values.get(key, 0) for key in _CACHE_WRITE_KEYS),
        reasoning=values.get("output_reasoning_tokens", 0) + values.get("output_reasoning", 0),
    )


def _legacy_usage(record: dict[str, Any]) -> dict[str, Any] | None:
    usage = record.get("usage")
    if isinstance(usage, dict) and ("input" in usage or "output" in usage):
        return {"input": usage.get("input"), "output": usage.get("output")}
    if "promptTokens" in record or "completionTokens" in record:
        return {"input": record.get("promptTokens"), "output": record.get("completionTokens")}
    return None


def _total_cost(details: object, calculated: object) -> float | None:
    if isinstance(details, dict) and isinstance(details.get("total"), (int, float)):
        return float(details["total"])
    if isinstance(calculated, (int, float)) and not isinstance(calculated, bool):
        return float(calculated)
    return None


def _set_content(span: SpanDraft, key: str, value: object, role: str) -> None:
    if value is None:
        return
    if isinstance(value, list):
        span.attributes[key] = genai.dumps(value)
    elif isinstance(value, dict) and isinstance(value.get("messages"), list):
        span.attributes[key] = genai.dumps(value["messages"])
    else:
        genai.set_messages(span, key, [genai.text_message(role, genai.as_text(value))])


def _set_io(span: SpanDraft, record: dict[str, Any]) -> None:
    for key in ("input", "output"):
        if record.get(key) is not None:
            span.attributes[f"langfuse.observation.{key}"] = genai.as_text(record[key])


def _set_level(span: SpanDraft, record: dict[str, Any]) -> None:
    level = str_or_none(record.get("level"))
    if level and level != "DEFAULT":
        span.attributes["langfuse.observation.level"] = level
    if level == "ERROR":
        span.error = str_or_none(record.get("statusMessage")) or "error"
        span.attributes.setdefault(semconv.ERROR_TYPE, "error")
    elif record.get("statusMessage"):
        span.attributes["langfuse.observation.status_message"] = str(record["statusMessage"])


def _camel(record: dict[str, Any]) -> dict[str, Any]:
    """Blob exports use snake_case; API responses camelCase. Normalise top-level keys only:
    ``usage_details`` keys are Langfuse usage names and stay as written."""
    return {_SNAKE.sub(lambda m: m.group(1).upper(), key): value for key, value in record.items()}
