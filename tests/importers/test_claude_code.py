"""Claude Code transcripts: the trace shape and every format pitfall, on hand-written fixtures."""

from __future__ import annotations

import orjson
from import_snapshots import TESTDATA, assert_snapshot, by_name, import_path, one

from agenttrace import semconv

PROJECT_A = TESTDATA / "claude_code" / "project-a"
PROJECT_B = TESTDATA / "claude_code" / "project-b"
SONNET = "chat claude-sonnet-4-5-20250929"


def _attrs(span: dict) -> dict:
    return span["attributes"]


def test_session_snapshot() -> None:
    spans, _ = import_path("claude-code", PROJECT_A)
    assert_snapshot("claude_code_project_a", spans)


def test_root_carries_harness_and_session() -> None:
    spans, _ = import_path("claude-code", PROJECT_A)
    root = one(spans, "invoke_agent claude-code")
    assert root["parent_span_id"] is None
    attrs = _attrs(root)
    assert attrs[semconv.GEN_AI_CONVERSATION_ID] == "sess-0001"
    assert attrs[semconv.AGENTTRACE_SESSION_ID] == "sess-0001"
    assert attrs[semconv.AGENTTRACE_HARNESS_NAME] == "claude-code"
    assert attrs[semconv.AGENTTRACE_HARNESS_VERSION] == "2.0.31"
    assert attrs[semconv.AGENTTRACE_HARNESS_CWD] == "/home/dev/app"
    assert attrs[semconv.AGENTTRACE_HARNESS_GIT_BRANCH] == "main"
    assert root["resource"]["service.name"] == "claude-code"
    assert root["scope"] == ["agenttrace.importers.claude-code", semconv.SCHEMA_URL]
    assert {span["trace_id"] for span in spans} == {root["trace_id"]}


