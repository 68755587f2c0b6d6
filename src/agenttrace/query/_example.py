"""A small, deterministic store of agent runs for docs/analysis.md and the query tests.

A ``researcher`` agent answers a question in four harness steps (recall, research, summarize,
answer) with a memory read, web tool calls, a ``summarizer`` subagent, a rate-limited model call
that is retried, and a memory write. Runs are built as OTLP protobuf requests and written with
the store's own writer.

* ``baseline`` and ``variant`` branch at step index 3: the baseline fetches a page, the variant
  searches again with different arguments.
* Six failing runs carry three planted failure signatures (3 × web_fetch timeout,
  2 × read_file missing file, 1 × exhausted model rate limit), with ids, numbers and paths that
  differ between runs of the same signature.

``python -m agenttrace.query._example DIR`` writes the store and prints the trace ids.
"""

from __future__ import annotations

import hashlib
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from agenttrace import semconv
from agenttrace._otlp_values import set_value

BASE_TIME_NS = 1_768_471_200_000_000_000  # 2026-01-15T10:00:00Z
MS = 1_000_000
QUESTION = "What is the population of Paris, and how has it changed since 2000?"
BRANCH_STEP_INDEX = 3
COSTLIEST_STEP = "answer"
PRICES = {"gpt-4.1": (2.0, 8.0), "gpt-4.1-mini": (0.4, 1.6), "claude-opus-4-1": (15.0, 75.0)}


def _attributes(values: dict[str, Any]) -> list[KeyValue]:
    attributes = []
    for key, value in values.items():
        if value is not None:
            attributes.append(KeyValue(key=key))
            set_value(attributes[-1].value, value)
    return attributes


def _id(*parts: object, size: int) -> bytes:
    return hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:size]


def text_message(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "parts": [{"type": "text", "content": text}]}


