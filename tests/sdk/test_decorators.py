"""Snapshot tests: each decorator kind on each function shape gives the semconv span."""

from __future__ import annotations

import gc
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

import agenttrace
from agenttrace.testing import Capture

RUN = "00000000000000000000000000000001"
TRACE = RUN

# kind -> (decorator kwargs, span name, span kind, fixed attributes, input key, output key)
KINDS: dict[str, tuple[Callable[..., Any], str, str, dict[str, Any], str, str]] = {
    "agent": (
        agenttrace.agent(name="planner"),
        "invoke_agent planner",
        "internal",
        {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"},
        "gen_ai.input.messages",
        "gen_ai.output.messages",
    ),
    "workflow": (
        agenttrace.workflow(name="flow"),
        "invoke_workflow flow",
        "internal",
        {"gen_ai.operation.name": "invoke_workflow", "agenttrace.workflow.name": "flow"},
        "gen_ai.input.messages",
        "gen_ai.output.messages",
    ),
    "tool": (
        agenttrace.tool(name="search"),
        "execute_tool search",
        "internal",
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "search",
        },
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
    ),
    "llm": (
        agenttrace.llm(model="gpt-4o", provider="openai"),
        "chat gpt-4o",
        "client",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.provider.name": "openai",
        },
        "gen_ai.input.messages",
        "gen_ai.output.messages",
    ),
    "memory": (
        agenttrace.memory(operation="search", store_id="prefs"),
        "search_memory prefs",
        "client",
        {
            "gen_ai.operation.name": "search_memory",
            "agenttrace.memory.operation": "search",
            "gen_ai.memory.store.id": "prefs",
        },
        "gen_ai.memory.query.text",
        "gen_ai.memory.records",
    ),
    "step": (
        agenttrace.step(name="think"),
        "step think",
        "internal",
        {"agenttrace.operation.name": "step", "agenttrace.step.name": "think"},
        "gen_ai.input.messages",
        "gen_ai.output.messages",
    ),
}
AGGREGATING = {"agent", "workflow"}


def _sync(x: int) -> str:
    return f"r{x}"


async def _async(x: int) -> str:
    return f"r{x}"


def _gen(x: int) -> Iterator[str]:
    yield f"r{x}"
    yield "s"


async def _agen(x: int) -> AsyncIterator[str]:
    yield f"r{x}"
    yield "s"


async def _call(fn: Callable[..., Any]) -> None:
    if inspect.isasyncgenfunction(fn):
        assert [i async for i in fn(1)] == ["r1", "s"]
    elif inspect.isgeneratorfunction(fn):
        assert list(fn(1)) == ["r1", "s"]
    elif inspect.iscoroutinefunction(fn):
        assert await fn(1) == "r1"
    else:
        assert fn(1) == "r1"


def _expected_output(kind: str, shape: str) -> str:
    streamed = shape in ("gen", "agen")
    if kind == "llm":
        text = "r1s" if streamed else "r1"
        return f'[{{"role":"assistant","parts":[{{"type":"text","content":"{text}"}}],"finish_reason":null}}]'
    return '["r1","s"]' if streamed else "r1"


def _aggregates() -> dict[str, Any]:
    return {
        "agenttrace.aggregate.input_tokens": 0,
        "agenttrace.aggregate.output_tokens": 0,
        "agenttrace.aggregate.cache_read_tokens": 0,
        "agenttrace.aggregate.cache_write_tokens": 0,
        "agenttrace.aggregate.reasoning_tokens": 0,
        "agenttrace.aggregate.model_calls": 0,
        "agenttrace.aggregate.tool_calls": 0,
    }


@pytest.mark.parametrize("shape", ["sync", "async", "gen", "agen"])
@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_snapshot(capture_spans: Capture, kind: str, shape: str) -> None:
    decorator, name, span_kind, fixed, input_key, output_key = KINDS[kind]
    fn = decorator({"sync": _sync, "async": _async, "gen": _gen, "agen": _agen}[shape])
    await _call(fn)
    [span] = capture_spans.spans()
    attributes = dict(span["attributes"])
    if kind == "llm" and shape in ("gen", "agen"):
        assert attributes.pop("agenttrace.response.time_to_first_chunk_ms") >= 0
    expected_attributes = {
        **fixed,
        input_key: '{"x":1}',
        output_key: _expected_output(kind, shape),
        **({"agenttrace.run.id": RUN, **_aggregates()} if kind in AGGREGATING else {}),
    }
    assert span == {
        "name": name,
        "kind": span_kind,
        "context": {"trace_id": TRACE, "span_id": "0000000000000001"},
        "parent_id": None,
        "status": {"code": "unset", "description": None},
        "attributes": span["attributes"],
        "events": [],
        "links": [],
        "start_time": 1,
        "end_time": 2,
    }
    assert attributes == expected_attributes


