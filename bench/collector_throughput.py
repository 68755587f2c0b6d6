"""Collector ingest benchmark: OTLP/HTTP protobuf, gRPC and JSON into a local store.

    .venv/bin/python bench/collector_throughput.py [--seconds 10] [--concurrency 8]

Starts the collector as a subprocess (redaction on, durable before ack, local store), drives
it with its own load generator from a second process, and reports in the same run:

* acknowledged spans/s per protocol, and as a ratio of the pure protobuf parse rate of the
  same requests (the ceiling for any Python receiver);
* sustained spans/s: the acknowledged spans over the load's duration plus the time the
  publisher then needs until it has published as many spans since the load began: it has to
  keep pace with the receivers. (Spans the warm-up left in the WAL are published within that
  time too, so as many of the load's last spans can still be waiting, most of them for their
  WAL segment to be sealed.);
* bytes per span in Parquet against bytes per span in the OTLP protobuf request;
* peak RSS of the collector (receiver + publisher processes) while clients push past the
  sustainable rate with a memory bound, and how much of the excess was answered 429;
* ``--part pipeline``: OTLP/HTTP protobuf with no processor, each of normalize, redaction and
  limits alone, and all three, one collector each, in the same run (``--pipelines`` picks
  some, ``--repeat`` measures each several times).

Requests are pre-encoded: 512 agent spans each (agent, chat and tool spans, 10+ attributes,
a quarter carrying 1-4 KB of message content), so the generator spends little CPU per span.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

SPANS_PER_REQUEST = 512
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_VOCABULARY = (
    "the agent plan tool call result file search repository function test error retry model "
    "context user request answer summary step memory budget token cost latency stream chunk "
    "review patch diff commit branch issue query table schema index cache config deploy build "
    "service endpoint handler request response status timeout because therefore however then "
    "first second next finally check verify update create delete read write open close run"
)
_WORDS = _VOCABULARY.split()


def _text(rng: random.Random, size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    if rng.random() < 0.2:  # something for redaction to find
        words.insert(len(words) // 2, f"contact jane.doe{rng.randrange(100)}@example.com")
    return " ".join(words)[:size]


def _attr(span: Any, key: str, value: Any) -> None:
    kv = span.attributes.add()
    kv.key = key
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    elif isinstance(value, list):
        for item in value:
            kv.value.array_value.values.add().string_value = item
    else:
        kv.value.string_value = value


def build_request(seed: int) -> ExportTraceServiceRequest:
    """One request of 512 spans: 16 traces of an agent span, chat spans and tool spans."""
    rng = random.Random(seed)
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    for key, value in (
        ("service.name", "coding-agent"),
        ("service.version", "1.4.2"),
        ("deployment.environment", "prod"),
        ("host.name", f"worker-{seed % 7}"),
    ):
        _attr(rs.resource, key, value)
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = "agenttrace", "0.1.0"
    start = time.time_ns()
    per_trace = SPANS_PER_REQUEST // 16
    for trace in range(16):
        trace_id = rng.getrandbits(128).to_bytes(16, "big")
        root_id = rng.getrandbits(64).to_bytes(8, "big")
        run_id = f"run-{seed}-{trace}"
        for index in range(per_trace):
            span = ss.spans.add()
            span.trace_id = trace_id
            span.span_id = root_id if index == 0 else rng.getrandbits(64).to_bytes(8, "big")
            if index:
                span.parent_span_id = root_id
            span.start_time_unix_nano = start + index * 1_000_000
            span.end_time_unix_nano = (
                span.start_time_unix_nano + rng.randrange(1, 5_000) * 1_000_000
            )
            _attr(span, "agenttrace.run.id", run_id)
            _attr(span, "agenttrace.session.id", f"session-{seed}")
            _attr(span, "gen_ai.conversation.id", f"conv-{seed}-{trace}")
            _attr(span, "agenttrace.step.index", index)
            if index == 0:
                span.name, span.kind = "invoke_agent coder", Span.SPAN_KIND_INTERNAL
                _attr(span, "gen_ai.operation.name", "invoke_agent")
                _attr(span, "gen_ai.agent.name", "coder")
                _attr(span, "gen_ai.agent.id", "agent-7")
                _attr(span, "agenttrace.goal", _text(rng, 120))
                _attr(span, "agenttrace.harness.name", "bench")
                _attr(span, "agenttrace.aggregate.input_tokens", rng.randrange(10_000, 90_000))
            elif index % 2:
                span.name, span.kind = "chat claude-sonnet-4", Span.SPAN_KIND_CLIENT
                _attr(span, "gen_ai.operation.name", "chat")
                _attr(span, "gen_ai.provider.name", "anthropic")
                _attr(span, "gen_ai.request.model", "claude-sonnet-4")
                _attr(span, "gen_ai.response.model", "claude-sonnet-4-20250514")
                _attr(span, "gen_ai.response.id", f"msg_{rng.getrandbits(64):016x}")
                _attr(span, "gen_ai.response.finish_reasons", ["tool_use"])
                _attr(span, "gen_ai.request.temperature", 0.2)
                _attr(span, "gen_ai.request.max_tokens", 4096)
                _attr(span, "gen_ai.usage.input_tokens", rng.randrange(500, 20_000))
                _attr(span, "gen_ai.usage.output_tokens", rng.randrange(20, 2_000))
                _attr(span, "gen_ai.usage.cache_read.input_tokens", rng.randrange(0, 10_000))
                _attr(span, "agenttrace.cost.usd", rng.random() / 10)
                _attr(span, "server.address", "api.anthropic.com")
                if index % 4 == 1:  # a quarter of all spans carry 1-4 KB of content
                    _attr(span, "gen_ai.input.messages", _messages(rng, "user"))
                    _attr(span, "gen_ai.output.messages", _messages(rng, "assistant"))
            else:
                tool = rng.choice(("read_file", "run_tests", "grep", "edit_file"))
                span.name, span.kind = f"execute_tool {tool}", Span.SPAN_KIND_INTERNAL
                _attr(span, "gen_ai.operation.name", "execute_tool")
                _attr(span, "gen_ai.tool.name", tool)
                _attr(span, "gen_ai.tool.call.id", f"toolu_{rng.getrandbits(64):016x}")
                _attr(span, "gen_ai.tool.type", "function")
                _attr(span, "gen_ai.tool.call.arguments", json.dumps({"path": f"src/m{index}.py"}))
                _attr(span, "gen_ai.tool.call.result", _text(rng, 200))
                if rng.random() < 0.05:
                    span.status.code = Status.STATUS_CODE_ERROR
                    _attr(span, "error.type", "ToolError")
    return request


def _messages(rng: random.Random, role: str) -> str:
    size = rng.randrange(1024, 4096) // 2
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": _text(rng, size)}]}])


def build_requests(count: int) -> list[ExportTraceServiceRequest]:
    return [build_request(seed) for seed in range(count)]


# -- load generator (runs in its own process) --------------------------------------------

# aiohttp's default connector limit, which the open-loop (memory) figures were measured with.
_HTTP_CONNECTIONS = 100
_HTTP_TIMEOUT_S = 60.0


class _HttpError(Exception):
    """A response this client cannot read; the connection is dropped."""


class _HttpConnection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection carrying one request at a time.

    A bare protocol rather than a client library: the generator shares the machine with the
    collector, so each microsecond it spends per request is taken from what it measures.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[str] | None = None
        self.closed = False
        self.keep_alive = True
        self._until_close: str | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            try:
                self._parse()
            except (ValueError, IndexError, _HttpError) as err:
                self.fail(_HttpError(f"malformed response: {err}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            if self._until_close is not None:  # a body delimited by the close (RFC 9112 6.3)
                self.waiter.set_result(self._until_close)
            else:
                self.waiter.set_exception(exc or ConnectionResetError("server closed"))

    def fail(self, err: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(err)
        if self.transport is not None:
            self.transport.abort()

    def _parse(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self._until_close is not None:
            return
        status_line, *lines = bytes(self.buffer[:end]).split(b"\r\n")
        version, status = status_line.split(b" ", 2)[:2]
        if not version.startswith(b"HTTP/1.") or len(status) != 3:
            raise _HttpError(status_line[:40].decode("latin-1"))
        length = -1
        keep_alive = version != b"HTTP/1.0"
        for line in lines:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                tokens = {token.strip() for token in value.lower().split(b",")}
                keep_alive = b"close" not in tokens and (keep_alive or b"keep-alive" in tokens)
            elif name == b"transfer-encoding":
                raise _HttpError("chunked responses are not supported")
        if status[0] == 0x31:  # an interim 1xx response precedes the real one
            del self.buffer[: end + 4]
            return self._parse()
        if length < 0 and status not in (b"204", b"304"):
            self.keep_alive = False
            self._until_close = status.decode()
            return
        if len(self.buffer) < end + 4 + max(length, 0):
            return
        del self.buffer[: end + 4 + max(length, 0)]
        self.keep_alive = keep_alive
        self.waiter.set_result(status.decode())  # type: ignore[union-attr]


class _HttpClient:
    """POSTs pre-built requests over a pool of keep-alive connections to one server."""

    def __init__(self, url: str, content_type: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http":
            raise ValueError(f"only http:// targets are supported, not {url!r}")
        self.host, self.port = parts.hostname or "localhost", parts.port or 80
        self.head = (
            f"POST {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\n"
            f"Host: {parts.netloc}\r\nContent-Type: {content_type}\r\n"
        ).encode("latin-1")
        self.idle: list[_HttpConnection] = []
        self.slots = asyncio.Semaphore(_HTTP_CONNECTIONS)

    def message(self, body: bytes) -> bytes:
        """The whole request as one buffer, so sending it is one write."""
        return self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body

    async def post(self, message: bytes) -> str:
        """The response's status code, or the name of the error that stopped the request."""
        async with self.slots:
            loop = asyncio.get_running_loop()
            conn = None
            while self.idle and conn is None:
                conn = self.idle.pop()
                conn = None if conn.closed else conn
            try:
                if conn is None:
                    _, conn = await loop.create_connection(_HttpConnection, self.host, self.port)
                conn.waiter = loop.create_future()
                # No drain: the whole request is already in memory, and the only other
                # buffered data is at most the tail of this connection's previous request.
                conn.transport.write(message)  # type: ignore[union-attr]
                timer = loop.call_later(
                    _HTTP_TIMEOUT_S, conn.fail, TimeoutError("no response in time")
                )
                try:
                    status = await conn.waiter
                finally:
                    timer.cancel()
                    conn.waiter = None
            except (OSError, _HttpError) as err:
                if conn is not None and conn.transport is not None:
                    conn.transport.abort()
                return type(err).__name__
            if conn.keep_alive and not conn.closed:
                self.idle.append(conn)
            else:
                conn.transport.close()  # type: ignore[union-attr]
            return status

    def close(self) -> None:
        for conn in self.idle:
            conn.transport.close()  # type: ignore[union-attr]
        self.idle.clear()


