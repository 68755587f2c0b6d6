"""Per-trace summaries kept up to date as span files land.

A small DuckDB database next to the store (``<store>/_summaries/`` for a local store, a cache
directory for a remote one) holds:

* ``processed_files`` — the state record: every span file already folded in;
* ``trace_files`` — which files hold spans of which trace (``show`` and ``diff`` read only these);
* ``trace_summary`` — one row per trace: the ``traces`` view;
* ``span_parts`` and ``superseded`` — the registry of the span index's Parquet parts, and the
  (trace, part) pairs whose rows a later part replaced.

The span index itself — one row per span, deduplicated by (trace_id, span_id), with the hot
columns, the step kind and the attribution (enclosing harness step and agent) the analyses group
by — lives in Parquet parts beside the database (``index.parts/part-NNNNNNNN.parquet``), one
part per refresh, sorted by trace id once it has several row groups. Appending 10,000 rows to a
DuckDB table and checkpointing it costs more than the whole summary computation, while writing a
small Parquet file does not; a part is registered in the same transaction that records its files
as processed, and parts are merged once there are more than ``max_parts``. The attribution is
computed with Arrow kernels (:mod:`agenttrace.query._attribution`). ``nested`` marks a model
span directly under a model span (a provider SDK's span under the caller's chat span) and a tool
span directly under a tool span (an MCP server's span under the client's): the outer span is
the call, so nested ones never count twice.

A refresh lists the span files, reads only the new ones (hot columns, no content), and
recomputes only the traces they touch: those traces' existing rows are merged with the new rows,
so a trace whose spans arrive across several files comes out right. Files that disappeared
(compaction, retention) are handled the same way: their traces are re-read from the files that
still hold them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from agenttrace import semconv
from agenttrace.query.errors import QueryError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from agenttrace.query.source import SpanSource

SCHEMA_VERSION = 3
# Parts beyond this many are merged into one (each query reads every part's footer).
MAX_SPAN_PARTS = 32
_PART_ROW_GROUP = 16_384
_DICTIONARY_COLUMNS = (
    "service_name",
    "status_code",
    "kind",
    "operation",
    "provider",
    "model",
    "agent_name",
    "tool_name",
    "agent",
    "step_name",
    "step_label",
    "outcome",
    "error_type",
)

INGEST_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "service_name",
    "start_time_unix_nano",
    "end_time_unix_nano",
    "status_code",
    "status_message",
    "gen_ai_operation_name",
    "agenttrace_operation_name",
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "gen_ai_response_model",
    "gen_ai_agent_name",
    "gen_ai_tool_name",
    "gen_ai_tool_call_id",
    "gen_ai_usage_input_tokens",
    "gen_ai_usage_output_tokens",
    "gen_ai_usage_cache_read_input_tokens",
    "gen_ai_usage_cache_write_input_tokens",
    "gen_ai_usage_reasoning_output_tokens",
    "agenttrace_cost_usd",
    "error_type",
    "attributes",
    "events",
)

# Attributes the summaries need from the JSON columns, extracted with one parse per row.
_ATTRIBUTE_KEYS = (
    semconv.AGENTTRACE_RUN_OUTCOME,
    semconv.AGENTTRACE_STEP_NAME,
    semconv.AGENTTRACE_RETRY_ATTEMPT,
    semconv.AGENTTRACE_MEMORY_OPERATION,
)
_ATTRIBUTE_PATHS = "[" + ", ".join(f"'$.\"{key}\"'" for key in _ATTRIBUTE_KEYS) + "]"
_HAS_EVENTS = "(events IS NOT NULL AND events <> '[]')"


def _event_attr(key: str) -> str:
    # First value of an event attribute across the span's events (exception events).
    return (
        f"CASE WHEN {_HAS_EVENTS} THEN list_filter(json_extract_string(events, "
        f"'$[*].attributes.\"{key}\"'), lambda x: x IS NOT NULL)[1] END"
    )


# The row shape of span_index before attribution; one expression per output column.
# The values staging needs from the JSON columns, one row per incoming row in the same order
# (the rest of staging is column arithmetic, done in Arrow by ``_attribution.stage``).
_EXTRACT_SELECT = f"""
WITH raw AS (
    SELECT json_extract_string(attributes, {_ATTRIBUTE_PATHS}) AS extracted, events, status_message
    FROM incoming_arrow
)
SELECT
    nullif(extracted[1], '') AS outcome,
    nullif(extracted[2], '') AS step_label,
    coalesce(TRY_CAST(extracted[3] AS BIGINT), 0) AS retry_attempt,
    nullif(extracted[4], '') AS memory_operation,
    {_event_attr("exception.type")} AS exception_type,
    {_event_attr("exception.message")} AS exception_message,
    CASE WHEN {_HAS_EVENTS} THEN coalesce(len(list_filter(
        json_extract_string(events, '$[*].name'), lambda x: x = '{semconv.EVENT_RETRY}')), 0)
        ELSE 0 END AS retry_events
