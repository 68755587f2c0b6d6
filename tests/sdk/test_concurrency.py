"""Parentage under asyncio.gather, thread pools, nesting and process boundaries; aggregation."""

from __future__ import annotations

import asyncio
import threading

import agenttrace
from agenttrace.testing import Capture

USAGE = {"prompt_tokens": 10, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 4}}


@agenttrace.llm(model="gpt-4o-mini")
def model_call() -> dict[str, object]:
    return {"model": "gpt-4o-mini", "usage": USAGE}


@agenttrace.tool
def lookup(i: int) -> int:
    model_call()
    return i


@agenttrace.agent
async def worker(i: int) -> int:
    await asyncio.sleep(0)
    return lookup(i)


def _by_id(spans: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {s["context"]["span_id"]: s for s in spans}  # type: ignore[index]


async def test_hundred_agents_under_gather(capture_spans: Capture) -> None:
    @agenttrace.workflow
    async def fan_out() -> list[int]:
        return await asyncio.gather(*(worker(i) for i in range(100)))

    assert await fan_out() == list(range(100))
    spans = capture_spans.spans()
    by_id = _by_id(spans)
    root = next(s for s in spans if s["name"] == "invoke_workflow fan_out")
    agents = [s for s in spans if s["name"] == "invoke_agent worker"]
    assert len(agents) == 100
    assert len(spans) == 301
    for agent_span in agents:
        assert agent_span["parent_id"] == root["context"]["span_id"]
    for span in spans:
        if span["name"] == "chat gpt-4o-mini":
            tool_span = by_id[span["parent_id"]]
            assert tool_span["name"] == "execute_tool lookup"
            assert by_id[tool_span["parent_id"]]["name"] == "invoke_agent worker"
    attributes = root["attributes"]
    # 100 model calls counted once each, through the agents, never twice
    assert attributes["agenttrace.aggregate.model_calls"] == 100
    assert attributes["agenttrace.aggregate.tool_calls"] == 100
    assert attributes["agenttrace.aggregate.input_tokens"] == 1000
    assert attributes["agenttrace.aggregate.cache_read_tokens"] == 400
    assert agents[0]["attributes"]["agenttrace.aggregate.model_calls"] == 1
    run_ids = {s["attributes"]["agenttrace.run.id"] for s in [root, *agents]}
    assert run_ids == {root["context"]["trace_id"]}


def test_eight_threads_in_a_context_pool(capture_spans: Capture) -> None:
    threads: set[int] = set()

    @agenttrace.tool
    def in_thread(i: int) -> int:
        threads.add(threading.get_ident())
        model_call()
        return i

    @agenttrace.agent
    def boss() -> list[int]:
        with agenttrace.ContextThreadPoolExecutor(max_workers=8) as pool:
            mapped = list(pool.map(in_thread, range(16)))
        wrapped = agenttrace.wrap_context(in_thread)
        thread = threading.Thread(target=wrapped, args=(99,))
        thread.start()
        thread.join()
        return mapped

    assert boss() == list(range(16))
    spans = capture_spans.spans()
    root = next(s for s in spans if s["name"] == "invoke_agent boss")
    tools = [s for s in spans if s["name"] == "execute_tool in_thread"]
    assert len(tools) == 17
    assert len(threads) > 1
    assert all(s["parent_id"] == root["context"]["span_id"] for s in tools)
    assert root["attributes"]["agenttrace.aggregate.model_calls"] == 17
    assert root["attributes"]["agenttrace.aggregate.cost_usd"] > 0


def test_nested_agents_do_not_double_count(capture_spans: Capture) -> None:
    @agenttrace.agent
    def inner() -> None:
        lookup(1)
        lookup(2)

    @agenttrace.agent
    def outer() -> None:
        model_call()
        inner()
        with agenttrace.agent_run("manual"):
            inner()

    outer()
    spans = {s["name"]: s for s in capture_spans.spans()}
    outer_attrs = spans["invoke_agent outer"]["attributes"]
    assert outer_attrs["agenttrace.aggregate.model_calls"] == 5
    assert outer_attrs["agenttrace.aggregate.tool_calls"] == 4
    assert outer_attrs["agenttrace.aggregate.output_tokens"] == 10
    assert spans["invoke_agent manual"]["attributes"]["agenttrace.aggregate.model_calls"] == 2
    assert (
        spans["invoke_agent manual"]["parent_id"]
        == spans["invoke_agent outer"]["context"]["span_id"]
    )


def test_inject_extract_across_a_process_boundary(capture_spans: Capture) -> None:
    carrier: dict[str, str] = {}
    with agenttrace.agent_run("parent") as run:
        agenttrace.inject(carrier)
        run_id = run.frame.run_id
    assert (
        carrier["traceparent"].split("-")[1] == run.span_context.trace_id.to_bytes(16, "big").hex()
    )
    assert f"agenttrace.run.id={run_id}" in carrier["baggage"]
    # "another process": only the carrier crosses
    token = agenttrace.attach(agenttrace.extract(dict(carrier)))
    try:
        with agenttrace.agent_run("child"):
            pass
    finally:
        agenttrace.detach(token)
    parent, child = capture_spans.spans()
    assert child["parent_id"] == parent["context"]["span_id"]
    assert child["attributes"]["agenttrace.run.id"] == run_id


def test_fan_in_links(capture_spans: Capture) -> None:
    branches = []
    for name in ("a", "b"):
        with agenttrace.agent_run(name) as run:
            branches.append(run)
    with agenttrace.agent_run("join", links=agenttrace.links(branches)):
        pass
    a, b, join = capture_spans.spans()
    assert join["links"] == [
        {"context": a["context"], "attributes": {"agenttrace.link.type": "fan_in"}},
        {"context": b["context"], "attributes": {"agenttrace.link.type": "fan_in"}},
    ]
