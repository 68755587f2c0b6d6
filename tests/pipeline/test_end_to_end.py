"""The pipeline inside real collectors: OpenInference and old-GenAI spans land in Parquet with the
hot columns filled, secrets hidden in events, links and status messages reach neither the WAL
nor the Parquet files, and the forward processor delivers into a second collector."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from openinference.semconv.trace import SpanAttributes as OI
from opentelemetry.semconv_ai import SpanAttributes as AI
from pipeline_helpers import (
    build_request,
    collector_config,
    http_get,
    post_protobuf,
    tree_bytes,
    wait_rows,
)

from agenttrace.collector.errors import ConfigError
from agenttrace.collector.service import Collector

GITHUB = "ghp_" + "Zq8Wx7Vc6Bn5Mm4Ll3Kk2Jj1Hh0Gg9Ff8Ee7Dd"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dcQ"
EMAIL = "ops.lead@acme-payments.example"
SECRETS = (GITHUB, STRIPE, EMAIL)

SPANS: list[dict[str, Any]] = [
    {
        "trace_id": 77,
        "span_id": 1,
        "name": "agent1",
        "attributes": {OI.OPENINFERENCE_SPAN_KIND: "AGENT", OI.LLM_SYSTEM: "openai"},
    },
    {
        "trace_id": 77,
        "span_id": 2,
        "parent_span_id": 1,
        "name": "ChatCompletion",
        "attributes": {
            OI.OPENINFERENCE_SPAN_KIND: "LLM",
            OI.LLM_MODEL_NAME: "gpt-4o",
            OI.LLM_TOKEN_COUNT_PROMPT: 321,
            OI.LLM_TOKEN_COUNT_COMPLETION: 54,
            f"{OI.LLM_INPUT_MESSAGES}.0.message.role": "user",
            f"{OI.LLM_INPUT_MESSAGES}.0.message.content": "What is the refund status?",
        },
    },
    {
        "trace_id": 77,
        "span_id": 3,
        "parent_span_id": 1,
        "name": "lookup_refund",
        "attributes": {
            OI.OPENINFERENCE_SPAN_KIND: "TOOL",
            OI.TOOL_NAME: "lookup_refund",
            OI.INPUT_VALUE: '{"order": 17}',
        },
        "status": "error",
        "status_message": f"refund API rejected credentials {STRIPE}",
        "events": [
            {"name": "exception", "attributes": {"exception.message": f"token {GITHUB} expired"}}
        ],
        "links": [{"trace_id": 5, "span_id": 6, "attributes": {"requested_by": EMAIL}}],
    },
    {
        "trace_id": 78,
        "span_id": 4,
        "name": "anthropic.chat",
        "attributes": {
            AI.LLM_REQUEST_TYPE: "chat",
            AI.LLM_SYSTEM: "anthropic",
            AI.LLM_REQUEST_MODEL: "claude-3-5-sonnet",
            AI.LLM_USAGE_PROMPT_TOKENS: 900,
            AI.LLM_USAGE_COMPLETION_TOKENS: 120,
            AI.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 64,
        },
    },
    {
        "trace_id": 78,
        "span_id": 5,
        "name": "billing.agent",
        "attributes": {
            AI.TRACELOOP_SPAN_KIND: "agent",
            AI.TRACELOOP_ENTITY_NAME: "billing",
            "billing.owner": f"escalate to {EMAIL}",  # redacted in the span's bytes
        },
    },
]
PROCESSORS = [
    {"type": "normalize"},
    {"type": "redaction"},
    {"type": "limits", "max_attribute_value_bytes": 65536},
]


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[Collector]:
    """The second collector, receiving what the first one forwards."""
    service = Collector(collector_config(tmp_path / "b", 0.3, []))
    await service.start()
    try:
        yield service
    finally:
        await service.shutdown()


# workers=2: the processors run in two ingest worker processes; the outcome must not change.
# Redaction last: the forwarders then get the request parsed from the bytes redaction spliced.
@pytest.mark.parametrize(
    ("workers", "processors"),
    [(1, PROCESSORS), (2, PROCESSORS), (1, [PROCESSORS[0], PROCESSORS[2], PROCESSORS[1]])],
    ids=["in-process", "two-workers", "redaction-last"],
)
async def test_pipeline_in_a_real_collector(
    tmp_path: Path, receiver: Collector, workers: int, processors: list[dict[str, Any]]
) -> None:
    forward = {
        "type": "forward",
        "endpoints": [{"endpoint": f"{receiver.endpoints.http}/v1/traces", "name": "second"}],
    }
    # A long roll interval keeps the request in the WAL until shutdown publishes it.
    first = Collector(collector_config(tmp_path / "a", 30.0, [*processors, forward], workers))
    await first.start()
    try:
        body = build_request(SPANS).SerializeToString()
        assert all(s.encode() in body for s in SECRETS)  # the secrets really were sent
        status = await asyncio.to_thread(post_protobuf, f"{first.endpoints.http}/v1/traces", body)
        assert status == 200
        wal = await asyncio.to_thread(tree_bytes, tmp_path / "a" / "wal")
        assert b"lookup_refund" in wal
        assert b"gen_ai.usage.input_tokens" in wal
        for secret in SECRETS:
            assert secret.encode() not in wal
        metrics = await asyncio.to_thread(http_get, f"{first.endpoints.http}/metrics")
        assert 'agenttrace_processor_spans_redacted_total{processor="redaction"} 2.0' in metrics
        assert 'agenttrace_processor_spans_normalized_total{processor="normalize"} 5.0' in metrics
        assert 'agenttrace_collector_spans_received_total{protocol="http"} 5.0' in metrics
        if workers > 1:
            assert first.ingest is not None
            assert first.ingest.pool is not None
            assert len(first.ingest.pool.pids()) == workers
    finally:
        await first.shutdown()  # publishes the WAL and flushes the forwarder

    rows = await wait_rows(tmp_path / "a" / "store", len(SPANS))
    agent, chat, tool, legacy, legacy_agent = (rows[f"{i:016x}"] for i in range(1, 6))
    assert (agent["gen_ai_operation_name"], agent["gen_ai_agent_name"]) == (
        "invoke_agent",
        "agent1",
    )
    assert agent["gen_ai_provider_name"] == "openai"
    assert chat["gen_ai_request_model"] == "gpt-4o"
    assert (chat["gen_ai_usage_input_tokens"], chat["gen_ai_usage_output_tokens"]) == (321, 54)
    assert (
        json.loads(chat["gen_ai_input_messages"])[0]["parts"][0]["content"]
        == "What is the refund status?"
    )
    assert chat["name"] == "chat gpt-4o"
    assert tool["gen_ai_tool_name"] == "lookup_refund"
    assert tool["gen_ai_tool_call_arguments"] == '{"order": 17}'
    assert legacy["gen_ai_request_model"] == "claude-3-5-sonnet"
    assert legacy["gen_ai_provider_name"] == "anthropic"
    assert (legacy["gen_ai_usage_input_tokens"], legacy["gen_ai_usage_output_tokens"]) == (900, 120)
    assert legacy["gen_ai_usage_cache_write_input_tokens"] == 64
    assert legacy_agent["gen_ai_agent_name"] == "billing"
    assert legacy_agent["name"] == "invoke_agent billing"
    assert "[REDACTED:stripe_key]" in tool["status_message"]
    assert "[REDACTED:github_token]" in tool["events"]
    assert "[REDACTED:email]" in tool["links"]
    assert json.loads(tool["attributes"])["agenttrace.redaction.count"] == 3
    owner = json.loads(legacy_agent["attributes"])
    assert (owner["billing.owner"], owner["agenttrace.redaction.count"]) == (
        "escalate to [REDACTED:email]",
        1,
    )
    parquet = await asyncio.to_thread(tree_bytes, tmp_path / "a" / "store")
    for secret in SECRETS:
        assert secret.encode() not in parquet

    forwarded = await wait_rows(tmp_path / "b" / "store", len(SPANS))
    assert set(forwarded) == set(rows)
    assert forwarded[f"{2:016x}"]["gen_ai_request_model"] == "gpt-4o"
    received = await asyncio.to_thread(tree_bytes, tmp_path / "b")
    for secret in SECRETS:
        assert secret.encode() not in received


async def test_workers_refuse_a_processor_that_holds_spans(tmp_path: Path) -> None:
    tail = {"type": "sampling", "mode": "tail", "ratio": 0.5}
    collector = Collector(collector_config(tmp_path, 1.0, [tail], workers=2))
    with pytest.raises(ConfigError, match=r"receivers\.workers: must be 1 while processor"):
        await collector.start()
    await collector.shutdown()


async def test_spans_a_tail_sampler_holds_are_redacted_when_released(tmp_path: Path) -> None:
    """Released spans continue through the processors after the sampler: redaction then
    changes them in their bytes, and what reaches the WAL and the store is redacted."""
    email = "jane.doe@example-corp.io"
    tail = {"type": "sampling", "mode": "tail", "ratio": 1.0}
    collector = Collector(collector_config(tmp_path, 0.5, [tail, {"type": "redaction"}]))
    await collector.start()
    try:
        # A child without its root: the sampler holds it until shutdown.
        spans = [
            {
                "trace_id": 5,
                "span_id": 1,
                "parent_span_id": 9,
                "attributes": {"note": f"mail {email}"},
            }
        ]
        body = build_request(spans).SerializeToString()
        url = f"{collector.endpoints.http}/v1/traces"
        assert await asyncio.to_thread(post_protobuf, url, body) == 200
    finally:
        await collector.shutdown()  # flushes what the sampler still holds
    rows = await wait_rows(tmp_path / "store", 1)
    assert json.loads(rows[f"{1:016x}"]["attributes"])["note"] == "mail [REDACTED:email]"
    assert email.encode() not in await asyncio.to_thread(tree_bytes, tmp_path)