FROM raw
"""

SPAN_INDEX_COLUMNS = """
    trace_id VARCHAR, span_id VARCHAR, parent_span_id VARCHAR, name VARCHAR,
    service_name VARCHAR, start_ns BIGINT, end_ns BIGINT, status_code VARCHAR,
    status_message VARCHAR, kind VARCHAR, operation VARCHAR, provider VARCHAR, model VARCHAR,
    agent_name VARCHAR, tool_name VARCHAR, tool_call_id VARCHAR, input_tokens BIGINT,
    output_tokens BIGINT, cache_read_tokens BIGINT, cache_write_tokens BIGINT,
    reasoning_tokens BIGINT, cost_usd DOUBLE, error_type VARCHAR, error_message VARCHAR,
    outcome VARCHAR, step_label VARCHAR, retry_attempt BIGINT, retry_events BIGINT,
    depth INTEGER, step_id VARCHAR, step_name VARCHAR, agent VARCHAR, nested BOOLEAN
"""

_CREATE_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS processed_files (file VARCHAR, spans BIGINT,
                                            processed_at DOUBLE);
CREATE TABLE IF NOT EXISTS trace_files (trace_id VARCHAR, file VARCHAR);
CREATE TABLE IF NOT EXISTS span_parts (part INTEGER, spans BIGINT);
CREATE TABLE IF NOT EXISTS superseded (trace_id VARCHAR, part INTEGER);
CREATE TABLE IF NOT EXISTS trace_summary (
    trace_id VARCHAR, root_name VARCHAR, service_name VARCHAR, start_ns BIGINT, end_ns BIGINT,
    last_start_ns BIGINT, duration_ms DOUBLE, status VARCHAR, outcome VARCHAR,
    span_count BIGINT, model_calls BIGINT, tool_calls BIGINT, errors BIGINT, retries BIGINT,
    input_tokens BIGINT, output_tokens BIGINT, cache_read_tokens BIGINT, cost_usd DOUBLE,
    models VARCHAR[], agents VARCHAR[], tools VARCHAR[]
);
"""
_SPAN_INDEX_FIELDS = [
    (name, type_)
    for name, type_ in (
        column.split() for column in SPAN_INDEX_COLUMNS.split(",") if column.strip()
    )
]
_SPAN_INDEX_NAMES = tuple(name for name, _ in _SPAN_INDEX_FIELDS)
_EMPTY_SPAN_ROW = ", ".join(f"NULL::{type_} AS {name}" for name, type_ in _SPAN_INDEX_FIELDS)
_DROPPED_TABLES = (
    "processed_files",
    "trace_files",
    "span_index",
    "span_parts",
    "superseded",
    "trace_summary",
)

_ROOT = "parent_span_id IS NULL"
# The model calls whose usage counts: aggregates on agent spans and nested calls never do.
_CALL = "kind = 'model' AND NOT nested"

