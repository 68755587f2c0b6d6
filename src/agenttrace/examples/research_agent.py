"""An example instrumented agent with a scripted model: no network, deterministic behaviour.

It exercises every part of the convention the demo shows: model calls with usage and cost,
tool calls (one flaky, retried), a memory read and write, a sub-agent, a context compaction,
harness state and the run outcome. ``script`` picks the model's replies, so two runs can
branch at a known step (for ``agenttrace diff``) and one can fail (for ``agenttrace failures``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace

import agenttrace

MAIN_MODEL = "gpt-4o-mini"
SUMMARY_MODEL = "claude-haiku-4-5"

# Each script is the sequence of tools the model asks for, one per model call, then an answer.
SCRIPTS: dict[str, list[str]] = {
    "baseline": ["search_docs", "run_tests"],
    "read-first": ["search_docs", "read_file", "run_tests"],
    "broken": ["search_docs", "run_tests"],
}


class ToolFailed(RuntimeError):
    """A tool failed for good (the demo's planted failure)."""


# Stands in for an external memory service; it outlives a run, as such a service would.
MEMORY: dict[str, str] = {"user:prefs": "prefers short answers"}


def _pause() -> None:
    # Gives spans real, non-zero durations without slowing the demo down.
    time.sleep(0.005)


@agenttrace.llm(provider="openai")
def chat(messages: list[dict[str, Any]], model: str, reply: dict[str, Any]) -> dict[str, Any]:
    """The scripted model: returns ``reply`` in the OpenAI Chat Completions shape."""
    _pause()
    prompt_tokens = 400 + 120 * len(messages)
    return {
        "id": f"chatcmpl-{len(messages)}",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": reply, "finish_reason": reply.pop("_finish")}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 60,
            "prompt_tokens_details": {"cached_tokens": prompt_tokens // 2},
        },
    }


@agenttrace.tool(description="Search the project documentation")
def search_docs(query: str) -> list[str]:
    _pause()
    return [f"docs/testing.md: how to run {query}", "docs/ci.md: flaky tests are retried"]


@agenttrace.tool(description="Read a file from the workspace")
def read_file(path: str) -> str:
    _pause()
    return f"# {path}\ndef test_parse():\n    assert parse('1') == 1\n"


@agenttrace.tool(description="Run the test suite")
def run_tests(path: str, attempt: int, broken: bool) -> dict[str, Any]:
    """Flaky on the first attempt; fails for good when the code is ``broken``."""
    _pause()
    if attempt == 1:
        raise TimeoutError("test runner did not answer within 30s")
    if broken:
        raise ToolFailed(f"3 tests failed in {path}: AssertionError in test_parse at line 42")
    return {"passed": 12, "failed": 0}


@agenttrace.memory(operation="read", store_id="notes")
def recall(key: str) -> str | None:
    return MEMORY.get(key)


@agenttrace.memory(operation="write", store_id="notes")
def remember(key: str, value: str) -> None:
    MEMORY[key] = value


@agenttrace.agent(name="summarizer", description="Summarizes the research for the user")
def summarizer(findings: list[str]) -> str:
    text = "; ".join(findings)
    reply = {"role": "assistant", "content": f"Summary: {text[:80]}", "_finish": "stop"}
    response = chat([{"role": "user", "content": text}], model=SUMMARY_MODEL, reply=reply)
    return str(response["choices"][0]["message"]["content"])


def _tool_call(name: str, step: int) -> dict[str, Any]:
    arguments = {
        "search_docs": '{"query": "unit tests"}',
        "read_file": '{"path": "tests/test_parse.py"}',
        "run_tests": '{"path": "tests/"}',
    }[name]
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{step}_{name}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        ],
        "_finish": "tool_calls",
    }


def _run_tool(name: str, broken: bool) -> Any:
    if name == "search_docs":
        return search_docs("unit tests")
    if name == "read_file":
        return read_file("tests/test_parse.py")
    for attempt in range(1, 4):
        try:
            return run_tests("tests/", attempt, broken)
        except TimeoutError as exc:
            agenttrace.retry(attempt + 1, reason="timeout", error=exc)
    raise ToolFailed("run_tests kept timing out")


def _replies(script: str) -> Iterator[dict[str, Any]]:
    for step, name in enumerate(SCRIPTS[script]):
        yield _tool_call(name, step)
    yield {"role": "assistant", "content": "All tests pass now.", "_finish": "stop"}


@dataclass
class RunResult:
    answer: str
    trace_id: str


@agenttrace.agent(name="researcher", description="Fixes failing tests")
def research_agent(task: str, script: str = "baseline") -> RunResult:
    """Run the agent loop; the result carries the trace id, the run's handle in the store."""
    trace_id = format(trace.get_current_span().get_span_context().trace_id, "032x")
    agenttrace.set_run_info(harness_name="agenttrace-demo", harness_version="1.0")
    prefs = recall("user:prefs")
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": f"You fix tests. User {prefs}."},
        {"role": "user", "content": task},
    ]
    findings: list[str] = []
    try:
        for step, reply in enumerate(_replies(script)):
            agenttrace.set_harness_state(goal=task, step_index=step, budget_iterations=10 - step)
            response = chat(messages, model=MAIN_MODEL, reply=reply)
            message = response["choices"][0]["message"]
            messages.append(message)
            if not message.get("tool_calls"):
                break
            for call in message["tool_calls"]:
                result = _run_tool(call["function"]["name"], broken=script == "broken")
                findings.append(str(result)[:60])
                messages.append(
                    {"role": "tool", "tool_call_id": call["id"], "content": str(result)}
                )
            if len(messages) > 6:
                agenttrace.compaction(
                    "summarize", tokens_before=2400, tokens_after=900, messages_dropped=2
                )
                messages = messages[:2] + messages[-3:]
    except ToolFailed:
        agenttrace.set_outcome("failure")
        raise
    summary = summarizer(findings)
    remember(f"summary:{task}", summary)
    agenttrace.set_outcome("success")
    return RunResult(summary, trace_id)