async def _drive(
    protocol: str, target: str, bodies: list[bytes], concurrency: int, seconds: float, rate: float
) -> dict[str, Any]:
    """Closed loop (``rate`` 0: ``concurrency`` requests always outstanding) or open loop."""
    statuses: dict[str, int] = {}
    acked = 0
    send: Callable[[bytes], Awaitable[str]]
    if protocol == "grpc":
        import grpc

        channel = grpc.aio.insecure_channel(
            target, options=[("grpc.max_send_message_length", 64 << 20)]
        )
        export = channel.unary_unary(EXPORT)

        async def export_one(body: bytes) -> str:
            try:
                await export(body, timeout=60)
                return "200"
            except grpc.aio.AioRpcError as err:
                code = err.code()
                return "429" if code == grpc.StatusCode.RESOURCE_EXHAUSTED else code.name

        send = export_one
        payloads = bodies
    else:
        client = _HttpClient(
            target, "application/json" if protocol == "json" else "application/x-protobuf"
        )
        send = client.post
        payloads = [client.message(body) for body in bodies]

    async def one(payload: bytes) -> None:
        nonlocal acked
        status = await send(payload)
        statuses[status] = statuses.get(status, 0) + 1
        if status == "200":
            acked += SPANS_PER_REQUEST

    deadline = time.monotonic() + seconds
    started = time.monotonic()
    try:
        if rate <= 0:

            async def worker(offset: int) -> None:
                index = offset
                while time.monotonic() < deadline:
                    await one(payloads[index % len(payloads)])
                    index += 1

            await asyncio.gather(*(worker(i) for i in range(concurrency)))
        else:
            pending: set[asyncio.Task[None]] = set()
            index = 0
            while time.monotonic() < deadline:
                if len(pending) < concurrency:
                    task = asyncio.create_task(one(payloads[index % len(payloads)]))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                else:
                    statuses["client_saturated"] = statuses.get("client_saturated", 0) + 1
                index += 1
                await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
            await asyncio.gather(*pending)
        elapsed = time.monotonic() - started
    finally:
        if protocol == "grpc":
            await channel.close()
        else:
            client.close()
    return {"acked_spans": acked, "seconds": elapsed, "statuses": statuses}


