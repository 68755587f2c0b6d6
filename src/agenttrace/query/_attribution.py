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
