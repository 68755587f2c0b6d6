"""Nested model/tool spans count once; failures blame the fatal error; diff branch points."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agenttrace import semconv
from agenttrace.query._example import (
    BASE_TIME_NS,
    RunBuilder,
    _attributes,
    call_message,
    text_message,
    to_request,
)
from agenttrace.query.diff import diff
from agenttrace.query.engine import QueryEngine, open_engine
from agenttrace.query.failures import failures
from agenttrace.query.stats import stats
from agenttrace.store.writer import write_requests


def _agent(run: RunBuilder) -> Span:
    return run.container(
        "invoke_agent researcher",
        None,
        {semconv.GEN_AI_OPERATION_NAME: "invoke_agent", semconv.GEN_AI_AGENT_NAME: "researcher"},
    )


def _nested_run() -> RunBuilder:
    """One model call reported twice (our chat span, the provider SDK's span inside it) and one
    tool call reported twice (the MCP client's span, the server's span inside it)."""
    run = RunBuilder("nested", BASE_TIME_NS)
    run.messages.append(text_message("user", "hello"))
    root = _agent(run)
    outer = run.container(
        "chat gpt-4.1",
        root,
        {
            semconv.GEN_AI_OPERATION_NAME: "chat",
            semconv.GEN_AI_REQUEST_MODEL: "gpt-4.1",
            semconv.GEN_AI_USAGE_INPUT_TOKENS: 1000,
            semconv.GEN_AI_USAGE_OUTPUT_TOKENS: 100,
            semconv.AGENTTRACE_COST_USD: 0.003,
        },
    )
    run.chat(
        outer,
        "gpt-4.1",
        call_message("call_1", "web_search", {"q": "x"}),
        input_tokens=1000,
        output_tokens=100,
    )
    run.close(outer)
    client = run.container(
        "execute_tool web_search",
        root,
        {semconv.GEN_AI_OPERATION_NAME: "execute_tool", semconv.GEN_AI_TOOL_NAME: "web_search"},
    )
    run.tool(client, "call_1", "web_search", {"q": "x"}, "result")
    run.close(client)
    run.close(root)
    return run


def test_nested_model_and_tool_spans_count_once(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    run = _nested_run()
    write_requests(url, [to_request(run.spans)], writer_id="one")
    engine = open_engine(url)
    summary = engine.summary(run.trace_id.hex())
    assert (summary["model_calls"], summary["tool_calls"]) == (1, 1)
    assert (summary["input_tokens"], summary["output_tokens"]) == (1000, 100)
    assert summary["cost_usd"] == pytest.approx(0.003)
    report = stats(engine)
    assert (report["totals"]["model_calls"], report["totals"]["tool_calls"]) == (1, 1)
    assert report["totals"]["input_tokens"] == 1000
    assert [(r["model"], r["calls"]) for r in report["by_model"]] == [("gpt-4.1", 1)]
    assert [(r["tool"], r["calls"]) for r in report["by_tool"]] == [("web_search", 1)]
    # Outside any harness step each call is one step: the inner spans belong to the outer.
    assert sorted((r["step"], r["occurrences"], r["model_calls"]) for r in report["by_step"]) == [
        ("chat gpt-4.1", 1, 1),
        ("execute_tool web_search", 1, 0),
    ]


def test_nesting_is_resolved_when_the_parent_arrives_later(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    run = _nested_run()
    root, outer_chat, inner_chat, client_tool, server_tool = run.spans
    early, late = [root, inner_chat, server_tool], [outer_chat, client_tool]
    write_requests(url, [to_request(early)], writer_id="early")
    engine = open_engine(url)
    before = engine.summary(run.trace_id.hex())  # only the inner spans so far
    assert (before["model_calls"], before["tool_calls"], before["input_tokens"]) == (1, 1, 1000)
    write_requests(url, [to_request(late)], writer_id="late")
    engine.refresh()
    incremental = engine.summary(run.trace_id.hex())
    assert (incremental["model_calls"], incremental["tool_calls"]) == (1, 1)
    assert incremental["input_tokens"] == 1000
    scratch = QueryEngine(url, index_path=tmp_path / "scratch.duckdb")
    scratch.refresh()
    assert scratch.summary(run.trace_id.hex()) == incremental


def test_failure_is_blamed_on_the_error_that_failed_the_trace(tmp_path: Path) -> None:
    """A retried timeout recovers; the later ToolFailed propagates to the root."""
    url = str(tmp_path / "store")
    run = RunBuilder("broken", BASE_TIME_NS)
    root = _agent(run)
    step = run.step(root, "test", 0)
    run.tool(step, "c1", "run_tests", {}, "", error=("TimeoutError", "no answer within 30s"))
    run.tool(step, "c2", "run_tests", {}, "", error=("ToolFailed", "3 tests failed at line 42"))
    run.close(step, error="3 tests failed at line 42")
    step.attributes.extend(_attributes({semconv.ERROR_TYPE: "ToolFailed"}))
    run.close(root, error="3 tests failed at line 42")
    root.attributes.extend(_attributes({semconv.ERROR_TYPE: "ToolFailed"}))
    write_requests(url, [to_request(run.spans)], writer_id="one")

    report = failures(open_engine(url))
    assert report["failing_traces"] == 1
    [pattern] = report["patterns"]
    assert (pattern["error_type"], pattern["where"]) == ("ToolFailed", "tool:run_tests")
    assert pattern["message"] == "<n> tests failed at line <n>"
    _root, _step, _timeout, fatal = run.spans
    assert pattern["failing_step"]["span_id"] == fatal.span_id.hex()
    assert pattern["failing_step"]["step_index"] == 1  # the second tool call of the run


def test_branch_point_shows_what_each_run_did_when_b_inserts_steps(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    runs = {}
    for name, tools in (("a", ["run_tests"]), ("b", ["read_file", "run_tests"])):
        run = RunBuilder(name, BASE_TIME_NS)
        root = _agent(run)
        for i, tool in enumerate(tools):
            run.tool(root, f"c{i}", tool, {"path": "tests/"}, "ok")
        run.close(root)
        runs[name] = run
    write_requests(url, [to_request(runs["a"].spans + runs["b"].spans)], writer_id="one")
    report = diff(open_engine(url), runs["a"].trace_id.hex(), runs["b"].trace_id.hex())
    branch = report["branch_point"]
    assert (branch["index"], branch["op"]) == (0, "insert")
    # A went straight to run_tests where B read a file first.
    assert (branch["a"]["name"], branch["b"]["name"]) == ("run_tests", "read_file")
    assert report["matched_steps"] == 1
