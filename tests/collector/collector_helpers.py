"""Helpers for collector tests: OTLP request builders, config, and readers for the store."""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agenttrace.collector.config import load_config

BUCKET = "traces"
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_request(n_spans: int, batch: int, content_bytes: int = 0) -> ExportTraceServiceRequest:
    """``n_spans`` spans with ids unique per (batch, index): span_id = batch << 20 | index + 1."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    attr = rs.resource.attributes.add()
    attr.key, attr.value.string_value = "service.name", "test-agent"
    ss = rs.scope_spans.add()
    ss.scope.name = "agenttrace.tests"
    now = time.time_ns()
    for index in range(n_spans):
        span = ss.spans.add()
        span.trace_id = (batch + 1).to_bytes(16, "big")
        span.span_id = ((batch << 20) | (index + 1)).to_bytes(8, "big")
        span.name = f"chat model-{index % 3}"
        span.kind = Span.SPAN_KIND_CLIENT
        span.start_time_unix_nano = now
        span.end_time_unix_nano = now + 1_000_000
        kv = span.attributes.add()
        kv.key, kv.value.string_value = "gen_ai.request.model", f"model-{index % 3}"
        kv = span.attributes.add()
        kv.key, kv.value.int_value = "gen_ai.usage.input_tokens", index
        if content_bytes:
            kv = span.attributes.add()
            kv.key, kv.value.string_value = "gen_ai.input_messages", "x" * content_bytes
    return request


def span_id_hex(batch: int, index: int) -> str:
    return ((batch << 20) | (index + 1)).to_bytes(8, "big").hex()


def read_span_ids(store_url: str, options: dict[str, str] | None = None) -> Counter[str]:
    """Count of every span id in the store's Parquet files (duplicates show as counts > 1)."""
    import pyarrow.parquet as pq

    from agenttrace.store.objectstore import open_store

    store = open_store(store_url, options=options)
    counts: Counter[str] = Counter()
    for info in store.list("spans/"):
        if info.key.endswith(".parquet"):
            table = pq.read_table(pa_buffer(store.get(info.key)), columns=["span_id"])
            counts.update(table.column("span_id").to_pylist())
    return counts


def pa_buffer(data: bytes) -> Any:
    import pyarrow as pa

    return pa.BufferReader(data)


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def collector_config(
    tmp_path: Path, processors: list[dict[str, Any]] | None = None, **sections: dict[str, Any]
) -> Any:
    overrides: dict[str, dict[str, Any]] = {
        "receivers": {"http_port": 0, "grpc_port": 0},
        "store": {"url": str(tmp_path / "store")},
        "wal": {"dir": str(tmp_path / "wal"), "roll_interval_s": 0.3, "publisher": "thread"},
        "telemetry": {"log_format": "text"},
        # An in-process collector measures the whole pytest process's RSS, which grows with the
        # suite; the memory bound itself is tested with a collector subprocess (test_memory_bound.py).
        "limits": {"memory_limit_bytes": 8 * 1024**3},
    }
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    config = load_config(None, overrides, environ={})
    config.processors = processors or []
    config.validate()
    return config
