"""OTLP protobuf → span table conversion."""

from __future__ import annotations

import base64
import json
from typing import Any

import pyarrow as pa
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from agenttrace import semconv
from agenttrace.store import SPAN_SCHEMA, requests_to_table
from agenttrace.store.convert import any_value_to_python
from agenttrace.store.sample import agent_requests
from agenttrace.store.schema import CONTENT_ATTRIBUTE_COLUMNS, HOT_ATTRIBUTE_COLUMNS

from .otlp import T0, key_values, make_request, make_span

TRACE = 0x0AF7651916CD43DD8448EB211C80319C
CHAT_ATTRIBUTES: dict[str, Any] = {
    semconv.GEN_AI_OPERATION_NAME: "chat",
    semconv.GEN_AI_PROVIDER_NAME: "anthropic",
    semconv.GEN_AI_REQUEST_MODEL: "claude-sonnet-4-5",
    semconv.GEN_AI_RESPONSE_MODEL: "claude-sonnet-4-5-20250929",
    semconv.GEN_AI_CONVERSATION_ID: "conv-1",
    semconv.GEN_AI_USAGE_INPUT_TOKENS: 1200,
    semconv.GEN_AI_USAGE_OUTPUT_TOKENS: 85,
    semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1000,
    semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 0,
    semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 12,
    semconv.AGENTTRACE_COST_USD: 0.004875,
    semconv.AGENTTRACE_RUN_ID: "run-1",
    semconv.AGENTTRACE_SESSION_ID: "sess-1",
    semconv.ERROR_TYPE: "overloaded_error",
    semconv.GEN_AI_INPUT_MESSAGES: '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
    semconv.GEN_AI_OUTPUT_MESSAGES: '[{"role":"assistant","parts":[]}]',
    semconv.GEN_AI_SYSTEM_INSTRUCTIONS: '[{"type":"text","content":"be brief"}]',
    semconv.GEN_AI_RESPONSE_FINISH_REASONS: ["stop"],
    semconv.AGENTTRACE_TURN_INDEX: 3,
    semconv.AGENTTRACE_CONTENT_TRUNCATED: False,
}


def chat_span() -> Span:
    span = make_span(
        TRACE,
        0xB7AD6B7169203331,
        parent=0x00F067AA0BA902B7,
        start=T0 + 5,
        duration=2_500_000_000,
        name="chat claude-sonnet-4-5",
        kind=Span.SPAN_KIND_CLIENT,
        trace_state="vendor=x",
        status=Status(code=Status.STATUS_CODE_ERROR, message="overloaded"),
        attributes=CHAT_ATTRIBUTES,
    )
    span.events.add(
        name=semconv.EVENT_RETRY,
        time_unix_nano=T0 + 10,
        attributes=key_values({semconv.AGENTTRACE_RETRY_ATTEMPT: 1}),
    )
    span.links.add(
        trace_id=(0xAB).to_bytes(16, "big"),
        span_id=(0xCD).to_bytes(8, "big"),
        trace_state="k=v",
        attributes=key_values({semconv.AGENTTRACE_LINK_TYPE: "memory_record"}),
    )
    return span


