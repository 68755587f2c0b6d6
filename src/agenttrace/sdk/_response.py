"""Reading model responses and stream chunks of the common provider shapes.

Everything here is best effort and duck-typed: OpenAI Chat Completions and Responses, Anthropic
Messages (and their stream events), LangChain messages and plain strings or mappings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _first_choice(obj: Any) -> Any:
    choices = get(obj, "choices")
    if isinstance(choices, Sequence) and not isinstance(choices, str) and choices:
        return choices[0]
    return None


def chunk_text(chunk: Any) -> str | None:
    """The text a stream chunk adds, or None."""
    if isinstance(chunk, str):
        return chunk
    choice = _first_choice(chunk)
    if choice is not None:  # OpenAI chat chunk
        delta = get(choice, "delta")
        text = get(delta, "content") if delta is not None else None
        return text if isinstance(text, str) else None
    event_type = get(chunk, "type")
    if event_type == "content_block_delta":  # Anthropic
        text = get(get(chunk, "delta"), "text")
        return text if isinstance(text, str) else None
    if event_type == "response.output_text.delta":  # OpenAI Responses
        text = get(chunk, "delta")
        return text if isinstance(text, str) else None
    if isinstance(event_type, str):
        return None
    content = get(chunk, "content")  # LangChain AIMessageChunk, plain mappings
    if isinstance(content, str):
        return content
    text = get(chunk, "text")
    return text if isinstance(text, str) else None


def response_fields(obj: Any) -> tuple[str | None, str | None, list[str]]:
    """``(response model, response id, finish reasons)`` of a response or stream chunk."""
    source = obj
    event_type = get(obj, "type")
    if event_type == "message_start" or (
        isinstance(event_type, str) and event_type.startswith("response.")
    ):
        source = get(obj, "message") or get(obj, "response") or obj
    model = get(source, "model")
    response_id = get(source, "id")
    reasons: list[str] = []
    choices = get(source, "choices")
    if isinstance(choices, Sequence) and not isinstance(choices, str):
        for choice in choices:
            reason = get(choice, "finish_reason")
            if isinstance(reason, str):
                reasons.append(reason)
    stop = get(source, "stop_reason")
    if stop is None and event_type == "message_delta":
        stop = get(get(obj, "delta"), "stop_reason")
    if isinstance(stop, str):
        reasons.append(stop)
    return (
        model if isinstance(model, str) else None,
        response_id if isinstance(response_id, str) else None,
        reasons,
    )


def output_messages(response: Any) -> list[dict[str, Any]] | None:
    """GenAI-shaped output messages for an OpenAI or Anthropic response, else None."""
    choices = get(response, "choices")
    if isinstance(choices, Sequence) and not isinstance(choices, str) and choices:
        messages = []
        for choice in choices:
            message = get(choice, "message")
            if message is None:
                return None
            parts: list[dict[str, Any]] = []
            content = get(message, "content")
            if isinstance(content, str) and content:
                parts.append({"type": "text", "content": content})
            for call in get(message, "tool_calls") or ():
                function = get(call, "function")
                parts.append(
                    {
                        "type": "tool_call",
                        "id": get(call, "id"),
                        "name": get(function, "name"),
                        "arguments": get(function, "arguments"),
                    }
                )
            messages.append(
                {
                    "role": get(message, "role") or "assistant",
                    "parts": parts,
                    "finish_reason": get(choice, "finish_reason"),
                }
            )
        return messages
    blocks = get(response, "content")
    if get(response, "type") == "message" and isinstance(blocks, Sequence):
        parts = []
        for block in blocks:
            block_type = get(block, "type")
            if block_type == "text":
                parts.append({"type": "text", "content": get(block, "text")})
            elif block_type == "tool_use":
                parts.append(
                    {
                        "type": "tool_call",
                        "id": get(block, "id"),
                        "name": get(block, "name"),
                        "arguments": get(block, "input"),
                    }
                )
        return [
            {
                "role": get(response, "role") or "assistant",
                "parts": parts,
                "finish_reason": get(response, "stop_reason"),
            }
        ]
    return None


def text_output(text: str, finish_reasons: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": text}],
            "finish_reason": finish_reasons[-1] if finish_reasons else None,
        }
    ]
