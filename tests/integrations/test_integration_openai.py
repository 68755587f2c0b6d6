"""The OpenAI client instrumentation, against a loopback server speaking the OpenAI API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import openai
import pytest
from fake_provider import FakeProvider, Reply, ToolCall
from openai.resources.chat.completions import Completions
from span_tree import stable, tree

from agenttrace.integrations.openai import instrument_openai, uninstrument_openai
from agenttrace.testing import Capture

WEATHER = ToolCall("call_1", "get_weather", {"city": "Paris"})
RICH = Reply(
    text="Let me check.",
    tool_calls=(WEATHER,),
    input_tokens=120,
    output_tokens=30,
    cached_tokens=100,
    cache_write_tokens=7,
    reasoning_tokens=12,
)
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Weather in Paris?"},
]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    instrument_openai()
    yield
    uninstrument_openai()


@pytest.fixture
def client(provider: FakeProvider) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=provider.openai_base_url, api_key="test-key", max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient(provider: FakeProvider) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=provider.openai_base_url, api_key="test-key", max_retries=0
    ) as c:
        yield c


def test_chat_completion_span_snapshot(
    client: openai.OpenAI, provider: FakeProvider, cap: Capture
) -> None:
    provider.queue(RICH)
    result = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, tools=TOOLS, temperature=0.1, max_completion_tokens=64
    )
    assert result.choices[0].message.tool_calls is not None  # the caller still gets the real object

    (span,) = cap.spans()
    assert (span["name"], span["kind"], span["parent_id"]) == ("chat gpt-4o", "client", None)
    attrs = stable(span)
    assert json.loads(attrs.pop("gen_ai.input.messages")) == [
        {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
    ]
    assert json.loads(attrs.pop("gen_ai.output.messages")) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me check."},
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                },
            ],
            "finish_reason": "tool_calls",
        }
    ]
    assert json.loads(attrs.pop("gen_ai.tool.definitions")) == TOOLS
    assert isinstance(attrs.pop("agenttrace.cost.usd"), float)
    attrs.pop("agenttrace.cost.price_source")
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.request.temperature": 0.1,
        "gen_ai.request.max_tokens": 64,
        "server.address": "127.0.0.1",
        "server.port": "<server.port>",
        "gen_ai.response.model": "gpt-4o",
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.response.finish_reasons": ["tool_calls"],
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30,
        "gen_ai.usage.cache_read.input_tokens": 100,
        "gen_ai.usage.reasoning.output_tokens": 12,
    }


def test_streamed_chat_reads_usage_from_final_chunk(
    client: openai.OpenAI, provider: FakeProvider, cap: Capture
) -> None:
    provider.queue(RICH)
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert isinstance(stream, openai.Stream)  # the proxy is invisible to isinstance checks
    texts = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert "".join(texts) == "Let me check."

    (span,) = cap.spans()
    attrs = span["attributes"]
    assert tree(cap.spans()) == [
        "chat gpt-4o in=120 out=30 cache_read=100 reasoning=12",
    ]
    assert attrs["agenttrace.response.time_to_first_chunk_ms"] > 0
    assert json.loads(attrs["gen_ai.output.messages"])[0]["parts"][1] == {
        "type": "tool_call",
        "id": "call_1",
        "name": "get_weather",
        "arguments": {"city": "Paris"},
    }
    assert attrs["gen_ai.response.finish_reasons"] == ["tool_calls"]


def test_stream_helper_with_requested_stream_usage(
    client: openai.OpenAI, provider: FakeProvider, cap: Capture
) -> None:
    uninstrument_openai()
    instrument_openai(include_stream_usage=True)
    provider.queue(Reply(text="hello there", input_tokens=8, output_tokens=2))
    with client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "hello there"
    assert provider.requests[-1][1]["stream_options"] == {"include_usage": True}
    assert tree(cap.spans()) == ["chat gpt-4o-mini in=8 out=2 cache_read=0 reasoning=0"]
    assert json.loads(cap.spans()[0]["attributes"]["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "hello there"}],
            "finish_reason": "stop",
        }
    ]


def test_stream_without_usage_is_not_modified_by_default(
    client: openai.OpenAI, provider: FakeProvider, cap: Capture
) -> None:
    for _ in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):
        pass
    assert "stream_options" not in provider.requests[-1][1]
    (span,) = cap.spans()
    assert "gen_ai.usage.input_tokens" not in span["attributes"]
    assert span["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]


async def test_async_chat_stream(
    aclient: openai.AsyncOpenAI, provider: FakeProvider, cap: Capture
) -> None:
    provider.queue(RICH)
    stream = await aclient.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    async for _ in stream:
        pass
    assert tree(cap.spans()) == ["chat gpt-4o in=120 out=30 cache_read=100 reasoning=12"]


async def test_async_chat_completion(
    aclient: openai.AsyncOpenAI, provider: FakeProvider, cap: Capture
) -> None:
    provider.queue(Reply(text="fine", input_tokens=3, output_tokens=1))
    result = await aclient.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert result.choices[0].message.content == "fine"
    assert tree(cap.spans()) == ["chat gpt-4o in=3 out=1 cache_read=0 reasoning=0"]


def test_responses_api_with_tool_call(
    client: openai.OpenAI, provider: FakeProvider, cap: Capture
) -> None:
    provider.queue(RICH)
    response = client.responses.create(
        model="gpt-5", input="Weather in Paris?", instructions="Be terse."
    )
    assert response.output_text == "Let me check."
    (span,) = cap.spans()
    attrs = span["attributes"]
    assert tree(cap.spans()) == [
        "chat gpt-5 in=120 out=30 cache_read=100 cache_write=7 reasoning=12"
    ]
    assert json.loads(attrs["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Be terse."}
    ]
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me check."},
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                },
            ],
            "finish_reason": "tool_calls",
        }
    ]
    assert attrs["gen_ai.response.id"] == "resp_1"


def test_responses_stream_reads_usage_from_completed_event(
    client: openai.OpenAI, provider: FakeProvider, cap: Capture
) -> None:
    provider.queue(RICH, Reply(text="second", input_tokens=4, output_tokens=2))
    for _ in client.responses.create(model="gpt-5", input="hi", stream=True):
        pass
    with client.responses.stream(model="gpt-5", input="again") as stream:
        for _ in stream:
            pass
    assert tree(cap.spans()) == [
        "chat gpt-5 in=120 out=30 cache_read=100 cache_write=7 reasoning=12",
        "chat gpt-5 in=4 out=2 cache_read=0 cache_write=0 reasoning=0",
    ]
    assert all(
        s["attributes"]["agenttrace.response.time_to_first_chunk_ms"] > 0 for s in cap.spans()
    )


async def test_async_responses_stream(
    aclient: openai.AsyncOpenAI, provider: FakeProvider, cap: Capture
) -> None:
    provider.queue(Reply(text="async", input_tokens=6, output_tokens=3, reasoning_tokens=1))
    stream = await aclient.responses.create(model="gpt-5", input="hi", stream=True)
    async for _ in stream:
        pass
    assert tree(cap.spans()) == ["chat gpt-5 in=6 out=3 cache_read=0 cache_write=0 reasoning=1"]


def test_api_error_marks_span_failed(
    client: openai.OpenAI, provider: FakeProvider, cap: Capture
) -> None:
    provider.queue(Reply(error_status=400))
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    (span,) = cap.spans()
    assert span["status"]["code"] == "error"
    assert span["attributes"]["error.type"] == "openai.BadRequestError"


def test_span_nests_under_the_ambient_span(client: openai.OpenAI, cap: Capture) -> None:
    with cap.tracer.start_as_current_span("outer"):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert tree(cap.spans()) == ["outer", "  chat gpt-4o in=10 out=5 cache_read=0 reasoning=0"]


def test_instrumenting_is_idempotent_and_reversible(client: openai.OpenAI, cap: Capture) -> None:
    instrument_openai()  # a second call must not double-wrap
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert len(cap.spans()) == 1

    uninstrument_openai()
    assert not hasattr(Completions.create, "__agenttrace_original__")
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert len(cap.spans()) == 1
