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

import functools
import json
from typing import Any

import orjson

# Path segments that only namespace a value in flattened keys; dropping them makes the
# OpenInference and OpenLLMetry layouts identical.
_NAMESPACE_SEGMENTS = frozenset({"message", "tool_call", "function", "message_content", "prompt"})
# A message's own ``text`` (OpenInference completion prompts: ``llm.prompts.0.prompt.text``) is
# its content.
_MESSAGE_TEXT = ("text",)
_ORJSON_SCALARS = frozenset({str, int, bool})


def fold_flattened(entries: dict[str, Any]) -> list[dict[str, Any]]:
    """Messages from flattened entries keyed by the part after the prefix (``"0.message.role"``)."""
    by_index: dict[int, dict[str, Any]] = {}
    for suffix, value in entries.items():
        parsed = _entry_path(suffix)
        if parsed is None:
            continue
        index, path = parsed
        tree = by_index.setdefault(index, {})
        for segment in path[:-1]:
            child = tree.get(segment)
            if not isinstance(child, dict):
                child = tree[segment] = {}
            tree = child
        if path:
            tree[path[-1]] = value
    return [_flat_message(by_index[i]) for i in sorted(by_index)]


@functools.lru_cache(maxsize=4096)
def _entry_path(suffix: str) -> tuple[int, tuple[str, ...]] | None:
    """``"0.message.tool_calls.1.tool_call.id"`` -> ``(0, ("tool_calls", "1", "id"))``; ``None``
    without a path after the index. Cached: the same few suffixes recur in every span."""
    index_text, _, rest = suffix.partition(".")
    if not rest:
        return None
    path = tuple(seg for seg in rest.split(".") if seg not in _NAMESPACE_SEGMENTS)
    return int(index_text), ("content",) if path == _MESSAGE_TEXT else path


def _indexed(value: Any) -> list[Any]:
    """A flattened ``{"0": a, "1": b}`` subtree as a list ordered by index."""
    if not isinstance(value, dict):
        return []
    # isdecimal, not isdigit: "²" is a digit that ``int`` rejects.
    return [value[k] for k in sorted(value, key=lambda k: int(k) if k.isdecimal() else 1 << 30)]


def _flat_message(tree: dict[str, Any]) -> dict[str, Any]:
    """One message's folded entries as a GenAI message: the parts :func:`to_genai_message` would
    build from the equivalent chat message, then the ``contents`` items."""
    role = str(tree.get("role") or "user")
    parts = _content_parts(role, tree.get("content"), tree.get("tool_call_id"))
    for call in _indexed(tree.get("tool_calls")):
        if isinstance(call, dict):
            parts.append(_tool_call_part(call.get("id"), call.get("name"), call.get("arguments")))
    if tree.get("function_call_name"):
        parts.append(
            _tool_call_part(
                None, tree["function_call_name"], tree.get("function_call_arguments_json")
            )
        )
    message = _message(role, parts, tree.get("name"), tree.get("finish_reason"))
    for item in _indexed(tree.get("contents")):
        if isinstance(item, dict):
            part = _chat_content_item(
                {
                    "type": item.get("type"),
                    "text": item.get("text"),
                    "image_url": _nested(item, "image", "image", "url"),
                }
            )
            if part is not None:
                parts.append(part)
    return message


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
    parts = _content_parts(role, chat.get("content"), chat.get("tool_call_id"))
    for call in chat.get("tool_calls") or ():
        if isinstance(call, dict):
            nested = call.get("function")
            function: dict[str, Any] = nested if isinstance(nested, dict) else call
            parts.append(
                _tool_call_part(call.get("id"), function.get("name"), function.get("arguments"))
            )
    return _message(role, parts, chat.get("name"), chat.get("finish_reason"))


def _content_parts(role: str, content: Any, tool_call_id: Any) -> list[dict[str, Any]]:
    if role in ("tool", "function") and tool_call_id:
        return [{"type": "tool_call_response", "id": tool_call_id, "response": content}]
    if isinstance(content, str):
        return _content_string_parts(content)
    if isinstance(content, list):
        return [p for p in (_chat_content_item(item) for item in content) if p is not None]
    if content is not None:
        return [{"type": "text", "content": json.dumps(content, default=str)}]
    return []


def _tool_call_part(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    return _drop_none(
        {
            "type": "tool_call",
            "id": call_id,
            "name": name,
            "arguments": parse_json_maybe(arguments),
        }
    )


def _message(
    role: str, parts: list[dict[str, Any]], name: Any, finish_reason: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": role, "parts": parts}
    if name and role not in ("tool", "function"):
        message["name"] = name
    if finish_reason:
        message["finish_reason"] = finish_reason
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
    """Compact JSON with non-ASCII kept. orjson writes exactly what ``json.dumps`` would for
    strings, ints, bools, null, lists and str-keyed dicts, at a fraction of the cost; anything
    else (floats, whose notation differs, or objects ``default`` stringifies) goes to json."""
    try:
        if _orjson_exact(messages):
            return orjson.dumps(messages).decode()
    except (orjson.JSONEncodeError, RecursionError):  # lone surrogates, huge ints, deep nesting
        pass
    return json.dumps(messages, ensure_ascii=False, separators=(",", ":"), default=str)


def _orjson_exact(value: Any) -> bool:
    """Whether ``value`` holds only types orjson and json render alike (exact types only:
    subclasses such as enums may render differently). Strings, the bulk, cost no call."""
    kind = type(value)
    if kind is dict:
        for key, child in value.items():
            if type(key) is not str or (type(child) is not str and not _orjson_exact(child)):
                return False
        return True
    if kind is list:
        return all(type(child) is str or _orjson_exact(child) for child in value)
    return kind in _ORJSON_SCALARS or value is None
