"""Collector ingest benchmark: OTLP/HTTP protobuf, gRPC and JSON into a local store.

    .venv/bin/python bench/collector_throughput.py [--seconds 10] [--concurrency 8]

Starts the collector as a subprocess (redaction on, durable before ack, local store), drives
it with its own load generator from a second process, and reports in the same run:

* acknowledged spans/s per protocol, and as a ratio of the pure protobuf parse rate of the
  same requests (the ceiling for any Python receiver);
* bytes per span in Parquet against bytes per span in the OTLP protobuf request;
* peak RSS of the collector (receiver + publisher processes) while clients push past the
  sustainable rate with a memory bound, and how much of the excess was answered 429.

Requests are pre-encoded: 512 agent spans each (agent, chat and tool spans, 10+ attributes,
a quarter carrying 1-4 KB of message content), so the generator spends little CPU per span.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

SPANS_PER_REQUEST = 512
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_WORDS = (
    "the agent plan tool call result file search repository function test error retry model "
    "context user request answer summary step memory budget token cost latency stream chunk "
    "review patch diff commit branch issue query table schema index cache config deploy build "
    "service endpoint handler request response status timeout because therefore however then "
    "first second next finally check verify update create delete read write open close run"
).split()


def _text(rng: random.Random, size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    if rng.random() < 0.2:  # something for redaction to find
        words.insert(len(words) // 2, f"contact jane.doe{rng.randrange(100)}@example.com")
    return " ".join(words)[:size]


def _attr(span: Any, key: str, value: Any) -> None:
    kv = span.attributes.add()
    kv.key = key
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    elif isinstance(value, list):
        for item in value:
            kv.value.array_value.values.add().string_value = item
    else:
        kv.value.string_value = value


def build_request(seed: int) -> ExportTraceServiceRequest:
    """One request of 512 spans: 16 traces of an agent span, chat spans and tool spans."""
    rng = random.Random(seed)
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    for key, value in (
        ("service.name", "coding-agent"),
        ("service.version", "1.4.2"),
        ("deployment.environment", "prod"),
        ("host.name", f"worker-{seed % 7}"),
    ):
        _attr(rs.resource, key, value)
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = "agenttrace", "0.1.0"
    start = time.time_ns()
    per_trace = SPANS_PER_REQUEST // 16
    for trace in range(16):
        trace_id = rng.getrandbits(128).to_bytes(16, "big")
        root_id = rng.getrandbits(64).to_bytes(8, "big")
        run_id = f"run-{seed}-{trace}"
        for index in range(per_trace):
            span = ss.spans.add()
            span.trace_id = trace_id
            span.span_id = root_id if index == 0 else rng.getrandbits(64).to_bytes(8, "big")
            if index:
                span.parent_span_id = root_id
            span.start_time_unix_nano = start + index * 1_000_000
            span.end_time_unix_nano = span.start_time_unix_nano + rng.randrange(1, 5_000) * 1_000_000
            _attr(span, "agenttrace.run.id", run_id)
            _attr(span, "agenttrace.session.id", f"session-{seed}")
            _attr(span, "gen_ai.conversation.id", f"conv-{seed}-{trace}")
            _attr(span, "agenttrace.step.index", index)
            if index == 0:
                span.name, span.kind = "invoke_agent coder", Span.SPAN_KIND_INTERNAL
                _attr(span, "gen_ai.operation.name", "invoke_agent")
                _attr(span, "gen_ai.agent.name", "coder")
                _attr(span, "gen_ai.agent.id", "agent-7")
                _attr(span, "agenttrace.goal", _text(rng, 120))
                _attr(span, "agenttrace.harness.name", "bench")
                _attr(span, "agenttrace.aggregate.input_tokens", rng.randrange(10_000, 90_000))
            elif index % 2:
                span.name, span.kind = "chat claude-sonnet-4", Span.SPAN_KIND_CLIENT
                _attr(span, "gen_ai.operation.name", "chat")
                _attr(span, "gen_ai.provider.name", "anthropic")
                _attr(span, "gen_ai.request.model", "claude-sonnet-4")
                _attr(span, "gen_ai.response.model", "claude-sonnet-4-20250514")
                _attr(span, "gen_ai.response.id", f"msg_{rng.getrandbits(64):016x}")
                _attr(span, "gen_ai.response.finish_reasons", ["tool_use"])
                _attr(span, "gen_ai.request.temperature", 0.2)
                _attr(span, "gen_ai.request.max_tokens", 4096)
                _attr(span, "gen_ai.usage.input_tokens", rng.randrange(500, 20_000))
                _attr(span, "gen_ai.usage.output_tokens", rng.randrange(20, 2_000))
                _attr(span, "gen_ai.usage.cache_read_input_tokens", rng.randrange(0, 10_000))
                _attr(span, "agenttrace.cost.usd", rng.random() / 10)
                _attr(span, "server.address", "api.anthropic.com")
                if index % 4 == 1:  # a quarter of all spans carry 1-4 KB of content
                    _attr(span, "gen_ai.input_messages", _messages(rng, "user"))
                    _attr(span, "gen_ai.output_messages", _messages(rng, "assistant"))
            else:
                tool = rng.choice(("read_file", "run_tests", "grep", "edit_file"))
                span.name, span.kind = f"execute_tool {tool}", Span.SPAN_KIND_INTERNAL
                _attr(span, "gen_ai.operation.name", "execute_tool")
                _attr(span, "gen_ai.tool.name", tool)
                _attr(span, "gen_ai.tool.call.id", f"toolu_{rng.getrandbits(64):016x}")
                _attr(span, "gen_ai.tool.type", "function")
                _attr(span, "gen_ai.tool.call.arguments", json.dumps({"path": f"src/m{index}.py"}))
                _attr(span, "gen_ai.tool.call.result", _text(rng, 200))
                if rng.random() < 0.05:
                    span.status.code = Span.Status.STATUS_CODE_ERROR if False else 2
                    _attr(span, "error.type", "ToolError")
    return request


def _messages(rng: random.Random, role: str) -> str:
    size = rng.randrange(1024, 4096) // 2
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": _text(rng, size)}]}])


def build_requests(count: int) -> list[ExportTraceServiceRequest]:
    return [build_request(seed) for seed in range(count)]
