"""Step and agent attribution of span-index rows, with Arrow kernels.

Every span belongs to its nearest enclosing harness step and agent (itself included). The walk
up the parent links is done level by level over whole columns (parent positions resolved once
by a hash lookup, then one ``take`` per level), so a refresh of 10,000 spans costs a few kernel
calls per tree level instead of a recursive query whose every iteration pays DuckDB's fixed
cost per statement.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

MODEL_OPERATIONS = ("chat", "text_completion", "generate_content", "embeddings")
MEMORY_OPERATIONS = ("search_memory", "update_memory", "delete_memory", "create_memory_store")
# Where a span's walk up its ancestry stops: deeper chains are malformed (or cyclic).
MAX_DEPTH = 256
_CALL_KINDS = pa.array(["model", "tool"])


def _key(trace_ids: pa.ChunkedArray, span_ids: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.binary_join_element_wise(trace_ids, span_ids, "/")


def span_keys(rows: pa.Table) -> pa.ChunkedArray:
    """One string per row identifying its span: trace id and span id."""
    return _key(rows.column("trace_id"), rows.column("span_id"))


def _where(condition: pa.Array, values: pa.Array, otherwise: pa.Array | pa.Scalar) -> pa.Array:
    return pc.if_else(pc.fill_null(condition, False), values, otherwise)


def _blank_to_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """``nullif(column, '')``."""
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column)


def _kind(operation: pa.ChunkedArray, harness: pa.ChunkedArray, memory: pa.Array) -> pa.Array:
    """The step kind: model, tool, agent, memory, step, workflow, else the operation's name."""
    rules = [
        ("model", pc.is_in(operation, pa.array(MODEL_OPERATIONS))),
        ("tool", pc.equal(operation, "execute_tool")),
        ("agent", pc.is_in(operation, pa.array(["invoke_agent", "create_agent"]))),
        (
            "memory",
            pc.or_kleene(pc.is_in(operation, pa.array(MEMORY_OPERATIONS)), pc.is_valid(memory)),
        ),
        ("step", pc.equal(harness, "step")),
        (
            "workflow",
            pc.or_kleene(pc.equal(operation, "invoke_workflow"), pc.equal(harness, "workflow")),
        ),
    ]
    kind = pc.coalesce(harness, operation, pa.scalar("span"))
    for name, applies in reversed(rules):  # the first rule that applies wins
        kind = _where(applies, pa.scalar(name), kind)
    return kind


def stage(rows: pa.Table, extracted: pa.Table) -> pa.Table:
    """Store rows (the store's columns and ``__filename``) as span-index rows before
    attribution; ``extracted`` holds, row for row, the values read out of their JSON columns."""
    column = rows.column
    operation = _blank_to_null(column("gen_ai_operation_name"))
    harness = _blank_to_null(column("agenttrace_operation_name"))
    status_message = _blank_to_null(column("status_message"))
    zero = pa.scalar(0, pa.int64())
    return pa.table(
        {
            "trace_id": column("trace_id"),
            "span_id": column("span_id"),
            "parent_span_id": _blank_to_null(column("parent_span_id")),
            "name": column("name"),
            "service_name": column("service_name"),
            "start_ns": column("start_time_unix_nano"),
            "end_ns": column("end_time_unix_nano"),
            "status_code": pc.coalesce(column("status_code"), pa.scalar("unset")),
            "status_message": status_message,
            "kind": _kind(operation, harness, extracted.column("memory_operation")),
            "operation": operation,
            "provider": _blank_to_null(column("gen_ai_provider_name")),
            "model": pc.coalesce(
                _blank_to_null(column("gen_ai_response_model")),
                _blank_to_null(column("gen_ai_request_model")),
            ),
            "agent_name": _blank_to_null(column("gen_ai_agent_name")),
            "tool_name": _blank_to_null(column("gen_ai_tool_name")),
            "tool_call_id": _blank_to_null(column("gen_ai_tool_call_id")),
            "input_tokens": pc.coalesce(column("gen_ai_usage_input_tokens"), zero),
            "output_tokens": pc.coalesce(column("gen_ai_usage_output_tokens"), zero),
            "cache_read_tokens": pc.coalesce(column("gen_ai_usage_cache_read_input_tokens"), zero),
            "cache_write_tokens": pc.coalesce(
                column("gen_ai_usage_cache_write_input_tokens"), zero
            ),
            "reasoning_tokens": pc.coalesce(column("gen_ai_usage_reasoning_output_tokens"), zero),
            "cost_usd": pc.coalesce(column("agenttrace_cost_usd"), pa.scalar(0.0)),
            "error_type": pc.coalesce(
                _blank_to_null(column("error_type")), extracted.column("exception_type")
            ),
            "error_message": pc.coalesce(extracted.column("exception_message"), status_message),
            "outcome": extracted.column("outcome"),
            "step_label": extracted.column("step_label"),
            "retry_attempt": pc.cast(extracted.column("retry_attempt"), pa.int64()),
            "retry_events": pc.cast(extracted.column("retry_events"), pa.int64()),
            "file": column("__filename"),
        }
    )


