"""The Anthropic client instrumentation, against a loopback server speaking the Messages API."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator

import anthropic
import pytest
from anthropic.resources.messages import Messages
from fake_provider import FakeProvider, Reply, ToolCall
from span_tree import stable, tree

from agenttrace.integrations.anthropic import instrument_anthropic, uninstrument_anthropic
from agenttrace.testing import Capture

LOOKUP = ToolCall("toolu_1", "lookup", {"q": "otel"})
# 120 prompt tokens: 100 read from the cache, 7 written to it, 13 uncached.
RICH = Reply(
    text="Looking it up.",
    tool_calls=(LOOKUP,),
    input_tokens=120,
    output_tokens=30,
    cached_tokens=100,
    cache_write_tokens=7,
    reasoning_tokens=9,
)
MESSAGES = [{"role": "user", "content": "What is OTel?"}]
USAGE_LINE = "chat claude-haiku-4-5 in=120 out=30 cache_read=100 cache_write=7 reasoning=9"


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    instrument_anthropic()
    yield
    uninstrument_anthropic()


@pytest.fixture
def client(provider: FakeProvider) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=provider.base_url, api_key="test-key", max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient(provider: FakeProvider) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        base_url=provider.base_url, api_key="test-key", max_retries=0
    ) as c:
        yield c


def _create(client: anthropic.Anthropic, **extra: object) -> object:
    return client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=256,
        system="Answer briefly.",
        messages=MESSAGES,
        **extra,  # type: ignore[arg-type]
    )


def test_message_span_snapshot(
    client: anthropic.Anthropic, provider: FakeProvider, cap: Capture
) -> None:
    provider.queue(RICH)
    _create(client, stop_sequences=["END"])
    (span,) = cap.spans()
    attrs = stable(span)
    assert json.loads(attrs.pop("gen_ai.input.messages")) == [
        {"role": "user", "parts": [{"type": "text", "content": "What is OTel?"}]}
    ]
    assert json.loads(attrs.pop("gen_ai.system_instructions")) == [
        {"type": "text", "content": "Answer briefly."}
    ]
    assert json.loads(attrs.pop("gen_ai.output.messages")) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Looking it up."},
                {
                    "type": "tool_call",
                    "id": "toolu_1",
                    "name": "lookup",
                    "arguments": {"q": "otel"},
                },
            ],
            "finish_reason": "tool_use",
        }
    ]
    attrs.pop("agenttrace.cost.usd", None)
    attrs.pop("agenttrace.cost.price_source", None)
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-haiku-4-5",
        "gen_ai.request.max_tokens": 256,
        "gen_ai.request.stop_sequences": ["END"],
        "server.address": "127.0.0.1",
        "server.port": "<server.port>",
        "gen_ai.response.model": "claude-haiku-4-5",
        "gen_ai.response.id": "msg_1",
        "gen_ai.response.finish_reasons": ["tool_use"],
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30,
        "gen_ai.usage.cache_read.input_tokens": 100,
        "gen_ai.usage.cache_write.input_tokens": 7,
        "gen_ai.usage.reasoning.output_tokens": 9,
    }


def test_raw_stream_takes_output_usage_from_message_delta(
    client: anthropic.Anthropic, provider: FakeProvider, cap: Capture
) -> None:
    provider.queue(RICH)
    stream = _create(client, stream=True)
    assert isinstance(stream, anthropic.Stream)
    kinds = [event.type for event in stream]  # type: ignore[attr-defined]
    assert kinds[0] == "message_start"
    assert kinds[-2] == "message_delta"

    (span,) = cap.spans()
    assert tree(cap.spans()) == [USAGE_LINE]
    attrs = span["attributes"]
    assert attrs["agenttrace.response.time_to_first_chunk_ms"] > 0
    assert json.loads(attrs["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "text", "content": "Looking it up."},
        {"type": "tool_call", "id": "toolu_1", "name": "lookup", "arguments": {"q": "otel"}},
    ]


def test_stream_helper_with_text_stream(
    client: anthropic.Anthropic, provider: FakeProvider, cap: Capture
) -> None:
    provider.queue(RICH)
    with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=64, messages=MESSAGES
    ) as stream:
        text = "".join(stream.text_stream)
    assert text == "Looking it up."
    assert tree(cap.spans()) == [USAGE_LINE]
    assert (
        json.loads(cap.spans()[0]["attributes"]["gen_ai.output.messages"])[0]["finish_reason"]
        == "tool_use"
    )


async def test_async_create_and_stream(
    aclient: anthropic.AsyncAnthropic, provider: FakeProvider, cap: Capture
) -> None:
    provider.queue(RICH, Reply(text="two", input_tokens=5, output_tokens=2), RICH)
    await aclient.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=MESSAGES)
    stream = await aclient.messages.create(
        model="claude-haiku-4-5", max_tokens=8, messages=MESSAGES, stream=True
    )
    async for _ in stream:
        pass
    async with aclient.messages.stream(
        model="claude-haiku-4-5", max_tokens=8, messages=MESSAGES
    ) as helper:
        async for _ in helper:
            pass
    assert tree(cap.spans()) == [
        USAGE_LINE,
        "chat claude-haiku-4-5 in=5 out=2 cache_read=0 cache_write=0",
        USAGE_LINE,
    ]


def test_api_error_marks_span_failed(
    client: anthropic.Anthropic, provider: FakeProvider, cap: Capture
) -> None:
    provider.queue(Reply(error_status=400))
    with pytest.raises(anthropic.BadRequestError):
        _create(client)
    (span,) = cap.spans()
    assert span["status"]["code"] == "error"
    assert span["attributes"]["error.type"] == "anthropic.BadRequestError"


def test_instrumenting_is_idempotent_and_reversible(
    client: anthropic.Anthropic, cap: Capture
) -> None:
    instrument_anthropic()
    _create(client)
    assert len(cap.spans()) == 1
    uninstrument_anthropic()
    assert not hasattr(Messages.create, "__agenttrace_original__")
    _create(client)
    assert len(cap.spans()) == 1


def test_sdk_native_spans_are_turned_off_to_avoid_double_counting(provider: FakeProvider) -> None:
    uninstrument_anthropic()
    assert "ANTHROPIC_OPEN_TELEMETRY" not in os.environ
    instrument_anthropic()
    assert os.environ["ANTHROPIC_OPEN_TELEMETRY"] == "false"
    with anthropic.Anthropic(base_url=provider.base_url, api_key="k") as fresh:
        assert fresh.open_telemetry["traces"]["enabled"] is False
    uninstrument_anthropic()
    assert "ANTHROPIC_OPEN_TELEMETRY" not in os.environ

    instrument_anthropic(native_spans=True)
    assert "ANTHROPIC_OPEN_TELEMETRY" not in os.environ
