"""The span store: object storage, the Parquet span table, and how it is written and read.

The layout and every column are documented in docs/storage.md. Entry points:

* :func:`open_store` — a local directory, ``file://``, ``s3://``, ``gs://`` or ``az://`` URL;
* :func:`requests_to_table` — OTLP requests to an Arrow table with :data:`SPAN_SCHEMA`;
* :class:`ParquetPublisher` / :func:`write_requests` — idempotent, create-only publishing;
* :func:`list_span_files` / :func:`span_dataset` / :func:`read_spans` — pruned reads.
"""

from __future__ import annotations

from agenttrace.store.convert import requests_to_table
from agenttrace.store.errors import (
    ObjectNotFound,
    StoreError,
    StorePermanentError,
    StoreUnavailable,
)
from agenttrace.store.objectstore import ObjectInfo, ObjectStore, open_store
from agenttrace.store.reader import list_span_files, read_spans, span_dataset
from agenttrace.store.schema import SCHEMA_VERSION, SPAN_SCHEMA
from agenttrace.store.writer import ParquetPublisher, write_requests

__all__ = [
    "SCHEMA_VERSION",
    "SPAN_SCHEMA",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ParquetPublisher",
    "StoreError",
    "StorePermanentError",
    "StoreUnavailable",
    "list_span_files",
    "open_store",
    "read_spans",
    "requests_to_table",
    "span_dataset",
    "write_requests",
]
