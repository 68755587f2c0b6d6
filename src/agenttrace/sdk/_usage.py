"""Token usage from OpenAI, Anthropic, LangChain and Gemini shaped responses and stream chunks.

``Usage.input_tokens`` follows the GenAI convention: it includes cached tokens (cache reads and
cache writes), whatever the provider's own field means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["Usage", "extract_usage", "merge_usage"]


@dataclass(slots=True)
class Usage:
    """Token counts of one model call; None means the provider did not report the figure."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _nested_int(obj: Any, outer: str, inner: str) -> int | None:
    details = _get(obj, outer)
    return None if details is None else _int(_get(details, inner))


def _first(*values: int | None) -> int | None:
    """The first reported figure; a reported 0 counts."""
    return next((v for v in values if v is not None), None)


def _reasoning(u: Any) -> int | None:
    # OpenAI Responses, Anthropic extended thinking, LangChain usage_metadata.
    return _first(
        _nested_int(u, "output_tokens_details", "reasoning_tokens"),
        _nested_int(u, "output_tokens_details", "thinking_tokens"),
        _nested_int(u, "output_token_details", "reasoning"),
    )


def _from_usage_object(u: Any) -> Usage | None:
    prompt = _int(_get(u, "prompt_tokens"))
    if prompt is not None or _get(u, "completion_tokens") is not None:  # OpenAI Chat Completions
        return Usage(
            input_tokens=prompt,
            output_tokens=_int(_get(u, "completion_tokens")),
            cache_read_tokens=_nested_int(u, "prompt_tokens_details", "cached_tokens"),
            cache_write_tokens=_nested_int(u, "prompt_tokens_details", "cache_write_tokens"),
            reasoning_tokens=_nested_int(u, "completion_tokens_details", "reasoning_tokens"),
        )
    cache_read = _int(_get(u, "cache_read_input_tokens"))
    cache_write = _int(_get(u, "cache_creation_input_tokens"))
    raw_input = _int(_get(u, "input_tokens"))
    output = _int(_get(u, "output_tokens"))
    if cache_read is not None or cache_write is not None:  # Anthropic: input excludes the cache
        total = None if raw_input is None else raw_input + (cache_read or 0) + (cache_write or 0)
        return Usage(total, output, cache_read, cache_write, _reasoning(u))
    if raw_input is not None or output is not None:
        # OpenAI Responses (input_tokens_details) or LangChain usage_metadata (input_token_details);
        # both count cached tokens inside input_tokens already.
        return Usage(
            input_tokens=raw_input,
            output_tokens=output,
            cache_read_tokens=_first(
                _nested_int(u, "input_tokens_details", "cached_tokens"),
                _nested_int(u, "input_token_details", "cache_read"),
            ),
            cache_write_tokens=_first(
                _nested_int(u, "input_tokens_details", "cache_write_tokens"),
                _nested_int(u, "input_token_details", "cache_creation"),
            ),
            reasoning_tokens=_reasoning(u),
        )
    prompt_count = _int(_get(u, "prompt_token_count"))
    if prompt_count is not None:  # Gemini usage_metadata; thoughts are billed as output
        candidates = _int(_get(u, "candidates_token_count")) or 0
        thoughts = _int(_get(u, "thoughts_token_count"))
        return Usage(
            input_tokens=prompt_count,
            output_tokens=candidates + (thoughts or 0),
            cache_read_tokens=_int(_get(u, "cached_content_token_count")),
            reasoning_tokens=thoughts,
        )
    return None


_CONTAINERS = ("usage", "usage_metadata", "message", "response", "llm_output")
_LEGACY_LANGCHAIN = ("token_usage", "usage")


def extract_usage(obj: Any, _depth: int = 0) -> Usage | None:
    """Usage from a response, a stream chunk, a usage object or mapping, or a :class:`Usage`.

    Looks inside the usual containers (``.usage``, ``.usage_metadata``, an Anthropic stream
    event's ``.message``, a Responses API event's ``.response``, LangChain's
    ``response_metadata``/``llm_output``) and returns None when nothing usable is found.
    """
    if obj is None or _depth > 3 or isinstance(obj, (str, bytes, int, float)):
        return None
    if isinstance(obj, Usage):
        return obj
    found = _from_usage_object(obj)
    if found is not None and not found.is_empty():
        return found
    for name in _CONTAINERS:
        inner = _get(obj, name)
        if inner is not None and inner is not obj:
            found = extract_usage(inner, _depth + 1)
            if found is not None:
                return found
    metadata = _get(obj, "response_metadata")
    if isinstance(metadata, Mapping):
        for name in _LEGACY_LANGCHAIN:
            if metadata.get(name) is not None:
                return extract_usage(metadata[name], _depth + 1)
    return None


def merge_usage(previous: Usage | None, update: Usage | None) -> Usage | None:
    """Combine stream chunk usages: a figure reported later replaces an earlier one.

    Anthropic streams report input in ``message_start`` and the running output count in each
    ``message_delta``; OpenAI reports everything once in the final chunk. Replacing field by field
    handles both without double counting.
    """
    if update is None:
        return previous
    if previous is None:
        return Usage(
            update.input_tokens,
            update.output_tokens,
            update.cache_read_tokens,
            update.cache_write_tokens,
            update.reasoning_tokens,
        )
    for f in fields(Usage):
        value = getattr(update, f.name)
        if value is not None:
            setattr(previous, f.name, value)
    return previous
