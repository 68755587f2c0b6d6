"""The query engine: DuckDB views over one store, kept fresh by the summary index.

Views available to SQL (``agenttrace sql``):

* ``traces`` — one row per trace (from the incremental summary index);
* ``spans`` — every span, deduplicated by (trace_id, span_id), over the files a time filter needs;
* ``span_index`` — the per-span hot columns with step kind and attribution (no content).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from agenttrace.query.errors import QueryError
from agenttrace.query.model import SpanRecord
from agenttrace.query.source import SpanSource
from agenttrace.query.summaries import RefreshReport, SummaryIndex

if TYPE_CHECKING:
    import duckdb

TRACE_FIELDS = (
    "trace_id",
    "root_name",
    "service_name",
    "start_time",
    "duration_ms",
    "status",
    "outcome",
    "span_count",
    "model_calls",
    "tool_calls",
    "errors",
    "retries",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cost_usd",
    "models",
    "agents",
    "tools",
)

_TRACES_VIEW = """
CREATE OR REPLACE TEMP VIEW traces AS
SELECT trace_id, root_name, service_name, make_timestamp(start_ns // 1000) AS start_time,
       duration_ms, status, outcome, span_count, model_calls, tool_calls, errors, retries,
       input_tokens, output_tokens, cache_read_tokens, cost_usd, models, agents, tools
FROM idx.trace_summary
"""

_DEDUP = (
    "QUALIFY row_number() OVER (PARTITION BY trace_id, span_id "
    "ORDER BY end_time_unix_nano DESC) = 1"
)

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """An aware UTC datetime from ISO-8601 (date or datetime; naive means UTC) or a relative
    age such as ``30m``, ``2h``, ``7d`` (that long before now)."""
    value = text.strip()
    match = _RELATIVE.match(value.lower())
    if match:
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        return (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(seconds=seconds)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise QueryError(
            f"cannot parse time {text!r}: use ISO-8601 (2026-01-31T12:00) or an age like 2h, 7d"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def to_ns(moment: dt.datetime) -> int:
    from agenttrace.store.reader import to_unix_nano

    return to_unix_nano(moment)


def iso_ns(ns: int) -> str:
    """RFC 3339 UTC with microseconds, e.g. ``2026-01-01T00:00:00.000000Z``."""
    moment = dt.datetime.fromtimestamp(ns // 1000 / 1e6, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class TraceFilter:
    """Which traces ``traces`` (and multi-trace analyses) select."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    service: str | None = None
    agent: str | None = None
    model: str | None = None
    status: str | None = None
    min_cost: float | None = None
    min_duration_ms: float | None = None
    trace_ids: Sequence[str] | None = None
    limit: int | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.since is not None:
            clauses.append("start_ns >= ?")
            params.append(to_ns(self.since))
        if self.until is not None:
            clauses.append("start_ns < ?")
            params.append(to_ns(self.until))
        if self.service:
            clauses.append("service_name = ?")
            params.append(self.service)
        if self.agent:
            clauses.append("list_contains(agents, ?)")
            params.append(self.agent)
        if self.model:
            clauses.append("list_contains(models, ?)")
            params.append(self.model)
        if self.status:
            clauses.append("(status = ? OR outcome = ?)")
            params += [self.status.lower(), self.status.lower()]
        if self.min_cost is not None:
            clauses.append("cost_usd >= ?")
            params.append(self.min_cost)
        if self.min_duration_ms is not None:
            clauses.append("duration_ms >= ?")
            params.append(self.min_duration_ms)
        if self.trace_ids is not None:
            clauses.append("list_contains(?, trace_id)")
            params.append(list(self.trace_ids))
        return (" AND ".join(clauses) or "TRUE"), params


_OPEN_ENGINES: weakref.WeakSet[QueryEngine] = weakref.WeakSet()
"""Engines of this process holding a read connection to their summary index."""


class QueryEngine:
    """Analyses over one store. Construct, then call :meth:`refresh` (``open_engine`` does)."""

    def __init__(self, url: str = "./data", index_path: Path | None = None) -> None:
        self.source = SpanSource(url)
        self.index = SummaryIndex(self.source, index_path)
        self._reader: duckdb.DuckDBPyConnection | None = None

    def refresh(self) -> RefreshReport:
        if not self.index.path.exists() and not self.source.list_files():
            raise QueryError(
                f"store {self.source.url!r} has no span files under spans/ (is --store right?)"
            )
        # DuckDB lets a process open a database file only one way at a time, and the refresh
        # needs it writable: every engine of this process on the same index lets go of its
        # read connection (each reopens it on its next query).
        for engine in list(_OPEN_ENGINES):
            if engine.index.path == self.index.path:
                engine.close()
        return self.index.refresh()

    def close(self) -> None:
        """Release the read connection (it is reopened on demand)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
            _OPEN_ENGINES.discard(self)

    def __enter__(self) -> QueryEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The engine's read connection, with the ``traces`` and ``span_index`` views
        (``spans`` on request, see :meth:`create_spans_view`). Opened once and reused, since
        attaching the index costs more than most queries on it."""
        if self._reader is None:
            reader = self.index.open_reader()
            reader.execute(_TRACES_VIEW)
            self._reader = reader
            _OPEN_ENGINES.add(self)
        yield self._reader

    def create_spans_view(
        self,
        con: duckdb.DuckDBPyConnection,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> None:
        """Define ``spans`` over the files whose partitions overlap [since, until)."""
        self.source.register_spans(con, "spans_raw", self.source.list_files(since, until))
        bounds = []
        if since is not None:
            bounds.append(f"start_time_unix_nano >= {to_ns(since)}")
        if until is not None:
            bounds.append(f"start_time_unix_nano < {to_ns(until)}")
        where = " AND ".join(bounds) or "TRUE"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW spans AS SELECT * FROM spans_raw WHERE {where} {_DEDUP}"
        )

    def traces(self, selection: TraceFilter | None = None) -> list[dict[str, Any]]:
        """Trace summaries, newest first."""
        where, params = (selection or TraceFilter()).where()
        limit = f"LIMIT {int(selection.limit)}" if selection and selection.limit else ""
        with self.connect() as con:
            cursor = con.execute(
                f"SELECT * FROM idx.trace_summary WHERE {where} ORDER BY start_ns DESC, trace_id {limit}",
                params,
            )
            return [_trace_dict(row) for row in _rows(cursor)]

    def resolve(self, trace_id: str) -> str:
        """The full trace id for an id or a unique prefix of one."""
        wanted = trace_id.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{1,32}", wanted):
            raise QueryError(f"{trace_id!r} is not a trace id (hex, up to 32 characters)")
        with self.connect() as con:
            found = con.execute(
                "SELECT trace_id FROM idx.trace_summary WHERE starts_with(trace_id, ?) LIMIT 2",
                [wanted],
            ).fetchall()
        if not found:
            raise QueryError(f"no trace {trace_id!r} in store {self.source.url!r}")
        if len(found) > 1:
            raise QueryError(f"trace id prefix {trace_id!r} is ambiguous; give more characters")
        return str(found[0][0])

    def load_spans(self, trace_ids: Sequence[str]) -> dict[str, list[SpanRecord]]:
        """Every span (with content) of the given traces, reading only the files that hold them."""
        ids = list(dict.fromkeys(trace_ids))
        if not ids:
            return {}
        with self.connect() as con:
            files = [
                row[0]
                for row in con.execute(
                    "SELECT DISTINCT file FROM idx.trace_files WHERE list_contains(?, trace_id) ORDER BY file",
                    [ids],
                ).fetchall()
            ]
            self.source.register_spans(con, "trace_raw", files)
            # An IN list (unlike list_contains) reaches the Parquet scans as a filter, which
            # skips the row groups of the trace-sorted span-index parts and store files.
            match = "{t} IN (" + ", ".join("?" * len(ids)) + ")"
            cursor = con.execute(
                f"""
                SELECT s.*, r.kind AS span_kind, r.trace_state, r.scope_name, r.scope_version,
                       r.gen_ai_agent_id AS agent_id,
                       r.gen_ai_conversation_id AS conversation_id,
                       r.agenttrace_run_id AS run_id, r.agenttrace_session_id AS session_id,
                       r.gen_ai_input_messages AS input_messages,
                       r.gen_ai_output_messages AS output_messages,
                       r.gen_ai_tool_call_arguments AS tool_arguments,
                       r.gen_ai_tool_call_result AS tool_result,
                       r.gen_ai_system_instructions AS system_instructions,
                       r.attributes AS attributes_json,
                       r.resource_attributes AS resource_json,
                       r.events AS events_json, r.links AS links_json
                FROM span_index s
                LEFT JOIN (SELECT * FROM trace_raw WHERE {match.format(t="trace_id")} {_DEDUP}) r
                    USING (trace_id, span_id)
                WHERE {match.format(t="s.trace_id")}
                ORDER BY s.trace_id, s.start_ns, s.depth, s.span_id
                """,
                [*ids, *ids],
            )
            result: dict[str, list[SpanRecord]] = {trace_id: [] for trace_id in ids}
            for row in _rows(cursor):
                result[row["trace_id"]].append(_span_record(row))
        return result

    def summary(self, trace_id: str) -> dict[str, Any]:
        found = self.traces(TraceFilter(trace_ids=[trace_id]))
        if not found:
            raise QueryError(f"no trace {trace_id!r} in store {self.source.url!r}")
        return found[0]

    def sql(
        self,
        query: str,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run ``query`` over the views; the index is attached read-only, so it cannot change."""
        import duckdb

        with self.connect() as con:
            self.create_spans_view(con, since, until)
            try:
                cursor = con.execute(query)
            except duckdb.Error as exc:
                raise QueryError(f"SQL error: {exc}") from exc
            if cursor.description is None:
                return [], []
            columns = [d[0] for d in cursor.description]
            return columns, cursor.fetchall()


def open_engine(url: str = "./data", index_path: Path | None = None) -> QueryEngine:
    """A :class:`QueryEngine` whose summary index has caught up with the store."""
    engine = QueryEngine(url, index_path)
    engine.refresh()
    return engine


def _rows(cursor: duckdb.DuckDBPyConnection) -> Iterator[dict[str, Any]]:
    names = [d[0] for d in cursor.description or []]
    for values in cursor.fetchall():
        yield dict(zip(names, values, strict=True))


def _trace_dict(row: dict[str, Any]) -> dict[str, Any]:
    out = {name: row.get(name) for name in TRACE_FIELDS}
    out["start_time"] = iso_ns(int(row["start_ns"]))
    out["duration_ms"] = round(float(row["duration_ms"]), 3)
    out["cost_usd"] = round(float(row["cost_usd"]), 8)
    for name in ("models", "agents", "tools"):
        out[name] = [value for value in row.get(name) or [] if value is not None]
    return out


def _json_or(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return default


def _span_record(row: dict[str, Any]) -> SpanRecord:
    row["attributes"] = _json_or(row.pop("attributes_json"), {})
    row["resource_attributes"] = _json_or(row.pop("resource_json"), {})
    row["events"] = _json_or(row.pop("events_json"), [])
    row["links"] = _json_or(row.pop("links_json"), [])
    return SpanRecord(**row)
