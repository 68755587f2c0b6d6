"""OpenInference span exports (Arize Phoenix) to traces in the GenAI convention.

Accepts Phoenix's span JSON (``context.trace_id``/``context.span_id``, ``parent_id``,
``span_kind``, ``start_time``, ``status_code``, nested ``attributes``) and its dataframe
records (flat ``context.span_id`` and ``attributes.<key>`` columns), as JSONL or a JSON list.
Ids are kept; every original attribute is kept too, and the GenAI equivalents are added:
``LLM`` spans become ``chat`` spans with usage (``llm.token_count.prompt`` already includes
cached tokens), ``TOOL`` ``execute_tool``, ``AGENT`` ``invoke_agent``.
"""

from __future__ import annotations

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
from agenttrace.importers._model import (
    AttrValue,
    EventDraft,
    SpanDraft,
    TraceDraft,
    foreign_id,
)
from agenttrace.importers._records import iter_records

SOURCE = "openinference"
SPAN_KIND = "openinference.span.kind"
_OPERATIONS = {
    "LLM": genai.CHAT,
    "TOOL": genai.EXECUTE_TOOL,
    "AGENT": genai.INVOKE_AGENT,
    "EMBEDDING": "embeddings",
    "RETRIEVER": "retrieval",
}
_CUSTOM_OPERATIONS = {"GUARDRAIL": "guardrail", "CHAIN": "workflow"}


class OpenInferenceImporter(Importer):
    source = SOURCE
    patterns = ("*.json", "*.jsonl")

    def convert(
        self, unit: ImportUnit, problems: ProblemLog
    ) -> Iterator[ExportTraceServiceRequest]:
        path = unit.files[0]
        traces: dict[str, TraceDraft] = {}
        for line in iter_records(path, problems, ("spans", "data")):
            record = _normalise(line.data)
            trace_key, span_key = record.get("trace_id"), record.get("span_id")
            start = any_time_to_ns(record.get("start_time"))
            if not isinstance(trace_key, str) or not isinstance(span_key, str) or start is None:
                problems.add(path, line.number, "span without trace id, span id or start time")
                continue
            draft = traces.get(trace_key)
            if draft is None:
                draft = TraceDraft(SOURCE, SOURCE, foreign_id(trace_key, 16, SOURCE))
                traces[trace_key] = draft
            draft.spans.append(_span(trace_key, span_key, record, start, line))
        for draft in traces.values():
            _set_service_name(draft)
            yield finish(draft)


def _normalise(raw: dict[str, Any]) -> dict[str, Any]:
    """One shape for both exports: ids, times and status at the top, flat attributes."""
    record: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "attributes" and isinstance(value, dict):
            _flatten(value, "", attributes)
        elif key.startswith("attributes."):
            if value is not None:
                _flatten({key.removeprefix("attributes."): value}, "", attributes)
        elif key == "context" and isinstance(value, dict):
            record.update(value)
        elif key.startswith("context."):
            record[key.removeprefix("context.")] = value
        else:
            record[key] = value
    record["attributes"] = attributes
    return record


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    """Nested objects and lists of objects become dotted keys, as OpenInference writes them."""
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}{key}.", out)
    elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}{index}.", out)
    else:
        out[prefix[:-1]] = value


def _span(
    trace_key: str, span_key: str, record: dict[str, Any], start: int, line: Line
) -> SpanDraft:
    attrs = record["attributes"]
    parent = str_or_none(record.get("parent_id"))
    end = any_time_to_ns(record.get("end_time")) or start
    span = SpanDraft(
        foreign_id(span_key, 8, SOURCE, trace_key),
        foreign_id(parent, 8, SOURCE, trace_key) if parent else None,
        str(record.get("name") or "span"),
        start,
        max(start, end),
        {key: _attribute(value) for key, value in attrs.items() if value is not None},
    )
    span.attributes[semconv.AGENTTRACE_IMPORT_SOURCE] = SOURCE
    span.attributes[semconv.AGENTTRACE_IMPORT_LINE] = line.number
    kind = str(attrs.get(SPAN_KIND) or record.get("span_kind") or "").upper()
    _map_genai(span, kind, attrs)
    _set_status(span, record)
    for event in record.get("events") or []:
        if isinstance(event, dict):
            event_attrs: dict[str, Any] = {}
            _flatten(event.get("attributes") or {}, "", event_attrs)
            span.events.append(
                EventDraft(
                    str(event.get("name") or "event"),
                    any_time_to_ns(event.get("timestamp")) or start,
                    {k: _attribute(v) for k, v in event_attrs.items() if v is not None},
                )
            )
    return span


