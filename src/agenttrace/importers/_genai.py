"""Shared GenAI span vocabulary: the attribute sets every importer puts on its spans."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from agenttrace import semconv
from agenttrace.importers._model import (
    SPAN_KIND_CLIENT,
    Attributes,
    EventDraft,
    SpanDraft,
)
from agenttrace.sdk import pricing

CHAT = semconv.GenAiOperationNameValues.CHAT.value
EXECUTE_TOOL = semconv.GenAiOperationNameValues.EXECUTE_TOOL.value
INVOKE_AGENT = semconv.GenAiOperationNameValues.INVOKE_AGENT.value

# Where an unknown entry's own type name goes; the raw entry follows it, cut to a sane size.
UNKNOWN_ENTRY_TYPE = "agenttrace.import.entry_type"
UNKNOWN_ENTRY_BODY = "agenttrace.import.entry"
UNKNOWN_ENTRY_MAX_BYTES = 4096
# The summary text a compaction produced (not in the registry yet; see docs/importers.md).
COMPACTION_SUMMARY = "agenttrace.compaction.summary"


@dataclass(slots=True)
class Usage:
    """Token counts in GenAI terms: ``input`` includes cached tokens."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0


def dumps(value: Any) -> str:
    """Compact JSON for content attributes; unknown objects become their ``str``."""
    return orjson.dumps(value, default=str).decode()


def agent_attributes(
    *,
    source: str,
    agent_name: str,
    conversation_id: str | None,
    provider: str | None = None,
    agent_id: str | None = None,
) -> Attributes:
    attrs: Attributes = {
        semconv.GEN_AI_OPERATION_NAME: INVOKE_AGENT,
        semconv.GEN_AI_AGENT_NAME: agent_name,
        semconv.AGENTTRACE_IMPORT_SOURCE: source,
    }
    if conversation_id:
        attrs[semconv.GEN_AI_CONVERSATION_ID] = conversation_id
        attrs[semconv.AGENTTRACE_SESSION_ID] = conversation_id
    if provider:
        attrs[semconv.GEN_AI_PROVIDER_NAME] = provider
    if agent_id:
        attrs[semconv.GEN_AI_AGENT_ID] = agent_id
    return attrs


def harness_attributes(
    name: str, version: str | None, cwd: str | None, git_branch: str | None
) -> Attributes:
    attrs: Attributes = {semconv.AGENTTRACE_HARNESS_NAME: name}
    if version:
        attrs[semconv.AGENTTRACE_HARNESS_VERSION] = version
    if cwd:
        attrs[semconv.AGENTTRACE_HARNESS_CWD] = cwd
    if git_branch:
        attrs[semconv.AGENTTRACE_HARNESS_GIT_BRANCH] = git_branch
    return attrs


def chat_span(
    span: SpanDraft,
    *,
    model: str | None,
    provider: str | None,
    usage: Usage | None,
    response_id: str | None = None,
    finish_reason: str | None = None,
    logged_cost_usd: float | None = None,
) -> SpanDraft:
    """Turn ``span`` into a ``chat`` span with usage and cost from the price table.

    ``logged_cost_usd`` is the harness's own figure, used only when the table has no price.
    """
    span.kind = SPAN_KIND_CLIENT
    span.name = f"{CHAT} {model}" if model else CHAT
    attrs = span.attributes
    attrs[semconv.GEN_AI_OPERATION_NAME] = CHAT
    if provider:
        attrs[semconv.GEN_AI_PROVIDER_NAME] = provider
    if model:
        attrs[semconv.GEN_AI_REQUEST_MODEL] = model
        attrs[semconv.GEN_AI_RESPONSE_MODEL] = model
    if response_id:
        attrs[semconv.GEN_AI_RESPONSE_ID] = response_id
    if finish_reason:
        attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = [finish_reason]
    if usage is not None:
        attrs.update(usage_attributes(usage))
        cost = (
            pricing.cost_usd(model, usage.input, usage.output, usage.cache_read, usage.cache_write)
            if model
            else None
        )
        if cost is not None:
            attrs[semconv.AGENTTRACE_COST_USD] = cost
            attrs[semconv.AGENTTRACE_COST_PRICE_SOURCE] = pricing.price_source()
        elif logged_cost_usd is not None:
            attrs[semconv.AGENTTRACE_COST_USD] = float(logged_cost_usd)
            attrs[semconv.AGENTTRACE_COST_PRICE_SOURCE] = "session-log"
    return span


