"""Conversion of other dialects' chat messages into the GenAI message shape.

The convention stores messages as one JSON attribute per direction::

    [{"role": "user", "parts": [{"type": "text", "content": "hi"}]},
     {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "f",
                                      "arguments": {"x": 1}}], "finish_reason": "tool_call"}]

Instrumentations deliver messages either flattened into indexed attributes (OpenInference's
``llm.input_messages.0.message.role``, OpenLLMetry's ``gen_ai.prompt.0.role``) or as JSON in
the OpenAI chat format (Logfire, MLflow, OpenInference ``input.value``). Both funnel into
:func:`to_genai_message`.
"""

from __future__ import annotations

import json
from typing import Any

# Path segments that only namespace a value in flattened keys; dropping them makes the
# OpenInference and OpenLLMetry layouts identical.
_NAMESPACE_SEGMENTS = frozenset({"message", "tool_call", "function", "message_content"})


def fold_flattened(entries: dict[str, Any]) -> list[dict[str, Any]]:
    """Messages from flattened entries keyed by the part after the prefix (``"0.message.role"``)."""
    by_index: dict[int, dict[str, Any]] = {}
    for suffix, value in entries.items():
        index_text, _, rest = suffix.partition(".")
        if not rest:
            continue
        tree = by_index.setdefault(int(index_text), {})
        path = [seg for seg in rest.split(".") if seg not in _NAMESPACE_SEGMENTS]
        for segment in path[:-1]:
            child = tree.get(segment)
            if not isinstance(child, dict):
                child = tree[segment] = {}
            tree = child
        if path:
            tree[path[-1]] = value
    return [_flat_message(by_index[i]) for i in sorted(by_index)]


def is_flattened_index(suffix: str) -> bool:
    """Whether ``suffix`` (the key after ``prefix.``) starts with a message index."""
    index_text, _, rest = suffix.partition(".")
    return bool(rest) and index_text.isdigit()


def _indexed(value: Any) -> list[Any]:
    """A flattened ``{"0": a, "1": b}`` subtree as a list ordered by index."""
    if not isinstance(value, dict):
        return []
    return [value[k] for k in sorted(value, key=lambda k: int(k) if k.isdigit() else 1 << 30)]


def _flat_message(tree: dict[str, Any]) -> dict[str, Any]:
    contents = [
        _chat_content_item(
            {
                "type": item.get("type"),
                "text": item.get("text"),
                "image_url": _nested(item, "image", "image", "url"),
            }
        )
        for item in _indexed(tree.get("contents"))
        if isinstance(item, dict)
    ]
    tool_calls = [
        {
            "id": call.get("id"),
            "function": {"name": call.get("name"), "arguments": call.get("arguments")},
        }
        for call in _indexed(tree.get("tool_calls"))
        if isinstance(call, dict)
    ]
    if tree.get("function_call_name"):
        tool_calls.append(
            {
                "function": {
                    "name": tree["function_call_name"],
                    "arguments": tree.get("function_call_arguments_json"),
                }
            }
        )
    chat: dict[str, Any] = {
        "role": tree.get("role") or "user",
        "content": tree.get("content"),
        "tool_calls": tool_calls,
        "tool_call_id": tree.get("tool_call_id"),
        "name": tree.get("name"),
        "finish_reason": tree.get("finish_reason"),
    }
    converted = to_genai_message(chat)
    converted["parts"].extend(part for part in contents if part is not None)
    return converted


def _nested(tree: dict[str, Any], *path: str) -> Any:
    node: Any = tree
    for segment in path:
        if not isinstance(node, dict):
            return None
        node = node.get(segment)
    return node


