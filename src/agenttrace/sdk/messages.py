"""Provider request and response shapes to GenAI semconv messages.

The SDK applies :func:`genai_messages` to every captured ``gen_ai.input.messages``, and the
integrations use the per-provider converters directly.

GenAI messages are ``{"role", "parts": [...]}`` with parts ``text``, ``tool_call``,
``tool_call_response`` and ``reasoning``; anything else keeps its own ``type`` and the raw value
under ``content`` so nothing is silently dropped. Everything is duck-typed (mappings or SDK model
objects) and tolerant: a shape it does not know becomes a text part holding its string form.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Message = dict[str, Any]
Part = dict[str, Any]


def get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def text_part(text: Any) -> Part:
    return {"type": "text", "content": text if isinstance(text, str) else str(text)}


def tool_call_part(call_id: Any, name: Any, arguments: Any) -> Part:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": parse_json(arguments)}


def parse_json(value: Any) -> Any:
    """Tool arguments arrive as JSON text from OpenAI and as objects elsewhere; keep objects."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _generic_part(block: Any) -> Part:
    kind = get(block, "type")
    if kind in ("text", "input_text", "output_text"):
        return text_part(get(block, "text", ""))
    if isinstance(block, str):
        return text_part(block)
    dump = getattr(block, "model_dump", None)
    raw = dump() if callable(dump) else block
    return {"type": kind if isinstance(kind, str) else "unknown", "content": raw}


def content_parts(content: Any) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [text_part(content)] if content else []
    if is_list(content):
        return [_generic_part(block) for block in content]
    return [text_part(content)]


# --- OpenAI Chat Completions ---------------------------------------------------------------


def openai_chat_messages(messages: Iterable[Any]) -> list[Message]:
    out: list[Message] = []
    for message in messages:
        role = get(message, "role") or "user"
        if role == "tool":
            out.append(
                {
                    "role": "tool",
                    "parts": [
                        {
                            "type": "tool_call_response",
                            "id": get(message, "tool_call_id"),
                            "response": get(message, "content"),
                        }
                    ],
                }
            )
            continue
        parts = content_parts(get(message, "content"))
        for call in get(message, "tool_calls") or ():
            function = get(call, "function")
            parts.append(
                tool_call_part(get(call, "id"), get(function, "name"), get(function, "arguments"))
            )
        out.append({"role": role, "parts": parts})
    return out


def openai_chat_output(choices: Iterable[Any]) -> list[Message]:
    out: list[Message] = []
    for choice in choices:
        message = get(choice, "message")
        parts = content_parts(get(message, "content"))
        for call in get(message, "tool_calls") or ():
            function = get(call, "function")
            parts.append(
                tool_call_part(get(call, "id"), get(function, "name"), get(function, "arguments"))
            )
        out.append(
            {
                "role": get(message, "role") or "assistant",
                "parts": parts,
                "finish_reason": get(choice, "finish_reason"),
            }
        )
    return out


# --- OpenAI Responses (also the OpenAI Agents SDK item format) ------------------------------


def responses_items(items: Any) -> list[Message]:
    """Responses API input or output items as GenAI messages; consecutive parts of one role merge."""
    if items is None:
        return []
    if isinstance(items, str):
        return [{"role": "user", "parts": [text_part(items)]}]
    out: list[Message] = []

    def add(role: str, part: Part) -> None:
        if out and out[-1]["role"] == role and "finish_reason" not in out[-1]:
            out[-1]["parts"].append(part)
        else:
            out.append({"role": role, "parts": [part]})

    for item in items:
        kind = get(item, "type")
        if kind == "function_call":
            add(
                "assistant",
                tool_call_part(get(item, "call_id"), get(item, "name"), get(item, "arguments")),
            )
        elif kind == "function_call_output":
            add(
                "tool",
                {
                    "type": "tool_call_response",
                    "id": get(item, "call_id"),
                    "response": get(item, "output"),
                },
            )
        elif kind == "reasoning":
            summary = get(item, "summary") or ()
            text = "".join(str(get(s, "text", "")) for s in summary)
            add("assistant", {"type": "reasoning", "content": text})
        elif kind in (None, "message"):
            role = get(item, "role") or "user"
            for part in content_parts(get(item, "content")):
                add(role, part)
        else:
            add("assistant", _generic_part(item))
    return out


def response_tool_calls(output: Any) -> list[Part]:
    return [
        tool_call_part(get(item, "call_id"), get(item, "name"), get(item, "arguments"))
        for item in output or ()
        if get(item, "type") == "function_call"
    ]


def responses_output(response: Any, finish_reason: str) -> list[Message]:
    messages = responses_items(get(response, "output"))
    if messages:
        messages[-1]["finish_reason"] = finish_reason
    return messages


# --- Anthropic Messages --------------------------------------------------------------------


def _anthropic_part(block: Any) -> Part:
    kind = get(block, "type")
    if kind == "tool_use":
        return tool_call_part(get(block, "id"), get(block, "name"), get(block, "input"))
    if kind == "tool_result":
        return {
            "type": "tool_call_response",
            "id": get(block, "tool_use_id"),
            "response": get(block, "content"),
        }
    if kind == "thinking":
        return {"type": "reasoning", "content": get(block, "thinking")}
    return _generic_part(block)


def anthropic_messages(messages: Iterable[Any]) -> list[Message]:
    out: list[Message] = []
    for message in messages:
        content = get(message, "content")
        if isinstance(content, str):
            parts = content_parts(content)
        else:
            parts = [_anthropic_part(block) for block in content or ()]
        out.append({"role": get(message, "role") or "user", "parts": parts})
    return out


def anthropic_system(system: Any) -> list[Part] | None:
    if system is None:
        return None
    if isinstance(system, str):
        return [text_part(system)]
    return [_anthropic_part(block) for block in system]


def anthropic_output(message: Any) -> list[Message]:
    return [
        {
            "role": get(message, "role") or "assistant",
            "parts": [_anthropic_part(block) for block in get(message, "content") or ()],
            "finish_reason": get(message, "stop_reason"),
        }
    ]


# --- Whatever a caller passed as input messages ----------------------------------------------

_ANTHROPIC_BLOCKS = frozenset({"tool_use", "tool_result", "thinking"})


def genai_messages(value: Any) -> Any:
    """Chat messages in a provider's shape (OpenAI, Anthropic, plain role/content dicts) as
    GenAI messages; messages that already have ``parts``, and anything that is not a list of
    role-carrying messages, are returned unchanged."""
    if not is_list(value) or not value:
        return value
    if not all(get(message, "role") is not None for message in value):
        return value
    return [_genai_message(message) for message in value]


def _genai_message(message: Any) -> Any:
    if get(message, "parts") is not None:
        return message
    content = get(message, "content")
    if is_list(content) and any(get(block, "type") in _ANTHROPIC_BLOCKS for block in content):
        return anthropic_messages([message])[0]
    return openai_chat_messages([message])[0]
