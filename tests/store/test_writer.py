"""Publishing span tables as Parquet: names, partitions, sorting, encoding, idempotency."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agenttrace.store import (
    SCHEMA_VERSION,
    ObjectStore,
    ParquetPublisher,
    read_spans,
    requests_to_table,
    write_requests,
)
from agenttrace.store.sample import agent_requests
from agenttrace.store.schema import CONTENT_COLUMNS, JSON_COLUMNS, SCHEMA_VERSION_KEY
from agenttrace.store.writer import object_key

from .otlp import HOUR_NS, T0, make_request, make_span


def spans_across_midnight() -> pa.Table:
    """Rows in 2025-12-31 23h and 2026-01-01 00h and 01h, deliberately out of order."""
    spans = [
        make_span(0x30, 1, start=T0 + HOUR_NS + 5),
        make_span(0x20, 2, start=T0 + 10),
        make_span(0x10, 3, start=T0 - 1),
        make_span(0x20, 4, start=T0 + 2),
        make_span(0x10, 5, start=T0 + 7),
    ]
    return requests_to_table([make_request(spans)])


def parquet_file(store: ObjectStore, key: str) -> pq.ParquetFile:
    return pq.ParquetFile(io.BytesIO(store.get(key)))


def test_object_names_are_deterministic() -> None:
    assert object_key("collector-a", 7, 100, 199, hour=(T0 // HOUR_NS) + 13) == (
        "spans/dt=2026-01-01/hour=13/collector-a-000000000007-000000000100-000000000199.parquet"
    )


def test_publish_partitions_by_utc_hour_and_sorts(any_store: ObjectStore) -> None:
    publisher = ParquetPublisher(any_store, "w1")
    keys = publisher.publish(spans_across_midnight(), segment=3, first_seq=10, last_seq=12)
    suffix = "w1-000000000003-000000000010-000000000012.parquet"
    assert keys == [
        f"spans/dt=2025-12-31/hour=23/{suffix}",
        f"spans/dt=2026-01-01/hour=00/{suffix}",
        f"spans/dt=2026-01-01/hour=01/{suffix}",
    ]
    midnight = parquet_file(any_store, keys[1]).read()
    # Sorted by trace id, then start time.
    assert midnight.column("span_id").to_pylist() == [f"{i:016x}" for i in (5, 4, 2)]
    assert parquet_file(any_store, keys[0]).read().column("span_id").to_pylist() == [f"{3:016x}"]


def test_republishing_the_same_range_is_a_no_op(any_store: ObjectStore) -> None:
    publisher = ParquetPublisher(any_store, "w1")
    table = spans_across_midnight()
    keys = publisher.publish(table, segment=1, first_seq=0, last_seq=4)
    before = {info.key: (info.size, info.last_modified) for info in any_store.list()}
    # A crash after publishing but before the WAL segment was deleted: publish again.
    assert publisher.publish(table, segment=1, first_seq=0, last_seq=4) == keys
    assert {info.key: (info.size, info.last_modified) for info in any_store.list()} == before
    assert read_spans(any_store).num_rows == table.num_rows


def test_file_encoding(local_store: ObjectStore) -> None:
    table = requests_to_table(agent_requests(300, seed=5))
    (key,) = ParquetPublisher(local_store, "w").publish(table, segment=0, first_seq=0, last_seq=1)
    parquet = parquet_file(local_store, key)
    metadata = parquet.metadata
    assert metadata.metadata[SCHEMA_VERSION_KEY.encode()] == SCHEMA_VERSION.encode()
    group = metadata.row_group(0)
    encodings = {}
    for i in range(group.num_columns):
        column = group.column(i)
        assert column.compression == "ZSTD"
        encodings[column.path_in_schema] = column.encodings
    for name in (*CONTENT_COLUMNS, *JSON_COLUMNS[:1], "span_id"):
        assert "RLE_DICTIONARY" not in encodings[name], name
    for name in ("name", "gen_ai_request_model", "gen_ai_operation_name", "service_name"):
        assert "RLE_DICTIONARY" in encodings[name], name
    assert [(c.column_index, c.descending) for c in group.sorting_columns] == [
        (0, False),
        (4, False),
    ]
    # Statistics for pruning on hot columns, none for the large content columns.
    index = parquet.schema_arrow.get_field_index
    assert group.column(index("trace_id")).statistics is not None
    assert group.column(index("gen_ai_tool_call_result")).statistics is None


def test_publish_rejects_bad_arguments(local_store: ObjectStore) -> None:
    with pytest.raises(ValueError, match="invalid writer id"):
        ParquetPublisher(local_store, "a/b")
    publisher = ParquetPublisher(local_store, "w")
    table = spans_across_midnight()
    with pytest.raises(ValueError, match="first_seq 5 is after last_seq 4"):
        publisher.publish(table, segment=0, first_seq=5, last_seq=4)
    with pytest.raises(ValueError, match="segment must be in"):
        publisher.publish(table, segment=-1, first_seq=0, last_seq=1)
    with pytest.raises(ValueError, match="missing columns"):
        publisher.publish(table.drop_columns(["links"]), segment=0, first_seq=0, last_seq=1)
    assert publisher.publish(table.slice(0, 0), segment=0, first_seq=0, last_seq=0) == []
    assert local_store.list() == []


def test_publish_accepts_reordered_columns(local_store: ObjectStore) -> None:
    table = spans_across_midnight()
    shuffled = table.select(list(reversed(table.column_names)))
    keys = ParquetPublisher(local_store, "w").publish(shuffled, segment=0, first_seq=0, last_seq=0)
    assert sum(parquet_file(local_store, k).metadata.num_rows for k in keys) == table.num_rows


def test_write_requests_is_idempotent_by_content(any_store: ObjectStore) -> None:
    batch = list(agent_requests(200, spans_per_request=50, seed=1))
    keys = write_requests(any_store, batch)
    assert keys
    assert all("/import-" in key for key in keys)
    assert write_requests(any_store, batch) == keys
    other = list(agent_requests(200, spans_per_request=50, seed=2))
    other_keys = write_requests(any_store, other)
    assert set(other_keys).isdisjoint(keys)
    assert read_spans(any_store).num_rows == 400
    assert write_requests(any_store, []) == []


def test_write_requests_opens_a_url(tmp_path: object) -> None:
    keys = write_requests(str(tmp_path), [make_request([make_span(1, 1)])], "bench", segment=9)
    assert keys == [
        "spans/dt=2026-01-01/hour=00/bench-000000000009-000000000000-000000000000.parquet"
    ]


def test_storage_ratio_on_realistic_spans(local_store: ObjectStore) -> None:
    """Parquet bytes per span stay at most a quarter of OTLP protobuf bytes per span."""
    batch = list(agent_requests(2048, seed=11))
    protobuf_bytes = sum(request.ByteSize() for request in batch)
    write_requests(local_store, batch)
    parquet_bytes = sum(info.size for info in local_store.list("spans/"))
    assert parquet_bytes / protobuf_bytes <= 0.25
