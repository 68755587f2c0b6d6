"""normalize: each dialect's real attribute shapes come out in the agenttrace convention."""

from __future__ import annotations

import json

import pytest
from openinference.semconv.trace import (
    MessageAttributes,
    MessageContentAttributes,
    OpenInferenceSpanKindValues,
    SpanAttributes,
    ToolCallAttributes,
)
from opentelemetry.semconv_ai import LLMRequestTypeValues, TraceloopSpanKindValues
from opentelemetry.semconv_ai import SpanAttributes as AiAttributes
from pipeline_helpers import (
    attrs,
    build_request,
    load_testdata,
    messages,
    only_span,
    process_checking_bytes,
    spans_of,
)

from agenttrace import semconv
from agenttrace.collector.errors import ConfigError
from agenttrace.collector.processors._dialects import (
    SHARED,
    Dialect,
    SharedRules,
    merged_mappings,
)
from agenttrace.collector.processors.base import build_processor
from agenttrace.collector.processors.normalize import NormalizeConfig, NormalizeProcessor
from agenttrace.semconv.mappings import MAPPINGS

OI = SpanAttributes
KIND = OI.OPENINFERENCE_SPAN_KIND


def _in(n: int, suffix: str) -> str:
    return f"{OI.LLM_INPUT_MESSAGES}.{n}.{suffix}"


def _out(n: int, suffix: str) -> str:
    return f"{OI.LLM_OUTPUT_MESSAGES}.{n}.{suffix}"


def _tool_call(m: int, attribute: str) -> str:
    return f"{MessageAttributes.MESSAGE_TOOL_CALLS}.{m}.{attribute}"


def normalize(spans: list[dict], **config: object) -> list:
    request = build_request(spans)
    process_checking_bytes(NormalizeProcessor(NormalizeConfig.from_dict(config)), request)
    return spans_of(request)


def test_openinference_llm_span_becomes_a_chat_span() -> None:
    (span,) = normalize(
        [
            {
                "name": "ChatCompletion",
                "attributes": {
                    KIND: OpenInferenceSpanKindValues.LLM.value,
                    OI.LLM_MODEL_NAME: "gpt-4o",
                    OI.LLM_SYSTEM: "openai",
                    OI.LLM_PROVIDER: "azure",
                    OI.LLM_TOKEN_COUNT_PROMPT: 120,
                    OI.LLM_TOKEN_COUNT_COMPLETION: 30,
                    OI.LLM_TOKEN_COUNT_TOTAL: 150,
                    OI.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ: 100,
                    OI.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE: 20,
                    OI.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING: 7,
                    OI.LLM_COST_TOTAL: 0.0123,
                    _in(0, MessageAttributes.MESSAGE_ROLE): "system",
                    _in(0, MessageAttributes.MESSAGE_CONTENT): "You are terse.",
                    _in(1, MessageAttributes.MESSAGE_ROLE): "user",
                    _in(
                        1,
                        f"{MessageAttributes.MESSAGE_CONTENTS}.0.{MessageContentAttributes.MESSAGE_CONTENT_TYPE}",
                    ): "text",
                    _in(
                        1,
                        f"{MessageAttributes.MESSAGE_CONTENTS}.0.{MessageContentAttributes.MESSAGE_CONTENT_TEXT}",
                    ): "Weather in Paris?",
                    _in(2, MessageAttributes.MESSAGE_ROLE): "tool",
                    _in(2, MessageAttributes.MESSAGE_TOOL_CALL_ID): "call_0",
                    _in(2, MessageAttributes.MESSAGE_CONTENT): "earlier result",
                    _out(0, MessageAttributes.MESSAGE_ROLE): "assistant",
                    _out(0, _tool_call(0, ToolCallAttributes.TOOL_CALL_ID)): "call_1",
                    _out(
                        0, _tool_call(0, ToolCallAttributes.TOOL_CALL_FUNCTION_NAME)
                    ): "get_weather",
                    _out(
                        0, _tool_call(0, ToolCallAttributes.TOOL_CALL_FUNCTION_ARGUMENTS_JSON)
                    ): '{"city": "Paris"}',
                    OI.LLM_FINISH_REASON: "tool_calls",
                    f"{OI.LLM_TOOLS}.0.tool.json_schema": json.dumps(
                        {"type": "function", "function": {"name": "get_weather"}}
                    ),
                    "app.custom": "kept",
                },
            }
        ]
    )
    assert span.name == "chat gpt-4o"
    out = attrs(span)
    assert json.loads(out.pop(semconv.GEN_AI_INPUT_MESSAGES)) == [
        {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_0", "response": "earlier result"}],
        },
    ]
    assert json.loads(out.pop(semconv.GEN_AI_OUTPUT_MESSAGES)) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                }
            ],
        }
    ]
    assert json.loads(out.pop(semconv.GEN_AI_TOOL_DEFINITIONS)) == [
        {"type": "function", "function": {"name": "get_weather"}}
    ]
    assert out == {
        semconv.GEN_AI_OPERATION_NAME: "chat",
        semconv.GEN_AI_REQUEST_MODEL: "gpt-4o",
        # llm.provider (the host) wins over llm.system; the other value is not thrown away
        semconv.GEN_AI_PROVIDER_NAME: "azure.ai.openai",
        OI.LLM_SYSTEM: "openai",
        semconv.GEN_AI_USAGE_INPUT_TOKENS: 120,
        semconv.GEN_AI_USAGE_OUTPUT_TOKENS: 30,
        semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 100,
        semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 20,
        semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 7,
        semconv.AGENTTRACE_COST_USD: 0.0123,
        semconv.GEN_AI_RESPONSE_FINISH_REASONS: ["tool_calls"],
        OI.LLM_TOKEN_COUNT_TOTAL: 150,  # no convention name: kept as is
        "app.custom": "kept",
    }


