"""The machinery shared by the OpenAI and Anthropic client instrumentations.

One wrapped method call is one model span: started from the request, made current while the
library sends it (so the SDK's own HTTP-level spans and any propagated ``traceparent`` sit under
it), and ended from the response, or, for a stream, when the stream ends.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.trace import TracerProvider
from opentelemetry.util.types import AttributeValue

from agenttrace.integrations._patching import PatchSet
from agenttrace.integrations._streams import AsyncTracedStream, StreamObserver, TracedStream
from agenttrace.sdk import internal_error
from agenttrace.sdk.hooks import AgentHooks

Kwargs = dict[str, Any]

# Set while a framework integration (LangChain, OpenAI Agents) records the model call in
# progress: the client wrappers then stay out of it, so one call is never counted twice.
_framework_call: ContextVar[bool] = ContextVar("agenttrace_framework_model_call", default=False)


def claim_model_call() -> Token[bool]:
    """Mark the model call starting in this context as recorded by a framework integration."""
    return _framework_call.set(True)


def release_model_call(token: Token[bool]) -> None:
    try:
        _framework_call.reset(token)
    except ValueError:  # ended in another context than it started in
        _framework_call.set(False)


def framework_owns_model_call() -> bool:
    return _framework_call.get()


@dataclass
class ModelRequest:
    """What a span needs to know about a request before it is sent."""

    model: str
    provider: str
    input_messages: Any = None
    system_instructions: Any = None
    tool_definitions: Any = None
    request_params: Mapping[str, Any] = field(default_factory=dict)
    attributes: dict[str, AttributeValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    """How to trace one client method.

    ``describe`` reads the request (and may return adjusted kwargs, e.g. to ask for stream
    usage); ``finish`` ends the span from a complete response; ``observe`` builds the observer
    for a streamed one; ``is_stream`` tells the two apart.
    """

    describe: Callable[[Any, Kwargs], tuple[ModelRequest, Kwargs]]
    finish: Callable[[AgentHooks, Hashable, Any], None]
    observe: Callable[[AgentHooks, Hashable], StreamObserver]
    is_stream: Callable[[Any], bool]


class ClientInstrumentation:
    """The state of one ``instrument_*`` call: the hooks, the patches and a key counter."""

    def __init__(self, integration: str) -> None:
        self.integration = integration
        self.patches = PatchSet()
        self.hooks = AgentHooks()
        self._keys = itertools.count()

    @property
    def active(self) -> bool:
        return self.patches.active

    def configure(
        self, tracer_provider: TracerProvider | None, capture_content: bool | None
    ) -> None:
        self.hooks = AgentHooks(tracer_provider, capture_content=capture_content)

    # -- span lifecycle ---------------------------------------------------------------------
    def begin(
        self, endpoint: Endpoint, instance: Any, kwargs: Kwargs
    ) -> tuple[Hashable | None, Kwargs]:
        """Start the span; on an internal failure trace nothing and send the request untouched."""
        try:
            request, sent = endpoint.describe(instance, kwargs)
            key = (self.integration, next(self._keys))
            self.hooks.model_start(
                key,
                model=request.model,
                provider=request.provider,
                input_messages=request.input_messages,
                system_instructions=request.system_instructions,
                tool_definitions=request.tool_definitions,
                request_params=request.request_params,
                attributes=request.attributes,
            )
        except Exception as exc:
            internal_error(exc, f"{self.integration}: reading a request")
            return None, kwargs
        return key, sent

    def attach(self, key: Hashable) -> object | None:
        ctx = self.hooks.context(key)
        return None if ctx is None else otel_context.attach(ctx)

    @staticmethod
    def detach(token: object | None) -> None:
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]

    def complete(self, endpoint: Endpoint, key: Hashable, result: Any, *, is_async: bool) -> Any:
        """End the span from ``result``, or return ``result`` wrapped so its stream ends it."""
        try:
            if endpoint.is_stream(result):
                observer = endpoint.observe(self.hooks, key)
                return (
                    AsyncTracedStream(result, observer)
                    if is_async
                    else TracedStream(result, observer)
                )
            endpoint.finish(self.hooks, key, result)
        except Exception as exc:
            self.hooks.model_end(key)
            internal_error(exc, f"{self.integration}: reading a response")
        return result

    # -- wrappers -----------------------------------------------------------------------------
    def sync_method(self, endpoint: Endpoint) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def make(original: Callable[..., Any]) -> Callable[..., Any]:
            def traced(instance: Any, *args: Any, **kwargs: Any) -> Any:
                if framework_owns_model_call():
                    return original(instance, *args, **kwargs)
                key, sent = self.begin(endpoint, instance, kwargs)
                if key is None:
                    return original(instance, *args, **kwargs)
                token = self.attach(key)
                try:
                    result = original(instance, *args, **sent)
                except BaseException as exc:
                    self.hooks.model_end(key, error=exc)
                    raise
                finally:
                    self.detach(token)
                return self.complete(endpoint, key, result, is_async=False)

            return traced

        return make

    def async_method(
        self, endpoint: Endpoint
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def make(original: Callable[..., Any]) -> Callable[..., Any]:
            async def traced(instance: Any, *args: Any, **kwargs: Any) -> Any:
                if framework_owns_model_call():
                    return await original(instance, *args, **kwargs)
                key, sent = self.begin(endpoint, instance, kwargs)
                if key is None:
                    return await original(instance, *args, **kwargs)
                token = self.attach(key)
                try:
                    result = await original(instance, *args, **sent)
                except BaseException as exc:
                    self.hooks.model_end(key, error=exc)
                    raise
                finally:
                    self.detach(token)
                return self.complete(endpoint, key, result, is_async=True)

            return traced

        return make


def given(kwargs: Mapping[str, Any], name: str, sentinels: tuple[type, ...]) -> Any:
    """``kwargs[name]`` unless absent or one of the library's "not given" sentinels."""
    value = kwargs.get(name)
    return None if value is None or isinstance(value, sentinels) else value


def request_params(
    kwargs: Mapping[str, Any], names: Mapping[str, str], sentinels: tuple[type, ...]
) -> dict[str, Any]:
    """The request parameters in ``names`` (library name -> hooks name) that were given."""
    params: dict[str, Any] = {}
    for name, hooks_name in names.items():
        value = given(kwargs, name, sentinels)
        if value is not None:
            params[hooks_name] = value
    return params


def server_attributes(base_url: Any) -> dict[str, AttributeValue]:
    """``server.address``/``server.port`` of a client's base URL (an httpx URL or a string)."""
    host = getattr(base_url, "host", None)
    port = getattr(base_url, "port", None)
    out: dict[str, AttributeValue] = {}
    if isinstance(host, str) and host:
        out["server.address"] = host
    if isinstance(port, int):
        out["server.port"] = port
    return out