def call_message(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "parts": [{"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}],
        "finish_reason": "tool_call",
    }


def result_message(call_id: str, result: str) -> dict[str, Any]:
    return {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": call_id, "response": result}],
    }


@dataclass
class RunBuilder:
    """Spans of one run laid out on a clock; ``messages`` is the researcher's conversation."""

    name: str
    start_ns: int
    service: str = "research-agent"
    spans: list[Span] = field(default_factory=list)
    clock: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    counter: int = 0

    def __post_init__(self) -> None:
        self.trace_id = _id("trace", self.name, size=16)
        self.clock = self.start_ns

    def span(
        self,
        name: str,
        parent: Span | None,
        duration_ms: float,
        attributes: dict[str, Any],
        *,
        error: tuple[str, str] | None = None,
        events: Sequence[tuple[str, dict[str, Any]]] = (),
        advance: bool = True,
    ) -> Span:
        self.counter += 1
        span = Span(
            trace_id=self.trace_id,
            span_id=_id("span", self.name, self.counter, size=8),
            parent_span_id=parent.span_id if parent is not None else b"",
            name=name,
            kind=Span.SPAN_KIND_CLIENT
            if attributes.get(semconv.GEN_AI_PROVIDER_NAME)
            else Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=self.clock,
            end_time_unix_nano=self.clock + int(duration_ms * MS),
        )
        span.attributes.extend(_attributes(attributes))
        for event_name, event_attributes in events:
            event = span.events.add()
            event.name = event_name
            event.time_unix_nano = span.end_time_unix_nano
            event.attributes.extend(_attributes(event_attributes))
        if error is not None:
            span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=error[1]))
            span.attributes.extend(_attributes({semconv.ERROR_TYPE: error[0]}))
            event = span.events.add()
            event.name = "exception"
            event.time_unix_nano = span.end_time_unix_nano
            event.attributes.extend(
                _attributes({"exception.type": error[0], "exception.message": error[1]})
            )
        if advance:
            self.clock = span.end_time_unix_nano + 5 * MS
        self.spans.append(span)
        return span

    def container(self, name: str, parent: Span | None, attributes: dict[str, Any]) -> Span:
        """A span whose end is set by :meth:`close` once its children are laid out."""
        span = self.span(name, parent, 0, attributes, advance=False)
        self.clock += 1 * MS
        return span

    def close(self, span: Span, *, error: str | None = None) -> None:
        span.end_time_unix_nano = self.clock
        self.clock += 1 * MS
        if error is not None:
            span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=error))

    def chat(
        self,
        parent: Span,
        model: str,
        output: dict[str, Any],
        *,
        input_tokens: int,
        output_tokens: int,
        messages: list[dict[str, Any]] | None = None,
        agent: str = "researcher",
        error: tuple[str, str] | None = None,
        retry_attempt: int | None = None,
    ) -> Span:
        history = self.messages if messages is None else messages
        price_in, price_out = PRICES[model]
        cost = 0.0 if error else (input_tokens * price_in + output_tokens * price_out) / 1e6
        attributes = {
            semconv.GEN_AI_OPERATION_NAME: "chat",
            semconv.GEN_AI_PROVIDER_NAME: "anthropic" if model.startswith("claude") else "openai",
            semconv.GEN_AI_REQUEST_MODEL: model,
            semconv.GEN_AI_AGENT_NAME: agent,
            semconv.GEN_AI_SYSTEM_INSTRUCTIONS: orjson.dumps(
                [{"type": "text", "content": f"You are the {agent} agent. Cite sources."}]
            ).decode(),
            semconv.GEN_AI_INPUT_MESSAGES: orjson.dumps(history).decode(),
            semconv.GEN_AI_OUTPUT_MESSAGES: None if error else orjson.dumps([output]).decode(),
            semconv.GEN_AI_USAGE_INPUT_TOKENS: 0 if error else input_tokens,
            semconv.GEN_AI_USAGE_OUTPUT_TOKENS: 0 if error else output_tokens,
            semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 0 if error else input_tokens // 2,
            semconv.AGENTTRACE_COST_USD: cost,
            semconv.AGENTTRACE_RETRY_ATTEMPT: retry_attempt,
        }
        events = (
            [(semconv.EVENT_RETRY, {semconv.AGENTTRACE_RETRY_REASON: "rate_limit"})]
            if retry_attempt
            else []
        )
        span = self.span(
            f"chat {model}",
            parent,
            900 if not error else 120,
            attributes,
            error=error,
            events=events,
        )
        if not error and messages is None:
            self.messages.append(output)
        return span

    def tool(
        self,
        parent: Span,
        call_id: str,
        name: str,
        arguments: dict[str, Any],
        result: str,
        *,
        duration_ms: float = 400,
        error: tuple[str, str] | None = None,
    ) -> Span:
        attributes = {
            semconv.GEN_AI_OPERATION_NAME: "execute_tool",
            semconv.GEN_AI_TOOL_NAME: name,
            semconv.GEN_AI_TOOL_CALL_ID: call_id,
            semconv.GEN_AI_TOOL_CALL_ARGUMENTS: orjson.dumps(arguments).decode(),
            semconv.GEN_AI_TOOL_CALL_RESULT: None if error else result,
        }
        span = self.span(f"execute_tool {name}", parent, duration_ms, attributes, error=error)
        if not error:
            self.messages.append(result_message(call_id, result))
        return span

    def memory(self, parent: Span, operation: str, keys: list[str]) -> Span:
        gen_ai_operation = "search_memory" if operation == "read" else "update_memory"
        return self.span(
            f"{gen_ai_operation} notes",
            parent,
            30,
            {
                semconv.GEN_AI_OPERATION_NAME: gen_ai_operation,
                semconv.GEN_AI_MEMORY_STORE_ID: "notes",
                semconv.AGENTTRACE_MEMORY_OPERATION: operation,
                semconv.AGENTTRACE_MEMORY_KEYS: keys,
            },
        )

    def step(self, parent: Span, name: str, index: int) -> Span:
        return self.container(
            f"step {name}",
            parent,
            {
                semconv.AGENTTRACE_OPERATION_NAME: "step",
                semconv.AGENTTRACE_STEP_NAME: name,
                semconv.AGENTTRACE_STEP_INDEX: index,
            },
        )


@dataclass(frozen=True)
class Failure:
    """A planted failure: where it happens and the error it raises."""

    where: str  # "web_fetch", "read_file" or "model"
    error_type: str
    message: str