def test_genai_chat_span_row() -> None:
    request = make_request(
        [chat_span()],
        resource={"service.name": "coder", "service.version": "2.0", "host.name": "h1"},
    )
    table = requests_to_table([request])
    assert table.schema == SPAN_SCHEMA
    row = table.to_pylist()[0]
    assert row == {
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": "b7ad6b7169203331",
        "parent_span_id": "00f067aa0ba902b7",
        "trace_state": "vendor=x",
        "start_time_unix_nano": T0 + 5,
        "end_time_unix_nano": T0 + 5 + 2_500_000_000,
        "duration_nano": 2_500_000_000,
        "name": "chat claude-sonnet-4-5",
        "kind": "client",
        "status_code": "error",
        "status_message": "overloaded",
        "service_name": "coder",
        "scope_name": "agenttrace",
        "scope_version": "0.1.0",
        "gen_ai_operation_name": "chat",
        "gen_ai_provider_name": "anthropic",
        "gen_ai_request_model": "claude-sonnet-4-5",
        "gen_ai_response_model": "claude-sonnet-4-5-20250929",
        "gen_ai_agent_name": None,
        "gen_ai_agent_id": None,
        "gen_ai_tool_name": None,
        "gen_ai_tool_call_id": None,
        "gen_ai_conversation_id": "conv-1",
        "agenttrace_run_id": "run-1",
        "agenttrace_session_id": "sess-1",
        "agenttrace_operation_name": None,
        "error_type": "overloaded_error",
        "gen_ai_usage_input_tokens": 1200,
        "gen_ai_usage_output_tokens": 85,
        "gen_ai_usage_cache_read_input_tokens": 1000,
        "gen_ai_usage_cache_write_input_tokens": 0,
        "gen_ai_usage_reasoning_output_tokens": 12,
        "agenttrace_cost_usd": 0.004875,
        "gen_ai_input_messages": CHAT_ATTRIBUTES[semconv.GEN_AI_INPUT_MESSAGES],
        "gen_ai_output_messages": CHAT_ATTRIBUTES[semconv.GEN_AI_OUTPUT_MESSAGES],
        "gen_ai_tool_call_arguments": None,
        "gen_ai_tool_call_result": None,
        "gen_ai_system_instructions": CHAT_ATTRIBUTES[semconv.GEN_AI_SYSTEM_INSTRUCTIONS],
        "attributes": row["attributes"],
        "resource_attributes": row["resource_attributes"],
        "events": row["events"],
        "links": row["links"],
    }
    assert json.loads(row["attributes"]) == {
        "gen_ai.response.finish_reasons": ["stop"],
        "agenttrace.turn.index": 3,
        "agenttrace.content.truncated": False,
    }
    assert json.loads(row["resource_attributes"]) == {
        "service.name": "coder",
        "service.version": "2.0",
        "host.name": "h1",
    }
    assert json.loads(row["events"]) == [
        {
            "name": "agenttrace.retry",
            "time_unix_nano": T0 + 10,
            "attributes": {"agenttrace.retry.attempt": 1},
        }
    ]
    assert json.loads(row["links"]) == [
        {
            "trace_id": "000000000000000000000000000000ab",
            "span_id": "00000000000000cd",
            "trace_state": "k=v",
            "attributes": {"agenttrace.link.type": "memory_record"},
        }
    ]


def test_root_span_and_empty_fields_are_null() -> None:
    root = make_span(1, 2, name="invoke_agent a", kind=Span.SPAN_KIND_INTERNAL)
    row = requests_to_table([make_request([root], resource={}, scope=("", ""))]).to_pylist()[0]
    assert row["parent_span_id"] is None
    assert row["trace_state"] is None
    assert row["status_message"] is None
    assert row["service_name"] is None
    assert (row["scope_name"], row["scope_version"]) == (None, None)
    assert (row["kind"], row["status_code"]) == ("internal", "unset")
    assert (row["attributes"], row["resource_attributes"]) == ("{}", "{}")
    assert (row["events"], row["links"]) == ("[]", "[]")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (0, "unspecified"),
        (1, "internal"),
        (2, "server"),
        (3, "client"),
        (4, "producer"),
        (5, "consumer"),
        (9, "unspecified"),
    ],
)
def test_span_kind_names(kind: int, expected: str) -> None:
    span = make_span(1, 2, kind=kind)
    assert requests_to_table([make_request([span])]).column("kind").to_pylist() == [expected]


def test_long_tail_values_become_json() -> None:
    attributes = {
        "tags": ["a", "b"],
        "scores": [1.5, 2],
        "nested": {"k": [True, {"deep": None}]},
        "blob": b"\x00\xffbin",
        "ratio": 0.25,
        "flag": True,
        "unset": None,
        "unicode": "héllo ✓",
    }
    row = requests_to_table([make_request([make_span(1, 2, attributes=attributes)])]).to_pylist()
    assert json.loads(row[0]["attributes"]) == {
        "tags": ["a", "b"],
        "scores": [1.5, 2],
        "nested": {"k": [True, {"deep": None}]},
        "blob": base64.b64encode(b"\x00\xffbin").decode(),
        "ratio": 0.25,
        "flag": True,
        "unset": None,
        "unicode": "héllo ✓",
    }


