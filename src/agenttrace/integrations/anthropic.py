"""Anthropic Python client: Messages, sync and async, plain and streamed.

``agenttrace.instrument_anthropic()`` wraps ``client.messages.create``, ``.parse`` and
``.stream``. Each call is a ``chat {model}`` span with the request, the output (text, thinking
and the ``tool_use`` blocks the model asked for) and token usage. A stream's usage is read from
its events: input and cache figures from ``message_start``, the final output count (and thinking
tokens) from ``message_delta``. ``gen_ai.usage.input_tokens`` includes cache reads and writes, as
the GenAI convention asks, whereas Anthropic's own ``input_tokens`` excludes them.

The Anthropic SDK (2.x) emits its own ``CLIENT`` span per API call, with the same usage
attributes, when an OpenTelemetry provider is configured. To keep one span per call,
``instrument_anthropic()`` sets ``ANTHROPIC_OPEN_TELEMETRY=false`` unless it is already set
(clients read it when they are constructed); pass ``native_spans=True`` to keep both. A native
span that is emitted anyway nests under agenttrace's, which is current while the request is sent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import TracerProvider

from agenttrace.integrations._client import (
    ClientInstrumentation,
    Endpoint,
    Kwargs,
    ModelRequest,
    framework_owns_model_call,
    given,
    request_params,
    server_attributes,
)
from agenttrace.integrations._streams import AsyncTracedStream, TracedStream
from agenttrace.sdk import extract_usage
from agenttrace.sdk.hooks import AgentHooks
from agenttrace.sdk.messages import (
    anthropic_messages,
    anthropic_output,
    anthropic_system,
    get,
    parse_json,
    text_part,
    tool_call_part,
)

__all__ = ["instrument_anthropic", "uninstrument_anthropic"]

PROVIDER = "anthropic"
_PARAMS = {
    "temperature": "temperature",
    "max_tokens": "max_tokens",
    "top_p": "top_p",
    "top_k": "top_k",
    "stop_sequences": "stop_sequences",
}
_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "output_tokens_details",  # thinking_tokens
)

_NATIVE_SPANS_ENV = "ANTHROPIC_OPEN_TELEMETRY"

_state = ClientInstrumentation("anthropic")
_env_set_by_us: list[bool] = []


def _sentinels() -> tuple[type, ...]:
    import anthropic

    return (anthropic.NotGiven, anthropic.Omit)


def _usage_figures(usage: Any) -> dict[str, Any]:
    """The reported figures of a ``Usage`` or ``MessageDeltaUsage``; absent ones left out.

    A stream reports usage in pieces (``message_start``, then ``message_delta``): the raw figures
    are merged before :func:`extract_usage` adds the cache to the input, so it is added once.
    """
    figures = {name: get(usage, name) for name in _USAGE_FIELDS}
    return {name: value for name, value in figures.items() if value is not None}


def _describe(instance: Any, kwargs: Kwargs) -> tuple[ModelRequest, Kwargs]:
    sentinels = _sentinels()
    client = getattr(instance, "_client", None)
    request = ModelRequest(
        model=str(given(kwargs, "model", sentinels) or "unknown"),
        provider=PROVIDER,
        input_messages=anthropic_messages(given(kwargs, "messages", sentinels) or ()),
        system_instructions=anthropic_system(given(kwargs, "system", sentinels)),
        tool_definitions=given(kwargs, "tools", sentinels),
        request_params=request_params(kwargs, _PARAMS, sentinels),
        attributes=server_attributes(getattr(client, "base_url", None)),
    )
    return request, kwargs


def _finish(hooks: AgentHooks, key: Hashable, message: Any) -> None:
    if get(message, "type") != "message":  # e.g. a raw HTTP response from with_raw_response
        hooks.model_end(key)
        return
    reason = get(message, "stop_reason")
    hooks.model_end(
        key,
        output_messages=anthropic_output(message),
        usage=extract_usage(get(message, "usage")),
        response_model=get(message, "model"),
        response_id=get(message, "id"),
        finish_reasons=[reason] if isinstance(reason, str) else None,
    )


@dataclass
class _Block:
    kind: str
    text: list[str] = field(default_factory=list)
    call_id: str | None = None
    name: str | None = None


class _RawEventStream:
    """Accumulates the raw events of ``messages.create(stream=True)``."""

    def __init__(self, hooks: AgentHooks, key: Hashable) -> None:
        self.hooks = hooks
        self.key = key
        self.blocks: dict[int, _Block] = {}
        self.usage: dict[str, Any] = {}
        self.model: str | None = None
        self.message_id: str | None = None
        self.stop_reason: str | None = None

    def on_item(self, event: Any) -> None:
        kind = get(event, "type")
        if kind == "message_start":
            message = get(event, "message")
            self.model = get(message, "model")
            self.message_id = get(message, "id")
            self.usage.update(_usage_figures(get(message, "usage")))
        elif kind == "content_block_start":
            block = get(event, "content_block")
            self.blocks[get(event, "index") or 0] = _Block(
                kind=str(get(block, "type")),
                text=[get(block, "text") or ""],
                call_id=get(block, "id"),
                name=get(block, "name"),
            )
        elif kind == "content_block_delta":
            self.hooks.model_chunk(self.key)
            delta = get(event, "delta")
            block = self.blocks.setdefault(get(event, "index") or 0, _Block(kind="text"))
            for attribute in ("text", "partial_json", "thinking"):
                piece = get(delta, attribute)
                if isinstance(piece, str):
                    block.text.append(piece)
        elif kind == "message_delta":
            self.stop_reason = get(get(event, "delta"), "stop_reason") or self.stop_reason
            self.usage.update(_usage_figures(get(event, "usage")))

    def _parts(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        for _, block in sorted(self.blocks.items()):
            content = "".join(block.text)
            if block.kind == "tool_use":
                parts.append(tool_call_part(block.call_id, block.name, parse_json(content or "{}")))
            elif block.kind == "thinking":
                parts.append({"type": "reasoning", "content": content})
            else:
                parts.append(text_part(content))
        return parts

    def on_end(self, error: BaseException | None) -> None:
        output = None
        if self.blocks:
            output = [
                {"role": "assistant", "parts": self._parts(), "finish_reason": self.stop_reason}
            ]
        self.hooks.model_end(
            self.key,
            output_messages=output,
            usage=extract_usage(self.usage),
            response_model=self.model,
            response_id=self.message_id,
            finish_reasons=[self.stop_reason] if self.stop_reason else None,
            error=error,
        )


class _HelperStream:
    """``messages.stream()``: the helper accumulates the message itself, so read its snapshot.

    Iterating ``stream.text_stream`` bypasses the proxy, so the events are only used for the
    time to first chunk; the output and usage come from ``current_message_snapshot`` at the end.
    """

    def __init__(self, hooks: AgentHooks, key: Hashable, stream: Any) -> None:
        self.hooks = hooks
        self.key = key
        self.stream = stream

    def on_item(self, event: Any) -> None:
        if get(event, "type") in ("text", "content_block_delta", "input_json", "thinking"):
            self.hooks.model_chunk(self.key)

    def on_end(self, error: BaseException | None) -> None:
        try:
            snapshot = self.stream.current_message_snapshot
        except Exception:  # nothing was received (the helper asserts a snapshot exists)
            snapshot = None
        if snapshot is None or error is not None:
            self.hooks.model_end(self.key, error=error)
        else:
            _finish(self.hooks, self.key, snapshot)


class _TracedStreamManager:
    """Wraps ``MessageStreamManager``: the request is sent, and the span starts, on enter."""

    def __init__(self, manager: Any, instance: Any, kwargs: Kwargs) -> None:
        self._manager = manager
        self._instance = instance
        self._kwargs = kwargs
        self._proxy: TracedStream | AsyncTracedStream | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)

    def _start(self) -> Hashable | None:
        if framework_owns_model_call():
            return None
        key, _ = _state.begin(_ENDPOINT, self._instance, self._kwargs)
        return key

    def _close(self) -> None:
        if self._proxy is not None:
            self._proxy._agenttrace_end(None)

    def __enter__(self) -> Any:
        key = self._start()
        if key is None:
            return self._manager.__enter__()
        token = _state.attach(key)
        try:
            stream = self._manager.__enter__()
        except BaseException as exc:
            _state.hooks.model_end(key, error=exc)
            raise
        finally:
            _state.detach(token)
        self._proxy = TracedStream(stream, _HelperStream(_state.hooks, key, stream))
        return self._proxy

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self._manager.__exit__(*exc)
        finally:
            self._close()

    async def __aenter__(self) -> Any:
        key = self._start()
        if key is None:
            return await self._manager.__aenter__()
        token = _state.attach(key)
        try:
            stream = await self._manager.__aenter__()
        except BaseException as exc:
            _state.hooks.model_end(key, error=exc)
            raise
        finally:
            _state.detach(token)
        self._proxy = AsyncTracedStream(stream, _HelperStream(_state.hooks, key, stream))
        return self._proxy

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self._manager.__aexit__(*exc)
        finally:
            self._close()


def _wrap_stream_helper(original: Callable[..., Any]) -> Callable[..., Any]:
    def traced(instance: Any, *args: Any, **kwargs: Any) -> Any:
        return _TracedStreamManager(original(instance, *args, **kwargs), instance, kwargs)

    return traced


def _is_stream(result: Any) -> bool:
    import anthropic

    return isinstance(result, (anthropic.Stream, anthropic.AsyncStream))


_ENDPOINT = Endpoint(_describe, _finish, _RawEventStream, _is_stream)


def instrument_anthropic(
    *,
    tracer_provider: TracerProvider | None = None,
    capture_content: bool | None = None,
    native_spans: bool = False,
) -> None:
    """Trace every Anthropic client in this process. Calling it again changes nothing."""
    if _state.active:
        return
    from anthropic.resources.messages import AsyncMessages, Messages

    if not native_spans and _NATIVE_SPANS_ENV not in os.environ:
        os.environ[_NATIVE_SPANS_ENV] = "false"
        _env_set_by_us.append(True)
    _state.configure(tracer_provider, capture_content)
    for name in ("create", "parse"):
        _state.patches.wrap(Messages, name, _state.sync_method(_ENDPOINT))
        _state.patches.wrap(AsyncMessages, name, _state.async_method(_ENDPOINT))
    _state.patches.wrap(Messages, "stream", _wrap_stream_helper)
    _state.patches.wrap(AsyncMessages, "stream", _wrap_stream_helper)


def uninstrument_anthropic() -> None:
    """Put the original Anthropic client methods back (and the SDK's own spans on)."""
    _state.patches.restore()
    if _env_set_by_us:
        _env_set_by_us.clear()
        os.environ.pop(_NATIVE_SPANS_ENV, None)