def build_run(
    name: str, start_ns: int, *, variant: bool = False, failure: Failure | None = None
) -> RunBuilder:
    run = RunBuilder(name, start_ns)
    run.messages.append(text_message("user", QUESTION))
    root = run.container(
        "invoke_agent researcher",
        None,
        {
            semconv.GEN_AI_OPERATION_NAME: "invoke_agent",
            semconv.GEN_AI_AGENT_NAME: "researcher",
            semconv.AGENTTRACE_HARNESS_NAME: "example-harness",
            semconv.AGENTTRACE_RUN_ID: str(uuid.UUID(bytes=_id("run", name, size=16))),
            semconv.AGENTTRACE_SESSION_ID: "session-demo",
            semconv.AGENTTRACE_GOAL: QUESTION,
        },
    )
    recall = run.step(root, "recall", 0)
    run.memory(recall, "read", ["paris"])
    run.close(recall)

    research = run.step(root, "research", 1)
    query = {"query": "paris population 2024"}
    run.chat(
        research,
        "gpt-4.1",
        call_message("call_1", "web_search", query),
        input_tokens=900,
        output_tokens=40,
    )
    run.tool(
        research,
        "call_1",
        "web_search",
        query,
        "Paris had 2,102,650 inhabitants in 2024 (INSEE, contact presse@insee.fr).",
    )
    if failure is not None and failure.where == "read_file":
        path = {"path": failure.message.split("'")[1]}
        run.chat(
            research,
            "gpt-4.1",
            call_message("call_2", "read_file", path),
            input_tokens=1100,
            output_tokens=30,
        )
        run.tool(
            research, "call_2", "read_file", path, "", error=(failure.error_type, failure.message)
        )
        run.close(research, error=failure.message)
        return _fail(run, root, failure)
    if variant:
        second = {"query": "paris population history since 2000"}
        run.chat(
            research,
            "gpt-4.1",
            call_message("call_2", "web_search", second),
            input_tokens=1200,
            output_tokens=45,
        )
        run.tool(
            research,
            "call_2",
            "web_search",
            second,
            "2,125,246 (2000); 2,229,621 (2012); 2,102,650 (2024).",
        )
    else:
        page = {"url": "https://en.wikipedia.org/wiki/Demographics_of_Paris"}
        run.chat(
            research,
            "gpt-4.1",
            call_message("call_2", "web_fetch", page),
            input_tokens=1200,
            output_tokens=35,
        )
        if failure is not None and failure.where == "web_fetch":
            run.tool(
                research,
                "call_2",
                "web_fetch",
                page,
                "",
                duration_ms=30_000,
                error=(failure.error_type, failure.message),
            )
            run.close(research, error=failure.message)
            return _fail(run, root, failure)
        run.tool(
            research,
            "call_2",
            "web_fetch",
            page,
            "Population: 2,125,246 (1999) ... 2,102,650 (2024).",
            duration_ms=1500,
        )
    run.close(research)

    summarize = run.step(root, "summarize", 2)
    sub = run.container(
        "invoke_agent summarizer",
        summarize,
        {semconv.GEN_AI_OPERATION_NAME: "invoke_agent", semconv.GEN_AI_AGENT_NAME: "summarizer"},
    )
    notes = [
        text_message(
            "user", "Summarize the population trend: " + run.messages[-1]["parts"][0]["response"]
        )
    ]
    run.chat(
        sub,
        "gpt-4.1-mini",
        text_message(
            "assistant", "Roughly flat: about 2.1 million, peaking near 2.23 million in 2012."
        ),
        input_tokens=600,
        output_tokens=60,
        messages=notes,
        agent="summarizer",
    )
    run.close(sub)
    run.close(summarize)

    answer = run.step(root, "answer", 3)
    final = text_message(
        "assistant",
        "Paris has about 2.10 million residents (2024), down slightly from 2.13 million in 2000 after a 2012 peak.",
    )
    if failure is not None and failure.where == "model":
        run.chat(
            answer,
            "claude-opus-4-1",
            final,
            input_tokens=2400,
            output_tokens=120,
            error=(failure.error_type, failure.message),
        )
        run.chat(
            answer,
            "claude-opus-4-1",
            final,
            input_tokens=2400,
            output_tokens=120,
            error=(failure.error_type, failure.message),
            retry_attempt=1,
        )
        run.close(answer, error=failure.message)
        return _fail(run, root, failure)
    run.chat(
        answer,
        "claude-opus-4-1",
        final,
        input_tokens=2400,
        output_tokens=120,
        error=("RateLimitError", "429 rate limit exceeded, retry after 200ms"),
    )
    run.chat(
        answer, "claude-opus-4-1", final, input_tokens=2400, output_tokens=120, retry_attempt=1
    )
    run.memory(answer, "write", ["paris"])
    run.close(answer)
    run.close(root)
    root.status.CopyFrom(Status(code=Status.STATUS_CODE_OK))
    root.attributes.extend(
        _attributes({semconv.AGENTTRACE_RUN_OUTCOME: "success", **_aggregates(run)})
    )
    return run


