"""Failure patterns: failing traces grouped by what failed, where, and how.

A trace fails when its root status is error or its ``agenttrace.run.outcome`` is ``failure`` or
``aborted``. Its failing step is the span whose error failed the trace: when the root carries an
error type, the deepest error span with that same type (the one that ended first on a tie), so
an error recovered earlier (a retried timeout) is not blamed; when the root carries none, the
error span that ended first (the deepest one on a tie). The signature is
``error type | failing tool or step | normalized message``, where the message has ids, numbers,
paths, URLs and quoted values masked so that one bug is one pattern.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from agenttrace.query.engine import QueryEngine, TraceFilter, iso_ns

EXAMPLES_PER_PATTERN = 3

_MASKS = (
    (re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE), "<url>"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "<email>"),
    (re.compile(r"(?:[A-Za-z]:\\|~?/)[^\s'\",:;()]+"), "<path>"),
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
    ),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.IGNORECASE), "<hex>"),
    (re.compile(r"\b[\w-]*\d[\w-]*\b"), "<n>"),
    # Quoted values, unless already reduced to a mask such as '<path>'.
    (re.compile(r"'(?!<[a-z]+>')[^']*'|\"(?!<[a-z]+>\")[^\"]*\""), "<str>"),
)


def normalize_message(message: str | None) -> str:
    """The message with variable parts masked and whitespace collapsed."""
    if not message:
        return ""
    text = message
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return " ".join(text.split())[:200]


_FAILING = """
WITH failing AS (
    SELECT trace_id FROM idx.trace_summary
    WHERE ({where}) AND (status = 'error' OR outcome IN ('failure', 'aborted'))),
marked AS (
    SELECT s.*, (kind IN ('model', 'tool', 'agent', 'memory')
                 AND NOT (kind = 'agent' AND parent_span_id IS NULL)) AS is_step
    FROM span_index s WHERE trace_id IN (SELECT trace_id FROM failing)),
spans AS (
    -- Same numbering as model.steps_of: the index into the run's step sequence.
    SELECT *, CASE WHEN is_step THEN row_number() OVER (PARTITION BY trace_id, is_step
                                 ORDER BY start_ns, depth, span_id) - 1 END AS step_index
    FROM marked),
root_errors AS (
    -- The error type the trace failed with, if its root records one.
    SELECT trace_id, arg_min(error_type, start_ns) AS root_error_type
    FROM spans WHERE parent_span_id IS NULL AND error_type IS NOT NULL GROUP BY trace_id),
ranked AS (
    SELECT s.*, row_number() OVER (
               PARTITION BY trace_id
               ORDER BY status_code = 'error' DESC,
                        -- Follow the root's error down to where it was raised ...
                        coalesce(error_type = root_error_type, FALSE) DESC,
                        CASE WHEN error_type = root_error_type THEN -depth END,
                        -- ... else (or among equals) the error that ended first.
                        end_ns, depth DESC, span_id) AS rank,
           bool_or(status_code = 'error') OVER (PARTITION BY trace_id) AS has_error
    FROM spans s LEFT JOIN root_errors USING (trace_id)
    WHERE status_code = 'error' OR parent_span_id IS NULL)
SELECT r.trace_id, r.span_id, r.name, r.kind, r.tool_name, r.step_name, r.error_type,
       r.error_message, r.status_message, r.step_index, r.start_ns, r.has_error,
       t.root_name, t.start_ns AS trace_start_ns, t.outcome
FROM ranked r JOIN idx.trace_summary t USING (trace_id)
WHERE r.rank = 1
ORDER BY t.start_ns, r.trace_id
"""


def _where(row: dict[str, Any]) -> str:
    if row["kind"] == "tool":
        return f"tool:{row['tool_name'] or row['name']}"
    if row["step_name"] and row["kind"] != "model":
        return f"step:{row['step_name']}"
    return f"{row['kind']}:{row['name']}"


def failures(
    engine: QueryEngine, selection: TraceFilter | None = None, top: int = 10
) -> dict[str, Any]:
    """The top failure patterns among the selected traces."""
    where, params = (selection or TraceFilter()).where()
    with engine.connect() as con:
        cursor = con.execute(_FAILING.format(where=where), params)
        names = [d[0] for d in cursor.description or []]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        error_type = row["error_type"] or ("error" if row["has_error"] else row["outcome"])
        message = normalize_message(row["error_message"] or row["status_message"])
        groups[(str(error_type), _where(row), message)].append(row)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    patterns = []
    for (error_type, where_failed, message), members in ordered[:top]:
        first = members[0]
        patterns.append(
            {
                "signature": f"{error_type} | {where_failed} | {message}",
                "error_type": error_type,
                "where": where_failed,
                "message": message,
                "count": len(members),
                "example_traces": [m["trace_id"] for m in members[:EXAMPLES_PER_PATTERN]],
                "failing_step": {
                    "trace_id": first["trace_id"],
                    "span_id": first["span_id"],
                    "name": first["name"],
                    "kind": first["kind"],
                    "step_index": first["step_index"],
                    "start_time": iso_ns(int(first["start_ns"])),
                    "message": first["error_message"] or first["status_message"],
                },
            }
        )
    return {"failing_traces": len(rows), "pattern_count": len(groups), "patterns": patterns}
