"""Token usage of the OpenAI API shapes (Chat Completions, Responses and the Agents SDK's
span usage, which copies the Responses shape), with cache writes the generic reader misses."""

from __future__ import annotations

from typing import Any

from agenttrace.integrations._messages import get
from agenttrace.sdk._usage import Usage


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def openai_usage(usage: Any) -> Usage | None:
    """Token usage of a Chat Completions or Responses usage object; input includes cached."""
    if usage is None:
        return None
    if get(usage, "prompt_tokens") is not None:
        prompt_details = get(usage, "prompt_tokens_details")
        completion_details = get(usage, "completion_tokens_details")
        return Usage(
            input_tokens=_int(get(usage, "prompt_tokens")),
            output_tokens=_int(get(usage, "completion_tokens")),
            cache_read_tokens=_int(get(prompt_details, "cached_tokens")),
            cache_write_tokens=_int(get(prompt_details, "cache_write_tokens")),
            reasoning_tokens=_int(get(completion_details, "reasoning_tokens")),
        )
    input_details = get(usage, "input_tokens_details")
    output_details = get(usage, "output_tokens_details")
    return Usage(
        input_tokens=_int(get(usage, "input_tokens")),
        output_tokens=_int(get(usage, "output_tokens")),
        cache_read_tokens=_int(get(input_details, "cached_tokens")),
        cache_write_tokens=_int(get(input_details, "cache_write_tokens")),
        reasoning_tokens=_int(get(output_details, "reasoning_tokens")),
    )
