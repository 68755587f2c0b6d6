"""Publishing span tables as Parquet objects, idempotently.

Object names are a pure function of (writer id, WAL segment, sequence range, partition), and
every object is written create-only. Republishing the same WAL range after a crash therefore
finds its objects already present and writes nothing: no duplicate rows, and because each
object appears atomically, no partial file is ever visible.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from agenttrace.store.convert import requests_to_table
from agenttrace.store.objectstore import ObjectStore, open_store
from agenttrace.store.schema import (
    CONTENT_COLUMNS,
    DICTIONARY_COLUMNS,
    JSON_COLUMNS,
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    SPAN_SCHEMA,
    SPANS_PREFIX,
)

if TYPE_CHECKING:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

__all__ = ["ParquetPublisher", "object_key", "write_requests"]

HOUR_NS = 3_600_000_000_000
_MAX_COUNTER = 10**12 - 1  # the width of the zero-padded name fields
_WRITER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_NO_STATISTICS = frozenset(CONTENT_COLUMNS) | frozenset(JSON_COLUMNS)
_STATISTICS_COLUMNS = [f.name for f in SPAN_SCHEMA if f.name not in _NO_STATISTICS]
_FILE_METADATA = {SCHEMA_VERSION_KEY: SCHEMA_VERSION}

DEFAULT_ROW_GROUP_SIZE = 16_384
DEFAULT_ZSTD_LEVEL = 1
DEFAULT_DATA_PAGE_SIZE = 1 << 20


def validate_writer_id(writer_id: str) -> str:
    """Return ``writer_id`` or raise ``ValueError``: it must be 1-128 of ``[A-Za-z0-9_.-]``,
    starting with a letter or digit, because it becomes part of every object name."""
    if not _WRITER_ID.fullmatch(writer_id):
        raise ValueError(
            f"invalid writer id {writer_id!r}: use 1-128 characters from [A-Za-z0-9_.-], "
            "starting with a letter or digit"
        )
    return writer_id


def _check_counter(name: str, value: int) -> None:
    if not 0 <= value <= _MAX_COUNTER:
        raise ValueError(f"{name} must be in 0..{_MAX_COUNTER}, got {value}")


def object_key(writer_id: str, segment: int, first_seq: int, last_seq: int, hour: int) -> str:
    """The object key for one partition of one published WAL range.

    ``hour`` is the number of whole hours since the Unix epoch (UTC) of the rows' start time.
    """
    when = dt.datetime.fromtimestamp(hour * 3600, tz=dt.timezone.utc)
    return (
        f"{SPANS_PREFIX}dt={when:%Y-%m-%d}/hour={when:%H}/"
        f"{writer_id}-{segment:012d}-{first_seq:012d}-{last_seq:012d}.parquet"
    )


def _conform(table: pa.Table) -> pa.Table:
    if table.schema.equals(SPAN_SCHEMA, check_metadata=False):
        return table
    missing = [name for name in SPAN_SCHEMA.names if name not in table.schema.names]
    if missing:
        raise ValueError(f"span table is missing columns {missing}")
    try:
        return table.select(SPAN_SCHEMA.names).cast(SPAN_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as exc:
        raise ValueError(f"span table does not match SPAN_SCHEMA: {exc}") from exc


@dataclass(frozen=True)
class ParquetOptions:
    """Encoding knobs; the defaults are the tuned values documented in docs/storage.md."""

    row_group_size: int = DEFAULT_ROW_GROUP_SIZE
    zstd_level: int = DEFAULT_ZSTD_LEVEL
    data_page_size: int = DEFAULT_DATA_PAGE_SIZE


def encode_parquet(
    table: pa.Table, order: pa.Array | None = None, options: ParquetOptions = ParquetOptions()
) -> pa.Buffer:
    """Encode the rows ``order`` of ``table`` (all rows if ``None``), in that order, as one
    Parquet file in memory.

    Rows are gathered one row group at a time, so the peak memory is the input table plus one
    row group plus the compressed output, not a second sorted copy of the whole table.
    """
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(
        sink,
        SPAN_SCHEMA.with_metadata(_FILE_METADATA),
        compression="zstd",
        compression_level=options.zstd_level,
        use_dictionary=list(DICTIONARY_COLUMNS),
        write_statistics=_STATISTICS_COLUMNS,
        data_page_size=options.data_page_size,
        sorting_columns=[pq.SortingColumn(0), pq.SortingColumn(4)],
    ) as writer:
        size = options.row_group_size
        if order is None:
            writer.write_table(table, row_group_size=size)
        else:
            for start in range(0, len(order), size):
                writer.write_table(table.take(order[start : start + size]), row_group_size=size)
    return sink.getvalue()


class ParquetPublisher:
    """Writes span tables to ``<store>/spans/dt=…/hour=…/`` under deterministic names."""

    def __init__(
        self,
        store: ObjectStore,
        writer_id: str,
        *,
        row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
        zstd_level: int = DEFAULT_ZSTD_LEVEL,
    ) -> None:
        if row_group_size <= 0:
            raise ValueError(f"row_group_size must be positive, got {row_group_size}")
        self.store = store
        self.writer_id = validate_writer_id(writer_id)
        self.options = ParquetOptions(row_group_size=row_group_size, zstd_level=zstd_level)

    def publish(self, table: pa.Table, *, segment: int, first_seq: int, last_seq: int) -> list[str]:
        """Publish ``table`` (rows of WAL records ``first_seq..last_seq`` of ``segment``).

        Returns the keys of every object for this range, whether written now or found already
        present from an earlier attempt. Raises :class:`~agenttrace.store.errors.StoreError`
        if the store fails; calling again with the same arguments is always safe.
        """
        for name, value in (("segment", segment), ("first_seq", first_seq), ("last_seq", last_seq)):
            _check_counter(name, value)
        if first_seq > last_seq:
            raise ValueError(f"first_seq {first_seq} is after last_seq {last_seq}")
        if table.num_rows == 0:
            return []
        table = _conform(table)
        keys = []
        for hour, rows in partition_by_hour(table):
            key = object_key(self.writer_id, segment, first_seq, last_seq, hour)
            self.store.put_create(key, memoryview(encode_parquet(table, rows, self.options)))
            keys.append(key)
        return keys


def partition_by_hour(table: pa.Table) -> list[tuple[int, pa.Array]]:
    """Group row indices by UTC hour of start time (hours since the epoch), each group ordered
    by trace id then start time."""
    # Start times are unsigned in OTLP, so integer division is floor division here.
    hours = pc.divide(table.column("start_time_unix_nano"), HOUR_NS)
    order = pc.sort_indices(
        pa.table(
            {
                "hour": hours,
                "trace_id": table.column("trace_id"),
                "start": table.column("start_time_unix_nano"),
            }
        ),
        sort_keys=[("hour", "ascending"), ("trace_id", "ascending"), ("start", "ascending")],
    )
    # Runs of equal hours in the sorted order delimit the partitions.
    runs = pc.run_end_encode(hours.take(order).combine_chunks())
    parts = []
    begin = 0
    for hour, end in zip(runs.values.to_pylist(), runs.run_ends.to_pylist(), strict=True):
        parts.append((int(hour), order.slice(begin, end - begin)))
        begin = end
    return parts


def content_segment(requests: Iterable[ExportTraceServiceRequest]) -> int:
    """A segment number derived from the requests' bytes, so re-importing them is a no-op."""
    digest = hashlib.sha256()
    for request in requests:
        data = request.SerializeToString(deterministic=True)
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return int.from_bytes(digest.digest()[:8], "big") % (_MAX_COUNTER + 1)


def write_requests(
    store: ObjectStore | str | os.PathLike[str],
    requests: Iterable[ExportTraceServiceRequest],
    writer_id: str = "import",
    *,
    segment: int | None = None,
) -> list[str]:
    """Convert and publish one batch of OTLP requests; returns the object keys.

    Without ``segment`` the name is derived from the content, so writing the same requests
    again creates nothing new. Intended for importers, tests and benchmarks.
    """
    batch = list(requests)
    target = store if isinstance(store, ObjectStore) else open_store(store)
    table = requests_to_table(batch)
    if table.num_rows == 0:
        return []
    seg = content_segment(batch) if segment is None else segment
    publisher = ParquetPublisher(target, writer_id)
    return publisher.publish(table, segment=seg, first_seq=0, last_seq=table.num_rows - 1)
