"""``agenttrace.init``: a TracerProvider with OTLP (or JSON Lines) export, for apps without one.

Applications that configure OpenTelemetry themselves need none of this: agenttrace writes to the
global provider. Exporter modules are imported here, lazily, so ``import agenttrace`` stays cheap
(and never imports grpc unless the grpc protocol is chosen).
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from agenttrace.sdk._config import configure
from agenttrace.sdk._errors import logger
from agenttrace.sdk._tracer import provider as current_provider
from agenttrace.sdk._tracer import set_provider_override

__all__ = ["InitError", "flush", "init", "shutdown"]

PROTOCOLS = ("grpc", "http/protobuf", "http/json")
_DEFAULT_GRPC = "http://localhost:4317"
_DEFAULT_HTTP = "http://localhost:4318"

_lock = threading.Lock()
_installed: TracerProvider | None = None


class InitError(ValueError):
    """``agenttrace.init`` was given a setting it cannot use; the message names it."""


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value.strip()
    return None


def _parse_headers(raw: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise InitError(f"OTEL_EXPORTER_OTLP_HEADERS item {key.strip()!r} has no '='")
        headers[urllib.parse.unquote(key.strip()).lower()] = urllib.parse.unquote(value.strip())
    return headers


def _traces_url(endpoint: str, explicit_traces_url: bool) -> str:
    if explicit_traces_url:
        return endpoint
    return endpoint.rstrip("/") + "/v1/traces"


def _otlp_exporter(
    endpoint: str | None, protocol: str, headers: Mapping[str, str] | None
) -> SpanExporter:
    traces_endpoint = _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    base_endpoint = _env("OTEL_EXPORTER_OTLP_ENDPOINT")
    env_headers = _env("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
    merged_headers = {**(_parse_headers(env_headers) if env_headers else {}), **(headers or {})}
    timeout_raw = _env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
    timeout_s = float(timeout_raw) / 1000 if timeout_raw else 10.0
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        url = endpoint or traces_endpoint or base_endpoint or _DEFAULT_GRPC
        parsed = urllib.parse.urlparse(url if "://" in url else f"http://{url}")
        return OTLPSpanExporter(
            endpoint=parsed.netloc,
            insecure=parsed.scheme != "https",
            headers=merged_headers or None,
            timeout=timeout_s,
        )
    if endpoint is not None:
        url = _traces_url(endpoint, urllib.parse.urlparse(endpoint).path not in ("", "/"))
    elif traces_endpoint is not None:
        url = traces_endpoint
    else:
        url = _traces_url(base_endpoint or _DEFAULT_HTTP, False)
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HTTPSpanExporter,
        )

        return HTTPSpanExporter(endpoint=url, headers=merged_headers or None, timeout=timeout_s)
    from agenttrace.sdk._exporters import OTLPJsonHttpSpanExporter

    return OTLPJsonHttpSpanExporter(url, merged_headers, timeout_s)


def init(
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    capture_content: bool | None = None,
    redact: bool = False,
    max_content_bytes: int | None = None,
    sample_ratio: float | None = None,
    jsonl_path: str | os.PathLike[str] | None = None,
    *,
    resource_attributes: Mapping[str, Any] | None = None,
    set_global: bool = True,
) -> TracerProvider:
    """Build a TracerProvider with OTLP export and send agenttrace spans to it.

    - ``endpoint``: for HTTP a base URL (``/v1/traces`` is appended) or a full traces URL; for
      gRPC ``host:port`` or a URL. Defaults come from ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` /
      ``OTEL_EXPORTER_OTLP_ENDPOINT``, else localhost:4317 (gRPC) or :4318 (HTTP).
    - ``protocol``: ``grpc``, ``http/protobuf`` or ``http/json``; default from
      ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` / ``OTEL_EXPORTER_OTLP_PROTOCOL``, else
      ``http/protobuf``.
    - ``headers`` are added to ``OTEL_EXPORTER_OTLP_HEADERS``.
    - ``jsonl_path``: write OTLP/JSON Lines there; without an endpoint (argument or environment)
      that is the only export.
    - ``redact``: run the redaction engine on every span before it is exported.
    - ``sample_ratio``: parent-based trace-id ratio sampling.

    The service name comes from ``service_name``, else ``OTEL_SERVICE_NAME``. The provider
    becomes the global one when none is set yet (``set_global``); a later ``init`` replaces an
    earlier one. Returns the provider.
    """
    global _installed
    chosen = protocol or _env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
    chosen = chosen or "http/protobuf"
    if chosen not in PROTOCOLS:
        raise InitError(f"protocol must be one of {', '.join(PROTOCOLS)}; got {chosen!r}")
    if sample_ratio is not None and not 0.0 <= sample_ratio <= 1.0:
        raise InitError(f"sample_ratio must be between 0 and 1; got {sample_ratio}")
    configure(capture_content=capture_content, max_content_bytes=max_content_bytes)

    attributes: dict[str, Any] = dict(resource_attributes or {})
    if service_name:
        attributes[SERVICE_NAME] = service_name
    sampler = None if sample_ratio is None else ParentBased(TraceIdRatioBased(sample_ratio))
    provider = TracerProvider(resource=Resource.create(attributes), sampler=sampler)

    exporters: list[SpanExporter] = []
    if jsonl_path is not None:
        from agenttrace.sdk._exporters import JsonLinesSpanExporter

        exporters.append(JsonLinesSpanExporter(Path(jsonl_path)))
    has_endpoint = endpoint is not None or _env(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if jsonl_path is None or has_endpoint:
        exporters.append(_otlp_exporter(endpoint, chosen, headers))
    for exporter in exporters:
        if redact:
            from agenttrace.sdk._exporters import RedactingSpanExporter

            exporter = RedactingSpanExporter(exporter)
        provider.add_span_processor(BatchSpanProcessor(exporter))

    with _lock:
        previous, _installed = _installed, provider
        set_provider_override(provider)
        if set_global and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            trace.set_tracer_provider(provider)
    if previous is not None:
        previous.shutdown()
    return provider


def flush(timeout_millis: int = 30_000) -> bool:
    """Export every finished span now; True when all exporters confirmed in time."""
    target = current_provider()
    force_flush = getattr(target, "force_flush", None)
    if force_flush is None:
        return True
    return bool(force_flush(timeout_millis))


def shutdown() -> None:
    """Flush and stop the provider :func:`init` installed (no-op without one)."""
    global _installed
    with _lock:
        installed, _installed = _installed, None
        if installed is not None:
            set_provider_override(None)
    if installed is not None:
        installed.shutdown()
        logger.debug("agenttrace: provider shut down")
