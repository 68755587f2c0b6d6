"""MCP (Model Context Protocol): client tool-call spans and trace continuation on the server.

Client side, ``instrument_mcp()`` wraps ``mcp.ClientSession.call_tool`` (which ``mcp.Client``
uses too): each call is an ``execute_tool {name}`` span (tool type ``extension``) whose W3C trace
context (``traceparent``, ``tracestate``, and ``baggage`` with the run id) travels in the
request's ``params._meta``, as the MCP spec (SEP-414) describes. The span is current while the
request is sent, so MCP's own ``MCP send`` span nests under it when OpenTelemetry is configured.

Server side, ``continue_trace(ctx)`` makes the caller's trace current inside a tool, from the
``_meta`` of the request (an MCPServer ``Context``, a low-level request context, or the
``_meta`` mapping itself). Since mcp 1.x servers already continue the trace in their own
middleware, it does nothing when the current span is already in the caller's trace.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from agenttrace.integrations._patching import PatchSet
from agenttrace.sdk import extract, inject, internal_error
from agenttrace.sdk.hooks import AgentHooks
from agenttrace.sdk.messages import get

__all__ = ["McpToolError", "continue_trace", "instrument_mcp", "uninstrument_mcp"]

TOOL_TYPE = "extension"
_PROPAGATED = ("traceparent", "tracestate", "baggage")


class McpToolError(Exception):
    """A tool call whose result came back with ``isError``: the span is marked failed."""


class _State:
    def __init__(self) -> None:
        self.patches = PatchSet()
        self.hooks = AgentHooks()
        self.keys = itertools.count()


_state = _State()


def _result_content(result: Any) -> Any:
    structured = get(result, "structured_content")
    if structured is not None:
        return structured
    parts = []
    for block in get(result, "content") or ():
        text = get(block, "text")
        parts.append(text if isinstance(text, str) else {"type": get(block, "type")})
    return parts


def _traced_call_tool(original: Callable[..., Any]) -> Callable[..., Any]:
    async def call_tool(
        self: Any, name: str, arguments: dict[str, Any] | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        hooks = _state.hooks
        key = ("mcp", next(_state.keys))
        try:
            hooks.tool_start(
                key,
                name=name,
                arguments=arguments,
                tool_type=TOOL_TYPE,
                attributes={"mcp.method.name": "tools/call"},
            )
            ctx = hooks.context(key)
            if ctx is not None:
                carrier = inject({}, context=ctx)
                kwargs["meta"] = {**(kwargs.get("meta") or {}), **carrier}
        except Exception as exc:
            internal_error(exc, "MCP call_tool start")
            ctx = None
        token = None if ctx is None else otel_context.attach(ctx)
        try:
            result = await original(self, name, arguments, *args, **kwargs)
        except BaseException as exc:
            hooks.tool_end(key, error=exc)
            raise
        finally:
            if token is not None:
                otel_context.detach(token)
        failed = get(result, "is_error") is True
        hooks.tool_end(
            key,
            result=_result_content(result),
            error=McpToolError(f"MCP tool {name!r} returned isError") if failed else None,
        )
        return result

    return call_tool


def instrument_mcp(
    *, tracer_provider: TracerProvider | None = None, capture_content: bool | None = None
) -> None:
    """Trace every MCP client tool call in this process. Calling it again changes nothing."""
    if _state.patches.active:
        return
    from mcp.client.session import ClientSession

    _state.hooks = AgentHooks(tracer_provider, capture_content=capture_content)
    _state.patches.wrap(ClientSession, "call_tool", _traced_call_tool)


def uninstrument_mcp() -> None:
    """Put the original ``ClientSession.call_tool`` back."""
    _state.patches.restore()


# --- server side -----------------------------------------------------------------------------


def request_meta(source: Any) -> Mapping[str, Any] | None:
    """The request ``_meta`` of an MCPServer ``Context``, a request context, or a mapping."""
    if source is None or isinstance(source, Mapping):
        return source
    for path in (("request_context", "meta"), ("meta",)):
        value: Any = source
        for attribute in path:
            try:
                value = getattr(value, attribute)
            except Exception:  # MCPServer's Context raises outside a request
                value = None
            if value is None:
                break
        if isinstance(value, Mapping):
            return value
    return None


@contextmanager
def continue_trace(source: Any) -> Iterator[trace.SpanContext | None]:
    """Make the trace a client propagated in ``params._meta`` current for the block.

    Yields the caller's span context (None when the request carried none). When the current
    span already belongs to that trace (mcp's server middleware continued it), nothing changes.
    """
    carrier = {k: str(v) for k, v in (request_meta(source) or {}).items() if k in _PROPAGATED}
    remote = trace.get_current_span(extract(carrier)).get_span_context() if carrier else None
    if remote is None or not remote.is_valid:
        yield None
        return
    if trace.get_current_span().get_span_context().trace_id == remote.trace_id:
        yield remote
        return
    token = otel_context.attach(extract(carrier))
    try:
        yield remote
    finally:
        otel_context.detach(token)
