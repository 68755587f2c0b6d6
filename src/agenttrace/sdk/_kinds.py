"""What each span type looks like: operation, span name, kind and where content goes."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from agenttrace import semconv as sc


class Kind(str, enum.Enum):
    AGENT = "agent"
    WORKFLOW = "workflow"
    TOOL = "tool"
    LLM = "llm"
    MEMORY = "memory"
    STEP = "step"


@dataclass(frozen=True, slots=True)
class KindSpec:
    kind: Kind
    span_kind: SpanKind
    name_key: str  # the attribute that names the span, e.g. gen_ai.tool.name
    input_key: str
    output_key: str
    aggregates: bool  # agent and workflow spans carry agenttrace.aggregate.*


SPECS: dict[Kind, KindSpec] = {
    Kind.AGENT: KindSpec(
        Kind.AGENT,
        SpanKind.INTERNAL,
        sc.GEN_AI_AGENT_NAME,
        sc.GEN_AI_INPUT_MESSAGES,
        sc.GEN_AI_OUTPUT_MESSAGES,
        True,
    ),
    Kind.WORKFLOW: KindSpec(
        Kind.WORKFLOW,
        SpanKind.INTERNAL,
        sc.AGENTTRACE_WORKFLOW_NAME,
        sc.GEN_AI_INPUT_MESSAGES,
        sc.GEN_AI_OUTPUT_MESSAGES,
        True,
    ),
    Kind.TOOL: KindSpec(
        Kind.TOOL,
        SpanKind.INTERNAL,
        sc.GEN_AI_TOOL_NAME,
        sc.GEN_AI_TOOL_CALL_ARGUMENTS,
        sc.GEN_AI_TOOL_CALL_RESULT,
        False,
    ),
    Kind.LLM: KindSpec(
        Kind.LLM,
        SpanKind.CLIENT,
        sc.GEN_AI_REQUEST_MODEL,
        sc.GEN_AI_INPUT_MESSAGES,
        sc.GEN_AI_OUTPUT_MESSAGES,
        False,
    ),
    Kind.MEMORY: KindSpec(
        Kind.MEMORY,
        SpanKind.CLIENT,
        sc.GEN_AI_MEMORY_STORE_ID,
        sc.GEN_AI_MEMORY_QUERY_TEXT,
        sc.GEN_AI_MEMORY_RECORDS,
        False,
    ),
    Kind.STEP: KindSpec(
        Kind.STEP,
        SpanKind.INTERNAL,
        sc.AGENTTRACE_STEP_NAME,
        sc.GEN_AI_INPUT_MESSAGES,
        sc.GEN_AI_OUTPUT_MESSAGES,
        False,
    ),
}

_MEMORY_OPERATIONS = {
    "read": sc.GenAiOperationNameValues.SEARCH_MEMORY.value,
    "search": sc.GenAiOperationNameValues.SEARCH_MEMORY.value,
    "write": sc.GenAiOperationNameValues.UPDATE_MEMORY.value,
    "delete": sc.GenAiOperationNameValues.DELETE_MEMORY.value,
}

MODEL_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})


class SpanSpecError(ValueError):
    """A decorator, context manager or hook was given an argument the convention rejects."""


def base_attributes(
    kind: Kind, name: str | None, *, operation: str | None = None
) -> tuple[str, dict[str, str]]:
    """The span name and the fixed attributes of one span type, computed once per decorator."""
    spec = SPECS[kind]
    attributes: dict[str, str] = {}
    if kind is Kind.LLM:
        op = operation or "chat"
        if op not in MODEL_OPERATIONS:
            raise SpanSpecError(
                f"model operation must be one of {sorted(MODEL_OPERATIONS)}, got {op!r}"
            )
        attributes[sc.GEN_AI_OPERATION_NAME] = op
    elif kind is Kind.MEMORY:
        mem_op = operation or "read"
        if mem_op not in _MEMORY_OPERATIONS:
            raise SpanSpecError(
                f"memory operation must be one of read, write, search, delete; got {mem_op!r}"
            )
        op = _MEMORY_OPERATIONS[mem_op]
        attributes[sc.GEN_AI_OPERATION_NAME] = op
        attributes[sc.AGENTTRACE_MEMORY_OPERATION] = mem_op
    elif kind is Kind.STEP:
        op = "step"
        attributes[sc.AGENTTRACE_OPERATION_NAME] = sc.AgenttraceOperationNameValues.STEP.value
    else:
        op = {
            Kind.AGENT: sc.GenAiOperationNameValues.INVOKE_AGENT.value,
            Kind.WORKFLOW: sc.GenAiOperationNameValues.INVOKE_WORKFLOW.value,
            Kind.TOOL: sc.GenAiOperationNameValues.EXECUTE_TOOL.value,
        }[kind]
        attributes[sc.GEN_AI_OPERATION_NAME] = op
    if name:
        attributes[spec.name_key] = name
    return span_name(op, name), attributes


def span_attributes(
    kind: Kind,
    name: str | None,
    extra: Mapping[str, AttributeValue | None] | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    *,
    operation: str | None = None,
) -> tuple[str, dict[str, AttributeValue]]:
    """The span name and attributes of one span: the type's fixed attributes, then the
    type-specific ``extra`` ones that were given (None values are left out), then the caller's
    ``attributes``, which win."""
    name_of_span, base = base_attributes(kind, name, operation=operation)
    merged: dict[str, AttributeValue] = dict(base)
    if extra:
        merged.update({k: v for k, v in extra.items() if v is not None})
    if attributes:
        merged.update(attributes)
    return name_of_span, merged


def span_name(operation: str, name: str | None) -> str:
    return f"{operation} {name}" if name else operation
