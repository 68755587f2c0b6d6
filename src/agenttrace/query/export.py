"""Export traces for evaluation and for other tools.

* ``eval`` — one JSON object per trace: task input, trajectory (steps with tool calls and
  results), final output, outcome, tokens, cost, duration.
* ``sts`` — Hugging Face's Session Trace Simple format: per trace a ``session`` header line,
  then one ``message`` line per message (user, assistant with ``toolCalls``, tool results).
* ``halo`` — HALO's JSONL input: one flat span per line with OpenInference attribute keys.

Redaction: pass a :class:`agenttrace.redaction.Redactor` and every exported record goes
through ``redact_json`` before it is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

from agenttrace import semconv
from agenttrace.query.engine import QueryEngine, iso_ns
from agenttrace.query.errors import QueryError
from agenttrace.query.model import (
    SpanRecord,
    as_text,
    first_input_text,
    instructions_text,
    message_text,
    output_text,
    parse_json,
    parse_messages,
    steps_of,
    tool_calls,
    tool_responses,
)

if TYPE_CHECKING:
    from agenttrace.redaction import Redactor

FORMATS = ("eval", "sts", "halo")
BATCH_TRACES = 200


def _trajectory_step(span: SpanRecord, index: int) -> dict[str, Any]:
    step: dict[str, Any] = {
        "index": index,
        "kind": span.kind,
        "name": span.step_title,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "agent": span.agent,
        "start_time": iso_ns(span.start_ns),
        "duration_ms": round(span.duration_ms, 3),
        "status": span.status_code,
    }
    if span.is_error or span.error_type:
        step["error"] = {"type": span.error_type, "message": span.error_message}
    if span.kind == "model":
        outputs = parse_messages(span.output_messages)
        step["output"] = "\n".join(t for t in (message_text(m) for m in outputs) if t)
        step["tool_calls"] = [c for m in outputs for c in tool_calls(m)]
        step["tokens"] = {
            "input": span.input_tokens,
            "output": span.output_tokens,
            "cache_read": span.cache_read_tokens,
        }
        step["cost_usd"] = round(span.cost_usd, 8)
    elif span.kind == "tool":
        step["call_id"] = span.tool_call_id
        step["arguments"] = parse_json(span.tool_arguments)
        step["result"] = parse_json(span.tool_result)
    elif span.kind == "memory":
        step["operation"] = span.attributes.get(semconv.AGENTTRACE_MEMORY_OPERATION)
        step["keys"] = span.attributes.get(semconv.AGENTTRACE_MEMORY_KEYS)
    return step


def _final_output(spans: list[SpanRecord]) -> str:
    """The last model output of the outermost agent (the answer the run ended with)."""
    models = [s for s in steps_of(spans) if s.kind == "model"]
    if not models:
        return ""
    top = min(s.depth for s in models)
    for span in reversed(models):
        if span.depth == top:
            text = output_text(span)
            if text:
                return text
    return output_text(models[-1])


def eval_record(summary: dict[str, Any], spans: list[SpanRecord]) -> dict[str, Any]:
    return {
        "trace_id": summary["trace_id"],
        "name": summary["root_name"],
        "service_name": summary["service_name"],
        "start_time": summary["start_time"],
        "input": first_input_text(spans),
        "trajectory": [_trajectory_step(s, i) for i, s in enumerate(steps_of(spans))],
        "final_output": _final_output(spans),
        "outcome": summary["outcome"],
        "status": summary["status"],
        "tokens": {
            "input": summary["input_tokens"],
            "output": summary["output_tokens"],
            "cache_read": summary["cache_read_tokens"],
        },
        "cost_usd": summary["cost_usd"],
        "duration_ms": summary["duration_ms"],
        "models": summary["models"],
        "agents": summary["agents"],
        "tools": summary["tools"],
    }


def _sts_message(role: str, content: str, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"role": role, "content": content}
    message.update({k: v for k, v in extra.items() if v not in (None, [], "")})
    return {"type": "message", "message": message}


def _sts_from_message(
    message: dict[str, Any], model: str | None, timestamp_ms: int
) -> Iterator[dict[str, Any]]:
    role = str(message.get("role") or "user")
    if role == "tool":
        responses = tool_responses(message)
        for response in responses:
            yield _sts_message(
                "tool",
                as_text(response.get("response")),
                toolCallId=response.get("id"),
                timestamp=timestamp_ms,
            )
        if not responses:
            yield _sts_message("tool", message_text(message), timestamp=timestamp_ms)
        return
    calls = [
        {"id": c.get("id"), "function": {"name": c.get("name"), "arguments": _arguments_string(c)}}
        for c in tool_calls(message)
    ]
    yield _sts_message(
        role if role in ("user", "assistant", "system") else "user",
        message_text(message),
        toolCalls=calls,
        model=model if role == "assistant" else None,
        timestamp=timestamp_ms,
    )


def _arguments_string(call: dict[str, Any]) -> str:
    arguments = call.get("arguments")
    return arguments if isinstance(arguments, str) else orjson.dumps(arguments or {}).decode()


def sts_lines(summary: dict[str, Any], spans: list[SpanRecord]) -> list[dict[str, Any]]:
    """One session: the header, then the conversation as the outermost agent had it — the first
    model call's full input, each model output, and the tool results between calls."""
    harness = next(
        (
            str(s.attributes[semconv.AGENTTRACE_HARNESS_NAME])
            for s in spans
            if s.attributes.get(semconv.AGENTTRACE_HARNESS_NAME)
        ),
        summary["service_name"] or "agenttrace",
    )
    lines: list[dict[str, Any]] = [
        {
            "type": "session",
            "harness": harness,
            "id": summary["trace_id"],
            "name": summary["root_name"],
            "outcome": summary["outcome"],
        }
    ]
    models = [s for s in steps_of(spans) if s.kind == "model"]
    if not models:
        return lines
    top = min(s.depth for s in models)
    main = [s for s in models if s.depth == top]
    first = main[0]
    if first.system_instructions:
        lines.append(
            _sts_message("system", instructions_text(parse_json(first.system_instructions)))
        )
    seen = 0
    for call in main:
        inputs = parse_messages(call.input_messages)
        # Each call's input repeats the conversation so far; emit only what is new.
        for message in inputs[seen:]:
            if message.get("role") == "assistant":
                continue  # already emitted from the previous call's output
            lines.extend(_sts_from_message(message, None, call.start_ns // 1_000_000))
        outputs = parse_messages(call.output_messages)
        for message in outputs:
            lines.extend(
                _sts_from_message(
                    {**message, "role": "assistant"}, call.model, call.end_ns // 1_000_000
                )
            )
        seen = len(inputs) + len(outputs)
    return lines


_OPENINFERENCE_KIND = {
    "model": "LLM",
    "tool": "TOOL",
    "agent": "AGENT",
    "memory": "RETRIEVER",
    "retrieval": "RETRIEVER",
    "embeddings": "EMBEDDING",
}


def _rfc3339(ns: int) -> str:
    seconds, nanos = divmod(ns, 1_000_000_000)
    return iso_ns(seconds * 1_000_000_000)[:19] + f".{nanos:09d}Z"


def halo_span(span: SpanRecord) -> dict[str, Any]:
    """One span in HALO's flat shape with OpenInference attribute keys."""
    kind = (
        "EMBEDDING"
        if span.operation == "embeddings"
        else _OPENINFERENCE_KIND.get(span.kind, "CHAIN")
    )
    attributes: dict[str, Any] = {
        k: v for k, v in span.attributes.items() if not k.startswith("gen_ai.")
    }
    attributes["openinference.span.kind"] = kind
    if span.kind == "model":
        attributes["llm.model_name"] = span.model
        attributes["llm.provider"] = span.provider
        attributes["llm.token_count.prompt"] = span.input_tokens
        attributes["llm.token_count.completion"] = span.output_tokens
        attributes["llm.token_count.total"] = span.input_tokens + span.output_tokens
        attributes["llm.token_count.prompt_details.cache_read"] = span.cache_read_tokens
        attributes["llm.token_count.prompt_details.cache_write"] = span.cache_write_tokens
        for prefix, text in (
            ("llm.input_messages", span.input_messages),
            ("llm.output_messages", span.output_messages),
        ):
            for i, message in enumerate(parse_messages(text)):
                attributes[f"{prefix}.{i}.message.role"] = message.get("role")
                attributes[f"{prefix}.{i}.message.content"] = message_text(message)
        if span.input_messages:
            attributes["input.value"] = span.input_messages
            attributes["input.mime_type"] = "application/json"
        if span.output_messages:
            attributes["output.value"] = span.output_messages
            attributes["output.mime_type"] = "application/json"
    elif span.kind == "tool":
        attributes["tool.name"] = span.tool_name
        if span.tool_arguments is not None:
            attributes["tool.parameters"] = span.tool_arguments
            attributes["input.value"] = span.tool_arguments
        if span.tool_result is not None:
            attributes["output.value"] = span.tool_result
    elif span.kind == "agent" and span.agent_name:
        attributes["agent.name"] = span.agent_name
    session = span.session_id or span.conversation_id
    if session:
        attributes["session.id"] = session
    user = span.attributes.get(semconv.AGENTTRACE_USER_ID)
    if user:
        attributes["user.id"] = user
    if span.cost_usd:
        attributes["llm.cost.total"] = span.cost_usd
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id or "",
        "trace_state": span.trace_state or "",
        "name": span.name,
        "kind": f"SPAN_KIND_{(span.span_kind or 'internal').upper()}",
        "start_time": _rfc3339(span.start_ns),
        "end_time": _rfc3339(span.end_ns),
        "status": {
            "code": f"STATUS_CODE_{span.status_code.upper()}",
            "message": span.status_message or "",
        },
        "resource": {"attributes": span.resource_attributes},
        "scope": {"name": span.scope_name or "", "version": span.scope_version or ""},
        "attributes": {k: v for k, v in attributes.items() if v is not None},
    }


def export_records(
    engine: QueryEngine,
    summaries: Iterable[dict[str, Any]],
    fmt: str,
    redactor: Redactor | None = None,
) -> Iterator[dict[str, Any]]:
    """The JSON lines of ``fmt`` for the given traces, in order, redacted when asked."""
    if fmt not in FORMATS:
        raise QueryError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    pending = list(summaries)
    for offset in range(0, len(pending), BATCH_TRACES):
        batch = pending[offset : offset + BATCH_TRACES]
        loaded = engine.load_spans([s["trace_id"] for s in batch])
        for summary in batch:
            spans = loaded[summary["trace_id"]]
            if fmt == "eval":
                records = [eval_record(summary, spans)]
            elif fmt == "sts":
                records = sts_lines(summary, spans)
            else:
                records = [halo_span(s) for s in sorted(spans, key=lambda s: (s.start_ns, s.depth))]
            for record in records:
                yield redactor.redact_json(record) if redactor is not None else record
