"""Trace analysis over the Parquet store: DuckDB views, incremental per-trace summaries, and the
analyses behind the ``agenttrace`` analysis commands (docs/analysis.md).

>>> from agenttrace.query import open_engine, TraceFilter
>>> engine = open_engine("./data")  # doctest: +SKIP
>>> engine.traces(TraceFilter(status="failure", limit=10))  # doctest: +SKIP

The analyses live in :mod:`~agenttrace.query.stats`, :mod:`~agenttrace.query.diff`,
:mod:`~agenttrace.query.search`, :mod:`~agenttrace.query.failures`,
:mod:`~agenttrace.query.show` and :mod:`~agenttrace.query.export`.
"""

from __future__ import annotations

from agenttrace.query.engine import QueryEngine, TraceFilter, open_engine
from agenttrace.query.errors import QueryError

__all__ = ["QueryEngine", "QueryError", "TraceFilter", "open_engine"]
