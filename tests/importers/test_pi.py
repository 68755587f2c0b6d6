"""Pi sessions: the tree with abandoned branches, epoch-ms vs ISO times, versions 1 to 3."""

from __future__ import annotations

import orjson
from import_snapshots import TESTDATA, assert_snapshot, by_name, import_path, one

from agenttrace import semconv

SESSIONS = TESTDATA / "pi" / "sessions" / "--home-dev-web--"
V3 = SESSIONS / "2026-01-12T08-00-00-000Z_7d1c9a40-1111-4a2b-9c3d-000000000003.jsonl"
V2 = SESSIONS / "2025-11-02T10-00-00-000Z_5b2e0c11-2222-4a2b-9c3d-000000000002.jsonl"
V1 = SESSIONS / "2025-06-01T07-00-00-000Z_3a9f0d22-3333-4a2b-9c3d-000000000001.jsonl"
MS = 1_000_000


def test_v3_snapshot() -> None:
    spans, _ = import_path("pi", V3)
    assert_snapshot("pi_v3_tree", spans)


def test_live_path_and_abandoned_branch() -> None:
    spans, _ = import_path("pi", V3)
    abandoned = sorted(
        s["name"] for s in spans if s["attributes"].get(semconv.AGENTTRACE_BRANCH_ABANDONED)
    )
    assert abandoned == [
        "chat claude-sonnet-4-5",
        "chat claude-sonnet-4-5",
        "execute_tool grep",
        "execute_tool read",
    ]
    live_chats = [
        s
        for s in by_name(spans, "chat claude-sonnet-4-5")
        if not s["attributes"].get(semconv.AGENTTRACE_BRANCH_ABANDONED)
    ]
    inputs = orjson.loads(live_chats[0]["attributes"][semconv.GEN_AI_INPUT_MESSAGES])
    texts = [m["parts"][0]["content"] for m in inputs]
    assert texts[-1] == "Tried position: fixed via grep/read; the CSS file was missing."
    assert "Actually, use position: sticky." in texts


def test_message_epoch_ms_and_entry_iso_times() -> None:
    spans, _ = import_path("pi", V3)
    first = min(by_name(spans, "chat claude-sonnet-4-5"), key=lambda s: s["start"])
    assert first["start"] == 1768204801500 * MS  # message.timestamp, epoch ms
    assert first["end"] == 1768204805000 * MS  # entry timestamp, ISO


def test_tool_error_bash_and_model_error() -> None:
    spans, problems = import_path("pi", V3)
    assert one(spans, "execute_tool read")["status"] == [2, "ENOENT: src/Header.css not found"]
    assert one(spans, "execute_tool bash")["status"] == [2, "1 failing"]
    failed = [s for s in by_name(spans, "chat claude-sonnet-4-5") if s["status"][0] == 2]
    assert len(failed) == 1
    assert [e["name"] for e in failed[0]["events"]] == [semconv.EVENT_API_ERROR]
    root = one(spans, "invoke_agent pi")
    names = [e["name"] for e in root["events"]]
    assert names.count(semconv.EVENT_COMPACTION) == 2  # branch summary + compaction
    assert names.count(semconv.EVENT_UNKNOWN_ENTRY) == 1
    assert [p.line for p in problems.problems] == [10]


def test_usage_adds_cache_to_input() -> None:
    spans, _ = import_path("pi", V3)
    first = min(by_name(spans, "chat claude-sonnet-4-5"), key=lambda s: s["start"])
    attrs = first["attributes"]
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 20 + 3000
    assert attrs[semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 3000


def test_version_2_and_version_1() -> None:
    v2, _ = import_path("pi", V2)
    chat = one(v2, "chat gpt-4.1")
    inputs = orjson.loads(chat["attributes"][semconv.GEN_AI_INPUT_MESSAGES])
    assert [m["parts"][0]["content"] for m in inputs] == [
        "Summarise README.md",
        "Project uses pnpm.",
    ]
    v1, _ = import_path("pi", V1)
    # No model on the v1 messages: it comes from the header.
    assert len(by_name(v1, "chat claude-3-5-haiku-20241022")) == 2
    assert one(v1, "execute_tool bash")["attributes"][semconv.GEN_AI_TOOL_CALL_RESULT] == (
        "README.md\nsrc\n"
    )
    assert_snapshot("pi_v1_v2", v2 + v1)
