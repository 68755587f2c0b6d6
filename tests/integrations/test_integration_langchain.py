"""LangChain and LangGraph through the agenttrace callback handlers, with langchain-core's fake
models (a streaming subclass of ``GenericFakeChatModel`` that emits tool-call chunks and usage in
its last chunk, as real provider integrations do)."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fake_provider import FakeProvider
from langchain_core.agents import AgentAction
from langchain_core.callbacks import CallbackManager, CallbackManagerForLLMRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import (
    ChatGeneration,
    ChatGenerationChunk,
    ChatResult,
    Generation,
    LLMResult,
)
from langchain_core.prompts import PromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from span_tree import tree
from tenacity import RetryCallState, Retrying

from agenttrace.integrations import langchain as lc
from agenttrace.integrations.langchain import (
    AgentTraceCallbackHandler,
    AsyncAgentTraceCallbackHandler,
)
from agenttrace.integrations.openai import instrument_openai, uninstrument_openai
from agenttrace.sdk._errors import AgentTraceInternalError
from agenttrace.testing import Capture


class ChatScripted(GenericFakeChatModel):
    """Streams each scripted ``AIMessage`` as content tokens, then one chunk with the tool-call
    chunks, the usage and the response metadata."""

    model_name: str = "scripted-1"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ChatScripted:
        return self

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = next(self.messages)
        assert isinstance(message, AIMessage)
        for token in str(message.content).split(" "):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token + " "))
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk
        calls = [
            {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
            for i, c in enumerate(message.tool_calls)
        ]
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=calls,  # type: ignore[arg-type]
                usage_metadata=message.usage_metadata,
                response_metadata=message.response_metadata,
                chunk_position="last",
            )
        )


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _script() -> list[AIMessage]:
    return [
        AIMessage(
            content="Let me check",
            tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}],
            usage_metadata={
                "input_tokens": 50,
                "output_tokens": 10,
                "total_tokens": 60,
                "input_token_details": {"cache_read": 20},
                "output_token_details": {"reasoning": 4},
            },
            response_metadata={"finish_reason": "tool_calls", "model_name": "scripted-1-0613"},
        ),
        AIMessage(
            content="It is sunny",
            usage_metadata={"input_tokens": 70, "output_tokens": 6, "total_tokens": 76},
            response_metadata={"finish_reason": "stop", "model_name": "scripted-1-0613"},
        ),
    ]


def weather_graph(*, use_async: bool = False) -> CompiledStateGraph[Any, Any, Any, Any]:
    model = ChatScripted(messages=iter(_script()))

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    async def aagent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", aagent if use_async else agent)
    builder.add_node("tools", ToolNode([get_weather]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile()


AGENT_TREE_LABELS = {
    "agenttrace.aggregate.input_tokens": "total_in",
    "agenttrace.aggregate.output_tokens": "total_out",
    "agenttrace.step.index": "step",
}
EXPECTED_AGENT_TREE = [
    "invoke_agent weather-bot total_in=120 total_out=16",
    "  step agent step=1",
    "    chat scripted-1 in=50 out=10 cache_read=20 reasoning=4",
    "    step tools_condition",
    "  step tools step=2",
    "    execute_tool get_weather",
    "  step agent step=3",
    "    chat scripted-1 in=70 out=6",
    "    step tools_condition",
]


def test_langgraph_agent_with_streamed_model_and_tool(cap: Capture) -> None:
    handler = AgentTraceCallbackHandler(agent_name="weather-bot")
    chunks = list(
        weather_graph().stream(
            {"messages": [HumanMessage("Weather in Paris?")]},
            config={"callbacks": [handler]},
            stream_mode="messages",
        )
    )
    assert chunks, "the model streamed tokens"

    spans = cap.spans()
    assert tree(spans, AGENT_TREE_LABELS) == EXPECTED_AGENT_TREE
    assert len({s["context"]["trace_id"] for s in spans}) == 1

    first_chat = cap.find("chat scripted-1")[0]["attributes"]
    assert first_chat["gen_ai.provider.name"] == "scripted"
    assert first_chat["gen_ai.response.model"] == "scripted-1-0613"
    assert first_chat["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert first_chat["agenttrace.response.time_to_first_chunk_ms"] >= 0
    assert json.loads(first_chat["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me check "},
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
    second_chat = cap.find("chat scripted-1")[1]["attributes"]
    assert [m["role"] for m in json.loads(second_chat["gen_ai.input.messages"])] == [
        "user",
        "assistant",
        "tool",
    ]

    (tool_span,) = cap.find("execute_tool get_weather")
    assert tool_span["attributes"]["gen_ai.tool.call.id"] == "call_1"
    assert json.loads(tool_span["attributes"]["gen_ai.tool.call.arguments"]) == {"city": "Paris"}
    assert tool_span["attributes"]["gen_ai.tool.call.result"] == "sunny in Paris"

    root = cap.find("invoke_agent weather-bot")[0]["attributes"]
    assert root["agenttrace.run.outcome"] == "success"
    assert root["agenttrace.aggregate.model_calls"] == 2
    assert root["agenttrace.aggregate.tool_calls"] == 1
    assert root["agenttrace.aggregate.cache_read_tokens"] == 20


async def test_async_handler_gives_the_same_tree(cap: Capture) -> None:
    handler = AsyncAgentTraceCallbackHandler(agent_name="weather-bot")
    async for _ in weather_graph(use_async=True).astream(
        {"messages": [HumanMessage("Weather in Paris?")]},
        config={"callbacks": [handler]},
        stream_mode="messages",
    ):
        pass
    assert tree(cap.spans(), AGENT_TREE_LABELS) == EXPECTED_AGENT_TREE


def test_root_run_nests_under_the_ambient_span(cap: Capture) -> None:
    with cap.tracer.start_as_current_span("request"):
        weather_graph().invoke(
            {"messages": [HumanMessage("hi")]}, config={"callbacks": [AgentTraceCallbackHandler()]}
        )
    lines = tree(cap.spans())
    assert lines[:2] == ["request", "  invoke_workflow LangGraph"]
    assert "      chat scripted-1 in=50 out=10 cache_read=20 reasoning=4" in lines


class KnowledgeBase(BaseRetriever):
    def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        return [Document(page_content=f"notes on {query}", id="doc-1", metadata={"src": "kb"})]


def test_chain_with_retriever_and_text_llm(cap: Capture) -> None:
    chain = (
        {"context": KnowledgeBase(), "question": lambda q: q}
        | PromptTemplate.from_template("{context}\n{question}")
        | FakeListLLM(responses=["OTel is a standard."])
    )
    answer = chain.invoke("otel", config={"callbacks": [AgentTraceCallbackHandler()]})
    assert answer == "OTel is a standard."
    assert tree(cap.spans()) == [
        "invoke_workflow RunnableSequence",
        "  step RunnableParallel<context,question>",
        "    retrieval KnowledgeBase",
        "    step RunnableLambda",
        "  step PromptTemplate",
        "  text_completion FakeListLLM",
    ]
    (retrieval,) = cap.find("retrieval KnowledgeBase")
    assert retrieval["kind"] == "client"
    assert retrieval["attributes"]["gen_ai.operation.name"] == "retrieval"
    assert retrieval["attributes"]["gen_ai.data_source.id"] == "KnowledgeBase"
    assert retrieval["attributes"]["gen_ai.memory.query.text"] == "otel"
    assert retrieval["attributes"]["gen_ai.memory.record.count"] == 1
    (llm,) = cap.find("text_completion FakeListLLM")
    assert json.loads(llm["attributes"]["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "text", "content": "OTel is a standard."}
    ]


def test_with_retry_attempts_and_failures(cap: Capture) -> None:
    calls = {"n": 0}

    def flaky(x: int) -> int:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ValueError("transient")
        return x

    retried = RunnableLambda(flaky).with_retry(stop_after_attempt=3, wait_exponential_jitter=False)
    assert retried.invoke(7, config={"callbacks": [AgentTraceCallbackHandler()]}) == 7
    assert tree(cap.spans(), {"agenttrace.retry.attempt": "attempt"}) == [
        "invoke_workflow flaky",
        "  step flaky ERROR",
        "  step flaky attempt=2 ERROR",
        "  step flaky attempt=3",
    ]
    failed = cap.find("step flaky")[0]
    assert failed["attributes"]["error.type"] == "ValueError"


def test_on_retry_becomes_a_retry_event(cap: Capture) -> None:
    # What LangChain's provider retry decorator reports: attempt 1 failed with a timeout.
    state = RetryCallState(retry_object=Retrying(), fn=None, args=(), kwargs={})
    state.set_exception((TimeoutError, TimeoutError("provider timed out"), None))
    manager = CallbackManager.configure(inheritable_callbacks=[AgentTraceCallbackHandler()])
    (run,) = manager.on_llm_start({"name": "FlakyLLM"}, ["hi"], invocation_params={"model": "m-1"})
    run.on_retry(state)
    run.on_llm_end(LLMResult(generations=[[Generation(text="done")]]))

    (span,) = cap.find("text_completion m-1")
    assert span["attributes"]["agenttrace.retry.attempt"] == 1
    (event,) = [e for e in span["events"] if e["name"] == "agenttrace.retry"]
    assert event["attributes"]["agenttrace.retry.attempt"] == 1
    assert event["attributes"]["agenttrace.retry.reason"] == "TimeoutError"


def test_agent_action_is_an_event_on_the_agent_span(cap: Capture) -> None:
    manager = CallbackManager.configure(inheritable_callbacks=[AgentTraceCallbackHandler()])
    run = manager.on_chain_start({"name": "AgentExecutor"}, {"input": "hi"}, name="AgentExecutor")
    run.on_agent_action(AgentAction(tool="search", tool_input={"q": "otel"}, log="I should search"))
    run.on_chain_end({"output": "found"})
    (span,) = cap.find("invoke_workflow AgentExecutor")
    (event,) = span["events"]
    assert event["name"] == "agenttrace.agent.action"
    assert event["attributes"]["gen_ai.tool.name"] == "search"
    assert event["attributes"]["gen_ai.tool.call.arguments"] == "{'q': 'otel'}"


def test_failing_chain_marks_the_run_failed(cap: Capture) -> None:
    def broken(_: int) -> int:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        RunnableLambda(broken).invoke(1, config={"callbacks": [AgentTraceCallbackHandler()]})
    (span,) = cap.spans()
    assert span["status"]["code"] == "error"
    assert span["attributes"]["agenttrace.run.outcome"] == "failure"
    assert span["attributes"]["error.type"] == "KeyError"


@pytest.fixture
def installed() -> Iterator[None]:
    lc.install(agent_name="global-bot")
    yield
    lc.uninstall()


@pytest.mark.usefixtures("installed")
def test_global_install_traces_without_passing_callbacks(cap: Capture) -> None:
    weather_graph().invoke({"messages": [HumanMessage("hi")]})
    assert tree(cap.spans())[0] == "invoke_agent global-bot"
    assert len(cap.find("chat scripted-1")) == 2

    cap.clear()  # an explicit handler replaces the global one rather than duplicating spans
    weather_graph().invoke(
        {"messages": [HumanMessage("hi")]},
        config={"callbacks": [AgentTraceCallbackHandler(agent_name="explicit")]},
    )
    assert tree(cap.spans())[0] == "invoke_agent explicit"
    assert len(cap.find("chat scripted-1")) == 2

    cap.clear()  # a thread started by the application, not by LangChain, is covered too
    worker = threading.Thread(
        target=weather_graph().invoke, args=({"messages": [HumanMessage("hi")]},)
    )
    worker.start()
    worker.join()
    assert tree(cap.spans())[0] == "invoke_agent global-bot"

    lc.uninstall()
    cap.clear()
    weather_graph().invoke({"messages": [HumanMessage("hi")]})
    assert cap.spans() == []


def test_internal_errors_raise_under_the_test_flag_and_are_swallowed_otherwise(
    cap: Capture, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    handler = AgentTraceCallbackHandler()
    bad_metadata: Any = "not a mapping"
    with pytest.raises(AgentTraceInternalError):
        handler.on_chain_start(
            {}, {}, run_id=uuid.uuid4(), parent_run_id=uuid.uuid4(), metadata=bad_metadata
        )

    monkeypatch.setenv("AGENTTRACE_RAISE_INTERNAL_ERRORS", "0")
    with caplog.at_level(logging.WARNING, logger="agenttrace"):
        handler.on_chain_start(
            {}, {}, run_id=uuid.uuid4(), parent_run_id=uuid.uuid4(), metadata=bad_metadata
        )
    assert "internal error in LangChain callback on_chain_start" in caplog.text
    assert handler.raise_error is False


class ChatThroughOpenAI(BaseChatModel):
    """A chat model integration built on the OpenAI client, like langchain-openai's."""

    base_url: str

    @property
    def _llm_type(self) -> str:
        return "openai-compatible"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with openai.OpenAI(base_url=self.base_url, api_key="k") as client:
            completion = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": str(messages[-1].content)}]
            )
        usage = completion.usage
        assert usage is not None
        message = AIMessage(
            content=completion.choices[0].message.content or "",
            usage_metadata={
                "input_tokens": usage.prompt_tokens,
                "output_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def test_openai_client_instrumentation_does_not_record_the_call_twice(
    provider: FakeProvider, cap: Capture
) -> None:
    instrument_openai()
    try:
        model = ChatThroughOpenAI(base_url=provider.openai_base_url)
        model.invoke("hi", config={"callbacks": [AgentTraceCallbackHandler()]})
        assert tree(cap.spans()) == ["chat ChatThroughOpenAI in=10 out=5"]
        model.invoke("hi")  # without the handler the client instrumentation records it
        assert tree(cap.spans())[1] == "chat gpt-4o in=10 out=5 cache_read=0 reasoning=0"
    finally:
        uninstrument_openai()
