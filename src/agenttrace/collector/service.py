"""The collector service: wires config, WAL, receivers and publisher, and runs the lifecycle.

Lifecycle: ``start()`` recovers the WAL (torn tails truncated, leftover segments sealed for
publishing), starts the publisher, then opens the receivers. ``shutdown()`` (SIGTERM/SIGINT)
answers new requests with 503/UNAVAILABLE, waits for requests in flight to become durable,
seals the active segment, lets the publisher drain every sealed segment to the store, and
returns within ``limits.shutdown_deadline_s``. Anything not published by then stays in the WAL
and is published at the next start, so a missed deadline delays data but never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import json
import logging
import os
import pkgutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import grpc
from aiohttp import web

from agenttrace.collector._pool import IngestPool, PooledProcessorView, ProcessorEntry
from agenttrace.collector.auth import BearerAuth
from agenttrace.collector.config import CollectorConfig
from agenttrace.collector.errors import ConfigError
from agenttrace.collector.grpc_receiver import GrpcReceiver
from agenttrace.collector.http_receiver import HttpReceiver, make_runner
from agenttrace.collector.ingest import Admission, Ingest, read_rss_bytes
from agenttrace.collector.metrics import CollectorMetrics
from agenttrace.collector.processors._screen import share_scans
from agenttrace.collector.processors.base import Forwarder, Processor, build_processor
from agenttrace.collector.publisher import PublisherSettings, SegmentPublisher
from agenttrace.collector.wal import Wal

log = logging.getLogger("agenttrace.collector")

MONITOR_INTERVAL_S = 0.2
HELD_FLUSH_INTERVAL_S = 1.0


def load_processor_plugins() -> None:
    """Import every public module of ``agenttrace.collector.processors`` so each registers."""
    package = importlib.import_module("agenttrace.collector.processors")
    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_") and module.name != "base":
            importlib.import_module(f"{package.__name__}.{module.name}")


@dataclass
class Pipeline:
    """The processors and forwarders built from the config's ``processors:`` list."""

    processors: list[Processor]
    forwarders: list[Forwarder]
    processor_entries: list[ProcessorEntry]  # how to build each processor again (workers)

    def pool(self, workers: int) -> IngestPool | None:
        """The ingest workers, if more than one is configured and the processors allow it."""
        if workers <= 1:
            return None
        stateful = [p.name for p in self.processors if getattr(p, "stateful", False)]
        if stateful:
            raise ConfigError(
                "receivers.workers",
                f"must be 1 while processor {stateful[0]!r} keeps spans across requests"
                " (tail sampling)",
            )
        return IngestPool(workers, self.processor_entries)


def build_pipeline(config: CollectorConfig) -> Pipeline:
    load_processor_plugins()
    pipeline = Pipeline([], [], [])
    for index, entry in enumerate(config.processors):
        options = {k: v for k, v in entry.items() if k not in ("type", "name")}
        name = str(entry.get("name", entry["type"]))
        spec = (entry["type"], name, options, f"processors[{index}]")
        built = build_processor(*spec)
        if isinstance(built, Forwarder) and not isinstance(built, Processor):
            pipeline.forwarders.append(built)
        else:
            pipeline.processors.append(built)
            pipeline.processor_entries.append(spec)
    share_scans(pipeline.processors)
    return pipeline


@dataclass(frozen=True)
class Endpoints:
    http: str | None
    grpc: str | None


