"""One trace as a span tree, and its replay: what the agent saw and did at each model call."""

from __future__ import annotations

from typing import Any

from agenttrace.query.engine import iso_ns
from agenttrace.query.model import (
    SpanRecord,
    as_text,
    build_tree,
    message_text,
    parse_json,
    parse_messages,
    preview,
    tool_calls,
)


def span_previews(span: SpanRecord, width: int = 80) -> dict[str, str]:
    """Short input/output previews: the last input message and the output for a model call,
    arguments and result for a tool call."""
    if span.kind == "model":
        messages = parse_messages(span.input_messages)
        last = render_message(messages[-1]) if messages else ""
        outputs = " ".join(render_message(m) for m in parse_messages(span.output_messages))
        return {"input": preview(last, width), "output": preview(outputs, width)}
    if span.kind == "tool":
        return {
            "input": preview(span.tool_arguments, width),
            "output": preview(span.tool_result, width),
        }
    return {}


def _error(span: SpanRecord) -> dict[str, Any] | None:
    if not span.is_error and not span.error_type:
        return None
    return {"type": span.error_type, "message": span.error_message or span.status_message}


def span_node(span: SpanRecord) -> dict[str, Any]:
    """A span and its subtree as plain data (the ``show --json`` shape)."""
    return {
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": span.kind,
        "start_time": iso_ns(span.start_ns),
        "duration_ms": round(span.duration_ms, 3),
        "status": span.status_code,
        "error": _error(span),
        "model": span.model,
        "tool": span.tool_name,
        "agent": span.agent,
        "input_tokens": span.input_tokens,
        "output_tokens": span.output_tokens,
        "cache_read_tokens": span.cache_read_tokens,
        "cost_usd": round(span.cost_usd, 8),
        "retry_attempt": span.retry_attempt,
        "preview": span_previews(span),
        "children": [span_node(child) for child in span.children],
    }


def span_tree(spans: list[SpanRecord]) -> list[dict[str, Any]]:
    return [span_node(root) for root in build_tree(spans)]


def _tool_result(span: SpanRecord) -> dict[str, Any]:
    return {
        "span_id": span.span_id,
        "tool": span.tool_name or span.name,
        "call_id": span.tool_call_id,
        "arguments": parse_json(span.tool_arguments),
        "result": parse_json(span.tool_result),
        "error": _error(span),
    }


def replay(spans: list[SpanRecord]) -> list[dict[str, Any]]:
    """Every model call in start order with its full input and output messages, followed by
    the tool calls that answered it: matched by tool-call id when the output names ids, else
    the same agent's tool spans that started before its next model call."""
    ordered = sorted(spans, key=lambda s: (s.start_ns, s.depth, s.span_id))
    models = [s for s in ordered if s.kind == "model"]
    tools = [s for s in ordered if s.kind == "tool"]
    by_call_id = {t.tool_call_id: t for t in tools if t.tool_call_id}
    outputs_of = {m.span_id: parse_messages(m.output_messages) for m in models}
    requested_by = {
        m.span_id: [
            tc["id"] for msg in outputs_of[m.span_id] for tc in tool_calls(msg) if tc.get("id")
        ]
        for m in models
    }
    # A tool span whose call id some model requested belongs to that model call only.
    reserved = {i for ids in requested_by.values() for i in ids if i in by_call_id}
    steps = []
    for index, call in enumerate(models):
        outputs = outputs_of[call.span_id]
        followed = [by_call_id[i] for i in requested_by[call.span_id] if i in by_call_id]
        if not followed:
            next_start = next(
                (m.start_ns for m in models[index + 1 :] if m.agent == call.agent), None
            )
            followed = [
                t
                for t in tools
                if t.agent == call.agent
                and t.tool_call_id not in reserved
                and t.start_ns >= call.start_ns
                and (next_start is None or t.start_ns < next_start)
            ]
        followed.sort(key=lambda t: (t.start_ns, t.span_id))
        steps.append(
            {
                "index": index + 1,
                "span_id": call.span_id,
                "name": call.name,
                "model": call.model,
                "agent": call.agent,
                "start_time": iso_ns(call.start_ns),
                "duration_ms": round(call.duration_ms, 3),
                "input_tokens": call.input_tokens,
                "output_tokens": call.output_tokens,
                "cost_usd": round(call.cost_usd, 8),
                "system_instructions": parse_json(call.system_instructions),
                "input_messages": parse_messages(call.input_messages),
                "output_messages": outputs,
                "error": _error(call),
                "tool_results": [_tool_result(t) for t in followed],
            }
        )
    return steps


def render_message(message: dict[str, Any]) -> str:
    """A message as readable text: its text, then any tool calls and tool responses."""
    lines = [message_text(message)]
    for call in tool_calls(message):
        lines.append(
            f"→ tool_call {call.get('name')}({as_text(call.get('arguments'))}) id={call.get('id')}"
        )
    parts = message.get("parts")
    if isinstance(parts, list):
        for part in parts:
            if isinstance(part, dict) and part.get("type") == "tool_call_response":
                lines.append(
                    f"← tool_response id={part.get('id')}: {as_text(part.get('response'))}"
                )
    return "\n".join(line for line in lines if line)
