"""normalize on OpenInference spans: exact output for a realistic LLM span, and the message
serialization shortcut rendering exactly what ``json.dumps`` would."""

from __future__ import annotations

import enum
import json

import pytest
from pipeline_helpers import (
    attrs,
    build_request,
    load_testdata,
    only_span,
    process_checking_bytes,
    spans_of,
)

from agenttrace import semconv
from agenttrace.collector.processors import _messages
from agenttrace.collector.processors.normalize import NormalizeConfig, NormalizeProcessor


def _normalized(attributes: dict[str, object], name: str = "ChatCompletion") -> tuple[str, dict]:
    request = build_request([{"name": name, "attributes": attributes}])
    process_checking_bytes(NormalizeProcessor(NormalizeConfig()), request)
    span = only_span(request)
    return span.name, attrs(span)


# As openinference-instrumentation-openai records a tool-calling turn: flattened messages with
# tool calls inside them, a tool result, multi-part content, token counts and app attributes.
_AGENT_TURN = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "gpt-4o-2024-08-06",
    "llm.provider": "openai",
    "llm.system": "openai",
    "llm.input_messages.0.message.role": "system",
    "llm.input_messages.0.message.content": "Answer in French. Réponds brièvement.",
    "llm.input_messages.1.message.role": "user",
    "llm.input_messages.1.message.contents.0.message_content.type": "text",
    "llm.input_messages.1.message.contents.0.message_content.text": "Météo à Paris et Lyon ?",
    "llm.input_messages.1.message.contents.1.message_content.type": "image",
    "llm.input_messages.1.message.contents.1.message_content.image.image.url": "https://x/m.png",
    "llm.input_messages.2.message.role": "assistant",
    "llm.input_messages.2.message.tool_calls.0.tool_call.id": "call_a",
    "llm.input_messages.2.message.tool_calls.0.tool_call.function.name": "weather",
    "llm.input_messages.2.message.tool_calls.0.tool_call.function.arguments": '{"city": "Paris"}',
    "llm.input_messages.2.message.tool_calls.1.tool_call.id": "call_b",
    "llm.input_messages.2.message.tool_calls.1.tool_call.function.name": "weather",
    "llm.input_messages.2.message.tool_calls.1.tool_call.function.arguments": '{"city": "Lyon"}',
    "llm.input_messages.3.message.role": "tool",
    "llm.input_messages.3.message.tool_call_id": "call_a",
    "llm.input_messages.3.message.content": '{"temp_c": 21.5}',
    "llm.input_messages.4.message.role": "tool",
    "llm.input_messages.4.message.tool_call_id": "call_b",
    "llm.input_messages.4.message.content": "19 °C",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.content": "Paris : 21,5 °C ; Lyon : 19 °C.",
    "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_c",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "log",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"n": 2}',
    "llm.token_count.prompt": 412,
    "llm.token_count.completion": 38,
    "llm.token_count.total": 450,
    "llm.token_count.prompt_details.cache_read": 256,
    "session.id": "sess-7",
    "app.tenant": "acme",
}