async def _drive(fn: Callable[..., Any], shape: str) -> None:
    if shape == "sync":
        fn()
    elif shape == "async":
        await fn()
    elif shape == "gen":
        list(fn())
    else:
        _ = [i async for i in fn()]


@pytest.mark.parametrize("shape", ["sync", "async", "gen", "agen"])
async def test_exception_is_recorded_and_reraised_unchanged(
    capture_spans: Capture, shape: str
) -> None:
    boom = KeyError("missing")

    @agenttrace.tool
    def f_sync() -> None:
        raise boom

    @agenttrace.tool
    async def f_async() -> None:
        raise boom

    @agenttrace.tool
    def f_gen() -> Iterator[int]:
        yield 1
        raise boom

    @agenttrace.tool
    async def f_agen() -> AsyncIterator[int]:
        yield 1
        raise boom

    fn = {"sync": f_sync, "async": f_async, "gen": f_gen, "agen": f_agen}[shape]
    with pytest.raises(KeyError) as info:
        await _drive(fn, shape)
    assert info.value is boom
    [span] = capture_spans.spans()
    assert span["status"] == {"code": "error", "description": "KeyError: 'missing'"}
    assert span["attributes"]["error.type"] == "KeyError"
    [event] = span["events"]
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"] == "KeyError"
    assert event["attributes"]["exception.stacktrace"] == "<stacktrace>"


def test_generator_closed_early_broken_out_of_and_collected(
    capture_spans: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    cleaned: list[str] = []

    @agenttrace.tool
    def numbers(tag: str) -> Iterator[int]:
        try:
            yield from range(10)
        finally:
            cleaned.append(tag)

    @agenttrace.agent
    def run() -> None:
        g = numbers("closed")
        next(g)
        g.close()
        for n in numbers("broken"):
            if n == 2:
                break
        g = numbers("collected")
        next(g)
        del g
        gc.collect()

    run()
    assert cleaned == ["closed", "broken", "collected"]
    spans = capture_spans.spans()
    assert [s["name"] for s in spans] == ["invoke_agent run"] + ["execute_tool numbers"] * 3
    for span in spans[1:]:
        assert span["parent_id"] == spans[0]["context"]["span_id"]
        assert span["status"]["code"] == "unset"
        assert span["end_time"] < spans[0]["end_time"]
    assert [s["attributes"]["gen_ai.tool.call.result"] for s in spans[1:]] == [
        "[0]",
        "[0,1,2]",
        "[0]",
    ]
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]


async def test_async_generator_closed_early(capture_spans: Capture) -> None:
    @agenttrace.tool
    async def numbers() -> AsyncIterator[int]:
        for n in range(10):
            yield n

    gen = numbers()
    assert await gen.__anext__() == 0
    await gen.aclose()
    [span] = capture_spans.spans()
    assert span["attributes"]["gen_ai.tool.call.result"] == "[0]"
    assert span["end_time"] == 2


def test_generator_send_and_throw_are_forwarded(capture_spans: Capture) -> None:
    @agenttrace.step
    def echo() -> Iterator[Any]:
        received = None
        while True:
            try:
                received = yield received
            except ValueError:
                received = "recovered"

    gen = echo()
    assert next(gen) is None
    assert gen.send("a") == "a"
    assert gen.throw(ValueError()) == "recovered"
    gen.close()
    [span] = capture_spans.spans()
    assert span["status"]["code"] == "unset"


def test_children_of_a_generator_are_parented_to_it(capture_spans: Capture) -> None:
    @agenttrace.tool
    def leaf() -> int:
        return 1

    @agenttrace.agent
    def producer() -> Iterator[int]:
        yield leaf()
        yield leaf()

    for _ in producer():
        leaf()  # the consumer's calls are not children of the generator
    spans = capture_spans.spans()
    [producer_span] = [s for s in spans if s["name"] == "invoke_agent producer"]
    producer_id = producer_span["context"]["span_id"]
    leaves = [s for s in spans if s["name"] == "execute_tool leaf"]
    inside = [s for s in leaves if s["parent_id"] == producer_id]
    outside = [s for s in leaves if s["parent_id"] is None]
    assert (len(inside), len(outside)) == (2, 2)
    assert producer_span["attributes"]["agenttrace.aggregate.tool_calls"] == 2