def _map_genai(span: SpanDraft, kind: str, attrs: dict[str, Any]) -> None:
    operation = _OPERATIONS.get(kind)
    model = str_or_none(attrs.get("llm.model_name")) or str_or_none(
        attrs.get("embedding.model_name")
    )
    provider = str_or_none(attrs.get("llm.provider")) or str_or_none(attrs.get("llm.system"))
    if operation == genai.CHAT:
        original_name = span.name
        genai.chat_span(span, model=model, provider=provider, usage=_usage(attrs))
        if not model:
            span.name = original_name  # "chat" alone says less than the exported name
        span.attributes.update(_messages(attrs))
    elif operation == genai.EXECUTE_TOOL:
        name = str(attrs.get("tool.name") or span.name)
        genai.tool_span(
            span,
            name=name,
            call_id=str_or_none(attrs.get("tool_call.id")),
            arguments=attrs.get("tool.parameters") or attrs.get("input.value"),
            result=attrs.get("output.value"),
            has_result="output.value" in attrs,
        )
    elif operation is not None:
        span.attributes[semconv.GEN_AI_OPERATION_NAME] = operation
        if operation == genai.INVOKE_AGENT:
            span.attributes[semconv.GEN_AI_AGENT_NAME] = str(attrs.get("agent.name") or span.name)
        if model:
            span.attributes[semconv.GEN_AI_REQUEST_MODEL] = model
    elif kind:
        span.attributes[semconv.AGENTTRACE_OPERATION_NAME] = _CUSTOM_OPERATIONS.get(kind, "custom")
    session = str_or_none(attrs.get("session.id"))
    if session:
        span.attributes[semconv.GEN_AI_CONVERSATION_ID] = session
        span.attributes[semconv.AGENTTRACE_SESSION_ID] = session
    user = str_or_none(attrs.get("user.id"))
    if user:
        span.attributes[semconv.AGENTTRACE_USER_ID] = user


def _usage(attrs: dict[str, Any]) -> genai.Usage | None:
    if not any(key.startswith("llm.token_count.") for key in attrs):
        return None
    return genai.Usage(
        input=int_or_zero(attrs.get("llm.token_count.prompt")),
        output=int_or_zero(attrs.get("llm.token_count.completion")),
        cache_read=int_or_zero(attrs.get("llm.token_count.prompt_details.cache_read")),
        cache_write=int_or_zero(attrs.get("llm.token_count.prompt_details.cache_write")),
        reasoning=int_or_zero(attrs.get("llm.token_count.completion_details.reasoning")),
    )


def _messages(attrs: dict[str, Any]) -> dict[str, AttrValue]:
    """``llm.input_messages.<i>.message.{role,content}`` to GenAI message JSON."""
    out: dict[str, AttrValue] = {}
    for prefix, key in (
        ("llm.input_messages.", semconv.GEN_AI_INPUT_MESSAGES),
        ("llm.output_messages.", semconv.GEN_AI_OUTPUT_MESSAGES),
    ):
        by_index: dict[int, dict[str, Any]] = {}
        for name, value in attrs.items():
            if not name.startswith(prefix):
                continue
            index_text, _, rest = name.removeprefix(prefix).partition(".")
            if index_text.isdigit() and rest in ("message.role", "message.content"):
                by_index.setdefault(int(index_text), {})[rest.removeprefix("message.")] = value
        if by_index:
            messages = [
                genai.text_message(str(m.get("role") or "user"), genai.as_text(m.get("content")))
                for _, m in sorted(by_index.items())
            ]
            out[key] = genai.dumps(messages)
    return out


def _set_status(span: SpanDraft, record: dict[str, Any]) -> None:
    code = str(record.get("status_code") or "").upper()
    if code in ("ERROR", "STATUS_CODE_ERROR", "2"):
        span.error = str(record.get("status_message") or "error")
        span.attributes.setdefault(semconv.ERROR_TYPE, "error")


def _set_service_name(draft: TraceDraft) -> None:
    for span in draft.spans:
        project = span.attributes.get("openinference.project.name")
        if isinstance(project, str) and project:
            draft.service_name = project
            return


def _attribute(value: Any) -> AttrValue:
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return genai.dumps(value)