def to_genai_message(chat: dict[str, Any]) -> dict[str, Any]:
    """One OpenAI-chat-style message (Anthropic content blocks accepted) as a GenAI message."""
    role = str(chat.get("role") or "user")
    parts: list[dict[str, Any]] = []
    content = chat.get("content")
    tool_call_id = chat.get("tool_call_id")
    if role in ("tool", "function") and tool_call_id:
        parts.append({"type": "tool_call_response", "id": tool_call_id, "response": content})
    elif isinstance(content, str):
        parts.extend(_content_string_parts(content))
    elif isinstance(content, list):
        parts.extend(p for p in (_chat_content_item(item) for item in content) if p is not None)
    elif content is not None:
        parts.append({"type": "text", "content": json.dumps(content, default=str)})
    for call in chat.get("tool_calls") or ():
        if isinstance(call, dict):
            nested = call.get("function")
            function: dict[str, Any] = nested if isinstance(nested, dict) else call
            parts.append(
                _drop_none(
                    {
                        "type": "tool_call",
                        "id": call.get("id"),
                        "name": function.get("name"),
                        "arguments": parse_json_maybe(function.get("arguments")),
                    }
                )
            )
    message: dict[str, Any] = {"role": role, "parts": parts}
    if chat.get("name") and role not in ("tool", "function"):
        message["name"] = chat["name"]
    if chat.get("finish_reason"):
        message["finish_reason"] = chat["finish_reason"]
    return message


def _content_string_parts(content: str) -> list[dict[str, Any]]:
    """Text, unless the string is OpenLLMetry's JSON-encoded list of content blocks."""
    if content.startswith("[{"):
        try:
            blocks = json.loads(content)
        except ValueError:
            blocks = None
        if isinstance(blocks, list) and all(isinstance(b, dict) and "type" in b for b in blocks):
            return [p for p in (_chat_content_item(b) for b in blocks) if p is not None]
    return [{"type": "text", "content": content}]


def _chat_content_item(item: Any) -> dict[str, Any] | None:
    if isinstance(item, str):
        return {"type": "text", "content": item}
    if not isinstance(item, dict):
        return None
    kind = item.get("type")
    if kind in ("text", "input_text", "output_text") or (kind is None and "text" in item):
        text = item.get("text")
        return None if text is None else {"type": "text", "content": text}
    if kind in ("thinking", "reasoning"):
        return {"type": "reasoning", "content": item.get("thinking") or item.get("text") or ""}
    if kind == "refusal":
        return {"type": "text", "content": item.get("refusal") or ""}
    if kind == "tool_use":
        return _drop_none(
            {
                "type": "tool_call",
                "id": item.get("id"),
                "name": item.get("name"),
                "arguments": item.get("input"),
            }
        )
    if kind == "tool_result":
        return {
            "type": "tool_call_response",
            "id": item.get("tool_use_id"),
            "response": item.get("content"),
        }
    url = item.get("image_url")
    if isinstance(url, dict):
        url = url.get("url")
    if kind in ("image", "image_url", "input_image") or url:
        return {"type": "uri", "modality": "image", "uri": url} if url else None
    return {"type": str(kind or "unknown"), "content": json.dumps(item, default=str)}


def _drop_none(part: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in part.items() if v is not None}


def parse_json_maybe(value: Any) -> Any:
    """``value`` decoded when it is a JSON object or array string, else unchanged."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def text_messages(value: Any, role: str) -> list[dict[str, Any]]:
    """Free-form input or output (``input.value``, ``traceloop.entity.input``) as messages.

    A JSON list of chat messages is converted message by message; a JSON object carrying
    ``messages`` (a chat request) or ``choices`` (a chat response) is unwrapped; anything else
    becomes one text part with the given role.
    """
    decoded = parse_json_maybe(value)
    chats = chat_messages_in(decoded)
    if chats is not None:
        return [to_genai_message(m) for m in chats]
    text = decoded if isinstance(decoded, str) else json.dumps(decoded, default=str)
    return [{"role": role, "parts": [{"type": "text", "content": text}]}]


def chat_messages_in(decoded: Any) -> list[dict[str, Any]] | None:
    """The chat messages inside a decoded request/response/message list, if it holds any."""
    if (
        isinstance(decoded, list)
        and decoded
        and all(isinstance(m, dict) and "role" in m for m in decoded)
    ):
        return decoded
    if isinstance(decoded, dict):
        if isinstance(decoded.get("messages"), list):
            return chat_messages_in(decoded["messages"])
        if isinstance(decoded.get("message"), dict):
            return [decoded["message"]]
        choices = decoded.get("choices")
        if isinstance(choices, list):
            out = []
            for choice in choices:
                if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
                    out.append({**choice["message"], "finish_reason": choice.get("finish_reason")})
            return out or None
        if "role" in decoded and ("content" in decoded or "tool_calls" in decoded):
            return [decoded]
    return None


def dumps(messages: list[dict[str, Any]]) -> str:
    return json.dumps(messages, ensure_ascii=False, separators=(",", ":"), default=str)