def test_split_response_counts_usage_once_with_the_final_value() -> None:
    spans, _ = import_path("claude-code", PROJECT_A)
    split = [s for s in by_name(spans, SONNET) if _attrs(s)[semconv.GEN_AI_RESPONSE_ID] == "msg_1"]
    assert len(split) == 1  # three lines, one response
    attrs = _attrs(split[0])
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 120  # the last line's value, not 3
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 10 + 2000  # input includes cache
    assert attrs[semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 2000
    assert attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ["tool_use"]
    output = orjson.loads(attrs[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert [part["type"] for part in output[0]["parts"]] == ["reasoning", "tool_call", "tool_call"]
    assert attrs[semconv.AGENTTRACE_COST_USD] > 0


def test_parallel_tool_calls_join_results_by_id_and_report_errors() -> None:
    spans, _ = import_path("claude-code", PROJECT_A)
    read, bash = one(spans, "execute_tool Read"), one(spans, "execute_tool Bash")
    assert _attrs(read)[semconv.GEN_AI_TOOL_CALL_ID] == "toolu_read"
    assert _attrs(read)[semconv.GEN_AI_TOOL_CALL_RESULT].startswith("def test_add")
    assert read["status"][0] == 0
    assert bash["status"] == [2, "FAILED test_app.py::test_add - assert 3 == 4"]
    assert _attrs(bash)[semconv.ERROR_TYPE] == "tool_error"
    # Both started before either finished: they ran in parallel.
    assert read["start"] < bash["end"]
    assert bash["start"] < read["end"]


def test_subagent_is_nested_under_the_task_call_that_started_it() -> None:
    spans, _ = import_path("claude-code", PROJECT_A)
    task = one(spans, "execute_tool Task")
    agent = one(spans, "invoke_agent Explore")
    assert agent["parent_span_id"] == task["span_id"]
    assert _attrs(agent)[semconv.GEN_AI_AGENT_ID] == "a1b2c3"
    children = [s for s in spans if s["parent_span_id"] == agent["span_id"]]
    assert sorted(s["name"] for s in children) == [
        "chat claude-haiku-4-5-20251001",
        "chat claude-haiku-4-5-20251001",
        "execute_tool Grep",
    ]
    assert _attrs(agent)[semconv.AGENTTRACE_AGGREGATE_INPUT_TOKENS] == 800 + 640


def test_compaction_api_error_and_unknown_lines_become_events() -> None:
    spans, _ = import_path("claude-code", PROJECT_A)
    root = one(spans, "invoke_agent claude-code")
    compaction = [e for e in root["events"] if e["name"] == semconv.EVENT_COMPACTION]
    assert len(compaction) == 1
    attrs = compaction[0]["attributes"]
    assert attrs[semconv.AGENTTRACE_COMPACTION_TRIGGER] == "auto"
    assert attrs[semconv.AGENTTRACE_COMPACTION_TOKENS_BEFORE] == 155000
    assert "add(1, 2)" in attrs["agenttrace.compaction.summary"]
    unknown = [e for e in root["events"] if e["name"] == semconv.EVENT_UNKNOWN_ENTRY]
    assert [e["attributes"]["agenttrace.import.entry_type"] for e in unknown] == [
        "telemetry-beacon"
    ]
    assert unknown[0]["attributes"][semconv.AGENTTRACE_IMPORT_LINE] == 22
    retried = [
        s for s in by_name(spans, SONNET) if _attrs(s)[semconv.GEN_AI_RESPONSE_ID] == "msg_2"
    ]
    events = {e["name"]: e["attributes"] for e in retried[0]["events"]}
    assert events[semconv.EVENT_API_ERROR][semconv.ERROR_TYPE] == "overloaded_error"
    assert events[semconv.EVENT_API_ERROR][semconv.AGENTTRACE_RETRY_ATTEMPT] == 1
    assert events[semconv.EVENT_RETRY][semconv.AGENTTRACE_RETRY_REASON] == "Overloaded"


def test_compaction_starts_a_new_root_but_the_chain_stays_live() -> None:
    spans, _ = import_path("claude-code", PROJECT_A)
    after = [s for s in by_name(spans, SONNET) if _attrs(s)[semconv.GEN_AI_RESPONSE_ID] == "msg_5"]
    # The boundary has parentUuid null; logicalParentUuid keeps the path to earlier turns.
    assert semconv.AGENTTRACE_BRANCH_ABANDONED not in _attrs(after[0])
    first = [s for s in by_name(spans, SONNET) if _attrs(s)[semconv.GEN_AI_RESPONSE_ID] == "msg_1"]
    assert semconv.AGENTTRACE_BRANCH_ABANDONED not in _attrs(first[0])


def test_rewound_branch_is_kept_and_marked_abandoned() -> None:
    spans, _ = import_path("claude-code", PROJECT_A)
    abandoned = [s for s in spans if _attrs(s).get(semconv.AGENTTRACE_BRANCH_ABANDONED)]
    assert [_attrs(s)[semconv.GEN_AI_RESPONSE_ID] for s in abandoned] == ["msg_4"]


def test_bad_and_repeated_lines_are_reported_not_fatal() -> None:
    spans, problems = import_path("claude-code", PROJECT_A)
    assert [(p.line, p.message.split(":")[0]) for p in problems.problems] == [
        (12, "malformed JSON")
    ]
    assert problems.problems[0].path.endswith("sess-0001.jsonl")
    assert problems.duplicates_skipped == 1  # the repeated tool_result line
    assert len(by_name(spans, SONNET)) == 5  # every response after the bad line is there


def test_import_is_deterministic() -> None:
    first, _ = import_path("claude-code", PROJECT_A)
    second, _ = import_path("claude-code", PROJECT_A)
    assert first == second
    assert len({span["span_id"] for span in first}) == len(first)


def test_resumed_session_does_not_count_copied_lines_twice() -> None:
    spans, problems = import_path("claude-code", PROJECT_B)
    chats = [s for s in spans if _attrs(s).get(semconv.GEN_AI_OPERATION_NAME) == "chat"]
    response_ids = sorted(_attrs(s)[semconv.GEN_AI_RESPONSE_ID] for s in chats)
    assert response_ids == ["msg_b1", "msg_b2", "msg_o1", "msg_o2", "msg_o3", "msg_os1"]
    assert problems.duplicates_skipped == 2
    resumed = [s for s in spans if _attrs(s).get(semconv.GEN_AI_CONVERSATION_ID) == "sess-0003"]
    assert {s["name"] for s in resumed} == {"invoke_agent claude-code"}


def test_older_layout_subagent_and_summary_lines() -> None:
    spans, _ = import_path(
        "claude-code", PROJECT_B / "sess-0004.jsonl", PROJECT_B / "agent-9f8e7d.jsonl"
    )
    task = one(spans, "execute_tool Task")
    agent = one(spans, "invoke_agent subagent")
    assert agent["parent_span_id"] == task["span_id"]  # matched by the Task prompt
    root = one(spans, "invoke_agent claude-code")
    summaries = [e["attributes"]["agenttrace.compaction.summary"] for e in root["events"]]
    assert summaries == ["Renaming the config loader"]  # the other leafUuid is not in the file
    assert_snapshot("claude_code_older_layout", spans)


def test_a_session_file_named_alone_brings_its_subagents() -> None:
    spans, _ = import_path("claude-code", PROJECT_A / "sess-0001.jsonl")
    assert (
        one(spans, "invoke_agent Explore")["parent_span_id"]
        == one(spans, "execute_tool Task")["span_id"]
    )


def test_images_are_kept_as_placeholders() -> None:
    spans, _ = import_path("claude-code", PROJECT_B / "sess-0004.jsonl")
    (chat,) = [s for s in spans if _attrs(s).get(semconv.GEN_AI_RESPONSE_ID) == "msg_o3"]
    inputs = orjson.loads(_attrs(chat)[semconv.GEN_AI_INPUT_MESSAGES])
    parts = inputs[0]["parts"]
    assert parts[0] == {"type": "text", "content": "What is in this screenshot?"}
    assert parts[1]["mime_type"] == "image/png"
    assert parts[1]["content"] == "[image omitted: 96 base64 chars]"
    assert "iVBORw0KGgo" not in orjson.dumps(spans).decode()
