"""OTLP/HTTP and OTLP/gRPC against an in-process collector, with real clients."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
import zstandard
from collector_helpers import collector_config, make_request, read_span_ids, span_id_hex
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter

from agenttrace.collector.service import Collector

PB = {"Content-Type": "application/x-protobuf"}
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _store(collector: Collector) -> str:
    return collector.config.store.url


async def _spans_in_store(collector: Collector, expected: set[str], timeout: float = 15) -> None:
    for _ in range(int(timeout / 0.1)):
        if expected <= set(read_span_ids(_store(collector))):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"missing {expected - set(read_span_ids(_store(collector)))}")


def _export_with(exporter: SpanExporter) -> set[str]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests")
    ids = set()
    with tracer.start_as_current_span("invoke_agent planner") as root:
        ids.add(format(root.get_span_context().span_id, "016x"))
        with tracer.start_as_current_span(
            "chat gpt-4o", attributes={"gen_ai.request.model": "gpt-4o"}
        ) as child:
            ids.add(format(child.get_span_context().span_id, "016x"))
    provider.shutdown()
    return ids


async def _post(
    collector: Collector, body: Any, headers: dict[str, str], method: str = "POST"
) -> tuple[int, bytes, Any]:
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.request(
            method, f"{collector.endpoints.http}/v1/traces", data=body, headers=headers
        ) as r,
    ):
        return r.status, await r.read(), r.headers


@pytest.mark.parametrize("gzip_on", [False, True])
async def test_official_exporters_http_and_grpc_land_in_parquet(
    collector: Collector, gzip_on: bool
) -> None:
    http_compression = Compression.Gzip if gzip_on else Compression.NoCompression
    grpc_compression = grpc.Compression.Gzip if gzip_on else grpc.Compression.NoCompression
    http_ids = await asyncio.to_thread(
        _export_with,
        HttpExporter(
            endpoint=f"{collector.endpoints.http}/v1/traces", compression=http_compression
        ),
    )
    grpc_ids = await asyncio.to_thread(
        _export_with,
        GrpcExporter(
            endpoint=collector.endpoints.grpc, insecure=True, compression=grpc_compression
        ),
    )
    await _spans_in_store(collector, http_ids | grpc_ids)
    import pyarrow.dataset as ds

    table = ds.dataset(Path(_store(collector)) / "spans", partitioning="hive").to_table()
    assert {"trace_id", "gen_ai_request_model", "attributes", "events"} <= set(table.column_names)
    assert "gpt-4o" in table.column("gen_ai_request_model").to_pylist()


async def test_json_with_hex_ids(collector: Collector) -> None:
    doc = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "json span",
                                "kind": 3,
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": 1700000001000000000,
                                "unknownField": True,
                            }
                        ]
                    }
                ]
            }
        ]
    }
    status, body, headers = await _post(
        collector, json.dumps(doc).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {}
    await _spans_in_store(collector, {"eee19b7ec3c1b174"})


@pytest.mark.parametrize("encoding", ["gzip", "zstd", "deflate", "chunked"])
async def test_compressed_and_chunked_bodies(collector: Collector, encoding: str) -> None:
    raw = make_request(20, batch=7).SerializeToString()
    headers = dict(PB)
    body: Any
    if encoding == "gzip":
        body = gzip.compress(raw)
    elif encoding == "zstd":
        body = zstandard.ZstdCompressor().compress(raw)
    elif encoding == "deflate":
        body = zlib.compress(raw)
    else:

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(raw), 100):
                yield raw[i : i + 100]

        body = chunks()
    if encoding != "chunked":
        headers["Content-Encoding"] = encoding
    status, response, _ = await _post(collector, body, headers)
    assert status == 200, response
    assert ExportTraceServiceResponse.FromString(response).partial_success.rejected_spans == 0
    await _spans_in_store(collector, {span_id_hex(7, i) for i in range(20)})


async def test_partial_success_rejects_spans_with_bad_ids(collector: Collector) -> None:
    request = make_request(3, batch=9)
    request.resource_spans[0].scope_spans[0].spans[1].trace_id = b"\x01\x02\x03\x04"
    status, body, _ = await _post(collector, request.SerializeToString(), PB)
    assert status == 200
    partial = ExportTraceServiceResponse.FromString(body).partial_success
    assert partial.rejected_spans == 1
    assert "spans[1]: trace_id must be 16" in partial.error_message
    await _spans_in_store(collector, {span_id_hex(9, 0), span_id_hex(9, 2)})
    assert span_id_hex(9, 1) not in read_span_ids(_store(collector))


async def test_partial_success_rejects_times_the_store_cannot_hold(collector: Collector) -> None:
    request = make_request(3, batch=10)
    request.resource_spans[0].scope_spans[0].spans[2].end_time_unix_nano = 1 << 63
    status, body, _ = await _post(collector, request.SerializeToString(), PB)
    assert status == 200
    partial = ExportTraceServiceResponse.FromString(body).partial_success
    assert partial.rejected_spans == 1
    assert "spans[2]: start_time_unix_nano and end_time_unix_nano must be below 2^63" in (
        partial.error_message
    )
    await _spans_in_store(collector, {span_id_hex(10, 0), span_id_hex(10, 1)})


@pytest.mark.parametrize(
    ("body", "headers", "method", "status", "message"),
    [
        (b"\xff\xff\xff", PB, "POST", 400, "not a valid ExportTraceServiceRequest"),
        (b"{not json", {"Content-Type": "application/json"}, "POST", 400, "invalid OTLP/JSON"),
        (b"abc", {**PB, "Content-Encoding": "gzip"}, "POST", 400, "not valid gzip"),
        (b"x", {"Content-Type": "text/plain"}, "POST", 415, "unsupported Content-Type"),
        (b"x", {**PB, "Content-Encoding": "br"}, "POST", 415, "unsupported Content-Encoding"),
        (None, PB, "GET", 405, "use POST"),
        (b"x" * 70_000, PB, "POST", 413, "exceeds"),
        (
            gzip.compress(b"\x00" * 200_000),
            {**PB, "Content-Encoding": "gzip"},
            "POST",
            413,
            "exceeds",
        ),
    ],
)
async def test_http_errors(
    tmp_path: Path,
    body: bytes | None,
    headers: dict[str, str],
    method: str,
    status: int,
    message: str,
) -> None:
    collector = Collector(collector_config(tmp_path, receivers={"max_request_bytes": 65536}))
    await collector.start()
    try:
        got, response, response_headers = await _post(collector, body, headers, method)
    finally:
        await collector.shutdown()
    assert got == status
    if headers["Content-Type"] == "application/json":
        assert message in json.loads(response)["message"]
    else:
        assert message in status_pb2.Status.FromString(response).message
    if status == 405:
        assert response_headers["Allow"] == "POST"


async def test_bearer_token_auth_on_both_protocols(tmp_path: Path) -> None:
    collector = Collector(collector_config(tmp_path, auth={"tokens": ["s3cret"]}))
    await collector.start()
    try:
        raw = make_request(2, batch=3).SerializeToString()
        status, _, headers = await _post(collector, raw, PB)
        assert status == 401
        assert headers["WWW-Authenticate"] == "Bearer"
        assert (await _post(collector, raw, {**PB, "Authorization": "Bearer nope"}))[0] == 401
        assert (await _post(collector, raw, {**PB, "Authorization": "Bearer s3cret"}))[0] == 200
        async with grpc.aio.insecure_channel(collector.endpoints.grpc) as channel:
            export = channel.unary_unary(EXPORT)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await export(raw)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
            await export(raw, metadata=(("authorization", "Bearer s3cret"),))
    finally:
        await collector.shutdown()


async def test_grpc_invalid_argument_and_partial_success(collector: Collector) -> None:
    async with grpc.aio.insecure_channel(collector.endpoints.grpc) as channel:
        export = channel.unary_unary(EXPORT)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await export(b"\xff\xff\xff")
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "not a valid ExportTraceServiceRequest" in (info.value.details() or "")
        request = make_request(2, batch=4)
        request.resource_spans[0].scope_spans[0].spans[0].span_id = b"\x01"
        response = ExportTraceServiceResponse.FromString(await export(request.SerializeToString()))
        assert response.partial_success.rejected_spans == 1


async def test_full_wal_answers_429_and_resource_exhausted_with_retry_info(tmp_path: Path) -> None:
    # A long roll interval keeps everything in the WAL, so it fills up.
    collector = Collector(
        collector_config(
            tmp_path,
            wal={"roll_interval_s": 600, "segment_max_bytes": 8192, "max_bytes": 8192},
            limits={"retry_after_s": 3},
        )
    )
    await collector.start()
    try:
        raw = make_request(30, batch=5, content_bytes=100).SerializeToString()
        status = 200
        for _ in range(100):
            status, _, headers = await _post(collector, raw, PB)
            if status != 200:
                break
            await asyncio.sleep(0.05)
        assert status == 429
        assert headers["Retry-After"] == "3"
        async with grpc.aio.insecure_channel(collector.endpoints.grpc) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await channel.unary_unary(EXPORT)(raw)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        details = dict(info.value.trailing_metadata() or ())["grpc-status-details-bin"]
        status_msg = status_pb2.Status.FromString(details)
        retry = error_details_pb2.RetryInfo()
        assert status_msg.details[0].Unpack(retry)
        assert retry.retry_delay.seconds == 3
    finally:
        await collector.shutdown()


async def test_shutting_down_answers_503_and_unavailable(tmp_path: Path) -> None:
    # An unreachable S3 endpoint keeps the drain (and so the 503 window) open until the deadline.
    collector = Collector(
        collector_config(
            tmp_path,
            store={
                "url": "s3://bucket/p",
                "options": {
                    "endpoint": "http://127.0.0.1:9",
                    "access_key_id": "a",
                    "secret_access_key": "b",
                },
            },
            limits={"shutdown_deadline_s": 3},
        )
    )
    await collector.start()
    raw = make_request(2, batch=6).SerializeToString()
    assert (await _post(collector, raw, PB))[0] == 200
    stopping = asyncio.create_task(collector.shutdown())
    await asyncio.sleep(0.3)
    status, body, headers = await _post(collector, raw, PB)
    assert status == 503
    assert "shutting down" in status_pb2.Status.FromString(body).message
    assert headers["Retry-After"] == "1"
    async with grpc.aio.insecure_channel(collector.endpoints.grpc) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await channel.unary_unary(EXPORT)(raw)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert await stopping is False  # not drained: the data waits in the WAL for the next start
    assert list((tmp_path / "wal" / "segments").glob("*.sealed"))


async def test_health_ready_and_metrics(collector: Collector) -> None:
    raw = make_request(5, batch=8).SerializeToString()
    assert (await _post(collector, raw, PB))[0] == 200
    await _spans_in_store(collector, {span_id_hex(8, 0)})
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{collector.endpoints.http}/healthz") as r:
            assert r.status == 200
        async with session.get(f"{collector.endpoints.http}/readyz") as r:
            assert r.status == 200
        for _ in range(50):
            async with session.get(f"{collector.endpoints.http}/metrics") as r:
                text = await r.text()
            if "agenttrace_collector_files_published_total 1.0" in text:
                break
            await asyncio.sleep(0.1)
    assert 'agenttrace_collector_spans_accepted_total{protocol="http"} 5.0' in text
    assert 'agenttrace_collector_spans_received_total{protocol="http"} 5.0' in text
    assert "agenttrace_collector_files_published_total 1.0" in text
    assert "agenttrace_collector_wal_size_bytes" in text
    assert "agenttrace_collector_publish_seconds_count 1.0" in text


async def test_redaction_runs_before_the_wal(tmp_path: Path) -> None:
    collector = Collector(
        collector_config(tmp_path, wal={"roll_interval_s": 600}, processors=[{"type": "redaction"}])
    )
    await collector.start()
    try:
        request = make_request(2, batch=11)
        span = request.resource_spans[0].scope_spans[0].spans[0]
        kv = span.attributes.add()
        kv.key, kv.value.string_value = "user.note", "mail me at jane.doe@example.com please"
        assert (await _post(collector, request.SerializeToString(), PB))[0] == 200
        wal_bytes = b"".join(p.read_bytes() for p in (tmp_path / "wal" / "segments").iterdir())
        assert b"model-0" in wal_bytes  # the request is in the WAL ...
        assert b"jane.doe@example.com" not in wal_bytes  # ... without the secret
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{collector.endpoints.http}/metrics") as r,
        ):
            text = await r.text()
        assert 'agenttrace_processor_spans_redacted_total{processor="redaction"} 1.0' in text
    finally:
        await collector.shutdown()


async def test_parallel_publishers_share_the_segments(tmp_path: Path) -> None:
    collector = Collector(
        collector_config(tmp_path, wal={"publishers": 2, "segment_max_bytes": 4096})
    )
    await collector.start()
    try:
        for batch in range(20, 28):  # each request fills a segment of its own
            raw = make_request(10, batch=batch, content_bytes=300).SerializeToString()
            assert (await _post(collector, raw, PB))[0] == 200
        expected = {span_id_hex(b, i) for b in range(20, 28) for i in range(10)}
        await _spans_in_store(collector, expected)
    finally:
        await collector.shutdown()
    counts = read_span_ids(_store(collector))
    assert all(counts[span] == 1 for span in expected)
    names = [p.name for p in (Path(_store(collector)) / "spans").rglob("*.parquet")]
    assert len({name.split("-")[1] for name in names}) == 8  # eight segments, one file each


def _children_only(batch: int) -> bytes:
    """Spans that all have a parent, so a tail sampler holds them until its wait expires."""
    request = make_request(4, batch=batch)
    for span in request.resource_spans[0].scope_spans[0].spans:
        span.parent_span_id = b"\x99" * 8
    return bytes(request.SerializeToString())


@pytest.mark.parametrize("released_by", ["timer", "shutdown"])
async def test_spans_held_by_tail_sampling_are_stored(tmp_path: Path, released_by: str) -> None:
    wait = 0.5 if released_by == "timer" else 300
    sampling = {"type": "sampling", "mode": "tail", "ratio": 1.0, "decision_wait_s": wait}
    collector = Collector(collector_config(tmp_path, processors=[sampling, {"type": "limits"}]))
    await collector.start()
    expected = {span_id_hex(30, i) for i in range(4)}
    try:
        assert (await _post(collector, _children_only(30), PB))[0] == 200
        if released_by == "timer":
            await _spans_in_store(collector, expected)
    finally:
        await collector.shutdown()
    assert expected <= set(read_span_ids(_store(collector)))
