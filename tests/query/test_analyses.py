"""Diff, attribution, failure grouping, replay and export on the example store (local and S3)."""

from __future__ import annotations

import orjson
import pytest

from agenttrace.query import export, failures, show, stats
from agenttrace.query._example import BRANCH_STEP_INDEX, COSTLIEST_STEP, PRICES, example_runs
from agenttrace.query.diff import diff
from agenttrace.query.engine import QueryEngine, TraceFilter
from agenttrace.query.model import steps_of
from agenttrace.query.search import search
from agenttrace.redaction import Redactor

Example = tuple[QueryEngine, dict[str, str]]


def test_traces_view_has_exactly_the_issue_fields(example: Example) -> None:
    engine, ids = example
    with engine.connect() as con:
        columns = [d[0] for d in con.execute("SELECT * FROM traces LIMIT 0").description]
    assert columns == [
        "trace_id", "root_name", "service_name", "start_time", "duration_ms", "status",
        "outcome", "span_count", "model_calls", "tool_calls", "errors", "retries",
        "input_tokens", "output_tokens", "cache_read_tokens", "cost_usd", "models", "agents",
        "tools",
    ]  # fmt: skip
    assert {t["trace_id"] for t in engine.traces()} == set(ids.values())


def test_baseline_summary_counts_model_calls_only(example: Example) -> None:
    engine, ids = example
    summary = engine.summary(ids["baseline"])
    run = example_runs()["baseline"]
    assert summary["span_count"] == len(run.spans)
    assert (summary["model_calls"], summary["tool_calls"]) == (5, 2)
    assert (summary["errors"], summary["retries"]) == (1, 1)  # one 429, retried once
    assert (summary["status"], summary["outcome"]) == ("ok", "success")
    # The root agent span repeats the usage as aggregates; it must not be counted twice.
    expected_input = 900 + 1200 + 600 + 2400
    assert summary["input_tokens"] == expected_input
    opus_in, opus_out = PRICES["claude-opus-4-1"]
    assert summary["cost_usd"] == pytest.approx(
        (
            900 * 2
            + 40 * 8
            + 1200 * 2
            + 35 * 8
            + 600 * 0.4
            + 60 * 1.6
            + 2400 * opus_in
            + 120 * opus_out
        )
        / 1e6
    )
    assert summary["agents"] == ["researcher", "summarizer"]
    assert summary["tools"] == ["web_fetch", "web_search"]


def test_diff_finds_the_planted_branch_step(example: Example) -> None:
    engine, ids = example
    report = diff(engine, ids["baseline"], ids["variant"])
    branch = report["branch_point"]
    assert branch is not None
    assert branch["index"] == BRANCH_STEP_INDEX
    # The model decided differently: fetch a page (A) versus search again (B).
    assert (branch["a"]["kind"], branch["b"]["kind"]) == ("model", "model")
    spans = engine.load_spans([ids["baseline"]])[ids["baseline"]]
    assert branch["a"]["span_id"] == steps_of(spans)[BRANCH_STEP_INDEX].span_id
    assert [s["name"] for s in branch["context"]] == [
        "search_memory notes",
        "gpt-4.1",
        "web_search",
    ]
    assert report["deltas"]["output_tokens"] == 10
    assert report["deltas"]["steps"] == 0
    assert report["a"]["trace_id"] == ids["baseline"]
    assert report["b"]["trace_id"] == ids["variant"]


def test_diff_of_a_run_with_itself_has_no_branch(example: Example) -> None:
    engine, ids = example
    report = diff(engine, ids["baseline"], ids["baseline"][:10])
    assert report["branch_point"] is None
    assert report["matched_steps"] == report["a"]["steps"]
    assert all(value == 0 for value in report["deltas"].values())


def test_costliest_step_is_the_answer_step(example: Example) -> None:
    engine, ids = example
    report = stats.stats(engine, TraceFilter(trace_ids=[ids["baseline"]]))
    step = report["costliest_step"]
    assert step["name"] == COSTLIEST_STEP
    assert step["kind"] == "step"
    opus_in, opus_out = PRICES["claude-opus-4-1"]
    assert step["cost_usd"] == pytest.approx((2400 * opus_in + 120 * opus_out) / 1e6)
    assert step["model_calls"] == 2  # the rate-limited attempt and its retry
    by_step = {row["step"]: row for row in report["by_step"]}
    assert set(by_step) == {"recall", "research", "summarize", "answer"}
    assert sum(row["cost_usd"] for row in report["by_step"]) == pytest.approx(
        report["totals"]["cost_usd"]
    )
    by_agent = {row["agent"]: row for row in report["by_agent"]}
    assert by_agent["summarizer"]["model_calls"] == 1
    assert by_agent["researcher"]["model_calls"] == 4


def test_stats_across_traces_add_up(example: Example) -> None:
    engine, _ = example
    report = stats.stats(engine)
    traces = engine.traces()
    assert report["totals"]["traces"] == len(traces)
    assert report["totals"]["cost_usd"] == pytest.approx(sum(t["cost_usd"] for t in traces))
    assert sum(row["calls"] for row in report["by_model"]) == sum(t["model_calls"] for t in traces)