def attribute(rows: pa.Table) -> pa.Table:
    """``rows`` (span-index rows before attribution) with ``depth``, ``step_id``,
    ``step_name``, ``agent`` and ``nested``.

    A call (model or tool span) outside any harness step is its own step; a nested call (a
    model span directly under a model span, a tool span directly under a tool span: a provider
    SDK's or an MCP server's span under the caller's) is its parent's.
    """
    rows = rows.combine_chunks()
    count = rows.num_rows
    trace_ids, span_ids = rows.column("trace_id"), rows.column("span_id")
    parent_ids, kinds, names = (
        rows.column("parent_span_id"),
        rows.column("kind"),
        rows.column("name"),
    )
    null_position = pa.scalar(None, pa.int64())
    # Position of each span's parent in ``rows`` (null when the parent has not arrived).
    parents = pc.cast(
        pc.index_in(_key(trace_ids, parent_ids), value_set=_key(trace_ids, span_ids)), pa.int64()
    )
    positions = pa.array(range(count), pa.int64())
    is_step = pc.equal(kinds, "step")
    is_agent = pc.equal(kinds, "agent")
    step_source = _where(is_step, positions, null_position)
    agent_source = _where(is_agent, positions, null_position)
    depth = pa.array([0] * count, pa.int64())
    ancestor = parents
    for _level in range(MAX_DEPTH):
        reached = pc.is_valid(ancestor)
        if not pc.any(reached).as_py():
            break
        depth = pc.add(depth, pc.cast(reached, pa.int64()))
        step_source = pc.coalesce(
            step_source, _where(pc.take(is_step, ancestor), ancestor, null_position)
        )
        agent_source = pc.coalesce(
            agent_source, _where(pc.take(is_agent, ancestor), ancestor, null_position)
        )
        ancestor = pc.take(parents, ancestor)

    is_call = pc.is_in(kinds, _CALL_KINDS)
    nested = pc.fill_null(pc.and_kleene(is_call, pc.equal(pc.take(kinds, parents), kinds)), False)
    own_step = pc.or_(pc.is_valid(step_source), pc.invert(is_call))
    step_names = pc.coalesce(rows.column("step_label"), names)
    agent_names = rows.column("agent_name")
    step_id = _where(
        own_step,
        pc.take(span_ids, step_source),
        _where(nested, parent_ids, span_ids),
    )
    step_name = _where(
        own_step,
        pc.take(step_names, step_source),
        _where(nested, pa.scalar(None, pa.string()), names),
    )
    agent = pc.coalesce(pc.take(pc.coalesce(agent_names, names), agent_source), agent_names)
    return (
        rows.append_column("depth", pc.cast(depth, pa.int32()))
        .append_column("step_id", step_id)
        .append_column("step_name", step_name)
        .append_column("agent", agent)
        .append_column("nested", nested)
    )
