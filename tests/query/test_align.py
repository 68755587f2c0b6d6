"""Step alignment and signature normalization (pure functions, no store)."""

from __future__ import annotations

from agenttrace.query.diff import align, normalize_arguments
from agenttrace.query.failures import normalize_message
from agenttrace.query.model import tool_calls, tool_responses


def _key(name: str) -> tuple[str, str, str]:
    return ("tool", name, "")


def test_branch_is_the_first_difference_even_when_a_longer_match_comes_later() -> None:
    a = [_key(n) for n in "xyz"]
    b = [_key(n) for n in "xyqxyz"]
    ops = align(a, b)
    # difflib alone would match "xyz" at b[3:] and report a branch at index 0.
    assert ops[0] == ("equal", 0, 2, 0, 2)
    assert ops[1][0] != "equal"
    assert ops[1][1] == 2
    assert ops[1][3] == 2
    assert sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag == "equal") == 2 + 1


def test_insertion_then_reconvergence() -> None:
    a = [_key(n) for n in "abcd"]
    b = [_key(n) for n in "abXYcd"]
    assert align(a, b) == [
        ("equal", 0, 2, 0, 2),
        ("insert", 2, 2, 2, 4),
        ("equal", 2, 4, 4, 6),
    ]


def test_identical_sequences_are_one_equal_block() -> None:
    a = [_key(n) for n in "abc"]
    assert align(a, list(a)) == [("equal", 0, 3, 0, 3)]
    assert align([], []) == []


def test_arguments_normalize_key_order_and_whitespace() -> None:
    assert normalize_arguments('{"b": 1, "a": [1, 2]}') == normalize_arguments('{"a":[1,2],"b":1}')
    assert normalize_arguments("ls   -la\n") == "ls -la"
    assert normalize_arguments(None) == ""


def test_messages_mask_ids_numbers_paths_and_urls() -> None:
    first = normalize_message(
        "GET https://api.x.io/v1/items/91 failed after 3 tries (req 7f3a9b21c4)"
    )
    second = normalize_message(
        "GET https://api.x.io/v1/items/12 failed after 5 tries (req 0be4412aa9)"
    )
    assert first == second == "GET <url> failed after <n> tries (req <hex>)"
    path = normalize_message("cannot open /home/ann/data/run-17/out.json: permission denied")
    assert path == "cannot open <path>: permission denied"
    assert normalize_message("user 550e8400-e29b-41d4-a716-446655440000 not found") == (
        "user <uuid> not found"
    )


def test_tool_calls_and_results_are_read_from_parts_and_from_the_openai_chat_shape() -> None:
    parts = {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "f",
                                             "arguments": {"x": 1}}]}  # fmt: skip
    openai = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function",
                        "function": {"name": "f", "arguments": '{"x": 1}'}}],
    }  # fmt: skip
    assert tool_calls(parts) == [{"id": "c1", "name": "f", "arguments": {"x": 1}}]
    assert tool_calls(openai) == [{"id": "c1", "name": "f", "arguments": '{"x": 1}'}]
    assert tool_calls({"role": "user", "content": "hi"}) == []
    result = {"role": "tool", "tool_call_id": "c1", "content": "42"}
    assert tool_responses(result) == [{"id": "c1", "response": "42"}]
    assert tool_responses({"role": "tool", "content": "42"}) == []
