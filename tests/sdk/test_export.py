"""End-to-end export: real OTLP exporters reach receivers on loopback; JSON Lines read back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import agenttrace
from agenttrace.otlp_json import decode_request


class _Handler(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(
            (self.path, self.headers["Content-Type"], body, self.headers.get("x-team"))
        )  # type: ignore[attr-defined]
        self.send_response(200)
        json = self.headers["Content-Type"] == "application/json"
        payload = (
            b"{}" if json else trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        )
        self.send_header("Content-Type", self.headers["Content-Type"])
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


class _Collector(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []

    def Export(self, request: ExportTraceServiceRequest, context: Any) -> Any:
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def grpc_receiver() -> Iterator[tuple[int, _Collector]]:
    collector = _Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port, collector
    server.stop(grace=None).wait()


@agenttrace.tool
def ping(x: int) -> int:
    return x


@agenttrace.agent(name="exporter-test")
def run() -> None:
    ping(1)
    ping(2)


def _names(request: ExportTraceServiceRequest) -> list[str]:
    return sorted(
        span.name for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans
    )


def _check(request: ExportTraceServiceRequest) -> None:
    assert _names(request) == [
        "execute_tool ping",
        "execute_tool ping",
        "invoke_agent exporter-test",
    ]
    resource = {a.key: a.value.string_value for a in request.resource_spans[0].resource.attributes}
    assert resource["service.name"] == "svc"
    scope = request.resource_spans[0].scope_spans[0]
    assert scope.scope.name == "agenttrace"
    assert scope.schema_url == "https://agenttrace.dev/schemas/1.0.0"


def _export(**kwargs: Any) -> None:
    agenttrace.init(service_name="svc", set_global=False, **kwargs)
    try:
        run()
        assert agenttrace.flush()
    finally:
        agenttrace.shutdown()


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_http_exporters(http_receiver: ThreadingHTTPServer, protocol: str) -> None:
    port = http_receiver.server_address[1]
    _export(endpoint=f"http://127.0.0.1:{port}", protocol=protocol, headers={"x-team": "a"})
    [(path, content_type, body, team)] = http_receiver.received  # type: ignore[attr-defined]
    assert path == "/v1/traces"
    assert team == "a"
    if protocol == "http/json":
        assert content_type == "application/json"
        assert b'"traceId":"' in body
        request = decode_request(body)
    else:
        assert content_type == "application/x-protobuf"
        request = ExportTraceServiceRequest.FromString(body)
    _check(request)


def test_grpc_exporter(grpc_receiver: tuple[int, _Collector]) -> None:
    port, collector = grpc_receiver
    _export(endpoint=f"127.0.0.1:{port}", protocol="grpc")
    assert len(collector.requests) == 1
    _check(collector.requests[0])


def test_env_variables_choose_endpoint_and_protocol(
    http_receiver: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = http_receiver.server_address[1]
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=from%20env")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "svc")
    agenttrace.init(set_global=False)
    try:
        run()
        agenttrace.flush()
    finally:
        agenttrace.shutdown()
    [(path, content_type, body, team)] = http_receiver.received  # type: ignore[attr-defined]
    assert (path, content_type, team) == ("/v1/traces", "application/json", "from env")
    _check(decode_request(body))


def test_jsonl_file_is_parsed_back(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    _export(jsonl_path=path)
    _export(jsonl_path=path)
    lines = path.read_bytes().splitlines()
    assert len(lines) == 2
    for line in lines:
        _check(decode_request(line))


def test_redact_runs_before_export(tmp_path: Path) -> None:
    path = tmp_path / "red.jsonl"

    @agenttrace.tool
    def send(to: str) -> str:
        return "sent"

    # A span name built from user data is a place a secret can hide too.
    @agenttrace.workflow(name="notify ops@corp.io")
    def notify() -> None:
        raise RuntimeError("could not reach ops@corp.io")

    agenttrace.init(service_name="svc", jsonl_path=path, redact=True, set_global=False)
    try:
        send("jane.doe@corp.io")
        with pytest.raises(RuntimeError):
            notify()
        agenttrace.flush()
    finally:
        agenttrace.shutdown()
    text = path.read_text()
    assert "jane.doe@corp.io" not in text
    # span name, workflow name attribute, exception event and status description
    assert "ops@corp.io" not in text
    assert "invoke_workflow notify [REDACTED:email]" in text
    assert "agenttrace.redaction.count" in text


def test_bad_protocol_is_rejected() -> None:
    with pytest.raises(agenttrace.InitError, match="protocol must be one of"):
        agenttrace.init(protocol="carrier-pigeon", set_global=False)
