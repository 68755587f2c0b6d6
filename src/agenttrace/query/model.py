"""Spans of one trace as Python objects, plus the GenAI message helpers the analyses share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from agenttrace import semconv

STEP_KINDS = ("model", "tool", "agent", "memory")
"""Span kinds that count as steps of a run (what ``diff`` aligns and ``export`` lists)."""


@dataclass
class SpanRecord:
    """One span with its summary-index fields (kind, attribution) and its content."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    service_name: str | None
    start_ns: int
    end_ns: int
    status_code: str
    status_message: str | None
    kind: str
    operation: str | None
    provider: str | None
    model: str | None
    agent_name: str | None
    tool_name: str | None
    tool_call_id: str | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_usd: float
    error_type: str | None
    error_message: str | None
    outcome: str | None
    step_label: str | None
    retry_attempt: int
    retry_events: int
    depth: int
    step_id: str | None
    step_name: str | None
    agent: str | None
    nested: bool = False  # a model/tool span directly under one of its kind
    span_kind: str | None = None
    agent_id: str | None = None
    conversation_id: str | None = None
    run_id: str | None = None
    session_id: str | None = None
    trace_state: str | None = None
    scope_name: str | None = None
    scope_version: str | None = None
    input_messages: str | None = None
    output_messages: str | None = None
    tool_arguments: str | None = None
    tool_result: str | None = None
    system_instructions: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    resource_attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    children: list[SpanRecord] = field(default_factory=list, repr=False)

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6

    @property
    def is_error(self) -> bool:
        return self.status_code == "error"

    @property
    def step_title(self) -> str:
        """The short name a step is known by: model, tool or agent name, else the span name."""
        if self.kind == "model":
            return self.model or self.name
        if self.kind == "tool":
            return self.tool_name or self.name
        if self.kind == "agent":
            return self.agent_name or self.name
        return self.name


def parse_json(text: str | None) -> Any:
    """Parsed JSON, or the text itself when it is not JSON (truncated or redacted content)."""
    if text is None or text == "":
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def parse_messages(text: str | None) -> list[dict[str, Any]]:
    """GenAI messages (``[{"role", "parts": [...]}]``); a non-JSON value becomes one text part."""
    value = parse_json(text)
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return [{"role": "unknown", "parts": [{"type": "text", "content": str(value)}]}]
    return [
        m
        if isinstance(m, dict)
        else {"role": "unknown", "parts": [{"type": "text", "content": str(m)}]}
        for m in value
    ]


def message_text(message: dict[str, Any]) -> str:
    """The text of a message: its text parts joined, else its ``content`` field."""
    parts = message.get("parts")
    if isinstance(parts, list):
        texts = [
            str(p.get("content", ""))
            for p in parts
            if isinstance(p, dict) and p.get("type") in ("text", "reasoning", None)
        ]
        return "\n".join(t for t in texts if t)
    content = message.get("content")
    return content if isinstance(content, str) else "" if content is None else str(content)


def tool_calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{"id", "name", "arguments"}]`` requested by an (assistant) message: GenAI ``parts``,
    or the OpenAI chat shape (``tool_calls`` with a ``function``) some callers record as is."""
    parts = message.get("parts")
    if isinstance(parts, list):
        return [
            {"id": p.get("id"), "name": p.get("name"), "arguments": p.get("arguments")}
            for p in parts
            if isinstance(p, dict) and p.get("type") == "tool_call"
        ]
    calls = message.get("tool_calls")
    if not isinstance(calls, list):
        return []
    found = []
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            found.append(
                {
                    "id": call.get("id"),
                    "name": function.get("name"),
                    "arguments": function.get("arguments"),
                }
            )
    return found


def tool_responses(message: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{"id", "response"}]`` carried by a tool message: GenAI ``parts``, or the OpenAI chat
    shape (``tool_call_id`` and ``content``)."""
    parts = message.get("parts")
    if not isinstance(parts, list):
        call_id = message.get("tool_call_id")
        return [{"id": call_id, "response": message.get("content")}] if call_id else []
    return [
        {"id": p.get("id"), "response": p.get("response")}
        for p in parts
        if isinstance(p, dict) and p.get("type") == "tool_call_response"
    ]


def as_text(value: Any) -> str:
    """A content value as display text: strings as-is, anything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def preview(text: str | None, width: int = 80) -> str:
    """One line of at most ``width`` characters."""
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def build_tree(spans: list[SpanRecord]) -> list[SpanRecord]:
    """Link children to parents (ordered by start time) and return the roots; a span whose
    parent is missing from the trace is shown as a root rather than dropped."""
    by_id = {span.span_id: span for span in spans}
    roots: list[SpanRecord] = []
    for span in sorted(spans, key=lambda s: (s.start_ns, s.depth)):
        span.children = []
    for span in sorted(spans, key=lambda s: (s.start_ns, s.depth)):
        parent = by_id.get(span.parent_span_id or "")
        if parent is None or parent is span:
            roots.append(span)
        else:
            parent.children.append(span)
    return roots


def steps_of(spans: list[SpanRecord]) -> list[SpanRecord]:
    """The run's steps (model, tool, agent and memory spans) in start order. A root agent span
    is the run itself, not a step of it."""
    return sorted(
        (
            s
            for s in spans
            if s.kind in STEP_KINDS and not (s.kind == "agent" and s.parent_span_id is None)
        ),
        key=lambda s: (s.start_ns, s.depth, s.span_id),
    )


def first_input_text(spans: list[SpanRecord]) -> str:
    """The task as the agent got it: the first user message of the first model call, else the
    ``agenttrace.goal`` attribute."""
    for span in steps_of(spans):
        if span.kind != "model":
            continue
        for message in parse_messages(span.input_messages):
            if message.get("role") == "user":
                text = message_text(message)
                if text:
                    return text
    for span in sorted(spans, key=lambda s: (s.depth, s.start_ns)):
        goal = span.attributes.get(semconv.AGENTTRACE_GOAL)
        if goal:
            return str(goal)
    return ""


def output_text(span: SpanRecord) -> str:
    return "\n".join(
        t for t in (message_text(m) for m in parse_messages(span.output_messages)) if t
    )


def instructions_text(value: Any) -> str:
    """System instructions (a list of GenAI parts, or text) as plain text."""
    if isinstance(value, list):
        return "\n".join(
            str(p.get("content", "")) if isinstance(p, dict) else str(p) for p in value
        )
    return as_text(value)
