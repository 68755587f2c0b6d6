"""Full-text search over messages, tool arguments and results, and errors.

DuckDB's fts extension cannot be installed offline here, so the search is a vectorized,
case-insensitive literal match (RE2) over the content columns, run by DuckDB over only the span files
a time filter needs. Snippets are cut around the first match.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from agenttrace.query.engine import QueryEngine, iso_ns
from agenttrace.query.errors import QueryError

SEARCH_FIELDS = {
    "input_messages": "gen_ai_input_messages",
    "output_messages": "gen_ai_output_messages",
    "tool_arguments": "gen_ai_tool_call_arguments",
    "tool_result": "gen_ai_tool_call_result",
    "system_instructions": "gen_ai_system_instructions",
    "status_message": "status_message",
    "error_type": "error_type",
    "events": "events",
}
SNIPPET_RADIUS = 60


def _search_sql(text: str, where_time: str) -> str:
    # RE2 (DuckDB's regexp engine) with a constant, case-insensitive literal pattern scans
    # about twice as fast as ILIKE here; the pattern is inlined so it is compiled once.
    pattern = "'" + ("(?i)" + re.escape(text)).replace("'", "''") + "'"
    matches = [f"regexp_matches({column}, {pattern})" for column in SEARCH_FIELDS.values()]
    field = " ".join(
        f"WHEN {m} THEN '{name}'" for m, name in zip(matches, SEARCH_FIELDS, strict=True)
    )
    value = " ".join(
        f"WHEN {m} THEN {column}" for m, column in zip(matches, SEARCH_FIELDS.values(), strict=True)
    )
    return f"""
    CREATE OR REPLACE TEMP TABLE hits AS
    SELECT trace_id, span_id, name, start_ns, field,
           substr(value, greatest(1, strpos(lower(value), $needle) - {SNIPPET_RADIUS}),
                  length($needle) + 2 * {SNIPPET_RADIUS}) AS snippet
    FROM (
        SELECT trace_id, span_id, name, start_time_unix_nano AS start_ns,
               CASE {field} END AS field, CASE {value} END AS value
        FROM spans_raw
        WHERE ({" OR ".join(matches)}) AND {where_time}
    )
    QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY field) = 1
    """


def _clean_snippet(text: str) -> str:
    # Content columns hold JSON; show the words, not the escapes.
    flat = text.replace("\\n", " ").replace('\\"', '"').replace("\\t", " ")
    return " ".join(flat.split())


def search(
    engine: QueryEngine,
    text: str,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Span hits (first ``limit``, oldest first) and per-trace hit counts for ``text``."""
    if not text.strip():
        raise QueryError("search text is empty")
    from agenttrace.query.engine import to_ns

    bounds = ["TRUE"]
    if since is not None:
        bounds.append(f"start_time_unix_nano >= {to_ns(since)}")
    if until is not None:
        bounds.append(f"start_time_unix_nano < {to_ns(until)}")
    with engine.connect() as con:
        engine.source.register_spans(con, "spans_raw", engine.source.list_files(since, until))
        con.execute(_search_sql(text, " AND ".join(bounds)), {"needle": text.lower()})
        traces = con.execute(
            """SELECT h.trace_id, count(*) AS hits, any_value(t.root_name) AS root_name,
                      min(h.start_ns) AS first_ns
               FROM hits h LEFT JOIN idx.trace_summary t USING (trace_id)
               GROUP BY h.trace_id ORDER BY hits DESC, first_ns, h.trace_id"""
        ).fetchall()
        spans = con.execute(
            f"SELECT trace_id, span_id, name, start_ns, field, snippet FROM hits "
            f"ORDER BY start_ns, trace_id, span_id LIMIT {int(limit)}"
        ).fetchall()
    total = sum(int(row[1]) for row in traces)
    return {
        "query": text,
        "total_hits": total,
        "traces": [
            {"trace_id": t, "hits": int(n), "root_name": root, "first_hit_time": iso_ns(int(first))}
            for t, n, root, first in traces
        ],
        "hits": [
            {
                "trace_id": t,
                "span_id": s,
                "name": name,
                "start_time": iso_ns(int(start)),
                "field": field,
                "snippet": _clean_snippet(snippet or ""),
            }
            for t, s, name, start, field, snippet in spans
        ],
        "truncated": total > len(spans),
    }


def matching_trace_ids(
    engine: QueryEngine,
    text: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[str]:
    """Ids of the traces with at least one hit (the ``traces --text`` filter)."""
    return [
        t["trace_id"] for t in search(engine, text, since=since, until=until, limit=0)["traces"]
    ]