def test_openinference_openai_agents_bridge_spans() -> None:
    """Shapes of openinference-instrumentation-openai-agents: agent spans are named after the
    agent, function spans carry tool.name with input.value/output.value."""
    agent, tool, handoff, chain = normalize(
        [
            {"name": "agent1", "attributes": {KIND: "AGENT", OI.LLM_SYSTEM: "openai"}},
            {
                "name": "random_number",
                "attributes": {
                    KIND: "TOOL",
                    OI.LLM_SYSTEM: "openai",
                    OI.TOOL_NAME: "random_number",
                    OI.INPUT_VALUE: '{"max": 10}',
                    OI.INPUT_MIME_TYPE: "application/json",
                    OI.OUTPUT_VALUE: "4",
                },
            },
            {"name": "handoff to agent2", "attributes": {KIND: "TOOL", OI.LLM_SYSTEM: "openai"}},
            {"name": "guardrail-check", "attributes": {KIND: "CHAIN", OI.INPUT_VALUE: "hello"}},
        ]
    )
    assert agent.name == "invoke_agent agent1"
    assert attrs(agent)[semconv.GEN_AI_AGENT_NAME] == "agent1"
    assert attrs(agent)[semconv.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert tool.name == "execute_tool random_number"
    tool_attrs = attrs(tool)
    assert tool_attrs[semconv.GEN_AI_TOOL_NAME] == "random_number"
    assert tool_attrs[semconv.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"max": 10}'
    assert tool_attrs[semconv.GEN_AI_TOOL_CALL_RESULT] == "4"
    assert not {OI.INPUT_VALUE, OI.INPUT_MIME_TYPE, OI.TOOL_NAME} & set(tool_attrs)
    assert attrs(handoff)[semconv.GEN_AI_TOOL_NAME] == "handoff to agent2"
    assert chain.name == "invoke_workflow guardrail-check"
    assert messages(chain, semconv.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "hello"}]}
    ]


def test_openinference_session_user_and_keep_originals() -> None:
    attributes = {
        KIND: "LLM",
        OI.LLM_MODEL_NAME: "claude-sonnet-4",
        OI.SESSION_ID: "s-1",
        OI.USER_ID: "u-9",
    }
    (span,) = normalize([{"name": "llm", "attributes": attributes}])
    out = attrs(span)
    assert out[semconv.AGENTTRACE_SESSION_ID] == "s-1"
    assert out[semconv.GEN_AI_CONVERSATION_ID] == "s-1"
    assert out[semconv.AGENTTRACE_USER_ID] == "u-9"
    assert not set(attributes) & set(out)
    (kept,) = normalize([{"name": "llm", "attributes": attributes}], keep_originals=True)
    assert set(attributes) <= set(attrs(kept))
    assert attrs(kept)[semconv.GEN_AI_REQUEST_MODEL] == "claude-sonnet-4"