def _aggregates(run: RunBuilder) -> dict[str, Any]:
    """Usage sums on the root agent span, as ``agenttrace.aggregate.*`` and, as some
    instrumentations do, ``gen_ai.usage.*``: analyses must not add them to the model calls."""
    models = [
        s
        for s in run.spans
        if any(kv.key == semconv.GEN_AI_USAGE_INPUT_TOKENS for kv in s.attributes)
    ]

    def total(key: str) -> int:
        return sum(kv.value.int_value for s in models for kv in s.attributes if kv.key == key)

    return {
        semconv.AGENTTRACE_AGGREGATE_INPUT_TOKENS: total(semconv.GEN_AI_USAGE_INPUT_TOKENS),
        semconv.AGENTTRACE_AGGREGATE_OUTPUT_TOKENS: total(semconv.GEN_AI_USAGE_OUTPUT_TOKENS),
        semconv.AGENTTRACE_AGGREGATE_MODEL_CALLS: len(models),
        semconv.GEN_AI_USAGE_INPUT_TOKENS: total(semconv.GEN_AI_USAGE_INPUT_TOKENS),
        semconv.GEN_AI_USAGE_OUTPUT_TOKENS: total(semconv.GEN_AI_USAGE_OUTPUT_TOKENS),
    }


def _fail(run: RunBuilder, root: Span, failure: Failure) -> RunBuilder:
    run.close(root, error=failure.message)
    root.attributes.extend(_attributes({semconv.AGENTTRACE_RUN_OUTCOME: "failure"}))
    return run


def failures_to_plant() -> list[tuple[str, Failure]]:
    out = []
    for i, seconds in enumerate((30, 45, 60)):
        out.append(
            (
                f"fail-fetch-{i}",
                Failure(
                    "web_fetch",
                    "TimeoutError",
                    f"timed out after {seconds}s fetching https://example.org/page/{i}",
                ),
            )
        )
    for i in range(2):
        folder = uuid.UUID(bytes=_id("folder", i, size=16))
        out.append(
            (
                f"fail-read-{i}",
                Failure(
                    "read_file",
                    "FileNotFoundError",
                    f"[Errno 2] No such file or directory: '/tmp/work/{folder}/notes.txt'",
                ),
            )
        )
    out.append(
        (
            "fail-ratelimit-0",
            Failure(
                "model",
                "RateLimitError",
                "429 rate limit exceeded for request req_8f3a9c1d2e; retry after 1200ms",
            ),
        )
    )
    return out


def to_request(spans: Iterable[Span], service: str = "research-agent") -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        _attributes({"service.name": service, "service.version": "0.3.0"})
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "agenttrace.example"
    scope_spans.scope.version = "0.1.0"
    scope_spans.schema_url = semconv.SCHEMA_URL
    scope_spans.spans.extend(spans)
    return request


def example_runs() -> dict[str, RunBuilder]:
    """Every run of the example store by name, ten seconds apart."""
    runs = {
        "baseline": build_run("baseline", BASE_TIME_NS),
        "variant": build_run("variant", BASE_TIME_NS + 60_000 * MS, variant=True),
    }
    for i, (name, failure) in enumerate(failures_to_plant()):
        runs[name] = build_run(name, BASE_TIME_NS + (120_000 + 60_000 * i) * MS, failure=failure)
    return runs


def write_example_store(url: str) -> dict[str, str]:
    """Write the example runs to the store at ``url``; returns run name → trace id (hex).

    The baseline's spans are split across two files, as a batching exporter would."""
    from agenttrace.store.writer import write_requests

    runs = example_runs()
    baseline = runs["baseline"].spans
    half = len(baseline) // 2
    write_requests(url, [to_request(baseline[:half])], writer_id="example-a")
    rest = baseline[half:] + [
        s for name, run in runs.items() if name != "baseline" for s in run.spans
    ]
    write_requests(url, [to_request(rest)], writer_id="example-b")
    return {name: run.trace_id.hex() for name, run in runs.items()}


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m agenttrace.query._example STORE_DIR", file=sys.stderr)
        return 2
    for name, trace_id in write_example_store(argv[0]).items():
        print(f"{name:18} {trace_id}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
