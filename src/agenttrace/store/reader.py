"""Finding and reading span files, with partition pruning on ``dt``/``hour``.

The query layer builds DuckDB views over :func:`span_dataset`; this module stays small.
Time bounds are ``since`` inclusive, ``until`` exclusive, on the span start time, and accept an
aware ``datetime`` (naive means UTC) or integer Unix nanoseconds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.dataset as ds

from agenttrace.store.objectstore import ObjectStore
from agenttrace.store.schema import SPAN_SCHEMA, SPANS_PREFIX

if TYPE_CHECKING:
    import pyarrow.compute as pc

__all__ = ["TimeBound", "list_span_files", "read_spans", "span_dataset"]

TimeBound = dt.datetime | int
HOUR_NS = 3_600_000_000_000
_DAY_LISTING_LIMIT = 62  # beyond this many days one full listing is cheaper than per-day ones
_PARTITIONED_KEY = re.compile(r"spans/dt=(\d{4})-(\d{2})-(\d{2})/hour=(\d{2})/[^/]+\.parquet")
PARTITIONING_SCHEMA = pa.schema([("dt", pa.string()), ("hour", pa.int32())])
DATASET_SCHEMA = pa.schema(list(SPAN_SCHEMA) + list(PARTITIONING_SCHEMA))
"""What readers see: the span columns plus the ``dt`` and ``hour`` partition columns."""


def to_unix_nano(bound: TimeBound) -> int:
    """Unix nanoseconds of a bound; a naive datetime is taken as UTC."""
    if isinstance(bound, int):
        return bound
    if bound.tzinfo is None:
        bound = bound.replace(tzinfo=dt.timezone.utc)
    delta = bound - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _key_hour(key: str) -> int | None:
    match = _PARTITIONED_KEY.fullmatch(key)
    if match is None:
        return None
    year, month, day, hour = (int(g) for g in match.groups())
    epoch_days = (dt.date(year, month, day) - dt.date(1970, 1, 1)).days
    return epoch_days * 24 + hour


def _listing_prefixes(since_ns: int | None, until_ns: int | None) -> list[str]:
    if since_ns is None or until_ns is None or until_ns <= since_ns:
        return [SPANS_PREFIX]
    first = dt.datetime.fromtimestamp(since_ns // HOUR_NS * 3600, tz=dt.timezone.utc).date()
    last = dt.datetime.fromtimestamp((until_ns - 1) // HOUR_NS * 3600, tz=dt.timezone.utc).date()
    days = (last - first).days + 1
    if days > _DAY_LISTING_LIMIT:
        return [SPANS_PREFIX]
    return [f"{SPANS_PREFIX}dt={first + dt.timedelta(days=i):%Y-%m-%d}/" for i in range(days)]


def list_span_files(
    store: ObjectStore, since: TimeBound | None = None, until: TimeBound | None = None
) -> list[str]:
    """Keys of the span files whose partition hour can hold spans starting in
    ``[since, until)``, sorted. Files outside the ``spans/dt=…/hour=…/`` layout are ignored."""
    since_ns = None if since is None else to_unix_nano(since)
    until_ns = None if until is None else to_unix_nano(until)
    low = None if since_ns is None else since_ns // HOUR_NS
    high = None if until_ns is None else (until_ns - 1) // HOUR_NS
    keys = []
    for prefix in _listing_prefixes(since_ns, until_ns):
        for info in store.list(prefix):
            hour = _key_hour(info.key)
            if hour is None:
                continue
            if (low is None or hour >= low) and (high is None or hour <= high):
                keys.append(info.key)
    return sorted(keys)


def span_dataset(
    store: ObjectStore,
    since: TimeBound | None = None,
    until: TimeBound | None = None,
    *,
    keys: Sequence[str] | None = None,
) -> ds.Dataset:
    """A pyarrow dataset over the pruned span files (or exactly ``keys``), with ``dt`` and
    ``hour`` partition columns. Usable directly as a DuckDB relation."""
    filesystem, root = store.arrow_filesystem()
    selected = list_span_files(store, since, until) if keys is None else list(keys)
    return ds.FileSystemDataset.from_paths(
        [f"{root}/{key}" for key in selected],
        schema=DATASET_SCHEMA,
        format=ds.ParquetFileFormat(),
        filesystem=filesystem,
        partitions=[_partition_expression(key) for key in selected],
    )


def _partition_expression(key: str) -> pc.Expression:
    match = _PARTITIONED_KEY.fullmatch(key)
    if match is None:
        raise ValueError(f"not a span file key: {key!r}")
    year, month, day, hour = match.groups()
    return (ds.field("dt") == f"{year}-{month}-{day}") & (ds.field("hour") == int(hour))


def read_spans(
    store: ObjectStore,
    since: TimeBound | None = None,
    until: TimeBound | None = None,
    *,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Spans starting in ``[since, until)`` as one table (all columns unless ``columns``)."""
    dataset = span_dataset(store, since, until)
    condition: pc.Expression | None = None
    start = ds.field("start_time_unix_nano")
    if since is not None:
        condition = start >= to_unix_nano(since)
    if until is not None:
        upper = start < to_unix_nano(until)
        condition = upper if condition is None else condition & upper
    return dataset.to_table(columns=None if columns is None else list(columns), filter=condition)
