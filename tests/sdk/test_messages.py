"""Captured input messages follow the GenAI message shape whatever shape the caller used."""

from __future__ import annotations

from agenttrace.sdk.messages import genai_messages


def test_openai_chat_messages_with_tool_calls_and_results() -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "f", "arguments": '{"x": 1}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ]
    assert genai_messages(messages) == [
        {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "call_1", "name": "f", "arguments": {"x": 1}}],
        },
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_1", "response": "42"}],
        },
    ]


def test_anthropic_content_blocks() -> None:
    messages = [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "42"}],
        },
    ]
    assert genai_messages(messages) == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "toolu_1", "name": "f", "arguments": {"x": 1}}],
        },
        {
            "role": "user",
            "parts": [{"type": "tool_call_response", "id": "toolu_1", "response": "42"}],
        },
    ]


def test_genai_messages_and_other_values_are_left_alone() -> None:
    already = [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
    assert genai_messages(already) == already
    for value in ("plain prompt", [1, 2], [{"no_role": True}], [], {"role": "user"}):
        assert genai_messages(value) == value
