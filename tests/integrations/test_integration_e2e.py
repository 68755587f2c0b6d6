"""Acceptance, end to end: a LangGraph agent with a tool and a streamed model, and an OpenAI
Agents SDK run with a handoff, exported over OTLP/HTTP to a real ``agenttrace collector`` (a
subprocess on loopback), published to a store, and read back with ``agenttrace show``."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agents import OpenAIChatCompletionsModel, RunConfig, Runner
from fake_provider import FakeProvider
from langchain_core.messages import HumanMessage
from openai import AsyncOpenAI
from test_integration_langchain import weather_graph
from test_integration_openai_agents import HANDOFF_SCRIPT, _agents

import agenttrace
from agenttrace.integrations import openai_agents
from agenttrace.integrations.langchain import AgentTraceCallbackHandler

CLI = [sys.executable, "-m", "agenttrace"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port, store = _free_port(), tmp_path / "store"
    args = [
        *CLI,
        "collector",
        "--store",
        str(store),
        "--wal-dir",
        str(tmp_path / "wal"),
        "--grpc-port",
        "-1",
        "--http-port",
        str(port),
        "--roll-interval",
        "0.3",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"collector did not start: {proc.stderr.read() if proc.stderr else ''}"
                    ) from None
                time.sleep(0.1)
        yield port, store
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def _cli(*args: str) -> str:
    out = subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "160", "PATH": ""},
    )
    return out.stdout


def _wait_for_traces(store: Path, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while not list(store.glob("spans/**/*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.2)
    while True:
        traces: list[dict[str, Any]] = json.loads(
            _cli("traces", "--store", str(store), "--json") or "[]"
        )
        if len(traces) >= count or time.monotonic() > deadline:
            return traces
        time.sleep(0.5)


def _tree(store: Path, trace_id: str) -> list[str]:
    """``agenttrace show`` lines that name spans, with durations removed."""
    text = _cli("show", trace_id, "--store", str(store))
    lines = [re.sub(r"  \d+(\.\d+)?(ms|s)", "", line.rstrip()) for line in text.splitlines()[1:]]
    return [line for line in lines if not re.search(r"[▶◀]", line)]


async def test_langgraph_and_openai_agents_runs_through_the_collector(
    collector: tuple[int, Path], provider: FakeProvider
) -> None:
    port, store = collector
    agenttrace.init(
        service_name="acceptance",
        endpoint=f"http://127.0.0.1:{port}",
        protocol="http/protobuf",
        set_global=False,
    )
    try:
        for _ in weather_graph().stream(
            {"messages": [HumanMessage("Weather in Paris?")]},
            config={"callbacks": [AgentTraceCallbackHandler(agent_name="weather-bot")]},
            stream_mode="messages",
        ):
            pass
        openai_agents.install(exclusive=True)
        provider.queue(*HANDOFF_SCRIPT)
        async with AsyncOpenAI(base_url=provider.openai_base_url, api_key="unused") as client:
            model = OpenAIChatCompletionsModel(model="llama-3.1-8b", openai_client=client)
            await Runner.run(
                _agents(model),
                "Weather in Paris?",
                run_config=RunConfig(workflow_name="weather-flow"),
            )
        assert agenttrace.flush()
    finally:
        openai_agents.uninstall()
        agenttrace.shutdown()

    traces = {t["root_name"]: t for t in _wait_for_traces(store, 2)}
    assert set(traces) == {"invoke_agent weather-bot", "invoke_workflow weather-flow"}

    graph = traces["invoke_agent weather-bot"]
    assert (graph["input_tokens"], graph["output_tokens"], graph["model_calls"]) == (120, 16, 2)
    assert _tree(store, graph["trace_id"]) == [
        "└── invoke_agent weather-bot  agent",
        "    ├── step agent  step",
        "    │   ├── chat scripted-1  model  tokens 50→10",
        "    │   └── step tools_condition  step",
        "    ├── step tools  step",
        "    │   └── execute_tool get_weather  tool",
        "    └── step agent  step",
        "        ├── chat scripted-1  model  tokens 70→6",
        "        └── step tools_condition  step",
    ]

    handoff = traces["invoke_workflow weather-flow"]
    assert (handoff["input_tokens"], handoff["output_tokens"], handoff["model_calls"]) == (
        180,
        22,
        3,
    )
    assert _tree(store, handoff["trace_id"]) == [
        "└── invoke_workflow weather-flow  workflow",
        "    └── step weather-flow  custom",
        "        ├── invoke_agent Triage  agent",
        "        │   └── step turn  step",
        "        │       ├── chat llama-3.1-8b  model  tokens 40→5",
        "        │       └── handoff Weather agent  handoff",
        "        └── invoke_agent Weather agent  agent",
        "            ├── step turn  step",
        "            │   ├── chat llama-3.1-8b  model  tokens 60→8",
        "            │   └── execute_tool get_weather  tool",
        "            │       └── step weather-lookup  custom",
        "            └── step turn  step",
        "                └── chat llama-3.1-8b  model  tokens 80→9",
    ]
