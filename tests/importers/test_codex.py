"""Codex rollouts: per-call usage, duplicated text, call_id joins, model from turn_context, zst."""

from __future__ import annotations

import orjson
from import_snapshots import TESTDATA, assert_snapshot, by_name, import_path, one

from agenttrace import semconv

CODEX = TESTDATA / "codex"
LIVE = CODEX / "sessions"
ARCHIVED = CODEX / "archived_sessions"


def _chats(spans: list[dict]) -> list[dict]:
    return [s for s in spans if s["attributes"].get(semconv.GEN_AI_OPERATION_NAME) == "chat"]


def test_rollout_snapshot() -> None:
    spans, _ = import_path("codex", LIVE)
    assert_snapshot("codex_rollout", spans)


def test_usage_is_per_call_not_cumulative() -> None:
    spans, _ = import_path("codex", LIVE)
    chats = _chats(spans)
    inputs = [c["attributes"][semconv.GEN_AI_USAGE_INPUT_TOKENS] for c in chats]
    # last_token_usage per call; the info:null event and the repeated event add nothing.
    assert inputs == [5000, 6000, 7000]
    assert sum(inputs) == 18000  # the final total_token_usage
    first = chats[0]["attributes"]
    assert first[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1000
    assert first[semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 200
    root = one(spans, "invoke_agent codex")
    assert root["attributes"][semconv.AGENTTRACE_AGGREGATE_OUTPUT_TOKENS] == 460


def test_model_comes_from_turn_context() -> None:
    spans, _ = import_path("codex", LIVE)
    models = [c["attributes"][semconv.GEN_AI_REQUEST_MODEL] for c in _chats(spans)]
    assert models == ["gpt-5-codex", "gpt-5-codex", "gpt-5"]


def test_duplicated_text_is_kept_once() -> None:
    spans, _ = import_path("codex", LIVE)
    chats = _chats(spans)
    inputs = orjson.loads(chats[0]["attributes"][semconv.GEN_AI_INPUT_MESSAGES])
    texts = [m["parts"][0]["content"] for m in inputs]
    assert texts.count("Add retries to the HTTP client.") == 1
    outputs = orjson.loads(chats[2]["attributes"][semconv.GEN_AI_OUTPUT_MESSAGES])
    assert len(outputs[0]["parts"]) == 1


def test_tool_outputs_join_on_call_id() -> None:
    spans, _ = import_path("codex", LIVE)
    shells = by_name(spans, "execute_tool shell")
    by_id = {s["attributes"][semconv.GEN_AI_TOOL_CALL_ID]: s for s in shells}
    assert by_id["call_cat"]["status"][0] == 0
    assert by_id["call_pytest"]["status"][0] == 2  # exit_code 1
    assert by_id["call_pytest"]["attributes"][semconv.ERROR_TYPE] == "tool_error"
    patch = one(spans, "execute_tool apply_patch")
    assert patch["attributes"][semconv.GEN_AI_TOOL_CALL_ARGUMENTS].startswith("*** Begin Patch")
    assert "Success" in patch["attributes"][semconv.GEN_AI_TOOL_CALL_RESULT]


def test_compaction_unknown_event_and_bad_line() -> None:
    spans, problems = import_path("codex", LIVE)
    root = one(spans, "invoke_agent codex")
    names = [e["name"] for e in root["events"]]
    assert names == [semconv.EVENT_COMPACTION, semconv.EVENT_UNKNOWN_ENTRY]
    assert (
        root["events"][1]["attributes"]["agenttrace.import.entry_type"] == "event_msg/plan_update"
    )
    assert [p.line for p in problems.problems] == [17]
    assert root["attributes"][semconv.AGENTTRACE_HARNESS_GIT_BRANCH] == "feature/retry"


def test_archived_zstd_rollout_with_totals_only() -> None:
    spans, problems = import_path("codex", ARCHIVED)
    assert problems.problems == []
    chats = _chats(spans)
    # An older build without last_token_usage: per-call usage is the difference of totals.
    assert [c["attributes"][semconv.GEN_AI_USAGE_INPUT_TOKENS] for c in chats] == [900, 1100]
    assert one(spans, "execute_tool local_shell")["attributes"][
        semconv.GEN_AI_TOOL_CALL_RESULT
    ].startswith("Exit code: 0")
    assert_snapshot("codex_archived_zst", spans)
