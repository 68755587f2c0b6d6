"""In-memory span capture for tests, with deterministic ids and times for snapshot asserts.

::

    from agenttrace.testing import capture

    def test_tool():
        with capture() as cap:
            my_tool(1)
        assert cap.spans() == [{"name": "execute_tool my_tool", ...}]

or, in a ``conftest.py``, ``from agenttrace.testing import capture_spans`` to get a
``capture_spans`` fixture yielding the same :class:`Capture`.

While a capture is open, agenttrace's decorators, context managers and :class:`AgentHooks`
write to its private TracerProvider (the global provider is left alone). Trace and span ids are
sequential (``...0001``, ``...0002``) and every timestamp is replaced by its rank among the
captured timestamps, so two runs of the same single-threaded code give equal dicts. Exception
stack traces are replaced by ``"<stacktrace>"``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator

from agenttrace.sdk._config import settings
from agenttrace.sdk._tracer import set_provider_override

__all__ = ["Capture", "SequentialIdGenerator", "capture", "span_to_dict"]

_STACKTRACE = "exception.stacktrace"


class SequentialIdGenerator(IdGenerator):
    """Trace and span ids 1, 2, 3, ... (thread-safe)."""

    def __init__(self) -> None:
        self._trace_ids = itertools.count(1)
        self._span_ids = itertools.count(1)

    def generate_trace_id(self) -> int:
        return next(self._trace_ids)

    def generate_span_id(self) -> int:
        return next(self._span_ids)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _attributes(attributes: Any) -> dict[str, Any]:
    return {key: _plain(value) for key, value in (attributes or {}).items()}


def span_to_dict(span: ReadableSpan, clock: dict[int, int] | None = None) -> dict[str, Any]:
    """A finished span as plain data; ``clock`` maps raw timestamps to normalised ones."""

    def when(ns: int | None) -> int | None:
        if ns is None:
            return None
        return clock.get(ns, ns) if clock is not None else ns

    context = span.get_span_context()
    assert context is not None
    events = []
    for event in span.events:
        attributes = _attributes(event.attributes)
        if _STACKTRACE in attributes:
            attributes[_STACKTRACE] = "<stacktrace>"
        events.append({"name": event.name, "time": when(event.timestamp), "attributes": attributes})
    return {
        "name": span.name,
        "kind": span.kind.name.lower(),
        "context": {
            "trace_id": trace.format_trace_id(context.trace_id),
            "span_id": trace.format_span_id(context.span_id),
        },
        "parent_id": None if span.parent is None else trace.format_span_id(span.parent.span_id),
        "status": {
            "code": span.status.status_code.name.lower(),
            "description": span.status.description,
        },
        "attributes": _attributes(span.attributes),
        "events": events,
        "links": [
            {
                "context": {
                    "trace_id": trace.format_trace_id(link.context.trace_id),
                    "span_id": trace.format_span_id(link.context.span_id),
                },
                "attributes": _attributes(link.attributes),
            }
            for link in span.links
        ],
        "start_time": when(span.start_time),
        "end_time": when(span.end_time),
    }


class Capture:
    """The spans finished while a :func:`capture` block is open."""

    def __init__(self, provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
        self.provider = provider
        self.exporter = exporter

    @property
    def tracer(self) -> trace.Tracer:
        """A tracer on the capture's provider, for hand-made spans in a test."""
        return self.provider.get_tracer("agenttrace.testing")

    def readable_spans(self) -> list[ReadableSpan]:
        """Finished spans in start order (by trace id, then span id)."""
        spans = list(self.exporter.get_finished_spans())
        spans.sort(key=lambda s: (s.context.trace_id, s.context.span_id) if s.context else (0, 0))
        return spans

    def spans(self) -> list[dict[str, Any]]:
        """Finished spans as plain dicts with times replaced by their rank (1, 2, ...)."""
        readable = self.readable_spans()
        stamps: set[int] = set()
        for span in readable:
            stamps.update(t for t in (span.start_time, span.end_time) if t is not None)
            stamps.update(event.timestamp for event in span.events)
        clock = {ns: rank for rank, ns in enumerate(sorted(stamps), start=1)}
        return [span_to_dict(span, clock) for span in readable]

    def names(self) -> list[str]:
        return [span.name for span in self.readable_spans()]

    def find(self, name: str) -> list[dict[str, Any]]:
        """Span dicts with exactly this name."""
        return [span for span in self.spans() if span["name"] == name]

    def clear(self) -> None:
        self.exporter.clear()


@contextmanager
def capture(
    *,
    capture_content: bool = True,
    max_content_bytes: int | None = None,
    resource_attributes: dict[str, str] | None = None,
) -> Iterator[Capture]:
    """Route agenttrace spans to an in-memory exporter for the duration of the block."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        id_generator=SequentialIdGenerator(),
        resource=Resource.create(resource_attributes or {"service.name": "agenttrace-test"}),
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    saved = (settings.capture_content, settings.max_content_bytes)
    settings.capture_content = capture_content
    if max_content_bytes is not None:
        settings.max_content_bytes = max_content_bytes
    previous = set_provider_override(provider)
    try:
        yield Capture(provider, exporter)
    finally:
        set_provider_override(previous)
        settings.capture_content, settings.max_content_bytes = saved
        provider.shutdown()


try:
    import pytest
except ImportError:  # pytest is a test-time dependency only
    pass
else:

    @pytest.fixture
    def capture_spans() -> Iterator[Capture]:
        """An open :func:`capture` for the duration of one test."""
        with capture() as cap:
            yield cap
