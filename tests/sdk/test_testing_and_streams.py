"""agenttrace.testing determinism, async streams, hooks on an explicit provider, sampling."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agenttrace
from agenttrace.testing import Capture, capture


def _work() -> None:
    @agenttrace.tool
    def fail() -> None:
        raise ValueError("x")

    @agenttrace.agent
    def run() -> None:
        agenttrace.retry(1, reason="flaky")
        with contextlib.suppress(ValueError):
            fail()

    run()


def test_capture_is_deterministic() -> None:
    with capture() as first:
        _work()
    with capture() as second:
        _work()
    assert first.spans() == second.spans()
    agent_span, tool_span = first.spans()
    assert (agent_span["start_time"], tool_span["start_time"]) == (1, 3)
    assert tool_span["events"][0]["attributes"]["exception.stacktrace"] == "<stacktrace>"
    assert agent_span["events"][0]["name"] == "agenttrace.retry"


async def test_async_stream_proxy(capture_spans: Capture) -> None:
    class AsyncStream:
        def __init__(self) -> None:
            self._items = iter(["a", "b"])

        def __aiter__(self) -> AsyncStream:
            return self

        async def __anext__(self) -> str:
            try:
                return next(self._items)
            except StopIteration:
                raise StopAsyncIteration from None

    @agenttrace.llm(model="gpt-4o")
    async def stream() -> AsyncStream:
        return AsyncStream()

    chunks = [chunk async for chunk in await stream()]
    assert chunks == ["a", "b"]
    [span] = capture_spans.spans()
    assert '"content":"ab"' in span["attributes"]["gen_ai.output.messages"]


async def test_async_stream_proxy_records_failure(capture_spans: Capture) -> None:
    async def broken() -> AsyncIterator[str]:
        yield "a"
        raise ConnectionError("reset")

    @agenttrace.llm(model="gpt-4o")
    def stream() -> Any:
        return broken()

    items = []
    try:
        async for item in stream():
            items.append(item)
    except ConnectionError:
        pass
    assert items == ["a"]
    [span] = capture_spans.spans()
    assert span["status"]["code"] == "error"
    assert span["attributes"]["error.type"] == "ConnectionError"


def test_hooks_on_an_explicit_provider() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    hooks = agenttrace.AgentHooks(provider, capture_content=False)
    hooks.tool_start("t", name="calc", arguments={"a": 1})
    context = hooks.span_context("t")
    hooks.tool_end("t", result=2)
    [span] = exporter.get_finished_spans()
    assert span.context == context
    assert span.instrumentation_scope.schema_url == "https://agenttrace.dev/schemas/1.0.0"
    assert "gen_ai.tool.call.arguments" not in span.attributes


def test_sample_ratio_zero_exports_nothing(tmp_path: Path) -> None:
    path = tmp_path / "sampled.jsonl"
    agenttrace.init(jsonl_path=path, sample_ratio=0.0, set_global=False)
    try:
        _work()
        agenttrace.flush()
    finally:
        agenttrace.shutdown()
    assert path.read_text() == ""
