"""Run diff: align two runs' steps and find where they first went different ways.

Steps (model, tool, agent and memory spans in start order) match when kind, name and normalized
arguments agree. The common prefix is matched outright, so the branch point is exactly the
first step that differs; the rest is aligned with difflib's longest-matching-block algorithm to
report what was inserted, deleted or replaced.
"""

from __future__ import annotations

import difflib
from typing import Any

import orjson

from agenttrace.query.engine import QueryEngine
from agenttrace.query.model import (
    SpanRecord,
    as_text,
    parse_json,
    parse_messages,
    preview,
    steps_of,
    tool_calls,
)

CONTEXT_STEPS = 3

StepKey = tuple[str, str, str]


def normalize_arguments(text: str | None) -> str:
    """Arguments as canonical JSON (sorted keys, no whitespace), else whitespace-collapsed text."""
    value = parse_json(text)
    if value is None:
        return ""
    if isinstance(value, str):
        return " ".join(value.split())
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _requested_calls(span: SpanRecord) -> list[str]:
    """The tool calls a model call decided to make, as ``name(normalized arguments)``."""
    return [
        f"{call.get('name')}({normalize_arguments(as_text(call.get('arguments')))})"
        for message in parse_messages(span.output_messages)
        for call in tool_calls(message)
    ]


def step_key(span: SpanRecord) -> StepKey:
    """What makes two steps "the same step". A tool call: tool and normalized arguments. A model
    call: model and the tool calls it decided to make (not its text or input, which differ as
    soon as anything before did). An agent or memory step: its name."""
    if span.kind == "tool":
        arguments = normalize_arguments(span.tool_arguments)
    elif span.kind == "model":
        arguments = "; ".join(_requested_calls(span))
    else:
        arguments = ""
    return (span.kind, span.step_title, arguments)


def step_dict(span: SpanRecord, index: int) -> dict[str, Any]:
    return {
        "index": index,
        "kind": span.kind,
        "name": span.step_title,
        "span_id": span.span_id,
        "arguments": preview(span.tool_arguments, 120) if span.kind == "tool" else None,
        "tool_calls": _requested_calls(span) if span.kind == "model" else [],
        "status": span.status_code,
        "input_tokens": span.input_tokens,
        "output_tokens": span.output_tokens,
        "cost_usd": round(span.cost_usd, 8),
    }


def align(a: list[StepKey], b: list[StepKey]) -> list[tuple[str, int, int, int, int]]:
    """difflib-style opcodes over the whole sequences, with the common prefix and suffix
    matched first so the first non-equal opcode is the true first difference."""
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(a), len(b)) - prefix and a[len(a) - 1 - suffix] == b[len(b) - 1 - suffix]
    ):
        suffix += 1
    ops: list[tuple[str, int, int, int, int]] = []
    if prefix:
        ops.append(("equal", 0, prefix, 0, prefix))
    middle = difflib.SequenceMatcher(
        None, a[prefix : len(a) - suffix], b[prefix : len(b) - suffix], autojunk=False
    )
    for tag, i1, i2, j1, j2 in middle.get_opcodes():
        ops.append((tag, i1 + prefix, i2 + prefix, j1 + prefix, j2 + prefix))
    if suffix:
        ops.append(("equal", len(a) - suffix, len(a), len(b) - suffix, len(b)))
    return ops


def _run_summary(summary: dict[str, Any], steps: list[SpanRecord]) -> dict[str, Any]:
    return {**summary, "steps": len(steps)}


_DELTA_FIELDS = (
    "model_calls",
    "tool_calls",
    "errors",
    "retries",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cost_usd",
    "duration_ms",
)


def diff_spans(
    summary_a: dict[str, Any],
    spans_a: list[SpanRecord],
    summary_b: dict[str, Any],
    spans_b: list[SpanRecord],
) -> dict[str, Any]:
    """The diff report of two loaded runs (the ``diff --json`` shape)."""
    steps_a, steps_b = steps_of(spans_a), steps_of(spans_b)
    keys_a, keys_b = [step_key(s) for s in steps_a], [step_key(s) for s in steps_b]
    ops = align(keys_a, keys_b)
    branch = next((op for op in ops if op[0] != "equal"), None)
    branch_point = None
    if branch is not None:
        tag, i1, _i2, j1, _j2 = branch
        # What each run did next at the divergence, whatever the alignment makes of it later
        # (an "insert" still has A doing something else there, unless A ended).
        branch_point = {
            "index": i1,
            "op": tag,
            "b_index": j1,
            "a": step_dict(steps_a[i1], i1) if i1 < len(steps_a) else None,
            "b": step_dict(steps_b[j1], j1) if j1 < len(steps_b) else None,
            "context": [step_dict(steps_a[i], i) for i in range(max(0, i1 - CONTEXT_STEPS), i1)],
        }
    deltas: dict[str, Any] = {"steps": len(steps_b) - len(steps_a)}
    for name in _DELTA_FIELDS:
        delta = summary_b[name] - summary_a[name]
        deltas[name] = round(delta, 8) if isinstance(delta, float) else delta
    deltas["total_tokens"] = deltas["input_tokens"] + deltas["output_tokens"]
    matched = sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag == "equal")
    return {
        "a": _run_summary(summary_a, steps_a),
        "b": _run_summary(summary_b, steps_b),
        "branch_point": branch_point,
        "matched_steps": matched,
        "alignment": [{"op": tag, "a": [i1, i2], "b": [j1, j2]} for tag, i1, i2, j1, j2 in ops],
        "deltas": deltas,
    }


def diff(engine: QueryEngine, trace_a: str, trace_b: str) -> dict[str, Any]:
    """Diff two traces by id (or unique id prefix)."""
    a, b = engine.resolve(trace_a), engine.resolve(trace_b)
    loaded = engine.load_spans([a, b])  # one read of the files that hold either
    spans_a, spans_b = loaded[a], loaded[b]
    return diff_spans(engine.summary(a), spans_a, engine.summary(b), spans_b)