def test_existing_convention_attributes_win() -> None:
    (span,) = normalize(
        [
            {
                "name": "chat",
                "attributes": {
                    KIND: "LLM",
                    OI.LLM_MODEL_NAME: "gpt-4o",
                    semconv.GEN_AI_REQUEST_MODEL: "gpt-4o-2024-08-06",
                    OI.LLM_TOKEN_COUNT_PROMPT: 5,
                    semconv.GEN_AI_USAGE_INPUT_TOKENS: 5,
                },
            }
        ]
    )
    out = attrs(span)
    assert out[semconv.GEN_AI_REQUEST_MODEL] == "gpt-4o-2024-08-06"
    assert out[OI.LLM_MODEL_NAME] == "gpt-4o"  # differs from the native value: kept
    assert OI.LLM_TOKEN_COUNT_PROMPT not in out  # an equal duplicate: removed
    assert [kv.key for kv in span.attributes].count(semconv.GEN_AI_USAGE_INPUT_TOKENS) == 1


def test_openllmetry_legacy_genai_chat_span() -> None:
    a = AiAttributes
    (span,) = normalize(
        [
            {
                "name": "openai.chat",
                "attributes": {
                    a.LLM_REQUEST_TYPE: LLMRequestTypeValues.CHAT.value,
                    a.LLM_SYSTEM: "openai",
                    a.LLM_REQUEST_MODEL: "gpt-4o-mini",
                    a.LLM_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
                    a.LLM_USAGE_PROMPT_TOKENS: 42,
                    a.LLM_USAGE_COMPLETION_TOKENS: 8,
                    a.LLM_USAGE_TOTAL_TOKENS: 50,
                    a.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 12,
                    a.LLM_USAGE_CACHE_READ_INPUT_TOKENS: 30,
                    f"{a.LLM_PROMPTS}.0.role": "system",
                    f"{a.LLM_PROMPTS}.0.content": "Be brief.",
                    f"{a.LLM_PROMPTS}.1.role": "user",
                    f"{a.LLM_PROMPTS}.1.content": '[{"type": "text", "text": "Hi there"}]',
                    f"{a.LLM_COMPLETIONS}.0.role": "assistant",
                    f"{a.LLM_COMPLETIONS}.0.content": "Hello!",
                    f"{a.LLM_COMPLETIONS}.0.finish_reason": "stop",
                    f"{a.LLM_COMPLETIONS}.1.role": "assistant",
                    f"{a.LLM_COMPLETIONS}.1.tool_calls.0.id": "call_7",
                    f"{a.LLM_COMPLETIONS}.1.tool_calls.0.name": "lookup",
                    f"{a.LLM_COMPLETIONS}.1.tool_calls.0.arguments": '{"q": "x"}',
                    "gen_ai.prompt.name": "greeting-v2",  # not a message: left alone
                },
            }
        ]
    )
    out = attrs(span)
    assert span.name == "chat gpt-4o-mini"
    assert out[semconv.GEN_AI_OPERATION_NAME] == "chat"
    assert out[semconv.GEN_AI_PROVIDER_NAME] == "openai"
    assert out[semconv.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert out[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 42
    assert out[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 8
    assert out[semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 12
    assert out[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 30
    assert json.loads(out[semconv.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Hi there"}]},
    ]
    assert json.loads(out[semconv.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hello!"}],
            "finish_reason": "stop",
        },
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "call_7", "name": "lookup", "arguments": {"q": "x"}}
            ],
        },
    ]
    assert out["gen_ai.prompt.name"] == "greeting-v2"
    legacy = {
        a.LLM_SYSTEM,
        a.LLM_USAGE_PROMPT_TOKENS,
        a.LLM_USAGE_COMPLETION_TOKENS,
        a.LLM_REQUEST_TYPE,
    }
    assert not legacy & set(out)
    assert not [k for k in out if k.startswith(("gen_ai.prompt.0", "gen_ai.completion."))]


def test_traceloop_workflow_agent_tool_and_task_spans() -> None:
    a = AiAttributes
    workflow, agent, tool, task = normalize(
        [
            {
                "name": "support_flow.workflow",
                "attributes": {
                    a.TRACELOOP_SPAN_KIND: TraceloopSpanKindValues.WORKFLOW.value,
                    a.TRACELOOP_ENTITY_NAME: "support_flow",
                    a.TRACELOOP_WORKFLOW_NAME: "support_flow",
                    f"{a.TRACELOOP_ASSOCIATION_PROPERTIES}.session_id": "sess-3",
                    f"{a.TRACELOOP_ASSOCIATION_PROPERTIES}.user_id": "user-5",
                },
            },
            {
                "name": "triage.agent",
                "attributes": {
                    a.TRACELOOP_SPAN_KIND: TraceloopSpanKindValues.AGENT.value,
                    a.TRACELOOP_ENTITY_NAME: "triage",
                    a.TRACELOOP_ENTITY_INPUT: json.dumps({"args": ["refund please"], "kwargs": {}}),
                    a.TRACELOOP_ENTITY_OUTPUT: '"routed to billing"',
                },
            },
            {
                "name": "lookup_order.tool",
                "attributes": {
                    a.TRACELOOP_SPAN_KIND: TraceloopSpanKindValues.TOOL.value,
                    a.TRACELOOP_ENTITY_NAME: "lookup_order",
                    a.TRACELOOP_ENTITY_INPUT: json.dumps({"args": [], "kwargs": {"order_id": 17}}),
                    a.TRACELOOP_ENTITY_OUTPUT: json.dumps({"status": "shipped"}),
                },
            },
            {
                "name": "summarize.task",
                "attributes": {a.TRACELOOP_SPAN_KIND: "task", a.TRACELOOP_ENTITY_NAME: "summarize"},
            },
        ]
    )
    assert workflow.name == "invoke_workflow support_flow"
    assert attrs(workflow)[semconv.AGENTTRACE_SESSION_ID] == "sess-3"
    assert attrs(workflow)[semconv.AGENTTRACE_USER_ID] == "user-5"
    assert agent.name == "invoke_agent triage"
    assert attrs(agent)[semconv.GEN_AI_AGENT_NAME] == "triage"
    assert messages(agent, semconv.GEN_AI_OUTPUT_MESSAGES)[0]["role"] == "assistant"
    assert tool.name == "execute_tool lookup_order"
    assert json.loads(attrs(tool)[semconv.GEN_AI_TOOL_CALL_ARGUMENTS])["kwargs"] == {"order_id": 17}
    assert json.loads(attrs(tool)[semconv.GEN_AI_TOOL_CALL_RESULT]) == {"status": "shipped"}
    assert task.name == "step summarize"
    assert attrs(task)[semconv.AGENTTRACE_OPERATION_NAME] == "step"
    assert attrs(task)[semconv.AGENTTRACE_STEP_NAME] == "summarize"
    assert not [
        k for s in (workflow, agent, tool, task) for k in attrs(s) if k.startswith("traceloop.")
    ]


def test_logfire_openai_agents_spans() -> None:
    trace, agent, response, function, handoff, turn = normalize(
        load_testdata("logfire_openai_agents.json")["spans"]
    )
    assert trace.name == "invoke_workflow Agent workflow"
    assert attrs(trace)[semconv.GEN_AI_CONVERSATION_ID] == "conv-42"
    assert attrs(trace)[semconv.AGENTTRACE_SESSION_ID] == "conv-42"
    assert agent.name == "invoke_agent agent1"
    assert attrs(agent)[semconv.GEN_AI_AGENT_NAME] == "agent1"
    assert attrs(agent)[semconv.GEN_AI_PROVIDER_NAME] == "openai"
    out = attrs(response)
    assert response.name == "chat gpt-4o"
    assert out[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 52
    assert out[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 11
    assert out[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 10
    assert out[semconv.GEN_AI_RESPONSE_ID] == "resp_67ced68228748191b31ea5d9172a7b4b"
    assert [m["role"] for m in json.loads(out[semconv.GEN_AI_INPUT_MESSAGES])] == ["system", "user"]
    assert json.loads(out[semconv.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["name"] == "random_number"
    assert "events" not in out
    assert function.name == "execute_tool random_number"
    assert attrs(function)[semconv.GEN_AI_TOOL_CALL_RESULT] == "4"
    assert attrs(function)[semconv.GEN_AI_TOOL_CALL_ARGUMENTS] == "{}"
    assert attrs(handoff)[semconv.AGENTTRACE_OPERATION_NAME] == "handoff"
    assert attrs(handoff)[semconv.AGENTTRACE_SENDER_AGENT_NAME] == "agent1"
    assert attrs(handoff)[semconv.AGENTTRACE_RECEIVER_AGENT_NAME] == "agent2"
    assert handoff.name == "Handoff: agent1 → agent2"
    assert turn.name == "Turn 1 for agent agent1"  # unknown template: the formatted message


def test_mlflow_spans() -> None:
    chat, tool, agent, parser = normalize(load_testdata("mlflow_spans.json")["spans"])
    out = attrs(chat)
    assert chat.name == "chat gpt-4o-mini"
    assert out[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 20
    assert out[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 6
    assert out[semconv.AGENTTRACE_COST_USD] == pytest.approx(0.0000066)
    assert json.loads(out[semconv.GEN_AI_INPUT_MESSAGES])[1] == {
        "role": "user",
        "parts": [{"type": "text", "content": "Weather in Paris?"}],
    }
    assert json.loads(out[semconv.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Sunny, 21°C."}],
            "finish_reason": "stop",
        }
    ]
    assert tool.name == "execute_tool get_weather"
    assert json.loads(attrs(tool)[semconv.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"city": "Paris"}
    assert attrs(tool)[semconv.GEN_AI_TOOL_CALL_RESULT] == "Sunny, 21°C"
    assert agent.name == "invoke_agent weather_agent"
    assert attrs(agent)[semconv.GEN_AI_AGENT_NAME] == "weather_agent"
    assert parser.name == "parse_output"
    assert semconv.GEN_AI_OPERATION_NAME not in attrs(parser)


def test_native_spans_pass_untouched_and_scopes_get_the_schema_url() -> None:
    spec = {
        "name": "chat gpt-4o",
        "attributes": {
            semconv.GEN_AI_OPERATION_NAME: "chat",
            semconv.GEN_AI_REQUEST_MODEL: "gpt-4o",
            semconv.GEN_AI_USAGE_INPUT_TOKENS: 3,
            "session.id": "browser-session",  # a generic OTel name without any dialect marker
        },
    }
    request = build_request([spec])
    before = only_span(request).SerializeToString()
    processor = NormalizeProcessor(NormalizeConfig())
    processor.process(request)
    assert only_span(request).SerializeToString() == before
    assert request.resource_spans[0].scope_spans[0].schema_url == semconv.SCHEMA_URL
    assert processor.metrics()["spans_normalized"] == 0


def test_only_selected_dialects_apply() -> None:
    spans = [{"name": "x", "attributes": {KIND: "LLM", OI.LLM_MODEL_NAME: "m"}}]
    (span,) = normalize(spans, dialects=["mlflow"])
    assert attrs(span) == {KIND: "LLM", OI.LLM_MODEL_NAME: "m"}


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        build_processor("normalize", "n", {"dialects": ["phoenix"]}, "processors[0]")
    assert err.value.key_path == "processors[0].dialects[0]"
    with pytest.raises(ConfigError) as err:
        build_processor("normalize", "n", {"keep_originals": "yes"}, "processors[1]")
    assert err.value.key_path == "processors[1].keep_originals"
    with pytest.raises(ConfigError) as err:
        build_processor("normalize", "n", {"keep_original": True}, "processors[2]")
    assert err.value.key_path == "processors[2].keep_original"


class _ReadRecorder(dict):
    """A mapping entry that remembers which of its keys were read."""

    def __init__(self, data: dict) -> None:
        super().__init__(data)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> object:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: object = None) -> object:
        self.read.add(key)
        return super().get(key, default)


def test_every_key_of_the_mapping_data_is_used() -> None:
    # No dead data: compiling each entry reads every key it has.
    recorded = {name: _ReadRecorder(spec) for name, spec in MAPPINGS.items()}
    SharedRules.compile(recorded)
    for name, spec in merged_mappings(recorded).items():
        Dialect.compile(name, spec)
    # The SDK's request_params recognises the shared table of request parameter names.
    from agenttrace.sdk import hooks

    assert hooks._REQUEST_PARAMS is recorded[SHARED]["request_parameters"]
    assert {name: sorted(set(spec) - spec.read) for name, spec in recorded.items()} == {
        name: [] for name in MAPPINGS
    }
    shared = MAPPINGS[SHARED]
    assert sorted(shared["precedence"]) == sorted(merged_mappings(MAPPINGS))
    assert set(shared["bare_span_names"]) <= set(shared["span_name_subjects"])
    for spec in merged_mappings(MAPPINGS).values():
        assert not [k for k, v in spec.get("renames", {}).items() if k == v]  # would drop k
