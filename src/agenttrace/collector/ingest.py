"""The request path shared by both receivers: admit, decode, validate, process, log, ack.

Receivers hand raw (decompressed) bytes to :meth:`Ingest.export`; everything after that is
protocol independent, so HTTP and gRPC make the same durability promise: the call returns only
after the request's bytes are fsync'ed in the WAL. When no processor changed the request and no
span was rejected, the original protobuf bytes are logged as received, skipping a re-encode;
processors that can work on those bytes (``process_encoded``) get them too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agenttrace.collector._layout import (
    PROBLEMS,
    RECORD_FIELDS,
    Edits,
    EncodedRequest,
    apply_packed_edits,
)
from agenttrace.collector._pool import IngestPool
from agenttrace.collector.errors import InvalidRequest, Overloaded, ShuttingDown, error_kind
from agenttrace.collector.metrics import CollectorMetrics
from agenttrace.collector.processors._otlp import span_count
from agenttrace.collector.processors.base import STALE, Forwarder, Processor, as_message
from agenttrace.collector.wal import Wal

log = logging.getLogger("agenttrace.collector.ingest")

_ZERO_TRACE_ID = bytes(16)
_ZERO_SPAN_ID = bytes(8)
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class ExportResult:
    rejected_spans: int = 0
    message: str = ""


@dataclass
class Admission:
    """Back-pressure state, refreshed by the collector's monitor task."""

    wal_max_bytes: int
    memory_limit_bytes: int
    max_inflight_bytes: int
    retry_after_s: float
    wal_bytes: int = 0
    rss_bytes: int = 0
    inflight_bytes: int = 0
    shutting_down: bool = False

    def check(self) -> None:
        if self.shutting_down:
            raise ShuttingDown("the collector is shutting down; retry against another instance")
        if self.wal_bytes >= self.wal_max_bytes:
            raise Overloaded(
                f"write-ahead log is full ({self.wal_bytes} bytes unpublished); the store may be unreachable",
                self.retry_after_s,
            )
        # Leave head-room: past 90% of the bound new requests are refused so that the ones
        # in flight can finish without crossing it.
        if self.rss_bytes >= self.memory_limit_bytes * 0.9:
            raise Overloaded("collector memory bound reached", self.retry_after_s)

    @contextlib.contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Count ``nbytes`` of request body as in flight; refuse beyond the bound."""
        self.check()
        if self.inflight_bytes and self.inflight_bytes + nbytes > self.max_inflight_bytes:
            raise Overloaded("too many request bytes in flight", self.retry_after_s)
        self.inflight_bytes += nbytes
        try:
            yield
        finally:
            self.inflight_bytes -= nbytes


def read_rss_bytes(*pids: int | None) -> int:
    """Resident memory of this process plus ``pids`` (the publisher), in bytes."""
    total = 0
    for pid in ("self", *(p for p in pids if p is not None)):
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * _PAGE_SIZE
        except (OSError, ValueError, IndexError):  # the child just exited
            continue
    return total


_INT64_LIMIT = 1 << 63


def reject_invalid_spans(request: Any) -> tuple[int, str]:
    """Remove spans whose ids are malformed; returns (count, message naming the first)."""
    rejected, first = 0, ""
    for r, rs in enumerate(request.resource_spans):
        for s, ss in enumerate(rs.scope_spans):
            spans = ss.spans
            bad: list[int] = []
            for i, span in enumerate(spans):
                problem = _span_problem(span)
                if problem:
                    bad.append(i)
                    if not first:
                        first = f"resource_spans[{r}].scope_spans[{s}].spans[{i}]: {problem}"
            for i in reversed(bad):
                del spans[i]
            rejected += len(bad)
    if not rejected:
        return 0, ""
    more = f" (and {rejected - 1} more)" if rejected > 1 else ""
    return rejected, f"{rejected} span(s) rejected; {first}{more}"


def _span_problem(span: Any) -> str:
    trace_id, span_id, parent_span_id = span.trace_id, span.span_id, span.parent_span_id
    if len(trace_id) != 16 or trace_id == _ZERO_TRACE_ID:
        return f"trace_id must be 16 non-zero bytes, got {len(trace_id)} bytes"
    if len(span_id) != 8 or span_id == _ZERO_SPAN_ID:
        return f"span_id must be 8 non-zero bytes, got {len(span_id)} bytes"
    if parent_span_id and len(parent_span_id) != 8:
        return f"parent_span_id must be empty or 8 bytes, got {len(parent_span_id)} bytes"
    # The store keeps times as int64; a later value would make the whole segment unpublishable.
    if span.start_time_unix_nano >= _INT64_LIMIT or span.end_time_unix_nano >= _INT64_LIMIT:
        return "start_time_unix_nano and end_time_unix_nano must be below 2^63"
    return ""


def run_processors(
    processors: Sequence[Processor], request: Any, encoded: EncodedRequest | None
) -> tuple[Any, EncodedRequest | None]:
    """Run ``processors`` in order; returns the request (``None``: dropped; :data:`STALE`: see
    the returned bytes) and, unless a processor left the bytes behind, the request's bytes."""
    for processor in processors:
        process_encoded = getattr(processor, "process_encoded", None)
        handles_stale = process_encoded is not None and getattr(processor, "handles_stale", False)
        if request is STALE and not handles_stale:
            request = as_message(request, encoded)
        if process_encoded is not None and encoded is not None and not handles_stale:
            encoded = encoded.complete()  # the pending fields are spliced in for it
        if process_encoded is not None:
            if encoded is None:
                encoded = EncodedRequest(request.SerializeToString())
            request, encoded = process_encoded(request, encoded)
        else:
            request = processor.process(request)
            if getattr(processor, "mutates", True):
                encoded = None
        if request is None:
            return None, None
    return request, encoded


