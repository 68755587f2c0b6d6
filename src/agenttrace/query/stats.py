"""Where tokens, cost and time go: by step, tool, model and agent, for one trace or many.

Everything is computed from the summary index (no content is read). Tokens and cost come from
model-call spans only, so agent spans carrying ``agenttrace.aggregate.*`` never double count; a
model or tool span directly under one of its own kind (a provider SDK's or MCP server's span) is
part of its parent's call (``call_kind`` is null for it), so it is never counted twice.
A *step* is the nearest enclosing harness step span (``agenttrace.operation.name = step``); a
model or tool call outside any harness step is its own step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agenttrace.query.engine import QueryEngine, TraceFilter, iso_ns

if TYPE_CHECKING:
    import duckdb

_SELECTED = """
CREATE OR REPLACE TEMP TABLE sel AS
SELECT s.*, (s.end_ns - s.start_ns) / 1e6 AS ms,
       CASE WHEN NOT s.nested THEN s.kind END AS call_kind
FROM span_index s
WHERE s.trace_id IN (SELECT trace_id FROM idx.trace_summary WHERE {where})
"""

_TOKENS = """
    coalesce(sum(input_tokens) FILTER (WHERE call_kind = 'model'), 0) AS input_tokens,
    coalesce(sum(output_tokens) FILTER (WHERE call_kind = 'model'), 0) AS output_tokens,
    coalesce(sum(cache_read_tokens) FILTER (WHERE call_kind = 'model'), 0) AS cache_read_tokens,
    round(coalesce(sum(cost_usd) FILTER (WHERE call_kind = 'model'), 0), 8) AS cost_usd"""

_QUERIES = {
    "totals": f"""
        SELECT count(DISTINCT trace_id) AS traces, count(*) AS spans,
               count(*) FILTER (WHERE call_kind = 'model') AS model_calls,
               count(*) FILTER (WHERE call_kind = 'tool') AS tool_calls,
               count(*) FILTER (WHERE status_code = 'error') AS errors, {_TOKENS},
               round(coalesce(sum(ms) FILTER (WHERE parent_span_id IS NULL), 0), 3)
                   AS root_duration_ms
        FROM sel""",
    "by_model": f"""
        SELECT coalesce(model, '(unknown)') AS model, count(*) AS calls, {_TOKENS},
               round(sum(ms), 3) AS duration_ms
        FROM sel WHERE call_kind = 'model' GROUP BY 1 ORDER BY cost_usd DESC, calls DESC, 1""",
    "by_tool": """
        SELECT coalesce(tool_name, name) AS tool, count(*) AS calls,
               count(*) FILTER (WHERE status_code = 'error') AS errors,
               round(sum(ms), 3) AS duration_ms, round(avg(ms), 3) AS avg_ms
        FROM sel WHERE call_kind = 'tool' GROUP BY 1 ORDER BY duration_ms DESC, calls DESC, 1""",
    "by_agent": f"""
        WITH spend AS (
            SELECT agent, count(*) FILTER (WHERE call_kind = 'model') AS model_calls,
                   count(*) FILTER (WHERE call_kind = 'tool') AS tool_calls, {_TOKENS}
            FROM sel WHERE agent IS NOT NULL GROUP BY agent),
        runs AS (
            SELECT coalesce(agent_name, name) AS agent, count(*) AS invocations,
                   round(sum(ms), 3) AS duration_ms
            FROM sel WHERE kind = 'agent' GROUP BY 1)
        SELECT agent, coalesce(invocations, 0) AS invocations,
               coalesce(model_calls, 0) AS model_calls, coalesce(tool_calls, 0) AS tool_calls,
               coalesce(input_tokens, 0) AS input_tokens,
               coalesce(output_tokens, 0) AS output_tokens,
               coalesce(cache_read_tokens, 0) AS cache_read_tokens,
               coalesce(cost_usd, 0) AS cost_usd, coalesce(duration_ms, 0) AS duration_ms
        FROM spend FULL JOIN runs USING (agent) ORDER BY cost_usd DESC, agent""",
}

_STEP_INSTANCES = f"""
CREATE OR REPLACE TEMP TABLE step_instances AS
WITH spend AS (
    SELECT trace_id, step_id, any_value(step_name) AS name,
           count(*) FILTER (WHERE call_kind = 'model') AS model_calls,
           count(*) FILTER (WHERE call_kind = 'tool') AS tool_calls, {_TOKENS}
    FROM sel WHERE step_id IS NOT NULL GROUP BY trace_id, step_id)
SELECT spend.*, sel.kind, round(sel.ms, 3) AS duration_ms, sel.start_ns
FROM spend JOIN sel ON sel.trace_id = spend.trace_id AND sel.span_id = spend.step_id
"""

_BY_STEP = """
SELECT name AS step, count(*) AS occurrences, sum(model_calls) AS model_calls,
       sum(tool_calls) AS tool_calls, sum(input_tokens) AS input_tokens,
       sum(output_tokens) AS output_tokens, sum(cache_read_tokens) AS cache_read_tokens,
       round(sum(cost_usd), 8) AS cost_usd, round(sum(duration_ms), 3) AS duration_ms
FROM step_instances GROUP BY name ORDER BY cost_usd DESC, duration_ms DESC, step
"""

_COSTLIEST = """
SELECT trace_id, step_id AS span_id, name, kind, model_calls, tool_calls, input_tokens,
       output_tokens, cache_read_tokens, cost_usd, duration_ms, start_ns
FROM step_instances
ORDER BY cost_usd DESC, input_tokens + output_tokens DESC, duration_ms DESC, start_ns, span_id
LIMIT 1
"""


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def stats(engine: QueryEngine, selection: TraceFilter | None = None) -> dict[str, Any]:
    """The attribution report over the selected traces (all traces without a filter)."""
    where, params = (selection or TraceFilter()).where()
    with engine.connect() as con:
        con.execute(_SELECTED.format(where=where), params)
        report: dict[str, Any] = {name: _fetch(con, sql) for name, sql in _QUERIES.items()}
        report["totals"] = report["totals"][0]
        con.execute(_STEP_INSTANCES)
        report["by_step"] = _fetch(con, _BY_STEP)
        costliest = _fetch(con, _COSTLIEST)
    total_cost = float(report["totals"]["cost_usd"] or 0.0)
    if costliest:
        step = costliest[0]
        step["start_time"] = iso_ns(int(step.pop("start_ns")))
        step["share_of_cost"] = (
            round(float(step["cost_usd"]) / total_cost, 4) if total_cost else 0.0
        )
        report["costliest_step"] = step
    else:
        report["costliest_step"] = None
    return report
