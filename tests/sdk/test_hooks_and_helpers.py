"""AgentHooks produce exactly the decorators' spans; context managers and convention helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import agenttrace
from agenttrace.testing import Capture, capture

RESPONSE = {
    "id": "chatcmpl-1",
    "model": "gpt-4o-2024-08-06",
    "choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3},
}


def _strip_times(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in s.items() if k not in ("start_time", "end_time")} for s in spans]


def test_hooks_match_decorators() -> None:
    @agenttrace.tool(name="search")
    def search(q: str) -> str:
        return "found"

    @agenttrace.llm(model="gpt-4o", provider="openai")
    def chat(messages: list[dict[str, str]]) -> dict[str, Any]:
        return RESPONSE

    @agenttrace.agent(name="planner")
    def planner(task: str) -> str:
        chat([{"role": "user", "content": task}])
        search(q="x")
        return "done"

    with capture() as by_decorators:
        planner("t")

    with capture() as by_hooks:
        hooks = agenttrace.AgentHooks()
        hooks.agent_start("a", name="planner", input={"task": "t"})
        hooks.model_start(
            "m",
            model="gpt-4o",
            provider="openai",
            parent_key="a",
            input_messages=[{"role": "user", "content": "t"}],
        )
        hooks.model_end(
            "m",
            usage=RESPONSE["usage"],
            response_model="gpt-4o-2024-08-06",
            response_id="chatcmpl-1",
            finish_reasons=["stop"],
            output_messages=[
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": "hi"}],
                    "finish_reason": "stop",
                }
            ],
        )
        hooks.tool_start("t", name="search", parent_key="a", arguments={"q": "x"})
        hooks.tool_end("t", result="found")
        hooks.agent_end("a", output="done")

    assert _strip_times(by_hooks.spans()) == _strip_times(by_decorators.spans())
    chat_span = by_hooks.spans()[1]["attributes"]
    assert chat_span["gen_ai.usage.input_tokens"] == 12
    assert chat_span["agenttrace.cost.usd"] == pytest.approx((12 * 2.5 + 3 * 10) / 1e6)


def test_hooks_events_streaming_and_errors(capture_spans: Capture) -> None:
    hooks = agenttrace.AgentHooks()
    hooks.workflow_start("w", name="flow")
    hooks.step_start("s", name="plan", parent_key="w", index=0)
    hooks.model_start("m", model="claude-sonnet-4-5-20250929", parent_key="s", provider="anthropic")
    hooks.model_chunk(
        "m",
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "model": "claude-sonnet-4-5-20250929",
                "usage": {
                    "input_tokens": 10,
                    "cache_read_input_tokens": 100,
                    "cache_creation_input_tokens": 5,
                    "output_tokens": 1,
                },
            },
        },
    )
    hooks.model_chunk(
        "m", {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hel"}}
    )
    hooks.model_chunk(
        "m", {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "lo"}}
    )
    hooks.model_chunk(
        "m",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 7},
        },
    )
    hooks.model_end("m")
    hooks.retry("s", attempt=2, reason="rate_limit")
    hooks.compaction(strategy="summarize", tokens_before=1000, tokens_after=200, parent_key="s")
    hooks.approval(action="rm -rf", decision="deny", approver="human", wait_ms=12.5, parent_key="s")
    hooks.handoff(sender="planner", receiver="coder", reason="code", parent_key="w")
    hooks.memory(
        operation="write", store_id="notes", keys=["k1"], records=[{"id": "k1"}], parent_key="s"
    )
    hooks.tool_start("t", name="shell", parent_key="s")
    hooks.tool_end("t", error=RuntimeError("exit 1"))
    hooks.step_end("s")
    hooks.workflow_end("w", outcome="failure")
    flow, step, model, memory, shell = capture_spans.spans()
    attrs = model["attributes"]
    assert attrs["gen_ai.usage.input_tokens"] == 115
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 100
    assert attrs["gen_ai.usage.cache_write.input_tokens"] == 5
    assert attrs["gen_ai.usage.output_tokens"] == 7
    assert attrs["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert attrs["gen_ai.response.id"] == "msg_1"
    assert attrs["agenttrace.cost.usd"] == pytest.approx(
        (10 * 3 + 100 * 0.3 + 5 * 3.75 + 7 * 15) / 1e6
    )
    assert '"content":"Hello"' in attrs["gen_ai.output.messages"]
    assert [e["name"] for e in step["events"]] == [
        "agenttrace.retry",
        "agenttrace.compaction",
        "agenttrace.approval",
    ]
    assert step["attributes"]["agenttrace.retry.attempt"] == 2
    assert step["attributes"]["agenttrace.step.index"] == 0
    assert flow["events"][0]["attributes"] == {
        "agenttrace.sender.agent.name": "planner",
        "agenttrace.receiver.agent.name": "coder",
        "agenttrace.handoff.reason": "code",
    }
    assert memory["name"] == "update_memory notes"
    assert memory["parent_id"] == step["context"]["span_id"]
    assert shell["status"]["code"] == "error"
    assert flow["attributes"]["agenttrace.run.outcome"] == "failure"
    assert flow["attributes"]["agenttrace.aggregate.tool_calls"] == 1
    assert flow["attributes"]["agenttrace.aggregate.input_tokens"] == 115


def test_llm_call_context_manager_and_helpers(capture_spans: Capture) -> None:
    with agenttrace.agent_run("bot", conversation_id="c1") as run:
        agenttrace.set_harness_state(goal="fix bug", step_index=3, budget_tokens=5000)
        agenttrace.set_run_info(session_id="s1", harness_name="home")
        with agenttrace.llm_call(model="gpt-4.1", provider="openai") as call:
            call.set_usage(
                {
                    "input_tokens": 100,
                    "output_tokens": 10,
                    "input_tokens_details": {"cached_tokens": 40},
                    "output_tokens_details": {"reasoning_tokens": 6},
                }
            )
            call.set_output("answer")
        with agenttrace.memory_access("read", "kb", keys=["a", "b"]) as mem:
            mem.set_output([{"id": "a"}])
        with pytest.raises(ValueError, match="bad"), agenttrace.tool_call("t", call_id="1"):
            raise ValueError("bad")
        agenttrace.set_outcome("success")
        agenttrace.set_eval("pass", 0.9)
        assert agenttrace.current_span() is run
    bot, llm, mem_span, tool = capture_spans.spans()
    assert bot["attributes"]["agenttrace.goal"] == "fix bug"
    assert bot["attributes"]["agenttrace.budget.remaining.tokens"] == 5000
    assert bot["attributes"]["agenttrace.run.outcome"] == "success"
    assert bot["attributes"]["agenttrace.eval.score"] == 0.9
    assert bot["attributes"]["agenttrace.aggregate.reasoning_tokens"] == 6
    assert llm["attributes"]["gen_ai.usage.cache_read.input_tokens"] == 40
    assert llm["attributes"]["gen_ai.output.messages"] == "answer"
    assert mem_span["attributes"]["agenttrace.memory.keys"] == ["a", "b"]
    assert tool["attributes"]["error.type"] == "ValueError"


def test_streaming_llm_returning_an_iterator(capture_spans: Capture) -> None:
    closed: list[bool] = []

    class FakeStream:
        def __init__(self) -> None:
            self._chunks = iter(
                [
                    {"model": "gpt-4o", "choices": [{"delta": {"content": "Hi"}}]},
                    {
                        "model": "gpt-4o",
                        "choices": [{"delta": {"content": "!"}, "finish_reason": "stop"}],
                    },
                    {
                        "model": "gpt-4o",
                        "choices": [],
                        "usage": {"prompt_tokens": 9, "completion_tokens": 2},
                    },
                ]
            )
            self.response = "raw"

        def __iter__(self) -> Iterator[Any]:
            return self

        def __next__(self) -> Any:
            return next(self._chunks)

        def close(self) -> None:
            closed.append(True)

    @agenttrace.llm
    def stream(model: str, messages: list[Any]) -> FakeStream:
        return FakeStream()

    result = stream("gpt-4o", [{"role": "user", "content": "x"}])
    assert result.response == "raw"
    assert len(list(result)) == 3
    early = stream("gpt-4o", [])
    next(iter(early))
    early.close()
    assert closed == [True]
    full, partial = capture_spans.spans()
    attrs = full["attributes"]
    assert full["name"] == "chat gpt-4o"
    assert attrs["gen_ai.usage.input_tokens"] == 9
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert '"content":"Hi!"' in attrs["gen_ai.output.messages"]
    assert attrs["agenttrace.response.time_to_first_chunk_ms"] >= 0
    assert partial["end_time"] is not None


def test_internal_errors_are_raised_under_tests_and_swallowed_otherwise(
    monkeypatch: pytest.MonkeyPatch, capture_spans: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    hooks = agenttrace.AgentHooks()
    with pytest.raises(agenttrace.AgentTraceInternalError):
        hooks.approval(action="x", decision="maybe")
    monkeypatch.setenv("AGENTTRACE_RAISE_INTERNAL_ERRORS", "0")
    hooks.approval(action="x", decision="maybe")
    assert "internal error in AgentHooks.approval" in caplog.text


def test_memory_records_counted_and_linked_from_the_model_span(capture_spans: Capture) -> None:
    @agenttrace.memory(operation="search", store_id="kb")
    def recall(query: str) -> list[dict[str, str]]:
        return [{"id": "m1"}, {"id": "m2"}]

    @agenttrace.agent
    def answer() -> None:
        records = recall("colour")
        memory_span = capture_spans.readable_spans()[-1].get_span_context()
        with agenttrace.llm_call(model="gpt-4o") as call:
            call.use_memory_records([r["id"] for r in records], [memory_span])

    answer()
    _, memory_span, model_span = capture_spans.spans()
    assert memory_span["attributes"]["gen_ai.memory.record.count"] == 2
    assert memory_span["attributes"]["gen_ai.memory.query.text"] == '{"query":"colour"}'
    assert model_span["attributes"]["agenttrace.memory.records_used"] == ["m1", "m2"]
    assert model_span["links"] == [
        {
            "context": memory_span["context"],
            "attributes": {"agenttrace.link.type": "memory_record"},
        }
    ]


def test_hooks_request_params_and_unknown_keys(capture_spans: Capture) -> None:
    hooks = agenttrace.AgentHooks()
    hooks.model_start(
        "m",
        model="gpt-4o",
        request_params={"temperature": 0.5, "max_tokens": 64, "stop": "END", "stream": True},
    )
    hooks.model_end("m")
    hooks.tool_end("never-started", result="ignored")  # unknown keys are ignored
    assert hooks.span_context("m") is None
    [span] = capture_spans.spans()
    attributes = span["attributes"]
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.request.max_tokens"] == 64
    assert attributes["gen_ai.request.stop_sequences"] == ["END"]
    assert "stream" not in str(attributes)