def reject_invalid(request: Any, encoded: EncodedRequest | None) -> tuple[int, str]:
    """:func:`reject_invalid_spans`, skipped when the layout shows every span is valid."""
    if encoded is not None:
        try:
            records = encoded.layout.records
        except ValueError:  # bytes the runtime accepted but the layout reader does not
            pass
        else:
            if not any(records[PROBLEMS::RECORD_FIELDS]):
                return 0, ""
    return reject_invalid_spans(request)


def decode(body: bytes, fmt: str) -> Any:
    if fmt == "json":
        from agenttrace.otlp_json import OtlpJsonError, decode_request

        try:
            return decode_request(body)
        except OtlpJsonError as err:
            raise InvalidRequest(f"invalid OTLP/JSON: {err}") from None
    from google.protobuf.message import DecodeError

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as err:
        raise InvalidRequest(
            f"body is not a valid ExportTraceServiceRequest protobuf: {err}"
        ) from None
    return request


@dataclass(frozen=True)
class Prepared:
    payload: bytes | None  # None: nothing left to store
    request: Any  # None when only ``payload`` is current (parse it if needed)
    spans: int  # in the decoded request
    kept: int
    result: ExportResult
    edits: Edits | None = None  # when set, ``payload`` is the body with these edits


def prepare_request(body: bytes, fmt: str, processors: Sequence[Processor]) -> Prepared:
    """Decode, check the span ids and run the processors: the CPU work of one request, done on
    the ingest thread or in a worker process."""
    request = decode(body, fmt)
    spans = span_count(request)
    encoded = EncodedRequest(body) if fmt == "protobuf" else None
    rejected, message = reject_invalid(request, encoded)
    if rejected:
        encoded = None
    processed, encoded = run_processors(processors, request, encoded)
    if processed is STALE:
        assert encoded is not None
        processed, kept = None, encoded.spans
    else:
        kept = span_count(processed) if processed is not None else 0
    result = ExportResult(rejected, message)
    if not kept:
        return Prepared(None, None, spans, 0, result)
    if encoded is None:
        return Prepared(processed.SerializeToString(), processed, spans, kept, result)
    encoded = encoded.complete()
    # Bytes no processor changed are logged as received, skipping a re-encode.
    edits = encoded.edits_of[1] if encoded.edits_of and encoded.edits_of[0] is body else None
    return Prepared(encoded.data, processed, spans, kept, result, edits)


