"""Full-text search over messages, tool arguments and results, and errors.

DuckDB's fts extension cannot be installed offline here, so the search is a vectorized,
case-insensitive literal match (RE2) over the content columns, run by DuckDB over only the span
files a time filter needs. Snippets are cut around the first match.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import orjson

from agenttrace.query.engine import QueryEngine, iso_ns, to_ns
from agenttrace.query.errors import QueryError
from agenttrace.query.model import SpanRecord

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
"""Reported field name → store column. Field names are also :class:`SpanRecord` attributes."""
SNIPPET_RADIUS = 60


def _match_expression(text: str) -> str:
    """The name of the first content field matching ``text`` (NULL when none does). RE2,
    DuckDB's regexp engine, with a constant case-insensitive literal pattern scans about twice
    as fast as ILIKE here; inlining the pattern has it compiled once."""
    pattern = "'" + ("(?i)" + re.escape(text)).replace("'", "''") + "'"
    cases = " ".join(
        f"WHEN regexp_matches({column}, {pattern}) THEN '{field}'"
        for field, column in SEARCH_FIELDS.items()
    )
    return f"CASE {cases} END"


def _snippet(value: str | None, needle: str) -> str:
    """About ``SNIPPET_RADIUS`` characters either side of the first match, JSON escapes
    flattened so the words show."""
    if not value:
        return ""
    at = max(value.lower().find(needle.lower()), 0)
    cut = value[max(0, at - SNIPPET_RADIUS) : at + len(needle) + SNIPPET_RADIUS]
    flat = cut.replace("\\n", " ").replace('\\"', '"').replace("\\t", " ")
    return " ".join(flat.split())


def search(
    engine: QueryEngine,
    text: str,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Per-trace hit counts and the first ``limit`` span hits (oldest first) for ``text``.

    One scan of the content columns records which spans match and in which field; snippets
    are then cut only for the hits shown, from the few files that hold those traces.
    """
    if not text.strip():
        raise QueryError("search text is empty")
    bounds = ["TRUE"]
    if since is not None:
        bounds.append(f"start_time_unix_nano >= {to_ns(since)}")
    if until is not None:
        bounds.append(f"start_time_unix_nano < {to_ns(until)}")
    with engine.connect() as con:
        engine.source.register_spans(con, "spans_raw", engine.source.list_files(since, until))
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE hits AS
                SELECT * FROM (
                    SELECT trace_id, span_id, name, start_time_unix_nano AS start_ns,
                           {_match_expression(text)} AS field
                    FROM spans_raw WHERE {" AND ".join(bounds)})
                WHERE field IS NOT NULL"""
        )
        traces = con.execute(
            """SELECT h.trace_id, count(DISTINCT h.span_id) AS hits,
                      any_value(t.root_name) AS root_name, min(h.start_ns) AS first_ns
               FROM hits h LEFT JOIN idx.trace_summary t USING (trace_id)
               GROUP BY h.trace_id ORDER BY hits DESC, first_ns, h.trace_id"""
        ).fetchall()
        # A redelivered span appears twice; over-fetch a little and keep the first of each.
        candidates = con.execute(
            f"SELECT trace_id, span_id, name, start_ns, field FROM hits "
            f"ORDER BY start_ns, trace_id, span_id, field LIMIT {2 * int(limit)}"
        ).fetchall()
    seen: set[tuple[str, str]] = set()
    shown: list[tuple[Any, ...]] = []
    for row in candidates:
        if (row[0], row[1]) not in seen and len(shown) < limit:
            seen.add((row[0], row[1]))
            shown.append(row)
    values = _hit_values(engine, shown)
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
                "snippet": _snippet(values.get((t, s, field)), text),
            }
            for t, s, name, start, field in shown
        ],
        "truncated": total > len(shown),
    }


def _hit_values(
    engine: QueryEngine, hits: list[tuple[Any, ...]]
) -> dict[tuple[str, str, str], str]:
    """The matched field's text for each shown hit, read only from its traces' files."""
    wanted = {(t, s) for t, s, *_ in hits}
    if not wanted:
        return {}
    spans = engine.load_spans(sorted({t for t, _ in wanted}))
    out = {}
    for trace_id, span_id, _, _, field in hits:
        for span in spans.get(trace_id, []):
            if span.span_id == span_id:
                out[(trace_id, span_id, field)] = _field_text(span, field)
    return out


def _field_text(span: SpanRecord, field: str) -> str:
    if field == "events":
        return orjson.dumps(span.events).decode()
    if field == "error_type":
        return span.error_type or ""
    return str(getattr(span, field) or "")


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
