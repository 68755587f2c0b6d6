"""OpenAI Python client: Chat Completions and Responses, sync and async, plain and streamed.

``agenttrace.instrument_openai()`` wraps ``create`` and ``parse`` of
``client.chat.completions`` and ``client.responses`` (the ``.stream()`` helpers call ``create``,
so they are covered too). Each call is a ``chat {model}`` span with the request, the output
messages including the tool calls the model asked for, and token usage including cached and
reasoning tokens, which for a stream are read from its final event (the ``include_usage``
chunk of Chat Completions, ``response.completed`` of Responses).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import TracerProvider

from agenttrace.integrations._client import (
    ClientInstrumentation,
    Endpoint,
    Kwargs,
    ModelRequest,
    given,
    request_params,
    server_attributes,
)
from agenttrace.sdk import Usage, extract_usage
from agenttrace.sdk.hooks import AgentHooks
from agenttrace.sdk.messages import (
    get,
    openai_chat_messages,
    openai_chat_output,
    response_tool_calls,
    responses_items,
    responses_output,
    text_part,
    tool_call_part,
)

__all__ = ["instrument_openai", "uninstrument_openai"]

PROVIDER = "openai"
_CHAT_PARAMS = {
    "temperature": "temperature",
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "top_p": "top_p",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "stop": "stop",
    "seed": "seed",
}
_RESPONSES_PARAMS = {
    "temperature": "temperature",
    "max_output_tokens": "max_tokens",
    "top_p": "top_p",
}


@dataclass
class _Options:
    include_stream_usage: bool = False


_state = ClientInstrumentation("openai")
_options = _Options()


def _sentinels() -> tuple[type, ...]:
    import openai

    return (openai.NotGiven, openai.Omit)


def _base_request(instance: Any, kwargs: Kwargs) -> ModelRequest:
    sentinels = _sentinels()
    client = getattr(instance, "_client", None)
    return ModelRequest(
        model=str(given(kwargs, "model", sentinels) or "unknown"),
        provider=PROVIDER,
        tool_definitions=given(kwargs, "tools", sentinels),
        attributes=server_attributes(getattr(client, "base_url", None)),
    )


# --- Chat Completions ------------------------------------------------------------------------


def _describe_chat(instance: Any, kwargs: Kwargs) -> tuple[ModelRequest, Kwargs]:
    sentinels = _sentinels()
    request = _base_request(instance, kwargs)
    request.input_messages = openai_chat_messages(given(kwargs, "messages", sentinels) or ())
    request.request_params = request_params(kwargs, _CHAT_PARAMS, sentinels)
    sent = kwargs
    if (
        _options.include_stream_usage
        and given(kwargs, "stream", sentinels)
        and given(kwargs, "stream_options", sentinels) is None
    ):
        sent = {**kwargs, "stream_options": {"include_usage": True}}
    return request, sent


def _finish_chat(hooks: AgentHooks, key: Hashable, completion: Any) -> None:
    choices = get(completion, "choices")
    if not isinstance(choices, list):  # e.g. a raw HTTP response from with_raw_response
        hooks.model_end(key)
        return
    hooks.model_end(
        key,
        output_messages=openai_chat_output(choices),
        usage=extract_usage(get(completion, "usage")),
        response_model=get(completion, "model"),
        response_id=get(completion, "id"),
        finish_reasons=[
            r for r in (get(c, "finish_reason") for c in choices) if isinstance(r, str)
        ],
    )


@dataclass
class _ChatChoice:
    text: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    finish_reason: str | None = None


class _ChatStream:
    """Accumulates ``chat.completion.chunk`` objects into the final message."""

    def __init__(self, hooks: AgentHooks, key: Hashable) -> None:
        self.hooks = hooks
        self.key = key
        self.choices: dict[int, _ChatChoice] = {}
        self.usage: Usage | None = None
        self.model: str | None = None
        self.response_id: str | None = None

    def on_item(self, chunk: Any) -> None:
        self.model = get(chunk, "model") or self.model
        self.response_id = get(chunk, "id") or self.response_id
        usage = get(chunk, "usage")
        if usage is not None:
            self.usage = extract_usage(usage)
        choices = get(chunk, "choices") or ()
        if choices:
            self.hooks.model_chunk(self.key)
        for choice in choices:
            state = self.choices.setdefault(get(choice, "index") or 0, _ChatChoice())
            delta = get(choice, "delta")
            content = get(delta, "content")
            if isinstance(content, str):
                state.text.append(content)
            for call in get(delta, "tool_calls") or ():
                slot = state.calls.setdefault(
                    get(call, "index") or 0, {"id": None, "name": None, "arguments": ""}
                )
                function = get(call, "function")
                slot["id"] = get(call, "id") or slot["id"]
                slot["name"] = get(function, "name") or slot["name"]
                slot["arguments"] += get(function, "arguments") or ""
            reason = get(choice, "finish_reason")
            if isinstance(reason, str):
                state.finish_reason = reason

    def on_end(self, error: BaseException | None) -> None:
        messages = []
        for _, state in sorted(self.choices.items()):
            parts = [text_part("".join(state.text))] if any(state.text) else []
            parts.extend(
                tool_call_part(c["id"], c["name"], c["arguments"])
                for _, c in sorted(state.calls.items())
            )
            messages.append(
                {"role": "assistant", "parts": parts, "finish_reason": state.finish_reason}
            )
        self.hooks.model_end(
            self.key,
            output_messages=messages or None,
            usage=self.usage,
            response_model=self.model,
            response_id=self.response_id,
            finish_reasons=[s.finish_reason for s in self.choices.values() if s.finish_reason],
            error=error,
        )


# --- Responses -------------------------------------------------------------------------------


def _describe_responses(instance: Any, kwargs: Kwargs) -> tuple[ModelRequest, Kwargs]:
    sentinels = _sentinels()
    request = _base_request(instance, kwargs)
    request.input_messages = responses_items(given(kwargs, "input", sentinels))
    instructions = given(kwargs, "instructions", sentinels)
    if isinstance(instructions, str):
        request.system_instructions = [text_part(instructions)]
    request.request_params = request_params(kwargs, _RESPONSES_PARAMS, sentinels)
    return request, kwargs


def _finish_responses(hooks: AgentHooks, key: Hashable, response: Any) -> None:
    if get(response, "object") != "response":
        hooks.model_end(key)
        return
    error = get(response, "error")
    reason = finish_reason(response)
    hooks.model_end(
        key,
        output_messages=responses_output(response, reason),
        usage=extract_usage(get(response, "usage")),
        response_model=get(response, "model"),
        response_id=get(response, "id"),
        finish_reasons=[reason],
        error=ResponseFailed(str(get(error, "message"))) if error is not None else None,
    )


def finish_reason(response: Any) -> str:
    """A Responses API outcome as a Chat Completions style finish reason."""
    if response_tool_calls(get(response, "output")):
        return "tool_calls"
    status = get(response, "status")
    if status == "incomplete":
        reason = get(get(response, "incomplete_details"), "reason")
        return "length" if reason == "max_output_tokens" else str(reason or "incomplete")
    return "error" if status == "failed" else "stop"


class ResponseFailed(Exception):
    """A Responses API call that ended with ``status="failed"`` and an ``error`` object."""


_FINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")


class _ResponsesStream:
    """Waits for the terminal event, which carries the whole response and its usage."""

    def __init__(self, hooks: AgentHooks, key: Hashable) -> None:
        self.hooks = hooks
        self.key = key
        self.final: Any = None

    def on_item(self, event: Any) -> None:
        kind = get(event, "type")
        if isinstance(kind, str) and kind.endswith(".delta"):
            self.hooks.model_chunk(self.key)
        elif kind in _FINAL_EVENTS:
            self.final = get(event, "response")

    def on_end(self, error: BaseException | None) -> None:
        if self.final is not None and error is None:
            _finish_responses(self.hooks, self.key, self.final)
        else:
            self.hooks.model_end(self.key, error=error)


# --- install ---------------------------------------------------------------------------------


def _is_stream(result: Any) -> bool:
    import openai

    return isinstance(result, (openai.Stream, openai.AsyncStream))


def _endpoints() -> tuple[Endpoint, Endpoint]:
    chat = Endpoint(_describe_chat, _finish_chat, _ChatStream, _is_stream)
    responses = Endpoint(_describe_responses, _finish_responses, _ResponsesStream, _is_stream)
    return chat, responses


def instrument_openai(
    *,
    tracer_provider: TracerProvider | None = None,
    capture_content: bool | None = None,
    include_stream_usage: bool = False,
) -> None:
    """Trace every OpenAI client in this process. Calling it again changes nothing.

    ``include_stream_usage=True`` adds ``stream_options={"include_usage": True}`` to streamed
    Chat Completions that did not set ``stream_options``, so their usage is recorded; it is off by
    default because the extra final chunk has no ``choices``, which some code does not expect.
    """
    if _state.active:
        return
    from openai.resources.chat.completions import AsyncCompletions, Completions
    from openai.resources.responses import AsyncResponses, Responses

    _state.configure(tracer_provider, capture_content)
    _options.include_stream_usage = include_stream_usage
    chat, responses = _endpoints()
    for name in ("create", "parse"):
        _state.patches.wrap(Completions, name, _state.sync_method(chat))
        _state.patches.wrap(AsyncCompletions, name, _state.async_method(chat))
        _state.patches.wrap(Responses, name, _state.sync_method(responses))
        _state.patches.wrap(AsyncResponses, name, _state.async_method(responses))


def uninstrument_openai() -> None:
    """Put the original OpenAI client methods back."""
    _state.patches.restore()