class Ingest:
    """Decoding and processors run on one dedicated thread, so they never run concurrently
    and the event loop keeps accepting and reading bodies meanwhile; or, with a ``pool``
    (``receivers.workers`` > 1), in its worker processes, each with its own processors."""

    def __init__(
        self,
        wal: Wal,
        processors: Sequence[Processor],
        forwarders: Sequence[Forwarder],
        admission: Admission,
        metrics: CollectorMetrics,
        pool: IngestPool | None = None,
    ) -> None:
        self.wal = wal
        self.processors = list(processors)
        self.forwarders = list(forwarders)
        self.admission = admission
        self.metrics = metrics
        self.pool = pool
        self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agenttrace-ingest")

    async def export(self, body: bytes, fmt: str, protocol: str) -> ExportResult:
        """Make the request durable; raise a CollectorError to refuse it."""
        self.admission.check()
        if self.pool is not None:
            prepared = await self._prepare_pooled(body, fmt, protocol)
        else:
            loop = asyncio.get_running_loop()
            prepared = await loop.run_in_executor(self._cpu, self._prepare, body, fmt, protocol)
        await self._commit(prepared, protocol)
        return prepared.result

    async def _prepare_pooled(self, body: bytes, fmt: str, protocol: str) -> Prepared:
        """:func:`prepare_request` in a worker process; the counts come back and are reported
        here."""
        assert self.pool is not None
        outcome = await self.pool.prepare(body, fmt)
        self._count(protocol, outcome.spans, outcome.rejected, outcome.kept)
        result = ExportResult(outcome.rejected, outcome.message)
        if outcome.edits is not None:
            payload: bytes | None = apply_packed_edits(body, outcome.edits)
        else:
            payload = body if outcome.unchanged else outcome.payload
        if payload is None:
            return Prepared(None, None, outcome.spans, 0, result)
        return Prepared(payload, None, outcome.spans, outcome.kept, result)

    async def _commit(self, prepared: Prepared, protocol: str) -> None:
        """Append to the WAL (returns once fsync'ed), then hand to forwarders."""
        if prepared.payload is None:
            return
        try:
            await self.wal.append(prepared.payload)
        except Exception as err:
            self.metrics.spans_refused.labels(error_kind(err)).inc(prepared.kept)
            raise
        self.metrics.spans_accepted.labels(protocol).inc(prepared.kept)
        request = prepared.request
        if request is None and self.forwarders:  # forwarders take messages
            request = ExportTraceServiceRequest.FromString(prepared.payload)
        for forwarder in self.forwarders:
            try:
                forwarder.submit(request)
            except Exception:  # a forwarder must never fail an acknowledged request
                log.exception("forwarder failed", extra={"forwarder": forwarder.name})
                self.metrics.errors.labels("ForwarderError").inc()

    async def flush_held(self, final: bool = False) -> None:
        """Store spans that processors held back (tail sampling) and have now released.

        A processor may offer ``flush_due()`` (polled about once a second) and ``flush_all()``
        (at shutdown); what they return continues through the processors after it.
        """
        loop = asyncio.get_running_loop()
        for index, processor in enumerate(self.processors):
            flush = getattr(processor, "flush_all" if final else "flush_due", None)
            if flush is None:
                continue
            prepared = await loop.run_in_executor(self._cpu, self._prepare_held, index, flush)
            await self._commit(prepared, "held")

    def _prepare_held(self, index: int, flush: Callable[[], Any]) -> Prepared:
        released = flush()
        encoded = None
        if released is not None:
            released, encoded = self._process(released, None, start=index + 1)
            released = as_message(released, encoded)
        if released is None or not (kept := span_count(released)):
            return Prepared(None, None, 0, 0, ExportResult())
        payload = encoded.complete().data if encoded is not None else released.SerializeToString()
        return Prepared(payload, released, kept, kept, ExportResult())

    def _prepare(self, body: bytes, fmt: str, protocol: str) -> Prepared:
        """:func:`prepare_request` on the ingest thread."""
        prepared = prepare_request(body, fmt, self.processors)
        self._count(protocol, prepared.spans, prepared.result.rejected_spans, prepared.kept)
        return prepared

    def _count(self, protocol: str, spans: int, rejected: int, kept: int) -> None:
        self.metrics.spans_received.labels(protocol).inc(spans)
        if rejected:
            self.metrics.spans_refused.labels("invalid_span").inc(rejected)
        self.metrics.spans_dropped.inc(spans - rejected - kept)

    def _process(
        self, request: Any, encoded: EncodedRequest | None, start: int = 0
    ) -> tuple[Any, EncodedRequest | None]:
        return run_processors(self.processors[start:], request, encoded)

    def shutdown(self) -> None:
        self._cpu.shutdown(wait=True)
        if self.pool is not None:
            self.pool.shutdown()
        components: list[Processor | Forwarder] = [*self.processors, *self.forwarders]
        for component in components:
            try:
                component.shutdown()
            except Exception:
                log.exception("shutdown failed", extra={"component": component.name})