# One row per touched trace, from the ``attributed`` rows (registered from Arrow by a refresh).
_SUMMARIZE = f"""
SELECT
    trace_id,
    coalesce(arg_min(name, start_ns) FILTER (WHERE {_ROOT}), arg_min(name, start_ns)) AS root_name,
    coalesce(arg_min(service_name, start_ns) FILTER (WHERE {_ROOT}),
             arg_min(service_name, start_ns)) AS service_name,
    min(start_ns) AS start_ns,
    max(end_ns) AS end_ns,
    max(start_ns) AS last_start_ns,
    (max(end_ns) - min(start_ns)) / 1e6 AS duration_ms,
    coalesce(arg_min(status_code, start_ns) FILTER (WHERE {_ROOT}),
             arg_min(status_code, start_ns)) AS status,
    coalesce(
        arg_min(outcome, start_ns) FILTER (WHERE {_ROOT} AND outcome IS NOT NULL),
        arg_min(outcome, start_ns) FILTER (WHERE outcome IS NOT NULL),
        CASE WHEN coalesce(arg_min(status_code, start_ns) FILTER (WHERE {_ROOT}),
                           arg_min(status_code, start_ns)) = 'error'
             THEN 'failure' ELSE 'success' END
    ) AS outcome,
    count(*) AS span_count,
    count(*) FILTER (WHERE kind = 'model' AND NOT nested) AS model_calls,
    count(*) FILTER (WHERE kind = 'tool' AND NOT nested) AS tool_calls,
    count(*) FILTER (WHERE status_code = 'error') AS errors,
    sum(greatest(CASE WHEN retry_attempt >= 1 THEN 1 ELSE 0 END, retry_events)) AS retries,
    coalesce(sum(input_tokens) FILTER (WHERE {_CALL}), 0) AS input_tokens,
    coalesce(sum(output_tokens) FILTER (WHERE {_CALL}), 0) AS output_tokens,
    coalesce(sum(cache_read_tokens) FILTER (WHERE {_CALL}), 0) AS cache_read_tokens,
    coalesce(sum(cost_usd) FILTER (WHERE {_CALL}), 0.0) AS cost_usd,
    coalesce(list_sort(list_distinct(list(model) FILTER (WHERE kind = 'model'))), []) AS models,
    coalesce(list_sort(list_distinct(list(coalesce(agent_name, name))
                                     FILTER (WHERE kind = 'agent'))), []) AS agents,
    coalesce(list_sort(list_distinct(list(coalesce(tool_name, name))
                                     FILTER (WHERE kind = 'tool'))), []) AS tools
FROM attributed
GROUP BY trace_id
"""


@dataclass(frozen=True)
class RefreshReport:
    """What one refresh did."""

    new_files: int
    removed_files: int
    spans_read: int
    traces_updated: int
    seconds: float


def default_index_path(source: SpanSource) -> Path:
    """``<store>/_summaries/index.duckdb`` for a writable local store (a leading ``_`` keeps it
    out of pyarrow datasets), else ``$AGENTTRACE_CACHE_DIR`` or ``~/.cache/agenttrace`` keyed by
    URL (remote and read-only stores)."""
    local = Path(source.root) / "_summaries"
    if source.is_local and (os.access(local, os.W_OK) or os.access(source.root, os.W_OK)):
        return local / "index.duckdb"
    base = Path(os.environ.get("AGENTTRACE_CACHE_DIR") or Path.home() / ".cache" / "agenttrace")
    digest = hashlib.sha256(source.url.encode()).hexdigest()[:16]
    return base / "summaries" / digest / "index.duckdb"