def test_realistic_openinference_llm_span_exact_output() -> None:
    name, out = _normalized(_AGENT_TURN)
    assert name == "chat gpt-4o-2024-08-06"
    # The exact serialized text: compact, non-ASCII kept, keys in this order.
    assert out.pop(semconv.GEN_AI_INPUT_MESSAGES) == (
        '[{"role":"system","parts":[{"type":"text",'
        '"content":"Answer in French. Réponds brièvement."}]},'
        '{"role":"user","parts":[{"type":"text","content":"Météo à Paris et Lyon ?"},'
        '{"type":"uri","modality":"image","uri":"https://x/m.png"}]},'
        '{"role":"assistant","parts":['
        '{"type":"tool_call","id":"call_a","name":"weather","arguments":{"city":"Paris"}},'
        '{"type":"tool_call","id":"call_b","name":"weather","arguments":{"city":"Lyon"}}]},'
        '{"role":"tool","parts":[{"type":"tool_call_response","id":"call_a",'
        '"response":"{\\"temp_c\\": 21.5}"}]},'
        '{"role":"tool","parts":[{"type":"tool_call_response","id":"call_b",'
        '"response":"19 °C"}]}]'
    )
    assert out.pop(semconv.GEN_AI_OUTPUT_MESSAGES) == (
        '[{"role":"assistant","parts":[{"type":"text","content":"Paris : 21,5 °C ; Lyon : 19 °C."},'
        '{"type":"tool_call","id":"call_c","name":"log","arguments":{"n":2}}]}]'
    )
    assert out == {
        semconv.GEN_AI_OPERATION_NAME: "chat",
        semconv.GEN_AI_REQUEST_MODEL: "gpt-4o-2024-08-06",
        semconv.GEN_AI_PROVIDER_NAME: "openai",
        semconv.GEN_AI_USAGE_INPUT_TOKENS: 412,
        semconv.GEN_AI_USAGE_OUTPUT_TOKENS: 38,
        semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 256,
        semconv.AGENTTRACE_SESSION_ID: "sess-7",
        semconv.GEN_AI_CONVERSATION_ID: "sess-7",
        "llm.token_count.total": 450,  # no convention name: kept
        "app.tenant": "acme",
    }


def test_float_arguments_keep_json_number_notation() -> None:
    """Tool-call arguments with floats take json's notation (orjson writes 1e-07, not 1e-7)."""
    attributes = {
        "openinference.span.kind": "LLM",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "f",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": (
            '{"small": 1e-7, "big": 1e16, "x": 0.5}'
        ),
    }
    _, out = _normalized(attributes)
    assert '"arguments":{"small":1e-07,"big":1e+16,"x":0.5}' in out[semconv.GEN_AI_OUTPUT_MESSAGES]


def test_message_index_digits_int_cannot_read_stay_attributes() -> None:
    """An index of "²" passes ``str.isdigit`` but not ``int``: the key stays, no crash."""
    _, out = _normalized(
        {
            "openinference.span.kind": "LLM",
            "llm.input_messages.².message.role": "user",
            "llm.input_messages.0.message.tool_calls.².tool_call.id": "c",
            "llm.input_messages.0.message.role": "user",
        }
    )
    assert out["llm.input_messages.².message.role"] == "user"
    assert json.loads(out[semconv.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "tool_call", "id": "c"}]}
    ]


class _Colour(enum.Enum):
    RED = "red"


class _Count(int, enum.Enum):
    ONE = 1


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "parts": [{"type": "text", "content": 'é 中 \x01 " \\ \n \u2028'}]}],
        [{"role": "user", "parts": [{"type": "text", "content": chr(c)}]} for c in range(0x80)],
        [{"a": [1, -(2**63), 2**64 - 1, True, False, None, [], {}]}],
        [{"big": 2**64}],  # beyond orjson's integers
        [{"f": 0.1, "g": 1e16, "h": float("nan")}],
        [{"s": "\ud800"}],  # a lone surrogate, as json.loads can produce
        [{"e": _Colour.RED, "n": _Count.ONE, "b": b"raw"}],
        [{1: "int key", None: "none key"}],
        [("tuple", "item")],
    ],
)
def test_message_dumps_match_json_dumps(messages: list) -> None:
    expected = json.dumps(messages, ensure_ascii=False, separators=(",", ":"), default=str)
    assert _messages.dumps(messages) == expected


def _fixture_spans() -> list:
    request = build_request(load_testdata("openinference_spans.json")["spans"])
    process_checking_bytes(NormalizeProcessor(NormalizeConfig()), request)
    return spans_of(request)