class _PublisherHandle:
    """The publisher loop, in a child process or a thread, plus its event stream to metrics."""

    def __init__(self, settings: PublisherSettings, mode: str, metrics: CollectorMetrics) -> None:
        self.settings = settings
        self.mode = mode
        self.metrics = metrics
        self.drain_flag = threading.Event()
        self.stop_flag = threading.Event()
        self._process: subprocess.Popen[str] | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self.mode == "thread":
            publisher = SegmentPublisher(self.settings, self.metrics.apply_publisher_event)
            worker = threading.Thread(
                target=publisher.run,
                args=(self.stop_flag, self.drain_flag),
                name="agenttrace-publisher",
                daemon=True,
            )
        else:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "agenttrace.collector.publisher",
                    json.dumps(dataclasses.asdict(self.settings)),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                # The system allocator hands freed Arrow buffers back to the OS at once, so the
                # publisher's memory falls back after each chunk (jemalloc would keep it).
                env={"ARROW_DEFAULT_MEMORY_POOL": "system", **os.environ},
            )
            worker = threading.Thread(target=self._read_events, daemon=True)
        worker.start()
        self._threads.append(worker)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def alive(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        return all(t.is_alive() for t in self._threads)

    def _read_events(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        for line in self._process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.metrics.apply_publisher_event(event)

    def _command(self, command: str) -> None:
        if self._process is None or self._process.stdin is None:
            return
        with contextlib.suppress(OSError):
            self._process.stdin.write(command + "\n")
            self._process.stdin.flush()

    def _join(self, timeout: float) -> None:
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(max(timeout, 0.0))
        for thread in self._threads:
            thread.join(max(timeout, 0.0))

    async def drain(self, timeout: float) -> bool:
        """Publish everything sealed, then stop; False if ``timeout`` ran out first."""
        self.drain_flag.set()
        self._command("drain")
        await asyncio.to_thread(self._join, timeout)
        drained = not self.alive()
        self.stop_flag.set()
        self._command("stop")
        await asyncio.to_thread(self._join, 5.0)
        if self._process is not None and self._process.poll() is None:
            self._process.kill()  # mid-publish is safe: create-only names, WAL kept
            await asyncio.to_thread(self._join, 5.0)
        return drained


class Collector:
    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.metrics = CollectorMetrics()
        limits = config.limits
        self.admission = Admission(
            wal_max_bytes=config.wal.max_bytes,
            memory_limit_bytes=limits.memory_limit_bytes,
            max_inflight_bytes=limits.max_inflight_bytes,
            retry_after_s=limits.retry_after_s,
        )
        self.wal: Wal | None = None
        self.ingest: Ingest | None = None
        self.endpoints = Endpoints(None, None)
        self._publishers: list[_PublisherHandle] = []
        self._http_runner: web.AppRunner | None = None
        self._grpc_server: grpc.aio.Server | None = None
        self._monitor: asyncio.Task[None] | None = None
        self._started = False
        self._seen_fsyncs = self._seen_written = 0
        self._stopped = asyncio.Event()

    @property
    def ready(self) -> bool:
        wal_ok = self.wal is not None and self.wal.broken is None
        publisher_ok = bool(self._publishers) and all(p.alive() for p in self._publishers)
        return self._started and not self.admission.shutting_down and wal_ok and publisher_ok

    async def start(self) -> Endpoints:
        from agenttrace.store.objectstore import open_store

        config = self.config
        # Fail fast on a malformed store URL; reachability is the publisher's concern.
        open_store(config.store.url, options=_string_options(config.store.options))
        pipeline = build_pipeline(config)
        pool = pipeline.pool(config.receivers.workers)
        watched: list[Any] = [*pipeline.processors, *pipeline.forwarders]
        if pool is not None:
            views = [
                PooledProcessorView(p.name, pool, i) for i, p in enumerate(pipeline.processors)
            ]
            watched = [*views, *pipeline.forwarders]
        self.metrics.watch_processors(watched)
        self.wal = await asyncio.to_thread(
            Wal.open, config.wal.dir, config.wal.segment_max_bytes, config.wal.roll_interval_s
        )
        self.ingest = Ingest(
            self.wal, pipeline.processors, pipeline.forwarders, self.admission, self.metrics, pool
        )
        auth = BearerAuth(config.auth.tokens)
        # Receivers first: a port in use then fails before any child process exists.
        self.endpoints = Endpoints(await self._start_http(auth), await self._start_grpc(auth))
        if pool is not None:
            await pool.start()
        self._start_publishers()
        self._refresh_gauges()
        self._monitor = asyncio.create_task(self._monitor_loop())
        self._started = True
        log.info(
            "collector started",
            extra={
                "http": self.endpoints.http,
                "grpc": self.endpoints.grpc,
                "store": config.store.url,
                "wal_dir": config.wal.dir,
                "writer_id": self.wal.writer_id,
            },
        )
        return self.endpoints

    def _start_publishers(self) -> None:
        assert self.wal is not None
        config = self.config
        for shard in range(config.wal.publishers):
            settings = PublisherSettings(
                segments_dir=str(self.wal.segments_dir),
                store_url=config.store.url,
                store_options=_string_options(config.store.options),
                writer_id=self.wal.writer_id,
                log_level=config.telemetry.log_level,
                shard=shard,
                shards=config.wal.publishers,
            )
            handle = _PublisherHandle(settings, config.wal.publisher, self.metrics)
            handle.start()
            self._publishers.append(handle)

    def _ssl_context(self) -> ssl.SSLContext | None:
        receivers = self.config.receivers
        if receivers.tls_cert_file is None or receivers.tls_key_file is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(receivers.tls_cert_file, receivers.tls_key_file)
        return context

    async def _start_http(self, auth: BearerAuth) -> str | None:
        receivers = self.config.receivers
        if receivers.http_port < 0:
            return None
        assert self.ingest is not None
        receiver = HttpReceiver(
            self.ingest, auth, self.metrics, receivers.max_request_bytes, lambda: self.ready
        )
        self._http_runner = make_runner(receiver.app())
        await self._http_runner.setup()
        context = self._ssl_context()
        site = web.TCPSite(
            self._http_runner, receivers.host, receivers.http_port, ssl_context=context
        )
        await site.start()
        port = self._http_runner.addresses[0][1]
        scheme = "https" if context else "http"
        return f"{scheme}://{_host_for_url(receivers.host)}:{port}"

    async def _start_grpc(self, auth: BearerAuth) -> str | None:
        receivers = self.config.receivers
        if receivers.grpc_port < 0:
            return None
        assert self.ingest is not None
        limit = receivers.max_request_bytes
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", 4 * 1024 * 1024),
            ]
        )
        server.add_generic_rpc_handlers((GrpcReceiver(self.ingest, auth, self.metrics).handler(),))
        address = f"{receivers.host}:{receivers.grpc_port}"
        if receivers.tls_cert_file and receivers.tls_key_file:
            credentials = _grpc_credentials(receivers.tls_cert_file, receivers.tls_key_file)
            port = server.add_secure_port(address, credentials)
        else:
            port = server.add_insecure_port(address)
        await server.start()
        self._grpc_server = server
        return f"{_host_for_url(receivers.host)}:{port}"

    def _refresh_gauges(self) -> None:
        assert self.wal is not None
        size, oldest = self.wal.disk_usage()
        self.admission.wal_bytes = size
        # The memory bound covers the whole service: receivers, ingest workers, publishers.
        workers = self.ingest.pool.pids() if self.ingest and self.ingest.pool else []
        self.admission.rss_bytes = read_rss_bytes(*(p.pid for p in self._publishers), *workers)
        self.metrics.wal_size.set(size)
        self.metrics.wal_age.set(0 if oldest is None else max(0.0, time.time() - oldest))
        self.metrics.inflight_bytes.set(self.admission.inflight_bytes)
        # The WAL keeps plain counters (it runs in a thread); publish their growth.
        fsyncs, written = self.wal.fsyncs, self.wal.bytes_written
        self.metrics.wal_fsyncs.inc(fsyncs - self._seen_fsyncs)
        self.metrics.wal_bytes_written.inc(written - self._seen_written)
        self._seen_fsyncs, self._seen_written = fsyncs, written

    async def _monitor_loop(self) -> None:
        """Refresh back-pressure inputs and roll the WAL on time."""
        assert self.wal is not None
        assert self.ingest is not None
        last_flush = time.monotonic()
        while True:
            await asyncio.sleep(MONITOR_INTERVAL_S)
            try:
                if time.monotonic() - last_flush >= HELD_FLUSH_INTERVAL_S:
                    last_flush = time.monotonic()
                    await self.ingest.flush_held()
                await self.wal.roll_if_due()
                await asyncio.to_thread(self._refresh_gauges)
                self._restart_publisher_if_dead()
            except Exception:
                log.exception("collector monitor failed")
                self.metrics.errors.labels("Monitor").inc()

    def _restart_publisher_if_dead(self) -> None:
        for index, publisher in enumerate(self._publishers):
            if publisher.alive() or self.admission.shutting_down:
                continue
            # Publishing is idempotent: a fresh publisher resumes from the sealed segments.
            log.error("publisher exited unexpectedly; restarting it")
            self.metrics.errors.labels("PublisherExited").inc()
            fresh = _PublisherHandle(publisher.settings, publisher.mode, self.metrics)
            fresh.start()
            self._publishers[index] = fresh

    async def shutdown(self) -> bool:
        """Graceful stop within the deadline; returns True if everything was published."""
        if self.admission.shutting_down:
            await self._stopped.wait()
            return True
        self.admission.shutting_down = True
        deadline = time.monotonic() + self.config.limits.shutdown_deadline_s
        log.info("shutting down: refusing new requests, draining")
        # Requests already past admission finish and are acknowledged.
        for _ in range(int(self.config.limits.shutdown_deadline_s / 2 / 0.02)):
            if not self.admission.inflight_bytes:
                break
            await asyncio.sleep(0.02)
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        drained = False
        if self.ingest is not None and self.wal is not None and self.wal.broken is None:
            try:
                await self.ingest.flush_held(final=True)
            except Exception:
                log.exception("could not store spans held by processors at shutdown")
        if self.wal is not None:
            await self.wal.close()
        if self._publishers:
            remaining = deadline - time.monotonic() - 0.5
            results = await asyncio.gather(*(p.drain(remaining) for p in self._publishers))
            drained = all(results)
        if self._grpc_server is not None:
            await self._grpc_server.stop(0.2)
        if self._http_runner is not None:
            await self._http_runner.cleanup()
        if self.ingest is not None:
            self.ingest.shutdown()
        log.info("collector stopped", extra={"fully_published": drained})
        self._stopped.set()
        return drained

    async def serve_forever(self) -> None:
        """Start, then run until SIGTERM or SIGINT, then shut down gracefully."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        await stop.wait()
        # Shutdown has a deadline of its own; a repeated SIGTERM (supervisors resend it) must not
        # kill the drain half-way, nor the interpreter's exit after the loop restores SIG_DFL.
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        await self.shutdown()


def _grpc_credentials(cert_file: str, key_file: str) -> grpc.ServerCredentials:
    with open(key_file, "rb") as key, open(cert_file, "rb") as cert:
        return grpc.ssl_server_credentials(((key.read(), cert.read()),))


def _string_options(options: dict[str, Any]) -> dict[str, str]:
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in options.items()}


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host
