"""Where imported traces go: a store, an OTLP-JSON Lines file, or a collector endpoint."""

from __future__ import annotations

import hashlib
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agenttrace.importers._base import ImportUnit
from agenttrace.importers._io import ImporterError

# A store batch ends after a session whose key hashes to 0 mod this (content-defined
# chunking), and its object name derives from the batch's input (session keys and file
# sizes), not from the converted spans. So re-importing unchanged sessions writes nothing,
# even after an agenttrace upgrade or a price-table change, and a new or grown session only
# rewrites its own batch.
STORE_CHUNK_MODULUS = 16
STORE_MAX_BATCH_SPANS = 200_000
STORE_MAX_SEGMENT = 10**12 - 1  # object names carry the segment as 12 digits


class Sink(ABC):
    """Receives each session's requests in order; ``close`` flushes what is buffered."""

    @abstractmethod
    def write(self, unit: ImportUnit, requests: list[ExportTraceServiceRequest]) -> None: ...

    def close(self) -> None:  # noqa: B027 - most sinks have nothing to flush
        """Flush and release resources."""


class StoreSink(Sink):
    """Writes through :func:`agenttrace.store.writer.write_requests` (the collector's layout),
    naming each batch's objects after the input it came from (see the chunking note above)."""

    def __init__(self, store_url: str, source: str) -> None:
        from agenttrace.store import open_store

        self._store = open_store(store_url)
        self._writer_id = f"import-{source}"
        self._batch: list[ExportTraceServiceRequest] = []
        self._spans = 0
        self._identity = hashlib.blake2b(digest_size=8)
        self.objects_written: list[str] = []
        # One batch is encoded and uploaded in the background while the next is converted;
        # Parquet encoding and compression release the GIL, so the two overlap.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-store")
        self._pending: Future[list[str]] | None = None

    def write(self, unit: ImportUnit, requests: list[ExportTraceServiceRequest]) -> None:
        self._batch.extend(requests)
        self._spans += sum(_span_count(request) for request in requests)
        sizes = ",".join(str(path.stat().st_size) for path in unit.files)
        self._identity.update(f"{unit.key}\x1f{sizes}\x1e".encode())
        digest = hashlib.blake2b(unit.key.encode(), digest_size=8).digest()
        boundary = int.from_bytes(digest, "big") % STORE_CHUNK_MODULUS == 0
        if boundary or self._spans >= STORE_MAX_BATCH_SPANS:
            self._flush()

    def close(self) -> None:
        try:
            self._flush()
            self._wait()
        finally:
            self._executor.shutdown(wait=True)

    def _flush(self) -> None:
        if not self._batch:
            return
        from agenttrace.store.writer import write_requests

        self._wait()  # at most one batch in flight bounds memory
        segment = int.from_bytes(self._identity.digest(), "big") % (STORE_MAX_SEGMENT + 1)
        self._pending = self._executor.submit(
            write_requests, self._store, self._batch, writer_id=self._writer_id, segment=segment
        )
        self._batch = []
        self._spans = 0
        self._identity = hashlib.blake2b(digest_size=8)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.objects_written.extend(pending.result())


class JsonLinesSink(Sink):
    """OTLP-JSON Lines: one ``ExportTraceServiceRequest`` per line (``-`` is stdout)."""

    def __init__(self, path: Path, stream: BinaryIO | None = None) -> None:
        self._handle = stream if stream is not None else path.open("wb")
        self._owned = stream is None

    def write(self, unit: ImportUnit, requests: list[ExportTraceServiceRequest]) -> None:
        from agenttrace.otlp_json import encode_request

        for request in requests:
            self._handle.write(encode_request(request) + b"\n")

    def close(self) -> None:
        self._handle.flush()
        if self._owned:
            self._handle.close()


class EndpointSink(Sink):
    """POSTs OTLP/HTTP protobuf to ``<endpoint>/v1/traces``, retrying 429, 502, 503 and 504."""

    RETRY_STATUSES = frozenset({429, 502, 503, 504})
    # Collectors cap request bodies (agenttrace's default is 16 MiB); a long session is sent
    # in several requests below this size instead of being rejected with 413.
    MAX_BODY_BYTES = 4 << 20

    def __init__(
        self,
        endpoint: str,
        *,
        attempts: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 30.0,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        base = endpoint.rstrip("/")
        self.url = base if base.endswith("/v1/traces") else base + "/v1/traces"
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._max_body_bytes = max_body_bytes

    def write(self, unit: ImportUnit, requests: list[ExportTraceServiceRequest]) -> None:
        for request in requests:
            for part in split_request(request, self._max_body_bytes):
                self._post(part.SerializeToString())

    def _post(self, body: bytes) -> None:
        delay = self._backoff_s
        for attempt in range(1, self._attempts + 1):
            http_request = urllib.request.Request(
                self.url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/x-protobuf"},
            )
            try:
                with urllib.request.urlopen(http_request, timeout=self._timeout_s) as response:
                    response.read()
                return
            except urllib.error.HTTPError as exc:
                exc.close()  # the error carries the open response
                if exc.code not in self.RETRY_STATUSES or attempt == self._attempts:
                    raise ImporterError(
                        f"{self.url}: HTTP {exc.code} {exc.reason} after {attempt} attempt(s)"
                    ) from None
                delay = _retry_after(exc, delay)
            except urllib.error.URLError as exc:
                if attempt == self._attempts:
                    raise ImporterError(f"{self.url}: {exc.reason}") from None
            time.sleep(delay)
            delay *= 2


def split_request(
    request: ExportTraceServiceRequest, max_bytes: int
) -> list[ExportTraceServiceRequest]:
    """``request`` as requests of at most about ``max_bytes`` each, spans kept in order with
    their resource and scope. A single span larger than the limit travels alone."""
    if request.ByteSize() <= max_bytes:
        return [request]
    parts: list[ExportTraceServiceRequest] = []
    current, size = ExportTraceServiceRequest(), 0
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            # Each part repeats the resource and scope; tags and lengths are a few bytes more.
            overhead = resource_spans.resource.ByteSize() + scope_spans.scope.ByteSize() + 64
            target = None
            for span in scope_spans.spans:
                span_size = span.ByteSize() + 8
                if size and size + span_size + (overhead if target is None else 0) > max_bytes:
                    parts.append(current)
                    current, size, target = ExportTraceServiceRequest(), 0, None
                if target is None:
                    size += overhead
                    new_resource = current.resource_spans.add()
                    new_resource.resource.CopyFrom(resource_spans.resource)
                    new_resource.schema_url = resource_spans.schema_url
                    target = new_resource.scope_spans.add()
                    target.scope.CopyFrom(scope_spans.scope)
                    target.schema_url = scope_spans.schema_url
                target.spans.append(span)
                size += span_size
    if size:
        parts.append(current)
    return parts


def _retry_after(exc: urllib.error.HTTPError, default: float) -> float:
    header = exc.headers.get("Retry-After") if exc.headers else None
    try:
        return min(float(header), 30.0) if header else default
    except ValueError:
        return default


def _span_count(request: ExportTraceServiceRequest) -> int:
    return sum(
        len(scope_spans.spans)
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
    )
