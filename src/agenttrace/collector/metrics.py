"""Prometheus metrics of one collector instance (its own registry, served at ``/metrics``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

_P = "agenttrace_collector_"


class _ProcessorMetrics(Collector):
    """Exports each processor's optional ``metrics()`` counters at scrape time."""

    def __init__(self, processors: Sequence[Any]) -> None:
        self._processors = processors

    def collect(self) -> Iterator[CounterMetricFamily]:
        families: dict[str, CounterMetricFamily] = {}
        for processor in self._processors:
            read = getattr(processor, "metrics", None)
            if read is None:
                continue
            for key, value in read().items():
                family = families.get(key)
                if family is None:
                    family = families[key] = CounterMetricFamily(
                        f"agenttrace_processor_{key}",
                        f"Processor counter {key}",
                        labels=["processor"],
                    )
                family.add_metric([processor.name], float(value))
        yield from families.values()


class CollectorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.spans_received = Counter(
            _P + "spans_received", "Spans in decoded requests", ["protocol"], registry=r
        )
        self.spans_accepted = Counter(
            _P + "spans_accepted", "Spans made durable and acknowledged", ["protocol"], registry=r
        )
        self.spans_refused = Counter(
            _P + "spans_refused",
            "Decoded spans not stored: rejected ids, or the WAL failed (requests refused before "
            "decoding are counted in requests_total by status)",
            ["reason"],
            registry=r,
        )
        self.spans_dropped = Counter(
            _P + "spans_dropped",
            "Spans not stored at request time: dropped by processors, or held for a sampling "
            "decision (released ones count as accepted with protocol='held')",
            registry=r,
        )
        self.requests = Counter(
            _P + "requests",
            "Export requests by protocol and status",
            ["protocol", "status"],
            registry=r,
        )
        self.request_bytes = Counter(
            _P + "request_bytes", "Bytes of request bodies as received", ["protocol"], registry=r
        )
        self.errors = Counter(_P + "errors", "Errors by kind", ["kind"], registry=r)
        self.wal_bytes_written = Counter(
            _P + "wal_bytes_written", "Bytes appended to the WAL", registry=r
        )
        self.wal_fsyncs = Counter(_P + "wal_fsyncs", "WAL group commits (fsyncs)", registry=r)
        self.wal_size = Gauge(
            _P + "wal_size_bytes", "Bytes in unpublished WAL segments", registry=r
        )
        self.wal_age = Gauge(
            _P + "wal_oldest_age_seconds", "Age of the oldest unpublished WAL segment", registry=r
        )
        self.inflight_bytes = Gauge(
            _P + "inflight_bytes", "Request bytes currently being processed", registry=r
        )
        self.publish_seconds = Histogram(
            _P + "publish_seconds",
            "Time to convert and publish one WAL chunk",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.files_published = Counter(
            _P + "files_published", "Parquet objects written", registry=r
        )
        self.spans_published = Counter(
            _P + "spans_published", "Rows written to Parquet", registry=r
        )
        self.segments_published = Counter(
            _P + "segments_published", "WAL segments fully published and deleted", registry=r
        )

    def watch_processors(self, processors: Iterable[Any]) -> None:
        self.registry.register(_ProcessorMetrics(list(processors)))

    def apply_publisher_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "published":
            self.publish_seconds.observe(event["seconds"])
            self.files_published.inc(event["files"])
            self.spans_published.inc(event["spans"])
        elif kind == "deleted":
            self.segments_published.inc()
        elif kind == "error":
            self.errors.labels(event["kind"]).inc()