def usage_attributes(usage: Usage) -> Attributes:
    attrs: Attributes = {
        semconv.GEN_AI_USAGE_INPUT_TOKENS: usage.input,
        semconv.GEN_AI_USAGE_OUTPUT_TOKENS: usage.output,
        semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: usage.cache_read,
        semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: usage.cache_write,
    }
    if usage.reasoning:
        attrs[semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning
    return attrs


def tool_span(
    span: SpanDraft,
    *,
    name: str,
    call_id: str | None,
    arguments: Any,
    result: Any = None,
    has_result: bool = False,
    is_error: bool = False,
) -> SpanDraft:
    """Turn ``span`` into an ``execute_tool`` span; strings are kept, other values become JSON."""
    span.name = f"{EXECUTE_TOOL} {name}"
    attrs = span.attributes
    attrs[semconv.GEN_AI_OPERATION_NAME] = EXECUTE_TOOL
    attrs[semconv.GEN_AI_TOOL_NAME] = name
    if call_id:
        attrs[semconv.GEN_AI_TOOL_CALL_ID] = call_id
    if arguments is not None:
        attrs[semconv.GEN_AI_TOOL_CALL_ARGUMENTS] = as_text(arguments)
    if has_result and result is not None:
        attrs[semconv.GEN_AI_TOOL_CALL_RESULT] = as_text(result)
    if is_error:
        mark_tool_error(span, result)
    return span


def mark_tool_error(span: SpanDraft, result: Any) -> None:
    span.attributes[semconv.ERROR_TYPE] = "tool_error"
    message = as_text(result) if result is not None else "tool reported an error"
    span.error = message[:1024]


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else dumps(value)


def text_message(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "parts": [{"type": "text", "content": text}]}


def set_messages(span: SpanDraft, key: str, messages: list[dict[str, Any]]) -> None:
    if messages:
        span.attributes[key] = dumps(messages)


def compaction_event(
    time_ns: int,
    *,
    strategy: str,
    trigger: str | None = None,
    tokens_before: int | None = None,
    summary: str | None = None,
    line: int | None = None,
) -> EventDraft:
    attrs: Attributes = {semconv.AGENTTRACE_COMPACTION_STRATEGY: strategy}
    if trigger:
        attrs[semconv.AGENTTRACE_COMPACTION_TRIGGER] = trigger
    if tokens_before is not None:
        attrs[semconv.AGENTTRACE_COMPACTION_TOKENS_BEFORE] = int(tokens_before)
    if summary:
        attrs[COMPACTION_SUMMARY] = summary
    if line is not None:
        attrs[semconv.AGENTTRACE_IMPORT_LINE] = line
    return EventDraft(semconv.EVENT_COMPACTION, time_ns, attrs)


def api_error_events(
    time_ns: int,
    *,
    error_type: str,
    message: str | None,
    retry_attempt: int | None,
    line: int | None,
) -> list[EventDraft]:
    """An API error, plus a retry event when the harness says it will retry."""
    attrs: Attributes = {semconv.ERROR_TYPE: error_type}
    if message:
        attrs[semconv.AGENTTRACE_RETRY_REASON] = message
    if retry_attempt is not None:
        attrs[semconv.AGENTTRACE_RETRY_ATTEMPT] = retry_attempt
    if line is not None:
        attrs[semconv.AGENTTRACE_IMPORT_LINE] = line
    events = [EventDraft(semconv.EVENT_API_ERROR, time_ns, attrs)]
    if retry_attempt is not None:
        retry_attrs: Attributes = {
            semconv.AGENTTRACE_RETRY_ATTEMPT: retry_attempt,
            semconv.ERROR_TYPE: error_type,
        }
        if message:
            retry_attrs[semconv.AGENTTRACE_RETRY_REASON] = message
        events.append(EventDraft(semconv.EVENT_RETRY, time_ns, retry_attrs))
    return events


def unknown_entry_event(
    time_ns: int, *, source: str, entry_type: str, line: int, raw: bytes
) -> EventDraft:
    """Keep an entry the importer does not map, so nothing is dropped silently."""
    body = raw[:UNKNOWN_ENTRY_MAX_BYTES].decode("utf-8", "replace")
    return EventDraft(
        semconv.EVENT_UNKNOWN_ENTRY,
        time_ns,
        {
            semconv.AGENTTRACE_IMPORT_SOURCE: source,
            semconv.AGENTTRACE_IMPORT_LINE: line,
            UNKNOWN_ENTRY_TYPE: entry_type,
            UNKNOWN_ENTRY_BODY: body,
        },
    )


def add_aggregates(spans: Iterable[SpanDraft]) -> None:
    """Put descendant sums on every ``invoke_agent`` span (each chat counted once per agent)."""
    span_list = list(spans)
    by_id = {span.span_id: span for span in span_list}
    totals: dict[bytes, list[float]] = {
        span.span_id: [0.0] * 8
        for span in span_list
        if span.attributes.get(semconv.GEN_AI_OPERATION_NAME) == INVOKE_AGENT
    }
    for span in span_list:
        operation = span.attributes.get(semconv.GEN_AI_OPERATION_NAME)
        if operation not in (CHAT, EXECUTE_TOOL):
            continue
        contribution = _contribution(span.attributes, operation == CHAT)
        ancestor_id = span.parent_id
        seen: set[bytes] = set()
        while ancestor_id is not None and ancestor_id not in seen:
            seen.add(ancestor_id)
            if ancestor_id in totals:
                bucket = totals[ancestor_id]
                for index, value in enumerate(contribution):
                    bucket[index] += value
            parent = by_id.get(ancestor_id)
            ancestor_id = parent.parent_id if parent is not None else None
    for span_id, bucket in totals.items():
        attrs = by_id[span_id].attributes
        attrs[semconv.AGENTTRACE_AGGREGATE_INPUT_TOKENS] = int(bucket[0])
        attrs[semconv.AGENTTRACE_AGGREGATE_OUTPUT_TOKENS] = int(bucket[1])
        attrs[semconv.AGENTTRACE_AGGREGATE_CACHE_READ_TOKENS] = int(bucket[2])
        attrs[semconv.AGENTTRACE_AGGREGATE_CACHE_WRITE_TOKENS] = int(bucket[3])
        attrs[semconv.AGENTTRACE_AGGREGATE_REASONING_TOKENS] = int(bucket[4])
        attrs[semconv.AGENTTRACE_AGGREGATE_COST_USD] = round(bucket[5], 9)
        attrs[semconv.AGENTTRACE_AGGREGATE_MODEL_CALLS] = int(bucket[6])
        attrs[semconv.AGENTTRACE_AGGREGATE_TOOL_CALLS] = int(bucket[7])


def _contribution(attrs: Attributes, is_chat: bool) -> list[float]:
    if not is_chat:
        return [0.0] * 7 + [1.0]
    return [
        _number(attrs.get(semconv.GEN_AI_USAGE_INPUT_TOKENS)),
        _number(attrs.get(semconv.GEN_AI_USAGE_OUTPUT_TOKENS)),
        _number(attrs.get(semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)),
        _number(attrs.get(semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS)),
        _number(attrs.get(semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS)),
        _number(attrs.get(semconv.AGENTTRACE_COST_USD)),
        1.0,
        0.0,
    ]


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0
