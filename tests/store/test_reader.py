"""Finding span files with partition pruning and reading them back."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from agenttrace.store import (
    ObjectStore,
    ParquetPublisher,
    list_span_files,
    read_spans,
    requests_to_table,
    span_dataset,
)
from agenttrace.store.reader import DATASET_SCHEMA, to_unix_nano

from .otlp import HOUR_NS, T0, make_request, make_span

UTC = dt.timezone.utc


@pytest.fixture
def hourly_store(any_store: ObjectStore) -> ObjectStore:
    """One span at minute 30 of 2025-12-31 23h, 2026-01-01 00h, 01h and 2026-01-03 05h."""
    starts = [T0 - HOUR_NS // 2, T0 + HOUR_NS // 2, T0 + 3 * HOUR_NS // 2, T0 + 53 * HOUR_NS]
    spans = [make_span(i + 1, i + 1, start=s, name=f"s{i}") for i, s in enumerate(starts)]
    table = requests_to_table([make_request(spans)])
    ParquetPublisher(any_store, "w").publish(table, segment=0, first_seq=0, last_seq=3)
    any_store.put_create("spans/README.txt", b"not a span file")
    any_store.put_create("other/dt=2026-01-01/hour=00/x.parquet", b"outside spans/")
    return any_store


def hours(keys: list[str]) -> list[str]:
    return [key.split("/")[1] + "/" + key.split("/")[2] for key in keys]


def test_list_span_files_prunes_by_hour(hourly_store: ObjectStore) -> None:
    assert hours(list_span_files(hourly_store)) == [
        "dt=2025-12-31/hour=23",
        "dt=2026-01-01/hour=00",
        "dt=2026-01-01/hour=01",
        "dt=2026-01-03/hour=05",
    ]
    since = dt.datetime(2026, 1, 1, 0, 59, tzinfo=UTC)
    assert hours(list_span_files(hourly_store, since=since)) == [
        "dt=2026-01-01/hour=00",
        "dt=2026-01-01/hour=01",
        "dt=2026-01-03/hour=05",
    ]
    # until is exclusive: a bound exactly at 01:00 excludes hour 01.
    until = dt.datetime(2026, 1, 1, 1, 0)  # naive means UTC
    assert hours(list_span_files(hourly_store, until=until)) == [
        "dt=2025-12-31/hour=23",
        "dt=2026-01-01/hour=00",
    ]
    assert hours(list_span_files(hourly_store, since=T0 - HOUR_NS, until=T0 + HOUR_NS)) == [
        "dt=2025-12-31/hour=23",
        "dt=2026-01-01/hour=00",
    ]
    later = dt.datetime(2026, 1, 2, tzinfo=UTC)
    assert hours(list_span_files(hourly_store, since=later, until=later.replace(day=4))) == [
        "dt=2026-01-03/hour=05",
    ]
    assert list_span_files(hourly_store, since=later, until=later.replace(hour=5)) == []


def test_read_spans_filters_exactly_and_adds_partitions(hourly_store: ObjectStore) -> None:
    since = dt.datetime(2026, 1, 1, 0, 45, tzinfo=UTC)
    table = read_spans(hourly_store, since=since, until=T0 + 2 * HOUR_NS)
    # Hour 00 is listed but its span (00:30) is before `since`; 01:30 is in.
    assert table.column("name").to_pylist() == ["s2"]
    assert table.column("dt").to_pylist() == ["2026-01-01"]
    assert table.column("hour").to_pylist() == [1]
    assert table.schema == DATASET_SCHEMA
    everything = read_spans(hourly_store, columns=["name", "hour"])
    assert sorted(everything.column("name").to_pylist()) == ["s0", "s1", "s2", "s3"]
    assert everything.column_names == ["name", "hour"]


def test_dataset_prunes_on_partition_columns(hourly_store: ObjectStore) -> None:
    dataset = span_dataset(hourly_store)
    fragments = list(dataset.get_fragments(filter=ds.field("dt") == "2026-01-01"))
    assert len(fragments) == 2
    assert dataset.count_rows(filter=ds.field("hour") == 5) == 1


def test_empty_store_reads_as_empty_table(any_store: ObjectStore) -> None:
    assert list_span_files(any_store) == []
    table = read_spans(any_store, since=T0)
    assert table.num_rows == 0
    assert table.schema == DATASET_SCHEMA


def test_to_unix_nano() -> None:
    assert to_unix_nano(dt.datetime(2026, 1, 1, tzinfo=UTC)) == T0
    assert to_unix_nano(dt.datetime(2026, 1, 1, 0, 0, 0, 7)) == T0 + 7_000
    other_zone = dt.timezone(dt.timedelta(hours=2))
    assert to_unix_nano(dt.datetime(2026, 1, 1, 2, tzinfo=other_zone)) == T0
    assert to_unix_nano(T0 + 1) == T0 + 1


def test_files_with_added_or_missing_columns_read_with_the_current_schema(
    local_store: ObjectStore,
) -> None:
    """A newer writer's extra column is ignored; a column an older writer lacked reads null."""
    table = requests_to_table([make_request([make_span(1, 1, name="old"), make_span(2, 2)])])
    newer = table.append_column("agenttrace_future_column", pa.array(["x", "y"]))
    older = table.drop_columns(["error_type"])
    for name, variant in (("newer", newer), ("older", older)):
        sink = pa.BufferOutputStream()
        pq.write_table(variant, sink)
        key = f"spans/dt=2026-01-01/hour=00/{name}-000000000000-000000000000-000000000001.parquet"
        local_store.put_create(key, sink.getvalue().to_pybytes())
    read = read_spans(local_store)
    assert read.num_rows == 4
    assert read.schema == DATASET_SCHEMA
    assert read.column("error_type").to_pylist() == [None] * 4
