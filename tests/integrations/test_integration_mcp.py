"""MCP tool calls through the real mcp package: an in-process ``MCPServer`` reached with
``mcp.Client`` (in-memory transport), so the request really crosses the JSON-RPC boundary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client
from mcp.client.session import ClientSession
from mcp.server.mcpserver import Context, MCPServer
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from span_tree import tree

import agenttrace
from agenttrace.integrations.mcp import continue_trace, instrument_mcp, uninstrument_mcp
from agenttrace.testing import Capture

REMOTE = SpanContext(
    trace_id=0xABC,
    span_id=0xDEF,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "blue")]),
)


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    instrument_mcp()
    yield
    uninstrument_mcp()


def make_server(seen: dict[str, Any]) -> MCPServer:
    server = MCPServer("knowledge-base")

    @server.tool()
    async def lookup(query: str, ctx: Context) -> str:
        """Look something up."""
        seen["meta"] = dict(ctx.request_context.meta or {})
        with continue_trace(ctx) as caller, agenttrace.tool_call("search_index"):
            seen["caller"] = caller
        return f"notes on {query}"

    @server.tool()
    async def explode(query: str) -> str:
        """Always fails."""
        raise ValueError("index offline")

    return server


async def test_client_span_propagates_context_in_meta_and_server_continues_it(cap: Capture) -> None:
    seen: dict[str, Any] = {}
    token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(REMOTE)))
    try:
        async with Client(make_server(seen)) as client:
            result = await client.call_tool("lookup", {"query": "otel"})
    finally:
        otel_context.detach(token)
    assert result.structured_content == {"result": "notes on otel"}

    assert tree(cap.spans()) == ["execute_tool lookup", "  execute_tool search_index"]
    client_span, server_span = cap.spans()
    assert client_span["parent_id"] == "0000000000000def"  # under the caller's (remote) span
    assert (
        client_span["context"]["trace_id"] == server_span["context"]["trace_id"] == f"{0xABC:032x}"
    )
    assert client_span["attributes"] == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "lookup",
        "gen_ai.tool.type": "extension",
        "mcp.method.name": "tools/call",
        "gen_ai.tool.call.arguments": json.dumps({"query": "otel"}, separators=(",", ":")),
        "gen_ai.tool.call.result": json.dumps({"result": "notes on otel"}, separators=(",", ":")),
    }

    span_id = client_span["context"]["span_id"]
    assert seen["meta"]["traceparent"] == f"00-{0xABC:032x}-{span_id}-01"
    assert seen["meta"]["tracestate"] == "vendor=blue"
    assert seen["caller"].span_id == int(span_id, 16)


async def test_tool_error_result_marks_the_client_span_failed(cap: Capture) -> None:
    async with Client(make_server({})) as client:
        result = await client.call_tool("explode", {"query": "x"})
    assert result.is_error
    (span,) = cap.spans()
    assert span["status"]["code"] == "error"
    assert span["attributes"]["error.type"] == "agenttrace.integrations.mcp.McpToolError"


def test_continue_trace_attaches_a_propagated_context(cap: Capture) -> None:
    meta = {"traceparent": f"00-{0xABC:032x}-{0xDEF:016x}-01", "progressToken": 3}
    with continue_trace(meta) as caller, agenttrace.tool_call("handler"):
        pass
    assert caller is not None
    assert caller.trace_id == 0xABC
    (span,) = cap.spans()
    assert span["parent_id"] == f"{0xDEF:016x}"
    assert span["context"]["trace_id"] == f"{0xABC:032x}"
    assert trace.get_current_span().get_span_context().is_valid is False  # detached again


def test_continue_trace_without_context_changes_nothing(cap: Capture) -> None:
    with continue_trace({"progressToken": 1}) as caller:
        assert caller is None
    with continue_trace(None) as caller:
        assert caller is None


def test_uninstrument_restores_call_tool() -> None:
    instrument_mcp()  # idempotent
    assert hasattr(ClientSession.call_tool, "__agenttrace_original__")
    uninstrument_mcp()
    assert not hasattr(ClientSession.call_tool, "__agenttrace_original__")