def _load_process(args: tuple[Any, ...], results: Any) -> None:
    results.put(asyncio.run(_drive(*args)))


def run_load(
    protocol: str,
    target: str,
    bodies: list[bytes],
    concurrency: int,
    seconds: float,
    rate: float = 0.0,
) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    process = ctx.Process(
        target=_load_process, args=((protocol, target, bodies, concurrency, seconds, rate), results)
    )
    process.start()
    result: dict[str, Any] = results.get(timeout=seconds + 180)
    process.join()
    return result


# -- measurements ----------------------------------------------------------------------------


def parse_rate(bodies: list[bytes], seconds: float = 2.0) -> float:
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for body in bodies:
            ExportTraceServiceRequest().ParseFromString(body)
            done += SPANS_PER_REQUEST
    return done / (time.perf_counter() - started)


def _tree_rss(pid: int) -> int:
    """RSS of a process and its children (the collector and its publisher), in bytes."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                pids += [int(child) for child in f.read().split()]
    except OSError:
        pass
    for each in pids:
        try:
            with open(f"/proc/{each}/statm") as f:
                total += int(f.read().split()[1]) * page
        except OSError:
            continue
    return total


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.1):
            self.peak = max(self.peak, _tree_rss(self.pid))

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def parquet_bytes(store: Path) -> tuple[int, int]:
    import pyarrow.parquet as pq

    size = rows = 0
    for path in (store / "spans").rglob("*.parquet"):
        size += path.stat().st_size
        rows += pq.ParquetFile(path).metadata.num_rows
    return size, rows


def measure_storage(count: int = 64) -> dict[str, float]:
    """Parquet bytes per span against OTLP protobuf bytes per span, for distinct requests.

    Uses the publisher's own conversion and encoding on ``count`` requests with unique ids and
    content, so repetition in the load generator's small request pool cannot flatter the ratio.
    """
    from agenttrace.store.convert import requests_to_table
    from agenttrace.store.objectstore import open_store
    from agenttrace.store.writer import ParquetPublisher

    requests = [build_request(10_000 + seed) for seed in range(count)]
    otlp = sum(len(r.SerializeToString()) for r in requests)
    with tempfile.TemporaryDirectory(prefix="collector-storage-") as tmp:
        store = open_store(tmp)
        publisher = ParquetPublisher(store, "bench")
        table = requests_to_table(requests)
        publisher.publish(table, segment=0, first_seq=0, last_seq=count - 1)
        parquet = sum(info.size for info in store.list("spans/"))
    spans = count * SPANS_PER_REQUEST
    return {
        "otlp_bytes_per_span": otlp / spans,
        "parquet_bytes_per_span": parquet / spans,
        "ratio": parquet / otlp,
    }


def publish_rate(bodies: list[bytes], rounds: int = 2) -> float:
    """Spans/s of the publisher's own path (OTLP chunk → Arrow → Parquet on local disk)."""
    from agenttrace.collector.publisher import chunk_to_table
    from agenttrace.store.objectstore import open_store
    from agenttrace.store.writer import ParquetPublisher

    chunk = (bodies * 8)[: max(1, (16 << 20) // max(len(bodies[0]), 1))]
    with tempfile.TemporaryDirectory(prefix="collector-publish-") as tmp:
        publisher = ParquetPublisher(open_store(tmp), "bench")
        started, rows = time.perf_counter(), 0
        for segment in range(rounds):
            table = chunk_to_table(chunk)
            publisher.publish(table, segment=segment, first_seq=0, last_seq=len(chunk) - 1)
            rows += table.num_rows
        return rows / (time.perf_counter() - started)


def start_collector(
    workdir: Path,
    name: str,
    processors: list[dict[str, Any]],
    limits: dict[str, Any] | None = None,
    workers: int = 1,
) -> Any:
    import yaml

    from agenttrace.collector.background import run_in_background

    config = workdir / f"{name}.yaml"
    config.write_text(
        yaml.safe_dump(
            {"processors": processors, "limits": limits or {}, "receivers": {"workers": workers}}
        ),
        encoding="utf-8",
    )
    return run_in_background(
        workdir / f"store-{name}",
        wal_dir=workdir / f"wal-{name}",
        config=config,
        roll_interval_s=5,
        extra_args=(),
        env={"AGENTTRACE_COLLECTOR__TELEMETRY__LOG_LEVEL": "WARNING"},
        ready_timeout_s=90,
    )


def published_spans(collector: Any) -> float:
    """The collector's count of spans written to Parquet, from its /metrics."""
    import urllib.request

    with urllib.request.urlopen(f"{collector.http_url}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("agenttrace_collector_spans_published_total "):
                return float(line.split()[1])
    return 0.0


def wait_published(collector: Any, target: float, timeout_s: float = 600.0) -> float:
    """Seconds until ``target`` spans are in Parquet (the WAL backlog has drained)."""
    started = time.monotonic()
    while published_spans(collector) < target:
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"fewer than {target:.0f} spans published after {timeout_s} s")
        time.sleep(0.1)
    return time.monotonic() - started


# The collector pipeline issue's figure: each processor alone and all three, OTLP/HTTP protobuf.
PIPELINES: dict[str, list[dict[str, Any]]] = {
    "none": [],
    "normalize": [{"type": "normalize"}],
    "redaction": [{"type": "redaction"}],
    "limits": [{"type": "limits"}],
    "normalize+redaction+limits": [
        {"type": "normalize"},
        {"type": "redaction"},
        {"type": "limits"},
    ],
}


def measure_ingest(
    workdir: Path,
    name: str,
    processors: list[dict[str, Any]],
    pb: list[bytes],
    js: list[bytes],
    args: Any,
    protocols: tuple[str, ...] = ("http", "grpc", "json"),
) -> dict[str, Any]:
    collector = start_collector(workdir, name, processors, workers=args.workers)
    rates: dict[str, Any] = {}
    targets = {
        "http": (collector.http_traces_url, pb),
        "grpc": (collector.grpc_endpoint, pb),
        "json": (collector.http_traces_url, js),
    }
    try:
        run_load("http", collector.http_traces_url, pb, args.concurrency, 2.0)  # warm-up
        for protocol in protocols:
            target, bodies = targets[protocol]
            published = published_spans(collector)
            result = run_load(protocol, target, bodies, args.concurrency, args.seconds)
            drain = wait_published(collector, published + result["acked_spans"])
            rates[protocol] = result["acked_spans"] / result["seconds"]
            # Sustained: acknowledged spans over the time until as many have been published.
            sustained = result["acked_spans"] / (result["seconds"] + drain)
            rates[f"{protocol}_sustained"] = sustained
            rates[f"{protocol}_drain_seconds"] = drain
            rates[f"{protocol}_statuses"] = result["statuses"]
            print(
                f"  {name} {protocol}: acked {rates[protocol]:,.0f} spans/s, in Parquet "
                f"{drain:.1f} s after the load: sustained {sustained:,.0f} spans/s "
                f"{result['statuses']}",
                flush=True,
            )
    finally:
        assert collector.stop(timeout_s=300) == 0
    size, rows = parquet_bytes(collector.wal_dir.parent / f"store-{name}")
    rates["parquet_bytes_per_span"] = size / max(rows, 1)
    rates["rows"] = rows
    return rates


def measure_memory(
    workdir: Path,
    name: str,
    processors: list[dict[str, Any]],
    pb: list[bytes],
    sustainable: float,
    args: Any,
) -> dict[str, Any]:
    bound = args.memory_mb * 1024 * 1024
    collector = start_collector(
        workdir, name, processors, {"memory_limit_bytes": bound}, workers=args.workers
    )
    sampler = RssSampler(collector.process.pid)
    sampler.start()
    try:
        rate = 2 * sustainable / SPANS_PER_REQUEST  # requests per second
        result = run_load("http", collector.http_traces_url, pb, 256, args.seconds, rate=rate)
    finally:
        peak = sampler.stop()
        assert collector.stop(timeout_s=300) == 0
    statuses = result["statuses"]
    sent = sum(v for k, v in statuses.items() if k != "client_saturated")
    return {
        "offered_spans_per_s": rate * SPANS_PER_REQUEST,
        "acked_spans_per_s": result["acked_spans"] / result["seconds"],
        "peak_rss_mb": peak / 1024 / 1024,
        "bound_mb": args.memory_mb,
        "share_429": statuses.get("429", 0) / max(sent, 1),
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--memory-mb", type=int, default=512)
    parser.add_argument(
        "--workers", type=int, default=1, help="receivers.workers: ingest worker processes"
    )
    parser.add_argument("--requests", type=int, default=8, help="distinct pre-encoded requests")
    parser.add_argument(
        "--part", choices=("all", "ingest", "pipeline", "memory", "storage"), default="all"
    )
    parser.add_argument(
        "--pipelines",
        default=",".join(PIPELINES),
        help="for --part pipeline: which of the benchmark's pipelines, comma-separated",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="for --part pipeline: runs of each pipeline"
    )
    parser.add_argument(
        "--sustainable",
        type=float,
        default=20_000.0,
        help="spans/s taken as sustainable for --part memory (measured when --part all)",
    )
    args = parser.parse_args()

    from agenttrace.otlp_json import encode_request

    requests = build_requests(args.requests)
    pb = [r.SerializeToString() for r in requests]
    js = [encode_request(r) for r in requests]
    otlp_bytes_per_span = sum(map(len, pb)) / (len(pb) * SPANS_PER_REQUEST)
    ceiling = parse_rate(pb)
    print(f"protobuf parse ceiling: {ceiling:,.0f} spans/s", flush=True)
    redaction = [{"type": "redaction"}]
    results: dict[str, Any] = {
        "machine_cores": os.cpu_count(),
        "ingest_workers": args.workers,
        "parse_ceiling_spans_per_s": ceiling,
        "otlp_bytes_per_span": otlp_bytes_per_span,
    }
    with tempfile.TemporaryDirectory(prefix="collector-bench-") as tmp:
        workdir = Path(tmp)
        if args.part in ("all", "ingest"):
            on = measure_ingest(workdir, "redaction", redaction, pb, js, args)
            off = measure_ingest(workdir, "plain", [], pb, js, args)
            results["redaction_on"], results["redaction_off"] = on, off
            results["http_ratio_of_ceiling_redaction_on"] = on["http"] / ceiling
            results["http_ratio_of_ceiling_redaction_off"] = off["http"] / ceiling
        if args.part in ("all", "pipeline"):
            names = args.pipelines.split(",")
            unknown = sorted(set(names) - set(PIPELINES))
            if unknown:
                parser.error(f"unknown pipelines {unknown}; choose from {list(PIPELINES)}")
            results["pipeline_http"] = {}
            for run in range(1, args.repeat + 1):
                for name in names:
                    result = measure_ingest(
                        workdir, f"{name}-{run}", PIPELINES[name], pb, js, args, ("http",)
                    )
                    if args.repeat > 1:  # the host's speed drifts over a long series
                        result["parse_ceiling_spans_per_s"] = parse_rate(pb)
                    results["pipeline_http"][f"{name}#{run}" if args.repeat > 1 else name] = result
        if args.part in ("all", "memory"):
            sustainable = results.get("redaction_off", {}).get("http", args.sustainable)
            results["memory_overload_plain"] = measure_memory(
                workdir, "overload-plain", [], pb, sustainable, args
            )
            print(f"memory: {results['memory_overload_plain']}", flush=True)
    # After the collectors: in runs that measured these first, the collector measured next
    # was 15-20 % slower than the same collector measured on its own.
    if args.part in ("all", "storage"):
        results["storage"] = measure_storage()
        print(f"storage: {results['storage']}", flush=True)
        results["publisher_spans_per_s"] = publish_rate(pb)
        print(f"publisher: {results['publisher_spans_per_s']:,.0f} spans/s", flush=True)
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main())