def test_methods_classmethods_staticmethods(capture_spans: Capture) -> None:
    class Box:
        def __init__(self) -> None:
            self.n = 2

        @agenttrace.tool
        def method(self, x: int) -> int:
            return x * self.n

        @agenttrace.tool
        @classmethod
        def klass(cls, x: int) -> int:
            return x + 1

        @staticmethod
        @agenttrace.tool
        def static(x: int) -> int:
            return x - 1

    assert Box().method(3) == 6
    assert Box.klass(3) == 4
    assert Box().static(3) == 2
    spans = capture_spans.spans()
    assert [s["attributes"]["gen_ai.tool.call.arguments"] for s in spans] == ['{"x":3}'] * 3
    assert [s["name"] for s in spans] == [
        "execute_tool method",
        "execute_tool klass",
        "execute_tool static",
    ]


def test_signature_and_metadata_preserved() -> None:
    def original(a: int, *, b: str = "x") -> str:
        """Doc."""
        return b * a

    wrapped = agenttrace.tool(original)
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert wrapped.__doc__ == "Doc."
    assert wrapped.__name__ == "original"
    assert inspect.iscoroutinefunction(agenttrace.agent(_async))
    assert inspect.isasyncgenfunction(agenttrace.agent(_agen))
    assert inspect.isgeneratorfunction(agenttrace.agent(_gen))


def test_capture_switches_and_truncation(capture_spans: Capture) -> None:
    @agenttrace.tool(capture=False)
    def quiet(secret: str) -> str:
        return secret

    @agenttrace.tool(capture_output=False)
    def half(x: int) -> int:
        return x

    @agenttrace.tool(name="big", attributes={"team": "a"})
    def big(text: str) -> str:
        return "ok"

    agenttrace.configure(max_content_bytes=64)
    quiet("s3cr3t")
    half(1)
    big("é" * 100)
    quiet_span, half_span, big_span = capture_spans.spans()
    assert "gen_ai.tool.call.arguments" not in quiet_span["attributes"]
    assert "gen_ai.tool.call.result" not in quiet_span["attributes"]
    assert half_span["attributes"]["gen_ai.tool.call.arguments"] == '{"x":1}'
    assert "gen_ai.tool.call.result" not in half_span["attributes"]
    attributes = big_span["attributes"]
    assert attributes["team"] == "a"
    assert len(attributes["gen_ai.tool.call.arguments"].encode()) <= 64
    assert attributes["agenttrace.content.truncated"] is True
    assert attributes["agenttrace.content.original_size"] == len('{"text":""}') + 200
    assert attributes["agenttrace.content.truncated_keys"] == ["gen_ai.tool.call.arguments"]


def test_unserialisable_content_falls_back_to_safe_repr(capture_spans: Capture) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<opaque>"

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    @agenttrace.tool
    def f(a: object, b: object) -> None:
        return None

    f(Opaque(), Broken())
    [span] = capture_spans.spans()
    assert span["attributes"]["gen_ai.tool.call.arguments"] == (
        '{"a":"<opaque>","b":"<unrepresentable test_unserialisable_content_falls_back_to_safe_repr.<locals>.Broken>"}'
    )


def test_no_provider_is_a_cheap_noop() -> None:
    @agenttrace.agent
    def work(x: int) -> int:
        return x + 1

    assert work(1) == 2
    assert agenttrace.current_span() is None


def test_llm_captures_named_content_arguments(capture_spans: Capture) -> None:
    @agenttrace.llm(provider="anthropic")
    def complete(
        model: str, system: str, messages: list[Any], tools: list[Any], temperature: float
    ) -> str:
        return "done"

    complete(
        "claude-haiku-4-5",
        "be brief",
        [{"role": "user", "content": "hi"}],
        tools=[{"name": "search"}],
        temperature=0.1,
    )
    [span] = capture_spans.spans()
    assert span["name"] == "chat claude-haiku-4-5"
    attributes = span["attributes"]
    assert attributes["gen_ai.request.model"] == "claude-haiku-4-5"
    assert attributes["gen_ai.system_instructions"] == "be brief"
    # Provider-shaped messages are recorded in the GenAI message shape.
    assert (
        attributes["gen_ai.input.messages"]
        == '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]'
    )
    assert attributes["gen_ai.tool.definitions"] == '[{"name":"search"}]'
    assert attributes["gen_ai.output.messages"] == (
        '[{"role":"assistant","parts":[{"type":"text","content":"done"}],"finish_reason":null}]'
    )
