"""Issue 4 acceptance: own global provider + InMemorySpanExporter, every function shape.

Run as a script (it sets the process-wide global TracerProvider); exits non-zero on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import AsyncIterator, Iterator

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agenttrace


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@agenttrace.llm(model="gpt-4o-mini", provider="openai")
def chat(messages: list[dict[str, str]]) -> dict[str, object]:
    return {"model": "gpt-4o-mini", "usage": {"prompt_tokens": 5, "completion_tokens": 1}}


@agenttrace.llm(model="claude-haiku-4-5", provider="anthropic")
async def stream_chat(messages: list[dict[str, str]]) -> AsyncIterator[dict[str, object]]:
    yield {"type": "content_block_delta", "delta": {"text": "ok"}}
    yield {"type": "message_delta", "usage": {"output_tokens": 3}}


@agenttrace.tool
def read_file(path: str) -> str:
    if path == "missing":
        raise FileNotFoundError(path)
    return "contents"


@agenttrace.tool
async def fetch(url: str) -> str:
    await asyncio.sleep(0)
    chat([{"role": "user", "content": url}])
    return "page"


@agenttrace.tool
def listing() -> Iterator[str]:
    yield "a"
    yield "b"


@agenttrace.agent
async def researcher(topic: str) -> str:
    pages = await asyncio.gather(*(fetch(f"{topic}/{i}") for i in range(3)))
    async for _ in stream_chat([{"role": "user", "content": topic}]):
        pass
    return ",".join(pages)


@agenttrace.agent
def coder() -> list[str]:
    with contextlib.suppress(FileNotFoundError):
        read_file("missing")
    return list(listing())


@agenttrace.agent
async def streaming_agent() -> AsyncIterator[str]:
    yield await researcher("x")


@agenttrace.workflow
async def main() -> None:
    await asyncio.gather(researcher("a"), researcher("b"))
    coder()
    stream = streaming_agent()
    async for _ in stream:
        break
    await stream.aclose()  # broken out of, then closed: its span ends here
    with contextlib.suppress(RuntimeError):
        await failing()


@agenttrace.agent
async def failing() -> None:
    raise RuntimeError("boom")


def check() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    recorder = _Recorder()
    logging.getLogger().addHandler(recorder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asyncio.run(main())
    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    names = [s.name for s in spans]
    assert names.count("invoke_agent researcher") == 3, names
    assert names.count("execute_tool fetch") == 9, names
    assert names.count("chat gpt-4o-mini") == 9, names
    assert names.count("chat claude-haiku-4-5") == 3, names
    [root] = [s for s in spans if s.parent is None]
    assert root.name == "invoke_workflow main"
    for span in spans:
        assert span.end_time is not None, span.name
        if span.parent is not None:
            assert span.parent.span_id in by_id, span.name
            parent = by_id[span.parent.span_id]
            assert parent.start_time <= span.start_time, span.name
            assert span.end_time <= parent.end_time, span.name
        if span.name.startswith(("invoke_agent", "invoke_workflow")):
            assert span.attributes["agenttrace.run.id"] == root.attributes["agenttrace.run.id"]
        assert span.instrumentation_scope.schema_url == "https://agenttrace.dev/schemas/1.0.0"
    for span in spans:
        parent = by_id[span.parent.span_id] if span.parent else None
        if span.name == "execute_tool fetch":
            assert parent is not None
            assert parent.name == "invoke_agent researcher"
        if span.name == "chat gpt-4o-mini":
            assert parent is not None
            assert parent.name == "execute_tool fetch"
            assert span.attributes["gen_ai.usage.input_tokens"] == 5
            assert span.attributes["agenttrace.cost.usd"] > 0
        if span.name == "chat claude-haiku-4-5":
            assert span.attributes["gen_ai.usage.output_tokens"] == 3
            assert span.attributes["agenttrace.response.time_to_first_chunk_ms"] >= 0
    [missing] = [s for s in spans if s.name == "execute_tool read_file"]
    assert missing.status.status_code.name == "ERROR"
    assert missing.attributes["error.type"] == "FileNotFoundError"
    assert [e.name for e in missing.events] == ["exception"]
    [failed] = [s for s in spans if s.name == "invoke_agent failing"]
    assert failed.attributes["error.type"] == "RuntimeError"
    assert root.attributes["agenttrace.aggregate.model_calls"] == 12
    assert root.attributes["agenttrace.aggregate.tool_calls"] == 11
    assert not recorder.records, [r.getMessage() for r in recorder.records]
    print(f"ok {len(spans)} spans")


if __name__ == "__main__":
    check()
