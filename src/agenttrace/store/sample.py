"""Deterministic, realistic agent traces as OTLP requests, for tests and benchmarks.

Each run is an ``invoke_agent`` root with alternating ``chat`` and ``execute_tool`` children,
carrying the GenAI attributes real instrumentation emits: models, token usage, cost, message
content that grows with the conversation (capped like an SDK content limit), tool arguments
and 1-4 KB tool results, occasional retry events, memory links and errors.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from agenttrace import semconv

__all__ = ["BASE_TIME_NS", "agent_requests", "agent_run_spans"]

BASE_TIME_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
_CONTENT_LIMIT = 4096


def _vocabulary(size: int = 4000) -> tuple[list[str], list[float]]:
    """Pseudo-words with Zipf frequencies. Tuned so zstd compresses the text about as well as
    it compresses real tool output and source code (about 3.5x overall, 2.5x per 4 KB),
    rather than flattering the storage ratio with a tiny vocabulary."""
    rng = random.Random(7)
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]
    syllables += ["tion", "ment", "ing", "er", "est", "ly", "al", "ic", "ous", "ive"]
    words = sorted(
        {"".join(rng.choices(syllables, k=rng.choice((1, 2, 2, 3, 3, 4)))) for _ in range(6000)}
    )
    rng.shuffle(words)
    words = words[:size]
    return words, [1.0 / (rank + 1) ** 1.05 for rank in range(len(words))]


_WORDS, _WEIGHTS = _vocabulary()
_CUMULATIVE = list(itertools.accumulate(_WEIGHTS))  # choices() would redo this per call
_MODELS = (("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-4.1"), ("openai", "gpt-4.1-mini"))
_TOOLS = ("read_file", "run_tests", "search_code", "edit_file", "list_dir", "web_fetch")


def _kv(key: str, value: Any) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    if isinstance(value, list):
        items = [_kv("", item).value for item in value]
        kv = KeyValue(key=key)
        kv.value.array_value.values.extend(items)
        return kv
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(_WORDS, cum_weights=_CUMULATIVE, k=words))


class _Run:
    def __init__(self, rng: random.Random, index: int, start_ns: int) -> None:
        self.rng = rng
        self.index = index
        self.trace_id = rng.randbytes(16)
        self.run_id = f"run-{rng.randbytes(8).hex()}"
        self.session_id = f"sess-{index // 4:06d}"
        self.provider, self.model = rng.choice(_MODELS)
        self.clock = start_ns
        self.spans: list[Span] = []
        self.history: list[dict[str, str]] = []

    def span(self, name: str, parent: bytes, duration_ns: int, attrs: dict[str, Any]) -> Span:
        span = Span(
            trace_id=self.trace_id,
            span_id=self.rng.randbytes(8),
            parent_span_id=parent,
            name=name,
            kind=Span.SPAN_KIND_CLIENT if parent else Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=self.clock,
            end_time_unix_nano=self.clock + duration_ns,
        )
        span.attributes.extend(_kv(k, v) for k, v in attrs.items())
        self.clock += duration_ns + self.rng.randrange(1_000_000, 20_000_000)
        self.spans.append(span)
        return span

    def chat(self, root: bytes, turn: int) -> None:
        rng = self.rng
        self.history.append({"role": "user" if turn == 0 else "tool", "content": _text(rng, 40)})
        input_messages = orjson.dumps(self.history[-8:]).decode()[-_CONTENT_LIMIT:]
        reply = _text(rng, rng.randrange(20, 120))
        self.history.append({"role": "assistant", "content": reply})
        input_tokens = 800 + 350 * turn + rng.randrange(200)
        output_tokens = rng.randrange(30, 600)
        attrs: dict[str, Any] = {
            semconv.GEN_AI_OPERATION_NAME: "chat",
            semconv.GEN_AI_PROVIDER_NAME: self.provider,
            semconv.GEN_AI_REQUEST_MODEL: self.model,
            semconv.GEN_AI_RESPONSE_MODEL: f"{self.model}-20250929",
            semconv.GEN_AI_RESPONSE_ID: f"msg_{rng.randbytes(12).hex()}",
            semconv.GEN_AI_RESPONSE_FINISH_REASONS: ["tool_calls" if turn < 5 else "stop"],
            semconv.GEN_AI_CONVERSATION_ID: self.session_id,
            semconv.GEN_AI_USAGE_INPUT_TOKENS: input_tokens,
            semconv.GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens,
            semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: max(0, input_tokens - 400),
            semconv.AGENTTRACE_COST_USD: round((input_tokens * 3 + output_tokens * 15) / 1e6, 6),
            semconv.AGENTTRACE_RUN_ID: self.run_id,
            semconv.AGENTTRACE_TURN_INDEX: turn,
            semconv.GEN_AI_INPUT_MESSAGES: input_messages,
            semconv.GEN_AI_OUTPUT_MESSAGES: orjson.dumps(
                [{"role": "assistant", "content": reply}]
            ).decode(),
        }
        if turn == 0:
            attrs[semconv.GEN_AI_SYSTEM_INSTRUCTIONS] = "You are a careful coding agent. " * 6
        span = self.span(f"chat {self.model}", root, rng.randrange(400, 9000) * 1_000_000, attrs)
        if rng.random() < 0.08:
            span.events.add(
                name=semconv.EVENT_RETRY,
                time_unix_nano=span.start_time_unix_nano + 1_000_000,
                attributes=[
                    _kv(semconv.AGENTTRACE_RETRY_ATTEMPT, 1),
                    _kv(semconv.AGENTTRACE_RETRY_REASON, "rate_limited"),
                ],
            )
        if rng.random() < 0.1:
            span.links.add(
                trace_id=self.trace_id,
                span_id=rng.randbytes(8),
                attributes=[_kv(semconv.AGENTTRACE_LINK_TYPE, "memory_record")],
            )

    def tool(self, root: bytes, turn: int) -> None:
        rng = self.rng
        tool = rng.choice(_TOOLS)
        failed = rng.random() < 0.05
        attrs: dict[str, Any] = {
            semconv.GEN_AI_OPERATION_NAME: "execute_tool",
            semconv.GEN_AI_TOOL_NAME: tool,
            semconv.GEN_AI_TOOL_CALL_ID: f"toolu_{rng.randbytes(10).hex()}",
            semconv.GEN_AI_TOOL_TYPE: "function",
            semconv.AGENTTRACE_RUN_ID: self.run_id,
            semconv.AGENTTRACE_TURN_INDEX: turn,
            semconv.GEN_AI_TOOL_CALL_ARGUMENTS: orjson.dumps(
                {"path": f"src/pkg/module_{rng.randrange(40)}.py", "query": _text(rng, 4)}
            ).decode(),
            semconv.GEN_AI_TOOL_CALL_RESULT: _text(rng, rng.randrange(180, 700)),
        }
        if failed:
            attrs[semconv.ERROR_TYPE] = "TimeoutError"
        span = self.span(f"execute_tool {tool}", root, rng.randrange(5, 3000) * 1_000_000, attrs)
        if failed:
            span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="tool timed out"))

    def build(self, turns: int) -> list[Span]:
        root = self.span("invoke_agent coder", b"", 0, {})
        root_attrs = {
            semconv.GEN_AI_OPERATION_NAME: "invoke_agent",
            semconv.GEN_AI_AGENT_NAME: "coder",
            semconv.GEN_AI_AGENT_ID: f"agent-{self.index % 7}",
            semconv.GEN_AI_PROVIDER_NAME: self.provider,
            semconv.GEN_AI_REQUEST_MODEL: self.model,
            semconv.AGENTTRACE_RUN_ID: self.run_id,
            semconv.AGENTTRACE_SESSION_ID: self.session_id,
            semconv.AGENTTRACE_HARNESS_NAME: "agenttrace-demo",
            semconv.AGENTTRACE_GOAL: _text(self.rng, 12),
        }
        for turn in range(turns):
            self.chat(root.span_id, turn)
            if turn < turns - 1:
                self.tool(root.span_id, turn)
        root.end_time_unix_nano = self.clock
        root_attrs[semconv.AGENTTRACE_RUN_OUTCOME] = "success"
        root.attributes.extend(_kv(k, v) for k, v in root_attrs.items())
        return self.spans


def agent_run_spans(seed: int, index: int, start_ns: int, turns: int = 6) -> list[Span]:
    """The spans of one agent run (root first), deterministic for ``(seed, index)``."""
    rng = random.Random(seed * 1_000_003 + index)
    return _Run(rng, index, start_ns).build(turns)


def agent_requests(
    n_spans: int,
    *,
    spans_per_request: int = 512,
    seed: int = 0,
    base_time_ns: int = BASE_TIME_NS,
    run_interval_ns: int = 2_000_000_000,
) -> Iterator[ExportTraceServiceRequest]:
    """Yield requests holding ``n_spans`` spans in total from consecutive agent runs.

    Runs start ``run_interval_ns`` apart from ``base_time_ns``; a run may be split across two
    requests, as batching exporters do.
    """
    pending: list[Span] = []
    produced = 0
    index = 0
    while produced < n_spans:
        while len(pending) < spans_per_request and produced + len(pending) < n_spans:
            pending.extend(agent_run_spans(seed, index, base_time_ns + index * run_interval_ns))
            index += 1
        take = min(spans_per_request, n_spans - produced)
        chunk, pending = pending[:take], pending[take:]
        produced += len(chunk)
        yield _request(chunk)


def _request(spans: list[Span]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        [
            _kv("service.name", "coding-agent"),
            _kv("service.version", "1.4.2"),
            _kv("deployment.environment.name", "prod"),
            _kv("host.name", "worker-3"),
            _kv("telemetry.sdk.language", "python"),
            _kv("telemetry.sdk.name", "opentelemetry"),
            _kv("telemetry.sdk.version", "1.38.0"),
        ]
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "agenttrace"
    scope_spans.scope.version = "0.1.0"
    scope_spans.schema_url = semconv.SCHEMA_URL
    scope_spans.spans.extend(spans)
    return request