def test_completion_prompts_and_invocation_parameters() -> None:
    completion, _, _ = _fixture_spans()
    out = attrs(completion)
    assert completion.name == "chat gpt-3.5-turbo-instruct"
    assert json.loads(out.pop(semconv.GEN_AI_INPUT_MESSAGES)) == [
        {"role": "user", "parts": [{"type": "text", "content": "Write a haiku about tracing."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Write one about spans."}]},
    ]
    assert not [k for k in out if k.startswith("llm.prompts.")]
    request = {k: v for k, v in out.items() if k.startswith("gen_ai.request.")}
    assert request == {
        semconv.GEN_AI_REQUEST_MODEL: "gpt-3.5-turbo-instruct",
        semconv.GEN_AI_REQUEST_TEMPERATURE: 1.0,  # a JSON 1 becomes the double it is
        semconv.GEN_AI_REQUEST_MAX_TOKENS: 64,
        semconv.GEN_AI_REQUEST_TOP_P: 0.9,
        semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY: 0.5,
        semconv.GEN_AI_REQUEST_PRESENCE_PENALTY: 0.0,
        semconv.GEN_AI_REQUEST_STOP_SEQUENCES: ["\n"],
        semconv.GEN_AI_REQUEST_SEED: 42,
    }
    assert isinstance(out[semconv.GEN_AI_REQUEST_TEMPERATURE], float)
    # Parameters without a convention name (logprobs) stay readable in the original.
    assert json.loads(out["llm.invocation_parameters"])["logprobs"] == 2


def test_anthropic_invocation_parameters_never_override_the_span() -> None:
    _, chat, _ = _fixture_spans()
    out = attrs(chat)
    assert out[semconv.GEN_AI_REQUEST_TEMPERATURE] == 0.7  # the span's own value wins
    assert out[semconv.GEN_AI_REQUEST_MAX_TOKENS] == 1024
    assert out[semconv.GEN_AI_REQUEST_TOP_K] == 40.0
    assert out[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] == ["END", "STOP"]
    assert [kv.key for kv in chat.attributes].count(semconv.GEN_AI_REQUEST_TEMPERATURE) == 1


def test_unusable_invocation_parameters_are_kept_untouched() -> None:
    for raw in ("not json", '["a list"]', '{"temperature": "hot", "max_tokens": null}'):
        _, out = _normalized({"openinference.span.kind": "LLM", "llm.invocation_parameters": raw})
        assert out["llm.invocation_parameters"] == raw
        assert not [k for k in out if k.startswith("gen_ai.request.")]


def test_retriever_documents_have_no_convention_name_and_are_kept() -> None:
    *_, retriever = _fixture_spans()
    out = attrs(retriever)
    assert out[semconv.GEN_AI_OPERATION_NAME] == "retrieval"
    documents = {k: v for k, v in out.items() if k.startswith("retrieval.documents.")}
    assert documents == {
        k: v
        for k, v in load_testdata("openinference_spans.json")["spans"][2]["attributes"].items()
        if k.startswith("retrieval.documents.")
    }
    assert out["input.value"] == "What is OTLP?"  # no retrieval query attribute either


def _user(text: str) -> dict:
    return {"role": "user", "parts": [{"type": "text", "content": text}]}


def test_the_older_list_form_of_completion_prompts() -> None:
    # Before llm.prompts.N.prompt.text, OpenInference wrote the prompts as a list of strings;
    # the span carries nothing else of the dialect, so the screen must find the key itself.
    _, out = _normalized({"llm.prompts": ["Write a haiku.", "Another."]})
    assert json.loads(out.pop(semconv.GEN_AI_INPUT_MESSAGES)) == [
        _user("Write a haiku."),
        _user("Another."),
    ]
    assert "llm.prompts" not in out


def test_the_indexed_form_wins_over_the_list_form_and_other_lists_stay() -> None:
    _, out = _normalized(
        {
            "openinference.span.kind": "LLM",
            "llm.prompts": ["old"],
            "llm.prompts.0.prompt.text": "new",
        }
    )
    assert json.loads(out[semconv.GEN_AI_INPUT_MESSAGES]) == [_user("new")]
    _, out = _normalized({"openinference.span.kind": "LLM", "llm.prompts": [1, 2]})
    assert out["llm.prompts"] == [1, 2]  # not prompts: left as it was
    assert semconv.GEN_AI_INPUT_MESSAGES not in out
