"""Price table matching, cost arithmetic, overrides; usage extraction from provider shapes."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from agenttrace import Usage, extract_usage
from agenttrace.sdk import pricing


@pytest.fixture(autouse=True)
def _reset_prices() -> None:
    yield
    pricing.set_price_table(None)


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("openai/gpt-4.1-mini", "gpt-4.1-mini"),
        ("models/gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"),
        ("o3-mini-2025-01-31", "o3-mini"),
        ("chatgpt-4o-latest", "gpt-4o"),
        ("GPT-5", "gpt-5"),
    ],
)
def test_model_ids_resolve(model: str, key: str) -> None:
    price = pricing.lookup_price(model)
    assert price is not None
    assert price.model == key


def test_unknown_models_have_no_price() -> None:
    assert pricing.lookup_price("my-finetune") is None
    assert pricing.cost_usd("gpt-4oz", 10, 10) is None  # no '-' boundary: not gpt-4o
    assert pricing.cost_usd("my-finetune", 10, 10) is None


def test_cost_charges_cache_at_its_own_prices() -> None:
    # claude-sonnet-4-5: input 3, output 15, cache read 0.30, cache write 3.75 per 1M
    cost = pricing.cost_usd("claude-sonnet-4-5", 1_000_000, 100_000, 600_000, 100_000)
    assert cost == pytest.approx(0.3 * 3 + 0.6 * 0.3 + 0.1 * 3.75 + 0.1 * 15)


def test_bundled_table_records_source_and_date() -> None:
    table = pricing.price_table()
    assert table.as_of == "2025-10-15"
    assert "openai.com" in table.source
    assert pricing.price_source() == "agenttrace-bundled-2025-10-15"


def test_override_by_mapping_path_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pricing.set_price_table({"id": "mine", "models": {"house-model": {"input": 1, "output": 2}}})
    assert pricing.cost_usd("house-model-v2", 1_000_000, 0) == 1.0
    assert pricing.cost_usd("gpt-4o", 1, 1) is None
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"id": "file", "models": {"m": {"input": 4, "output": 8}}}))
    pricing.set_price_table(path)
    assert pricing.price_source() == "file"
    monkeypatch.setenv("AGENTTRACE_PRICES", str(path))
    pricing.set_price_table(None)  # back to the environment's table
    assert pricing.price_source() == "file"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ([], "top level must be a JSON object"),
        ({"models": {}}, "'models' must be a non-empty object"),
        ({"models": {"m": {"input": -1, "output": 1}}}, "needs a non-negative number 'input'"),
        ({"models": {"m": {"input": 1}}}, "needs a non-negative number 'output'"),
        ({"models": {"m": {"input": 1, "output": 1}}, "aliases": {"a": "z"}}, "unknown model 'z'"),
    ],
)
def test_bad_tables_are_rejected_clearly(table: object, message: str) -> None:
    with pytest.raises(pricing.PriceTableError, match=message):
        pricing.set_price_table(table)  # type: ignore[arg-type]


def test_unreadable_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(pricing.PriceTableError, match="cannot read"):
        pricing.set_price_table(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(pricing.PriceTableError, match="invalid JSON"):
        pricing.set_price_table(bad)


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        (  # OpenAI Chat Completions response object
            SimpleNamespace(
                usage=SimpleNamespace(
                    prompt_tokens=100,
                    completion_tokens=20,
                    prompt_tokens_details=SimpleNamespace(cached_tokens=60),
                    completion_tokens_details=SimpleNamespace(reasoning_tokens=8),
                )
            ),
            Usage(100, 20, 60, None, 8),
        ),
        (  # OpenAI Responses API
            {
                "usage": {
                    "input_tokens": 50,
                    "output_tokens": 5,
                    "input_tokens_details": {"cached_tokens": 10},
                    "output_tokens_details": {"reasoning_tokens": 2},
                }
            },
            Usage(50, 5, 10, None, 2),
        ),
        (  # Anthropic: input_tokens excludes the cache
            {
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": 4,
                    "cache_read_input_tokens": 200,
                    "cache_creation_input_tokens": 30,
                }
            },
            Usage(240, 4, 200, 30, None),
        ),
        (  # LangChain AIMessage.usage_metadata
            SimpleNamespace(
                usage_metadata={
                    "input_tokens": 70,
                    "output_tokens": 7,
                    "input_token_details": {"cache_read": 40, "cache_creation": 5},
                    "output_token_details": {"reasoning": 3},
                }
            ),
            Usage(70, 7, 40, 5, 3),
        ),
        (  # LangChain legacy response_metadata.token_usage (OpenAI shape)
            SimpleNamespace(
                usage_metadata=None,
                response_metadata={"token_usage": {"prompt_tokens": 9, "completion_tokens": 1}},
            ),
            Usage(9, 1, None, None, None),
        ),
        (  # Gemini usage_metadata
            {
                "usage_metadata": {
                    "prompt_token_count": 30,
                    "candidates_token_count": 6,
                    "thoughts_token_count": 4,
                    "cached_content_token_count": 10,
                }
            },
            Usage(30, 10, 10, None, 4),
        ),
        (  # Anthropic stream: message_start
            {
                "type": "message_start",
                "message": {
                    "usage": {"input_tokens": 3, "cache_read_input_tokens": 0, "output_tokens": 1}
                },
            },
            Usage(3, 1, 0, None, None),
        ),
        (  # OpenAI Chat Completions with cache writes (prompt_tokens_details)
            {
                "usage": {
                    "prompt_tokens": 40,
                    "completion_tokens": 2,
                    "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 12},
                    "completion_tokens_details": {"reasoning_tokens": 0},
                }
            },
            Usage(40, 2, 0, 12, 0),
        ),
        (  # OpenAI Responses with cache writes; reported zeros are kept, not dropped
            {
                "usage": {
                    "input_tokens": 50,
                    "output_tokens": 5,
                    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 7},
                    "output_tokens_details": {"reasoning_tokens": 0},
                }
            },
            Usage(50, 5, 0, 7, 0),
        ),
        (  # Anthropic extended thinking: output_tokens_details.thinking_tokens
            {
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": 30,
                    "cache_read_input_tokens": 5,
                    "cache_creation_input_tokens": 0,
                    "output_tokens_details": {"thinking_tokens": 9},
                }
            },
            Usage(15, 30, 5, 0, 9),
        ),
        (  # Anthropic without cache fields, with thinking
            {
                "input_tokens": 10,
                "output_tokens": 30,
                "output_tokens_details": {"thinking_tokens": 9},
            },
            Usage(10, 30, None, None, 9),
        ),
        ({"choices": [{"delta": {"content": "x"}}], "usage": None}, None),  # mid-stream chunk
        ("text", None),
    ],
)
def test_usage_shapes(shape: object, expected: Usage | None) -> None:
    assert extract_usage(shape) == expected
