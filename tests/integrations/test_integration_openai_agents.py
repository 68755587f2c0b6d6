"""The OpenAI Agents SDK tracing processor: real ``Runner`` runs, no API key, with models served
by the loopback provider (an OpenAI-compatible endpoint, as a non-OpenAI model would be) or the
SDK's provider-neutral ``ScriptedModel``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from agents import (
    Agent,
    GuardrailFunctionOutput,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    RunContextWrapper,
    Runner,
    custom_span,
    function_tool,
    input_guardrail,
)
from agents.testing import ScriptedModel, assistant_message, function_call
from fake_provider import FakeProvider, Reply, ToolCall
from openai import AsyncOpenAI
from span_tree import tree

from agenttrace.integrations import openai_agents
from agenttrace.integrations.openai import instrument_openai, uninstrument_openai
from agenttrace.testing import Capture

TOTALS = {
    "agenttrace.aggregate.input_tokens": "total_in",
    "agenttrace.aggregate.output_tokens": "total_out",
}


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    with custom_span("weather-lookup", {"source": "static"}):
        return f"sunny in {city}"


@function_tool
def broken_tool(city: str) -> str:
    """Always fails."""
    raise RuntimeError("backend down")


@pytest.fixture(autouse=True)
def processor(monkeypatch: pytest.MonkeyPatch) -> Iterator[openai_agents.AgentTraceProcessor]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    installed = openai_agents.install(exclusive=True)
    yield installed
    openai_agents.uninstall()


@pytest.fixture
async def client(provider: FakeProvider) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=provider.openai_base_url, api_key="unused") as c:
        yield c


def _agents(model: Any) -> Agent[Any]:
    weather = Agent(
        name="Weather agent",
        instructions="Answer weather questions.",
        tools=[get_weather],
        model=model,
    )
    return Agent(name="Triage", instructions="Route the user.", handoffs=[weather], model=model)


HANDOFF_SCRIPT = (
    Reply(
        text=None,
        tool_calls=(ToolCall("call_h", "transfer_to_weather_agent", {}),),
        input_tokens=40,
        output_tokens=5,
    ),
    Reply(
        text=None,
        tool_calls=(ToolCall("call_w", "get_weather", {"city": "Paris"}),),
        input_tokens=60,
        output_tokens=8,
        cached_tokens=32,
    ),
    Reply(text="It is sunny in Paris.", input_tokens=80, output_tokens=9, reasoning_tokens=3),
)


async def test_handoff_between_two_agents(
    provider: FakeProvider, client: AsyncOpenAI, cap: Capture
) -> None:
    provider.queue(*HANDOFF_SCRIPT)
    model = OpenAIChatCompletionsModel(model="llama-3.1-8b", openai_client=client)
    result = await Runner.run(
        _agents(model),
        "Weather in Paris?",
        run_config=RunConfig(workflow_name="weather-flow", group_id="thread-7"),
    )
    assert result.final_output == "It is sunny in Paris."

    spans = cap.spans()
    assert tree(spans, TOTALS) == [
        "invoke_workflow weather-flow total_in=180 total_out=22",
        "  step weather-flow",
        "    invoke_agent Triage total_in=40 total_out=5",
        "      step turn",
        "        chat llama-3.1-8b in=40 out=5 cache_read=0 cache_write=0 reasoning=0",
        "        handoff Weather agent",
        "    invoke_agent Weather agent total_in=140 total_out=17",
        "      step turn",
        "        chat llama-3.1-8b in=60 out=8 cache_read=32 cache_write=0 reasoning=0",
        "        execute_tool get_weather",
        "          step weather-lookup",
        "      step turn",
        "        chat llama-3.1-8b in=80 out=9 cache_read=0 cache_write=0 reasoning=3",
    ]
    assert len({s["context"]["trace_id"] for s in spans}) == 1
    (workflow,) = cap.find("invoke_workflow weather-flow")
    assert workflow["attributes"]["gen_ai.conversation.id"] == "thread-7"

    (handoff,) = cap.find("handoff Weather agent")
    assert handoff["attributes"]["agenttrace.operation.name"] == "handoff"
    assert handoff["attributes"]["agenttrace.sender.agent.name"] == "Triage"
    assert handoff["attributes"]["agenttrace.receiver.agent.name"] == "Weather agent"
    (triage,) = cap.find("invoke_agent Triage")
    (event,) = triage["events"]
    assert event["name"] == "agenttrace.handoff"
    assert event["attributes"]["agenttrace.receiver.agent.name"] == "Weather agent"
    (receiver,) = cap.find("invoke_agent Weather agent")
    assert receiver["links"] == [
        {"context": handoff["context"], "attributes": {"agenttrace.link.type": "handoff"}}
    ]

    (tool,) = cap.find("execute_tool get_weather")
    assert json.loads(tool["attributes"]["gen_ai.tool.call.arguments"]) == {"city": "Paris"}
    assert tool["attributes"]["gen_ai.tool.call.result"] == "sunny in Paris"
    (lookup,) = cap.find("step weather-lookup")
    assert lookup["attributes"]["agenttrace.operation.name"] == "custom"

    last_chat = cap.find("chat llama-3.1-8b")[-1]["attributes"]
    assert json.loads(last_chat["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "It is sunny in Paris."}]}
    ]
    roles = [m["role"] for m in json.loads(last_chat["gen_ai.input.messages"])]
    assert roles[0] == "system"
    assert roles[-1] == "tool"


@input_guardrail(run_in_parallel=False)
def no_secrets(
    ctx: RunContextWrapper[Any], agent: Agent[Any], text: Any
) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered="password" in str(text))


async def test_streamed_run_on_the_responses_api_with_a_guardrail(
    provider: FakeProvider, client: AsyncOpenAI, cap: Capture
) -> None:
    provider.queue(
        Reply(text="Hello!", input_tokens=12, output_tokens=3, cached_tokens=4, reasoning_tokens=1)
    )
    agent = Agent(
        name="Greeter",
        instructions="Greet.",
        input_guardrails=[no_secrets],
        model=OpenAIResponsesModel(model="gpt-5", openai_client=client),
    )
    result = Runner.run_streamed(agent, "hi", run_config=RunConfig(workflow_name="greet"))
    async for _ in result.stream_events():
        pass
    assert result.final_output == "Hello!"

    assert tree(cap.spans(), {"agenttrace.guardrail.triggered": "triggered"}) == [
        "invoke_workflow greet",
        "  step greet",
        "    invoke_agent Greeter",
        "      step no_secrets triggered=False",
        "      step turn",
        "        chat gpt-5 in=12 out=3 cache_read=4 cache_write=0 reasoning=1",
    ]
    (chat,) = cap.find("chat gpt-5")
    attrs = chat["attributes"]
    assert attrs["gen_ai.request.model"] == "gpt-5"
    assert attrs["gen_ai.response.id"] == "resp_1"
    assert json.loads(attrs["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Greet."}
    ]
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]}
    ]


async def test_provider_neutral_model_without_api_key(cap: Capture) -> None:
    model = ScriptedModel(
        [
            [function_call("get_weather", {"city": "Oslo"}, call_id="call_1")],
            [assistant_message("Sunny in Oslo.")],
        ],
        emit_traces=True,
    )
    agent = Agent(name="Local", tools=[get_weather], model=model)
    result = await Runner.run(
        agent, "Weather in Oslo?", run_config=RunConfig(workflow_name="local")
    )
    assert result.final_output == "Sunny in Oslo."
    assert tree(cap.spans()) == [
        "invoke_workflow local",
        "  step local",
        "    invoke_agent Local",
        "      step turn",
        "        chat unknown",
        "        execute_tool get_weather",
        "          step weather-lookup",
        "      step turn",
        "        chat unknown",
    ]


async def test_tool_error_is_recorded_and_the_run_continues(cap: Capture) -> None:
    model = ScriptedModel(
        [
            [function_call("broken_tool", {"city": "Rome"}, call_id="c1")],
            [assistant_message("Sorry.")],
        ],
        emit_traces=True,
    )
    agent = Agent(name="Fragile", tools=[broken_tool], model=model)
    result = await Runner.run(agent, "Weather in Rome?")
    assert result.final_output == "Sorry."
    (tool,) = cap.find("execute_tool broken_tool")
    assert tool["status"]["code"] == "error"
    assert (
        tool["attributes"]["error.type"] == "agenttrace.integrations.openai_agents.AgentSpanError"
    )


async def test_uninstall_mutes_the_processor(cap: Capture) -> None:
    openai_agents.uninstall()
    model = ScriptedModel([[assistant_message("hi")]], emit_traces=True)
    await Runner.run(Agent(name="Quiet", model=model), "hello")
    assert cap.spans() == []
    assert openai_agents.install() is openai_agents.install()  # idempotent: one processor


async def test_openai_client_instrumentation_does_not_record_the_call_twice(
    provider: FakeProvider, client: AsyncOpenAI, cap: Capture
) -> None:
    instrument_openai()
    try:
        provider.queue(*HANDOFF_SCRIPT)
        model = OpenAIChatCompletionsModel(model="llama-3.1-8b", openai_client=client)
        await Runner.run(_agents(model), "Weather in Paris?")
    finally:
        uninstrument_openai()
    spans = cap.spans()
    assert len({s["context"]["trace_id"] for s in spans}) == 1
    assert len(cap.find("chat llama-3.1-8b")) == 3