def test_values_that_do_not_fit_their_column_are_kept_in_attributes() -> None:
    structured_messages = [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
    attributes = {
        semconv.GEN_AI_USAGE_INPUT_TOKENS: "12",  # wrong type: not coerced, not lost
        semconv.GEN_AI_AGENT_ID: 7,
        semconv.AGENTTRACE_COST_USD: 2,  # an int cost is still a cost
        semconv.GEN_AI_INPUT_MESSAGES: structured_messages,  # structured content → JSON text
        semconv.GEN_AI_TOOL_NAME: "",  # an empty string is a string
    }
    row = requests_to_table([make_request([make_span(1, 2, attributes=attributes)])]).to_pylist()[0]
    assert row["gen_ai_usage_input_tokens"] is None
    assert row["gen_ai_agent_id"] is None
    assert row["agenttrace_cost_usd"] == 2.0
    assert json.loads(row["gen_ai_input_messages"]) == structured_messages
    assert row["gen_ai_tool_name"] == ""
    assert json.loads(row["attributes"]) == {
        semconv.GEN_AI_USAGE_INPUT_TOKENS: "12",
        semconv.GEN_AI_AGENT_ID: 7,
    }


def test_rows_follow_input_across_resources_and_scopes() -> None:
    first = make_request([make_span(1, 1), make_span(1, 2)], resource={"service.name": "a"})
    extra_scope = first.resource_spans[0].scope_spans.add()
    extra_scope.scope.name = "other"
    extra_scope.spans.append(make_span(1, 3))
    second = make_request([make_span(2, 4)], resource={"service.name": "b"}, scope=("s", "9"))
    table = requests_to_table([first, second])
    assert table.column("span_id").to_pylist() == [f"{i:016x}" for i in (1, 2, 3, 4)]
    assert table.column("service_name").to_pylist() == ["a", "a", "a", "b"]
    assert table.column("scope_name").to_pylist() == ["agenttrace", "agenttrace", "other", "s"]
    assert table.column("scope_version").to_pylist() == ["0.1.0", "0.1.0", None, "9"]


def test_empty_input_gives_empty_table() -> None:
    table = requests_to_table([])
    assert table.num_rows == 0
    assert table.schema == SPAN_SCHEMA


def test_timestamp_beyond_int64_names_the_column() -> None:
    span = make_span(1, 2, start=2**63 + 1, duration=0)
    with pytest.raises(ValueError, match="start_time_unix_nano"):
        requests_to_table([make_request([span])])


def test_no_attribute_is_lost_on_realistic_runs() -> None:
    """Every attribute of every sample span is recoverable from the row, with its value."""
    requests = list(agent_requests(600, spans_per_request=128, seed=3))
    rows = requests_to_table(requests).to_pylist()
    spans = [
        s for r in requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans
    ]
    assert len(rows) == len(spans) == 600
    columns = {**HOT_ATTRIBUTE_COLUMNS, **CONTENT_ATTRIBUTE_COLUMNS}
    for span, row in zip(spans, rows, strict=True):
        recovered = json.loads(row["attributes"])
        for attribute, column in columns.items():
            if row[column] is not None:
                recovered[attribute] = row[column]
        original = {kv.key: any_value_to_python(kv.value) for kv in span.attributes}
        assert recovered == original
        assert len(json.loads(row["events"])) == len(span.events)
        assert len(json.loads(row["links"])) == len(span.links)


def test_schema_matches_the_store_contract() -> None:
    """The column list of docs/architecture.md, in order, with types."""
    string, int64 = pa.string(), pa.int64()
    hot_strings = [
        "gen_ai_operation_name",
        "gen_ai_provider_name",
        "gen_ai_request_model",
        "gen_ai_response_model",
        "gen_ai_agent_name",
        "gen_ai_agent_id",
        "gen_ai_tool_name",
        "gen_ai_tool_call_id",
        "gen_ai_conversation_id",
        "agenttrace_run_id",
        "agenttrace_session_id",
        "agenttrace_operation_name",
        "error_type",
    ]
    hot_ints = [
        "gen_ai_usage_input_tokens",
        "gen_ai_usage_output_tokens",
        "gen_ai_usage_cache_read_input_tokens",
        "gen_ai_usage_cache_write_input_tokens",
        "gen_ai_usage_reasoning_output_tokens",
    ]
    content = [
        "gen_ai_input_messages",
        "gen_ai_output_messages",
        "gen_ai_tool_call_arguments",
        "gen_ai_tool_call_result",
        "gen_ai_system_instructions",
    ]
    expected = [
        ("trace_id", string),
        ("span_id", string),
        ("parent_span_id", string),
        ("trace_state", string),
        ("start_time_unix_nano", int64),
        ("end_time_unix_nano", int64),
        ("duration_nano", int64),
        *((name, string) for name in ["name", "kind", "status_code", "status_message"]),
        *((name, string) for name in ["service_name", "scope_name", "scope_version"]),
        *((name, string) for name in hot_strings),
        *((name, int64) for name in hot_ints),
        ("agenttrace_cost_usd", pa.float64()),
        *((name, string) for name in content),
        *((name, string) for name in ["attributes", "resource_attributes", "events", "links"]),
    ]
    assert [(f.name, f.type) for f in SPAN_SCHEMA] == expected
