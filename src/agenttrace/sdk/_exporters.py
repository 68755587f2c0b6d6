"""Span exporters the stock OpenTelemetry packages lack: OTLP/HTTP JSON, JSON Lines, redaction."""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link, Status

from agenttrace.otlp_json import encode_request

if TYPE_CHECKING:
    from agenttrace.redaction import Redactor

logger = logging.getLogger("agenttrace")

_RETRYABLE = frozenset({408, 429, 502, 503, 504})


class OTLPJsonHttpSpanExporter(SpanExporter):
    """POSTs each batch as OTLP/JSON (``application/json``) to an OTLP/HTTP traces endpoint."""

    def __init__(
        self,
        endpoint: str,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        max_attempts: int = 4,
    ) -> None:
        self.endpoint = endpoint
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self._timeout = timeout_s
        self._max_attempts = max(max_attempts, 1)
        self._shutdown = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        body = encode_request(encode_spans(spans))
        deadline = time.monotonic() + self._timeout
        for attempt in range(self._max_attempts):
            request = urllib.request.Request(
                self.endpoint, data=body, headers=self._headers, method="POST"
            )
            status: int | None = None
            try:
                remaining = max(deadline - time.monotonic(), 0.1)
                with urllib.request.urlopen(request, timeout=remaining) as response:
                    response.read()
                    return SpanExportResult.SUCCESS
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (urllib.error.URLError, OSError) as exc:
                logger.warning(
                    "agenttrace: OTLP/JSON export to %s failed (%s)",
                    self.endpoint,
                    type(exc).__name__,
                )
            if status is not None and status not in _RETRYABLE:
                logger.warning(
                    "agenttrace: OTLP/JSON export to %s rejected with HTTP %s",
                    self.endpoint,
                    status,
                )
                return SpanExportResult.FAILURE
            backoff = min(0.5 * 2**attempt, max(deadline - time.monotonic(), 0))
            if backoff <= 0 or attempt == self._max_attempts - 1:
                break
            time.sleep(backoff)
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._shutdown = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class JsonLinesSpanExporter(SpanExporter):
    """Appends one OTLP/JSON ``ExportTraceServiceRequest`` per line, like the Collector's file
    exporter, with hex trace and span ids."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("ab")
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        line = encode_request(encode_spans(spans)) + b"\n"
        with self._lock:
            if self._file.closed:
                return SpanExportResult.FAILURE
            self._file.write(line)
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
        return True


class RedactingSpanExporter(SpanExporter):
    """Runs :class:`agenttrace.redaction.Redactor` over every span before the inner exporter.

    It runs in the batch processor's export thread, so agent code never waits for it. Span and
    event names, span, event and link attributes and the status description are redacted, and
    the span gets the ``agenttrace.redaction.*`` summary attributes when anything was found.
    """

    def __init__(self, inner: SpanExporter, redactor: Redactor | None = None) -> None:
        from agenttrace.redaction import Redactor

        self.inner = inner
        self.redactor = redactor if redactor is not None else Redactor()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([self._redact(span) for span in spans])

    def _redact(self, span: ReadableSpan) -> ReadableSpan:
        from agenttrace.redaction import RedactionSummary

        summary = RedactionSummary()
        redact = self.redactor.redact_attributes
        redact_text = self.redactor.redact_text
        name = redact_text(span.name, summary)
        attributes: dict[str, Any] = redact(span.attributes or {}, summary)
        events = [
            Event(
                redact_text(event.name, summary),
                redact(event.attributes or {}, summary),
                event.timestamp,
            )
            for event in span.events
        ]
        links = [Link(link.context, redact(link.attributes or {}, summary)) for link in span.links]
        status = span.status
        if status.description:
            status = Status(status.status_code, redact_text(status.description, summary))
        if summary:
            attributes.update(summary.to_attributes())
        return ReadableSpan(
            name=name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=attributes,
            events=events,
            links=links,
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