def connect_index(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the summary database, waiting briefly if another process holds its lock."""
    import duckdb

    deadline = time.monotonic() + 30.0
    while True:
        try:
            return _quiet(duckdb.connect(str(path), read_only=read_only))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise QueryError(f"cannot open summary index {path}: {exc}") from exc
            time.sleep(0.1)


class SummaryIndex:
    """The incremental per-trace summary database of one store."""

    def __init__(
        self, source: SpanSource, path: Path | None = None, max_parts: int = MAX_SPAN_PARTS
    ) -> None:
        self.source = source
        self.path = path or default_index_path(source)
        self.max_parts = max_parts

    @property
    def state_path(self) -> Path:
        """A JSON mirror of ``processed_files``: lets a command see that nothing is new
        without opening the database."""
        return self.path.with_name("processed.json")

    @property
    def parts_dir(self) -> Path:
        """Where the span index's Parquet parts live (``index.parts/`` beside ``index.duckdb``)."""
        return self.path.with_suffix(".parts")

    def part_path(self, part: int) -> Path:
        return self.parts_dir / f"part-{part:08d}.parquet"

    def refresh(self) -> RefreshReport:
        """Fold new span files in and drop vanished ones; returns what changed."""
        started = time.perf_counter()
        listed = self.source.list_files()
        if self._up_to_date(listed):
            return RefreshReport(0, 0, 0, 0, time.perf_counter() - started)
        try:
            self.parts_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise QueryError(f"cannot create summary directory {self.path.parent}: {exc}") from exc
        with contextlib.closing(connect_index(self.path, read_only=False)) as con:
            self._ensure_schema(con)
            known = {row[0] for row in con.execute("SELECT file FROM processed_files").fetchall()}
            new = [path for path in listed if path not in known]
            gone = sorted(known - set(listed))
            spans = traces = 0
            if new or gone:
                con.execute("BEGIN TRANSACTION")
                try:
                    spans, traces = self._apply(con, new, gone)
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                self._merge_parts_if_many(con)
            parts = [path.name for path in self._part_paths(con)]
        self._write_state(listed, parts)
        return RefreshReport(len(new), len(gone), spans, traces, time.perf_counter() - started)

    def _up_to_date(self, listed: list[str]) -> bool:
        if not self.path.exists():
            return False
        try:
            state = orjson.loads(self.state_path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return False
        return (
            isinstance(state, dict)
            and state.get("schema_version") == SCHEMA_VERSION
            and set(state.get("files") or ()) == set(listed)
            and all((self.parts_dir / name).exists() for name in state.get("parts") or ())
        )

    def _write_state(self, files: list[str], parts: list[str]) -> None:
        state = {"schema_version": SCHEMA_VERSION, "files": sorted(files), "parts": parts}
        temporary = self.state_path.with_name(f".{self.state_path.name}.{os.getpid()}.tmp")
        try:
            temporary.write_bytes(orjson.dumps(state))
            temporary.replace(self.state_path)
        except OSError:
            # Only a shortcut: without it the next command checks the database instead.
            temporary.unlink(missing_ok=True)

    def _ensure_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        import duckdb

        try:
            row = _first(con, "SELECT value FROM meta WHERE key = 'schema_version'")
        except duckdb.CatalogException:  # a new index
            row = None
        if row == (str(SCHEMA_VERSION),) and all(path.exists() for path in self._part_paths(con)):
            return
        # An index from another version, a half-built first one or one whose parts were
        # deleted is only a cache: rebuild it from the store, in this version's shape.
        for table in _DROPPED_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        self._remove_parts(keep=())
        con.execute(_CREATE_TABLES)
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
        )

    def span_index_sql(self, con: duckdb.DuckDBPyConnection, schema: str = "") -> str:
        """A SELECT of the live span-index rows, given a connection that sees the registry
        (``schema`` is ``idx.`` when the index is attached)."""
        paths = self._part_list(con, schema)
        if not paths:
            return f"SELECT * FROM (SELECT {_EMPTY_SPAN_ROW}) WHERE false"
        rows = f"read_parquet([{paths}])"
        superseded = _first(con, f"SELECT count(*) FROM {schema}superseded")
        if not superseded or not superseded[0]:
            return f"SELECT * EXCLUDE (part) FROM {rows}"
        # Rows of traces recomputed into a later part (or dropped) stay in their old part until
        # the parts are merged.
        return (
            f"SELECT p.* EXCLUDE (part) FROM {rows} p ANTI JOIN {schema}superseded x "
            "ON p.trace_id = x.trace_id AND p.part = x.part"
        )

    def _apply(
        self, con: duckdb.DuckDBPyConnection, new: list[str], gone: list[str]
    ) -> tuple[int, int]:
        rebuilt: list[str] = []
        if gone:
            # Traces that lost a file are rebuilt from the files that still hold them.
            con.execute(
                "CREATE OR REPLACE TEMP TABLE gone_files AS SELECT unnest(?) AS file", [gone]
            )
            rebuilt = [
                row[0]
                for row in con.execute(
                    "SELECT DISTINCT trace_id FROM trace_files WHERE file IN (SELECT file FROM gone_files)"
                ).fetchall()
            ]
            con.execute("DELETE FROM trace_files WHERE file IN (SELECT file FROM gone_files)")
            con.execute("DELETE FROM processed_files WHERE file IN (SELECT file FROM gone_files)")
        import pyarrow as pa

        # Registered Arrow tables: cheaper than temporary tables for a hundred ids.
        con.register("rebuilt", pa.table({"trace_id": pa.array(rebuilt, pa.string())}))
        tables = []
        if new:
            tables.append(self.source.read_columns(new, INGEST_COLUMNS))
        if rebuilt:
            keep = con.execute(
                "SELECT DISTINCT file FROM trace_files WHERE trace_id IN (SELECT trace_id FROM rebuilt)"
            ).fetchall()
            if keep:
                tables.append(
                    self.source.read_columns([r[0] for r in keep], INGEST_COLUMNS, rebuilt)
                )
        from agenttrace.store.schema import SPAN_SCHEMA

        if tables:
            incoming_arrow = pa.concat_tables(tables, promote_options="permissive")
        else:
            empty = SPAN_SCHEMA.empty_table().select(list(INGEST_COLUMNS))
            incoming_arrow = empty.append_column("__filename", pa.array([], pa.string()))
        # A file or two of new spans is done faster on one thread than split across threads;
        # a first build of a large store is not.
        con.execute("SET threads = 1" if incoming_arrow.num_rows < 200_000 else "RESET threads")
        import pyarrow.compute as pc

        from agenttrace.query._attribution import attribute, span_keys, stage

        con.register("incoming_arrow", incoming_arrow)
        incoming = stage(incoming_arrow, con.sql(_EXTRACT_SELECT).to_arrow_table())
        con.unregister("incoming_arrow")
        if pc.count_distinct(span_keys(incoming)).as_py() < incoming.num_rows:
            # Redelivered spans: keep one row each (the dedup costs more than the check).
            con.register("incoming", incoming)
            incoming = con.sql(
                """SELECT * FROM incoming QUALIFY row_number() OVER (
                       PARTITION BY trace_id, span_id ORDER BY file DESC) = 1"""
            ).to_arrow_table()
        con.register("incoming", incoming)
        affected = set(pc.unique(incoming.column("trace_id")).to_pylist()) | set(rebuilt)
        con.register("affected", pa.table({"trace_id": pa.array(sorted(affected), pa.string())}))
        known_row = _first(
            con,
            "SELECT count(*) FROM trace_summary WHERE trace_id IN (SELECT trace_id FROM affected)",
        )
        work = incoming
        if known_row and known_row[0]:
            # Existing spans of affected traces, minus those replaced by incoming rows and minus
            # every row of a rebuilt trace (re-read in full above).
            work = con.sql(
                f"""SELECT s.* EXCLUDE (depth, step_id, step_name, agent, nested), NULL::VARCHAR AS file
                   FROM ({self.span_index_sql(con)}) s
                   WHERE s.trace_id IN (SELECT trace_id FROM affected)
                     AND s.trace_id NOT IN (SELECT trace_id FROM rebuilt)
                     AND NOT EXISTS (SELECT 1 FROM incoming i
                                     WHERE i.trace_id = s.trace_id AND i.span_id = s.span_id)
                   UNION ALL BY NAME SELECT * FROM incoming"""
            ).to_arrow_table()
            con.execute(
                f"""INSERT INTO superseded SELECT DISTINCT trace_id, part
                    FROM read_parquet([{self._part_list(con)}])
                    WHERE trace_id IN (SELECT trace_id FROM affected)
                    EXCEPT SELECT trace_id, part FROM superseded"""
            )
            con.execute(
                "DELETE FROM trace_summary WHERE trace_id IN (SELECT trace_id FROM affected)"
            )
        attributed = attribute(work)
        self._write_part(con, attributed)
        con.register("attributed", attributed)
        con.execute(f"INSERT INTO trace_summary BY NAME {_SUMMARIZE}")
        # Files re-read for a rebuilt trace are listed already; only new files add pairs.
        con.execute(
            "INSERT INTO trace_files SELECT DISTINCT trace_id, file FROM incoming WHERE list_contains(?, file)",
            [new],
        )
        files = pc.value_counts(incoming.column("file"))
        per_file = {
            entry["values"].as_py(): entry["counts"].as_py() for entry in files if entry.is_valid
        }
        if new:
            now = time.time()
            con.executemany(
                "INSERT INTO processed_files VALUES (?, ?, ?)",
                [[path, per_file.get(path, 0), now] for path in new],
            )
        return sum(per_file.get(path, 0) for path in new), len(affected)

    def _write_part(self, con: duckdb.DuckDBPyConnection, rows: pa.Table) -> None:
        """Write ``rows`` (span-index rows) as the next part and register it, in the caller's
        transaction: a part that is written but not committed is never read, and is removed at
        the next merge. A part of several row groups is sorted by trace id so a one-trace lookup
        skips the others; sorting a single row group would buy nothing."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not rows.num_rows:
            return
        # Numbers are never reused (files left by a rolled-back refresh count too), so a
        # registered part never names a file that a later write replaced.
        numbers = [
            int(path.stem.removeprefix("part-")) for path in self.parts_dir.glob("part-*.parquet")
        ]
        latest = _first(con, "SELECT coalesce(max(part), 0) FROM span_parts")
        part = max([int(latest[0]) if latest else 0, *numbers]) + 1
        final = self.part_path(part)
        temporary = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        rows = rows.select(list(_SPAN_INDEX_NAMES))
        if rows.num_rows > _PART_ROW_GROUP:
            rows = rows.sort_by([("trace_id", "ascending"), ("start_ns", "ascending")])
        rows = rows.append_column("part", pa.array([part] * rows.num_rows, pa.int32()))
        pq.write_table(
            rows.cast(_part_schema()),
            temporary,
            compression="zstd",
            row_group_size=_PART_ROW_GROUP,
            # Dictionaries pay off only for the few distinct values of these; building them for
            # ids costs time and bytes.
            use_dictionary=list(_DICTIONARY_COLUMNS),
        )
        temporary.replace(final)
        con.execute("INSERT INTO span_parts VALUES (?, ?)", [part, rows.num_rows])

    def _part_paths(self, con: duckdb.DuckDBPyConnection, schema: str = "") -> list[Path]:
        rows = con.execute(f"SELECT part FROM {schema}span_parts ORDER BY part").fetchall()
        return [self.part_path(row[0]) for row in rows]

    def _part_list(self, con: duckdb.DuckDBPyConnection, schema: str = "") -> str:
        """The registered parts' paths as a SQL list body (empty when there are none)."""
        return ", ".join(f"'{_quote(str(path))}'" for path in self._part_paths(con, schema))

    def _merge_parts_if_many(self, con: duckdb.DuckDBPyConnection) -> None:
        """Merge every live row into one part once there are more than ``max_parts``.
        Runs while this connection still holds the index's write lock, so no reader has the
        old parts open when they are deleted."""
        count = _first(con, "SELECT count(*) FROM span_parts")
        if not count or count[0] <= self.max_parts:
            return
        con.execute("BEGIN TRANSACTION")
        try:
            merged = con.sql(self.span_index_sql(con)).to_arrow_table()
            con.execute("DELETE FROM span_parts")
            con.execute("DELETE FROM superseded")
            self._write_part(con, merged)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        live = {row[0] for row in con.execute("SELECT part FROM span_parts").fetchall()}
        self._remove_parts(keep={self.part_path(part).name for part in live})

    def _remove_parts(self, keep: Collection[str]) -> None:
        if not self.parts_dir.is_dir():
            return
        for path in self.parts_dir.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)

    def open_reader(self) -> duckdb.DuckDBPyConnection:
        """An in-memory connection with the index attached read-only as ``idx`` and the live
        span index as the ``span_index`` view; waits briefly if a refresh in another process
        holds the write lock."""
        import duckdb

        con = _quiet(duckdb.connect())
        con.execute("SET parquet_metadata_cache = true")
        deadline = time.monotonic() + 30.0
        while True:
            try:
                con.execute(f"ATTACH '{_quote(str(self.path))}' AS idx (READ_ONLY)")
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    con.close()
                    raise QueryError(f"cannot open summary index {self.path}: {exc}") from exc
                time.sleep(0.1)
        con.execute(f"CREATE OR REPLACE TEMP VIEW span_index AS {self.span_index_sql(con, 'idx.')}")
        return con


def _part_schema() -> pa.Schema:
    """The Arrow schema of a span-index part: the index columns, then the part number."""
    import pyarrow as pa

    types = {
        "VARCHAR": pa.string(),
        "BIGINT": pa.int64(),
        "INTEGER": pa.int32(),
        "DOUBLE": pa.float64(),
        "BOOLEAN": pa.bool_(),
    }
    fields = [pa.field(name, types[type_]) for name, type_ in _SPAN_INDEX_FIELDS]
    return pa.schema([*fields, pa.field("part", pa.int32())])


def _quiet(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    # DuckDB otherwise draws a progress bar over the command's output during long scans.
    con.execute("SET enable_progress_bar = false")
    return con


def _first(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...] | None:
    """The first row of a query, with the result fully consumed (DuckDB refuses further work on
    a connection while a result is still open)."""
    rows = con.execute(sql).fetchall()
    return rows[0] if rows else None


def _quote(text: str) -> str:
    return text.replace("'", "''")
