"""Where the span files are and how DuckDB reads them.

Local stores are read with DuckDB's own Parquet reader over an explicit file list (fast,
multi-threaded, row-group pruning). Remote stores go through a pyarrow dataset on the store's
arrow filesystem, registered into DuckDB, because DuckDB's httpfs extension is not available.
Either way only the files a time filter needs are listed (``list_span_files`` prunes the
``dt=``/``hour=`` partitions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agenttrace.query.errors import QueryError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from agenttrace.store.objectstore import ObjectStore


class SpanSource:
    """The span files of one store, as DuckDB relations."""

    def __init__(self, url: str) -> None:
        from pyarrow.fs import LocalFileSystem

        from agenttrace.store import open_store
        from agenttrace.store.errors import StoreError

        self.url = url
        try:
            self.store: ObjectStore = open_store(url)
            self.fs, self.root = self.store.arrow_filesystem()
        except StoreError as exc:
            raise QueryError(f"cannot open store {url!r}: {exc}") from exc
        self.is_local = isinstance(self.fs, LocalFileSystem)

    def list_files(
        self, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[str]:
        """Paths (on :attr:`fs`) of the span files whose partitions overlap [since, until]."""
        from agenttrace.store.errors import StoreError
        from agenttrace.store.reader import list_span_files

        try:
            found = list_span_files(self.store, since, until)
        except StoreError as exc:
            raise QueryError(f"cannot list span files in {self.url!r}: {exc}") from exc
        return [self.path_of(key) for key in sorted(found)]

    def path_of(self, key: str) -> str:
        return f"{self.root.rstrip('/')}/{key}"

    def read_columns(
        self,
        paths: Sequence[str],
        columns: Sequence[str],
        trace_ids: Sequence[str] | None = None,
    ) -> pa.Table:
        """The given columns of ``paths`` plus ``__filename``, missing columns as nulls,
        optionally only the rows of ``trace_ids``."""
        import pyarrow.dataset as ds

        from agenttrace.store.schema import SPAN_SCHEMA

        dataset = ds.dataset(list(paths), filesystem=self.fs, format="parquet", schema=SPAN_SCHEMA)
        row_filter = None if trace_ids is None else ds.field("trace_id").isin(list(trace_ids))
        return dataset.to_table(columns=[*columns, "__filename"], filter=row_filter)

    def register_spans(
        self, con: duckdb.DuckDBPyConnection, name: str, paths: Sequence[str]
    ) -> None:
        """Make ``name`` a relation over every contract column of ``paths`` (no dedup)."""
        from agenttrace.store.schema import SPAN_SCHEMA

        columns = ", ".join(f'"{field}"' for field in SPAN_SCHEMA.names)
        if not paths:
            con.register(f"{name}_empty", SPAN_SCHEMA.empty_table())
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {name}_empty")
        elif self.is_local:
            files = ", ".join(_sql_string(path) for path in paths)
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {columns} FROM "
                f"read_parquet([{files}], union_by_name = true, hive_partitioning = false)"
            )
        else:
            import pyarrow.dataset as ds

            dataset = ds.dataset(
                list(paths), filesystem=self.fs, format="parquet", schema=SPAN_SCHEMA
            )
            con.register(f"{name}_dataset", dataset)
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {columns} FROM {name}_dataset"
            )


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