def test_failures_group_the_three_planted_signatures(example: Example) -> None:
    engine, ids = example
    report = failures.failures(engine)
    assert report["failing_traces"] == 6  # the recovered 429 in baseline/variant is not one
    patterns = report["patterns"]
    assert [(p["error_type"], p["where"], p["count"]) for p in patterns] == [
        ("TimeoutError", "tool:web_fetch", 3),
        ("FileNotFoundError", "tool:read_file", 2),
        ("RateLimitError", "model:chat claude-opus-4-1", 1),
    ]
    assert set(patterns[0]["example_traces"]) == {ids[f"fail-fetch-{i}"] for i in range(3)}
    assert "<url>" in patterns[0]["message"]
    assert "30" not in patterns[0]["message"]
    assert patterns[1]["failing_step"]["name"] == "execute_tool read_file"
    # The first of the two failed opus attempts is where that failure started.
    rate_limited = engine.load_spans([ids["fail-ratelimit-0"]])[ids["fail-ratelimit-0"]]
    first_opus = next(s for s in steps_of(rate_limited) if s.model == "claude-opus-4-1")
    assert patterns[2]["failing_step"]["span_id"] == first_opus.span_id


def test_replay_orders_model_calls_and_their_tool_results(example: Example) -> None:
    engine, ids = example
    spans = engine.load_spans([ids["baseline"]])[ids["baseline"]]
    steps = show.replay(spans)
    assert [s["index"] for s in steps] == [1, 2, 3, 4, 5]
    assert [s["model"] for s in steps] == [
        "gpt-4.1",
        "gpt-4.1",
        "gpt-4.1-mini",
        "claude-opus-4-1",
        "claude-opus-4-1",
    ]
    starts = [s["start_time"] for s in steps]
    assert starts == sorted(starts)
    assert [[t["tool"] for t in s["tool_results"]] for s in steps] == [
        ["web_search"],
        ["web_fetch"],
        [],
        [],
        [],
    ]
    # The conversation grows: each call sees the previous calls' outputs and tool results.
    assert [len(s["input_messages"]) for s in steps] == [1, 3, 1, 5, 5]
    assert steps[1]["input_messages"][2]["parts"][0]["id"] == "call_1"
    assert steps[3]["error"]["type"] == "RateLimitError"


def test_export_formats_parse_back(example: Example) -> None:
    engine, ids = example
    summary = engine.summary(ids["baseline"])
    lines = {
        fmt: [orjson.loads(orjson.dumps(r)) for r in export.export_records(engine, [summary], fmt)]
        for fmt in export.FORMATS
    }
    (record,) = lines["eval"]
    assert record["input"].startswith("What is the population of Paris")
    assert record["final_output"].startswith("Paris has about 2.10 million")
    assert record["outcome"] == "success"
    assert record["cost_usd"] == summary["cost_usd"]
    tools = [s for s in record["trajectory"] if s["kind"] == "tool"]
    assert [t["name"] for t in tools] == ["web_search", "web_fetch"]
    assert tools[0]["arguments"] == {"query": "paris population 2024"}

    session, *messages = lines["sts"]
    assert session["type"] == "session"
    assert session["id"] == ids["baseline"]
    assert session["harness"] == "example-harness"
    roles = [m["message"]["role"] for m in messages]
    assert roles[:2] == ["system", "user"]
    assert roles[-1] == "assistant"
    call_ids = set()
    for line in messages:
        message = line["message"]
        for call in message.get("toolCalls", []):
            assert isinstance(orjson.loads(call["function"]["arguments"]), dict)
            call_ids.add(call["id"])
        if message["role"] == "tool":
            assert message["toolCallId"] in call_ids  # answers an earlier call
    assert call_ids == {"call_1", "call_2"}

    halo = lines["halo"]
    assert len(halo) == summary["span_count"]
    assert {h["span_id"] for h in halo} == {
        s.span_id for s in engine.load_spans([ids["baseline"]])[ids["baseline"]]
    }
    root = next(h for h in halo if h["parent_span_id"] == "")
    assert root["attributes"]["openinference.span.kind"] == "AGENT"
    assert root["attributes"]["session.id"] == "session-demo"
    llm = next(h for h in halo if h["attributes"]["openinference.span.kind"] == "LLM")
    assert llm["attributes"]["llm.model_name"] == "gpt-4.1"
    assert llm["attributes"]["llm.input_messages.0.message.role"] == "user"
    assert llm["start_time"].endswith("Z")
    assert len(llm["start_time"]) == len("2026-01-15T10:00:00.000000000Z")
    assert all(h["status"]["code"].startswith("STATUS_CODE_") for h in halo)


def test_export_redacts_when_asked(example: Example) -> None:
    engine, ids = example
    summary = engine.summary(ids["baseline"])
    plain = orjson.dumps(list(export.export_records(engine, [summary], "eval")))
    redacted = orjson.dumps(list(export.export_records(engine, [summary], "eval", Redactor())))
    assert b"presse@insee.fr" in plain
    assert b"presse@insee.fr" not in redacted
    assert b"[REDACTED:email]" in redacted


def test_search_reports_span_hits_with_snippets(example: Example) -> None:
    engine, ids = example
    report = search(engine, "INSEE")
    traces = {t["trace_id"] for t in report["traces"]}
    assert ids["baseline"] in traces
    assert len(traces) == len(ids)
    fields = {hit["field"] for hit in report["hits"]}
    assert "tool_result" in fields
    assert all("insee" in hit["snippet"].lower() for hit in report["hits"])
    punctuated = search(engine, "(insee, CONTACT")  # regex metacharacters are literal
    assert ids["baseline"] in {t["trace_id"] for t in punctuated["traces"]}
    errors = search(engine, "no such file")
    assert {t["trace_id"] for t in errors["traces"]} == {ids["fail-read-0"], ids["fail-read-1"]}
