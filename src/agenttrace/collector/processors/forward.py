"""``forward``: export every accepted batch to other OTLP endpoints (Phoenix, Langfuse, Jaeger).

The collector calls :meth:`ForwardProcessor.submit` after a batch is durable and acknowledged.
Each endpoint has its own bounded queue and its own sender thread, so a slow or dead endpoint
never delays the store path or the other endpoints. When a queue is full the oldest batch is
dropped (``overflow: drop_oldest``, the default: fresher data is worth more) or the new one is
(``drop_new``); either way the drop is counted.

Sending follows the OTLP exporter rules: HTTP 429/502/503/504 and the retryable gRPC codes are
retried with exponential backoff and jitter (a server's ``Retry-After`` is honoured), anything
else is permanent and the batch is dropped and counted. At shutdown the queues get
``shutdown_timeout_s`` to drain; what is left is counted as dropped.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from agenttrace.collector.errors import ConfigError
from agenttrace.collector.processors._config import parse_dataclass, require_positive
from agenttrace.collector.processors._otlp import span_count
from agenttrace.collector.processors.base import ExportTraceServiceRequest, register_processor

logger = logging.getLogger("agenttrace.collector.forward")

_NAME = re.compile(r"[A-Za-z0-9_]+")
RETRYABLE_HTTP_STATUS = frozenset({429, 502, 503, 504})
RETRYABLE_GRPC_CODES = frozenset(
    {
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


@dataclass(frozen=True)
class EndpointConfig:
    endpoint: str
    protocol: Literal["http/protobuf", "grpc"] = "http/protobuf"
    name: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    compression: Literal["none", "gzip"] = "none"
    timeout_s: float = 10.0
    queue_size: int = 1000
    overflow: Literal["drop_oldest", "drop_new"] = "drop_oldest"
    max_retries: int = 5
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    def validate(self, key_path: str) -> None:
        if self.name and not _NAME.fullmatch(self.name):
            raise ConfigError(
                f"{key_path}.name", "use letters, digits and underscores (it names metrics)"
            )
        parts = urlsplit(self.endpoint if "://" in self.endpoint else f"http://{self.endpoint}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"{key_path}.endpoint",
                f"must be an http(s) URL or host:port, got {self.endpoint!r}",
            )
        if self.protocol == "http/protobuf" and "://" not in self.endpoint:
            raise ConfigError(
                f"{key_path}.endpoint",
                "an http/protobuf endpoint needs a full URL such as http://host:4318/v1/traces",
            )
        for key in ("timeout_s", "queue_size", "initial_backoff_s", "max_backoff_s"):
            require_positive(f"{key_path}.{key}", getattr(self, key))
        if self.max_retries < 0:
            raise ConfigError(f"{key_path}.max_retries", "must not be negative")


@dataclass(frozen=True)
class ForwardConfig:
    endpoints: tuple[EndpointConfig, ...] = ()
    shutdown_timeout_s: float = 5.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ForwardConfig:
        return parse_dataclass(cls, data)

    def validate(self) -> None:
        if not self.endpoints:
            raise ConfigError("endpoints", "needs at least one endpoint")
        require_positive("shutdown_timeout_s", self.shutdown_timeout_s)
        names: set[str] = set()
        for index, endpoint in enumerate(self.endpoints):
            endpoint.validate(f"endpoints[{index}]")
            name = endpoint_name(endpoint, index)
            if name in names:
                raise ConfigError(f"endpoints[{index}].name", f"duplicate endpoint name {name!r}")
            names.add(name)


def endpoint_name(endpoint: EndpointConfig, index: int) -> str:
    return endpoint.name or f"endpoint{index}"


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    retryable: bool = False
    retry_after: float | None = None
    detail: str = ""
    rejected_spans: int = 0


class _HttpSender:
    """OTLP/HTTP protobuf over one kept-alive connection, reopened after any failure."""

    def __init__(self, config: EndpointConfig) -> None:
        parts = urlsplit(config.endpoint)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "/v1/traces") + (f"?{parts.query}" if parts.query else "")
        self._timeout = config.timeout_s
        self._gzip = config.compression == "gzip"
        self._headers = {
            **config.headers,
            "Content-Type": "application/x-protobuf",
            **({"Content-Encoding": "gzip"} if self._gzip else {}),
        }
        self._connection: http.client.HTTPConnection | None = None

    def send(self, request: Any) -> _Outcome:
        body = request.SerializeToString()
        if self._gzip:
            body = gzip.compress(body, compresslevel=5)
        try:
            connection = self._connect()
            connection.request("POST", self._path, body=body, headers=self._headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as err:
            self.close()
            return _Outcome(
                ok=False, retryable=True, detail=f"connection error: {type(err).__name__}"
            )
        if 200 <= response.status < 300:
            return _Outcome(ok=True, rejected_spans=_rejected_spans(payload))
        retry_after = _retry_after(response.getheader("Retry-After"))
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return _Outcome(
            ok=False,
            retryable=response.status in RETRYABLE_HTTP_STATUS,
            retry_after=retry_after,
            detail=f"HTTP {response.status}",
        )

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = cls(self._host, self._port, timeout=self._timeout)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _GrpcSender:
    """OTLP/gRPC through one channel (TLS for ``https://`` endpoints)."""

    def __init__(self, config: EndpointConfig) -> None:
        endpoint = config.endpoint
        secure = endpoint.startswith("https://")
        target = endpoint.split("://", 1)[-1].rstrip("/")
        self._channel = (
            grpc.secure_channel(target, grpc.ssl_channel_credentials())
            if secure
            else grpc.insecure_channel(target)
        )
        self._stub = TraceServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._timeout = config.timeout_s
        self._metadata = tuple((k.lower(), v) for k, v in config.headers.items())
        self._compression = grpc.Compression.Gzip if config.compression == "gzip" else None

    def send(self, request: Any) -> _Outcome:
        try:
            response = self._stub.Export(
                request,
                timeout=self._timeout,
                metadata=self._metadata,
                compression=self._compression,
            )
        except grpc.RpcError as err:
            code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
            return _Outcome(
                ok=False, retryable=code in RETRYABLE_GRPC_CODES, detail=f"gRPC {code.name}"
            )
        return _Outcome(ok=True, rejected_spans=int(response.partial_success.rejected_spans))

    def close(self) -> None:
        self._channel.close()


def _rejected_spans(payload: bytes) -> int:
    try:
        return int(ExportTraceServiceResponse.FromString(payload).partial_success.rejected_spans)
    except Exception:  # a non-protobuf success body (some backends answer JSON) is still success
        return 0


def _retry_after(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class _EndpointWorker:
    """One endpoint: a bounded queue drained by a sender thread, with its own counters."""

    def __init__(self, name: str, config: EndpointConfig) -> None:
        self.name = name
        self._config = config
        self._sender: _HttpSender | _GrpcSender = (
            _GrpcSender(config) if config.protocol == "grpc" else _HttpSender(config)
        )
        self._queue: deque[Any] = deque()
        self._condition = threading.Condition()
        self._closing = False
        self._deadline = float("inf")
        self.counters = {
            "sent_requests": 0,
            "sent_spans": 0,
            "rejected_spans": 0,
            "retries": 0,
            "failed_requests": 0,
            "dropped_requests": 0,
        }
        self._thread = threading.Thread(
            target=self._run, name=f"agenttrace-forward-{name}", daemon=True
        )
        self._thread.start()

    def put(self, request: Any) -> None:
        with self._condition:
            if self._closing:
                self.counters["dropped_requests"] += 1
                return
            if len(self._queue) >= self._config.queue_size:
                self.counters["dropped_requests"] += 1
                if self._config.overflow == "drop_new":
                    return
                self._queue.popleft()
            self._queue.append(request)
            self._condition.notify()

    def close(self, timeout: float) -> None:
        with self._condition:
            self._closing = True
            self._deadline = time.monotonic() + timeout
            self._condition.notify_all()
        self._thread.join(timeout + 1.0)
        self._sender.close()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._queue and not self._closing:
                    self._condition.wait()
                if not self._queue or time.monotonic() >= self._deadline:
                    self.counters["dropped_requests"] += len(self._queue)
                    self._queue.clear()
                    return
                request = self._queue.popleft()
            self._deliver(request)

    def _deliver(self, request: Any) -> None:
        config = self._config
        backoff = config.initial_backoff_s
        for attempt in range(config.max_retries + 1):
            try:
                outcome = self._sender.send(request)
            except Exception:  # a bug must not kill the thread: count the batch as failed
                logger.exception("forwarding to %s failed unexpectedly", self.name)
                outcome = _Outcome(ok=False, detail="internal error")
            if outcome.ok:
                self.counters["sent_requests"] += 1
                self.counters["sent_spans"] += span_count(request)
                self.counters["rejected_spans"] += outcome.rejected_spans
                return
            if not outcome.retryable or attempt == config.max_retries:
                break
            self.counters["retries"] += 1
            delay = min(config.max_backoff_s, max(backoff, outcome.retry_after or 0.0))
            if not self._sleep(delay * random.uniform(0.8, 1.2)):
                break
            backoff = min(config.max_backoff_s, backoff * 2)
        self.counters["failed_requests"] += 1
        logger.warning("forwarding a batch to %s failed: %s", self.name, outcome.detail)

    def _sleep(self, seconds: float) -> bool:
        """Wait before a retry; ``False`` when shutdown's deadline leaves no time for it."""
        end = time.monotonic() + seconds
        with self._condition:
            while True:
                now = time.monotonic()
                if now >= self._deadline or (self._closing and end >= self._deadline):
                    return False
                if now >= end:
                    return True
                self._condition.wait(end - now)


class ForwardProcessor:
    """Fans every submitted request out to the configured endpoints."""

    mutates = False  # a forwarder only reads the (already durable) request

    def __init__(self, config: ForwardConfig) -> None:
        self.name = "forward"
        self._config = config
        self._workers = [
            _EndpointWorker(endpoint_name(endpoint, index), endpoint)
            for index, endpoint in enumerate(config.endpoints)
        ]

    def submit(self, request: ExportTraceServiceRequest) -> None:
        for worker in self._workers:
            worker.put(request)

    def metrics(self) -> Mapping[str, float]:
        out: dict[str, float] = {}
        for worker in self._workers:
            for key, value in worker.counters.items():
                out[f"{worker.name}_{key}"] = value
        return out

    def shutdown(self) -> None:
        # Endpoints drain in parallel: the timeout bounds the whole shutdown, not each one.
        closers = [
            threading.Thread(target=w.close, args=(self._config.shutdown_timeout_s,))
            for w in self._workers
        ]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join()


def _factory(config: ForwardConfig) -> ForwardProcessor:
    return ForwardProcessor(config)


register_processor("forward", ForwardConfig, _factory)
