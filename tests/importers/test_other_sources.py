"""STS, Langfuse, OpenInference, OTLP-JSON Lines, and behaviour shared by every source."""

from __future__ import annotations

from pathlib import Path

from import_snapshots import TESTDATA, assert_snapshot, import_path, one, spans

from agenttrace import semconv
from agenttrace.importers import ProblemLog, get_importer
from agenttrace.importers._model import SpanDraft, TraceDraft, to_request
from agenttrace.importers.runner import ImportSummary
from agenttrace.importers.sinks import split_request


def test_sts() -> None:
    spans, problems = import_path("sts", TESTDATA / "sts")
    assert_snapshot("sts", spans)
    root = one(spans, "invoke_agent tiny-agent")
    assert root["resource"]["service.name"] == "tiny-agent"
    calls = [s for s in spans if s["name"] == "execute_tool get_weather"]
    status = {s["attributes"][semconv.GEN_AI_TOOL_CALL_ID]: s["status"][0] for s in calls}
    assert status == {"call_paris": 0, "call_rome": 2}
    assert [p.line for p in problems.problems] == [7]
    assert [e["attributes"]["agenttrace.import.entry_type"] for e in root["events"]] == ["feedback"]


def test_langfuse_api_and_blob_export() -> None:
    spans, problems = import_path("langfuse", TESTDATA / "langfuse")
    assert_snapshot("langfuse", spans)
    assert len({s["trace_id"] for s in spans}) == 2
    tool = one(spans, "execute_tool lookup_order")
    assert tool["status"] == [2, "orders API returned 503"]
    assert [e["name"] for e in tool["events"]] == ["cache-miss"]
    claude = one(spans, "chat claude-sonnet-4-5")["attributes"]
    assert claude[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 50 + 1000 + 200
    gpt = one(spans, "chat gpt-4o")["attributes"]
    assert gpt[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 900 + 100
    # Blob exports: snake_case, space-separated UTC times, hex ids kept.
    blob = one(spans, "chat gpt-4o-mini")
    assert blob["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert blob["parent_span_id"] == "7f3a9c1e2b4d6f80"
    assert blob["start"] == 1768384800500000000
    assert sorted((p.path.rsplit("/", 1)[-1], p.line) for p in problems.problems) == [
        ("api-observations.json", 7),
        ("blob-export.jsonl", 4),
    ]


def test_openinference_phoenix_exports() -> None:
    spans, problems = import_path("openinference", TESTDATA / "openinference")
    assert_snapshot("openinference", spans)
    chat = one(spans, "chat gpt-4o-mini")
    assert chat["span_id"] == "00f067aa0ba902b7"
    attrs = chat["attributes"]
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 1500
    assert attrs[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1024
    assert attrs["llm.model_name"] == "gpt-4o-mini"  # originals are kept
    agent = one(spans, "support-agent")["attributes"]
    assert agent[semconv.GEN_AI_CONVERSATION_ID] == "chat-42"
    assert agent[semconv.AGENTTRACE_USER_ID] == "u-7"
    tool = one(spans, "execute_tool send_reset_link")
    assert tool["status"] == [2, "SMTP timeout"]
    assert tool["events"][0]["attributes"]["exception.type"] == "TimeoutError"
    frame = one(spans, "chat claude-3-5-haiku-20241022")["attributes"]
    assert frame[semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 1500
    assert [p.line for p in problems.problems] == [4]


def test_otlp_json_lines_pass_through() -> None:
    spans, problems = import_path("otlp-json", TESTDATA / "otlp_json")
    assert [s["name"] for s in spans] == [
        "invoke_agent checkout",
        "chat gpt-4o",
        "execute_tool charge_card",
    ]
    assert spans[1]["attributes"][semconv.GEN_AI_USAGE_INPUT_TOKENS] == 1200
    assert spans[2]["status"] == [2, "card declined"]
    assert [p.line for p in problems.problems] == [2, 3]
    assert "not a hex id" in problems.problems[0].message


def test_summary_counts_tokens_on_model_calls_only() -> None:
    usage = {semconv.GEN_AI_USAGE_INPUT_TOKENS: 100, semconv.GEN_AI_USAGE_OUTPUT_TOKENS: 7}
    draft = TraceDraft("otlp-json", "svc", b"\x01" * 16)
    draft.spans = [
        SpanDraft(
            b"\x02" * 8, None, "agent", 1, 5, {"gen_ai.operation.name": "invoke_agent", **usage}
        ),
        SpanDraft(
            b"\x03" * 8, b"\x02" * 8, "chat", 2, 3, {"gen_ai.operation.name": "chat", **usage}
        ),
        SpanDraft(b"\x04" * 8, b"\x02" * 8, "legacy llm span", 3, 4, dict(usage)),
    ]
    summary = ImportSummary(source="otlp-json")
    summary.add_request(to_request(draft))
    assert (summary.spans, summary.model_calls) == (3, 2)
    assert (summary.input_tokens, summary.output_tokens) == (200, 14)


def test_large_sessions_are_split_for_endpoints() -> None:
    importer = get_importer("claude-code")
    problems = ProblemLog()
    (unit,) = importer.group([TESTDATA / "claude_code" / "project-a" / "sess-0001.jsonl"], problems)
    (request,) = importer.convert(unit, problems)
    parts = split_request(request, 2000)
    assert len(parts) > 3
    assert all(part.ByteSize() <= 2000 or len(spans([part])) == 1 for part in parts)
    assert spans(parts) == spans([request])  # same spans, same order, same resource and scope
    assert split_request(request, 10**9) == [request]


def test_bom_and_crlf_lines_are_read(tmp_path: Path) -> None:
    source = (TESTDATA / "sts" / "session-weather.jsonl").read_bytes()
    windows = tmp_path / "windows.jsonl"
    windows.write_bytes(b"\xef\xbb\xbf" + source.replace(b"\n", b"\r\n"))
    spans_windows, problems = import_path("sts", windows)
    spans_plain, _ = import_path("sts", TESTDATA / "sts")
    assert [p.line for p in problems.problems] == [7]
    assert [s["name"] for s in spans_windows] == [s["name"] for s in spans_plain]
