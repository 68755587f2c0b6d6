"""forward: bounded per-endpoint queues, retries on retryable answers, never blocking submit.

Retry and overflow behaviour is driven by scripted loopback receivers (an HTTP server and a
real gRPC server) because a real collector cannot be told to fail on cue; delivery into a
second real collector is covered in ``test_end_to_end.py``.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from pipeline_helpers import build_request

from agenttrace.collector.errors import ConfigError
from agenttrace.collector.processors.base import build_processor
from agenttrace.collector.processors.forward import ForwardConfig, ForwardProcessor


class ScriptedHttpReceiver:
    """OTLP/HTTP on 127.0.0.1: answers the scripted statuses first, then 200."""

    def __init__(self, script: list[int] | None = None, delay: float = 0.0) -> None:
        self.script = list(script or [])
        self.delay = delay
        self.received: list[Any] = []
        self.attempts = 0
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.attempts += 1
                receiver.headers.append(dict(self.headers))
                time.sleep(receiver.delay)
                status = receiver.script.pop(0) if receiver.script else 200
                if status == 200:
                    receiver.received.append(ExportTraceServiceRequest.FromString(body))
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/traces"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[ScriptedHttpReceiver]:
    server = ScriptedHttpReceiver()
    yield server
    server.stop()


def _forwarder(**endpoint: Any) -> ForwardProcessor:
    defaults = {"initial_backoff_s": 0.01, "max_backoff_s": 0.05, "timeout_s": 5}
    config = ForwardConfig.from_dict(
        {"endpoints": [{**defaults, **endpoint}], "shutdown_timeout_s": 5}
    )
    config.validate()
    return ForwardProcessor(config)


def _wait(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def _request(span_id: int) -> Any:
    return build_request([{"span_id": span_id, "name": f"s{span_id}"}])


def test_http_delivery_with_headers_and_gzip(receiver: ScriptedHttpReceiver) -> None:
    forwarder = _forwarder(endpoint=receiver.url, headers={"X-Tenant": "acme"}, compression="gzip")
    for span_id in (1, 2):
        forwarder.submit(_request(span_id))
    forwarder.shutdown()
    names = [r.resource_spans[0].scope_spans[0].spans[0].name for r in receiver.received]
    assert names == ["s1", "s2"]
    assert receiver.headers[0]["X-Tenant"] == "acme"
    assert receiver.headers[0]["Content-Encoding"] == "gzip"
    assert receiver.headers[0]["Content-Type"] == "application/x-protobuf"
    assert forwarder.metrics()["endpoint0_sent_requests"] == 2
    assert forwarder.metrics()["endpoint0_sent_spans"] == 2


def test_retryable_statuses_are_retried_and_permanent_ones_are_not() -> None:
    server = ScriptedHttpReceiver(script=[503, 429, 502, 400])
    forwarder = _forwarder(endpoint=server.url, name="phoenix")
    try:
        forwarder.submit(_request(1))  # 503, 429, 502, then 400: permanent
        forwarder.submit(_request(2))  # 200
        _wait(lambda: len(server.received) == 1)
        forwarder.shutdown()
        metrics = forwarder.metrics()
        assert metrics["phoenix_retries"] == 3
        assert metrics["phoenix_failed_requests"] == 1
        assert metrics["phoenix_sent_requests"] == 1
        assert server.attempts == 5
    finally:
        server.stop()


def test_unreachable_endpoint_gives_up_after_max_retries() -> None:
    server = ScriptedHttpReceiver()
    url = server.url
    server.stop()  # nothing listens on the port any more
    forwarder = _forwarder(endpoint=url, max_retries=2)
    forwarder.submit(_request(1))
    _wait(lambda: forwarder.metrics()["endpoint0_failed_requests"] == 1)
    assert forwarder.metrics()["endpoint0_retries"] == 2
    forwarder.shutdown()


@pytest.mark.parametrize(
    ("overflow", "delivered"), [("drop_oldest", ["s0", "s4"]), ("drop_new", ["s0", "s1"])]
)
def test_full_queue_drops_by_policy_and_submit_never_blocks(
    overflow: str, delivered: list[str]
) -> None:
    server = ScriptedHttpReceiver(delay=0.3)
    forwarder = _forwarder(endpoint=server.url, queue_size=1, overflow=overflow)
    try:
        forwarder.submit(_request(0))
        _wait(lambda: server.attempts == 1)  # s0 is in flight, the queue is empty
        started = time.monotonic()
        for span_id in range(1, 5):
            forwarder.submit(_request(span_id))
        assert time.monotonic() - started < 0.1
        forwarder.shutdown()
        names = [r.resource_spans[0].scope_spans[0].spans[0].name for r in server.received]
        assert names == delivered
        assert forwarder.metrics()["endpoint0_dropped_requests"] == 3
    finally:
        server.stop()


class _Servicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[Any] = []
        self.metadata: list[dict[str, str]] = []

    def Export(self, request: Any, context: Any) -> Any:
        self.metadata.append(dict(context.invocation_metadata()))
        if self.failures:
            self.failures -= 1
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        self.received.append(request)
        return ExportTraceServiceResponse()


def test_grpc_delivery_retries_unavailable() -> None:
    servicer = _Servicer(failures=2)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        forwarder = _forwarder(
            endpoint=f"127.0.0.1:{port}", protocol="grpc", headers={"Authorization": "Bearer t"}
        )
        forwarder.submit(_request(7))
        _wait(lambda: len(servicer.received) == 1)
        forwarder.shutdown()
        assert servicer.received[0].resource_spans[0].scope_spans[0].spans[0].name == "s7"
        assert servicer.metadata[-1]["authorization"] == "Bearer t"
        assert forwarder.metrics()["endpoint0_retries"] == 2
    finally:
        server.stop(0)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({}, "endpoints"),
        ({"endpoints": [{"endpoint": "localhost:4318"}]}, "endpoints[0].endpoint"),
        ({"endpoints": [{"endpoint": "ftp://x/v1/traces"}]}, "endpoints[0].endpoint"),
        (
            {"endpoints": [{"endpoint": "http://x:4318/v1/traces", "overflow": "block"}]},
            "endpoints[0].overflow",
        ),
        (
            {"endpoints": [{"endpoint": "http://x/v1/traces", "queue_size": 0}]},
            "endpoints[0].queue_size",
        ),
        (
            {
                "endpoints": [
                    {"endpoint": "http://a/v1/traces"},
                    {"endpoint": "http://b/v1/traces", "name": "endpoint0"},
                ]
            },
            "endpoints[1].name",
        ),
    ],
)
def test_config_errors_name_the_key(options: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_processor("forward", "fwd", options, "processors[4]")
    assert err.value.key_path == f"processors[4].{key}"
