"""`agenttrace import` end to end: the store, OTLP-JSON Lines, a live endpoint, redaction."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import orjson
import pyarrow.compute as pc
import pytest
from import_snapshots import TESTDATA
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from typer.testing import CliRunner

from agenttrace.cli import app
from agenttrace.importers.runner import run_import
from agenttrace.otlp_json import decode_request
from agenttrace.store import open_store, read_spans

PROJECT_A = TESTDATA / "claude_code" / "project-a"
runner = CliRunner()


def _own_usage(files: list[Path]) -> dict[str, int]:
    """The session's usage computed straight from the JSONL, independently of the importer:
    one usage per (message.id, requestId), the last line's value, cache tokens in input."""
    last: dict[tuple[str, str], dict] = {}
    for path in files:
        for raw in path.read_bytes().splitlines():
            try:
                line = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            message = line.get("message") if isinstance(line, dict) else None
            if line.get("type") == "assistant" and isinstance(message, dict):
                last[(message["id"], line.get("requestId", ""))] = message["usage"]
    totals = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
    for usage in last.values():
        read, write = usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]
        totals["input"] += usage["input_tokens"] + read + write
        totals["output"] += usage["output_tokens"]
        totals["cache_read"] += read
        totals["cache_write"] += write
    return totals


def test_acceptance_store_token_columns_match_the_session(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    result = runner.invoke(
        app, ["import", "claude-code", str(PROJECT_A), "--store", str(store_dir)]
    )
    assert result.exit_code == 0, result.output
    table = read_spans(open_store(str(store_dir)))
    chats = table.filter(pc.equal(table["gen_ai_operation_name"], "chat"))
    stored = {
        "input": pc.sum(chats["gen_ai_usage_input_tokens"]).as_py(),
        "output": pc.sum(chats["gen_ai_usage_output_tokens"]).as_py(),
        "cache_read": pc.sum(chats["gen_ai_usage_cache_read_input_tokens"]).as_py(),
        "cache_write": pc.sum(chats["gen_ai_usage_cache_write_input_tokens"]).as_py(),
    }
    files = [PROJECT_A / "sess-0001.jsonl", *sorted((PROJECT_A / "sess-0001").rglob("*.jsonl"))]
    assert stored == _own_usage(files)
    assert stored["input"] == 13815  # and the figure the summary printed
    assert "13,815" in result.output
    # The subagent's spans are in the store, nested under the Task call.
    rows = table.to_pylist()
    by_id = {row["span_id"]: row for row in rows}
    agent = next(row for row in rows if row["name"] == "invoke_agent Explore")
    assert by_id[agent["parent_span_id"]]["name"] == "execute_tool Task"


def test_show_prints_the_nested_tree(tmp_path: Path) -> None:
    store_dir = str(tmp_path / "store")
    assert (
        runner.invoke(
            app, ["import", "claude-code", str(PROJECT_A), "--store", store_dir]
        ).exit_code
        == 0
    )
    trace_id = read_spans(open_store(store_dir))["trace_id"][0].as_py()
    result = runner.invoke(app, ["show", trace_id, "--store", store_dir])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    task = next(i for i, line in enumerate(lines) if "execute_tool Task" in line)
    agent = next(i for i, line in enumerate(lines) if "invoke_agent Explore" in line)
    grep = next(i for i, line in enumerate(lines) if "execute_tool Grep" in line)
    indent = [len(lines[i]) - len(lines[i].lstrip("│ ├└─")) for i in (task, agent, grep)]
    assert task < agent < grep
    assert indent[0] < indent[1] < indent[2]


def test_reimport_writes_nothing_new(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"

    def objects() -> list[Path]:
        return sorted(p.relative_to(store_dir) for p in store_dir.rglob("*.parquet"))

    for source, folder in (("claude-code", "claude_code"), ("pi", "pi"), ("codex", "codex")):
        path = TESTDATA / folder
        assert (
            runner.invoke(app, ["import", source, str(path), "--store", str(store_dir)]).exit_code
            == 0
        )
        before = objects()
        # The same input spelled differently is still the same input.
        again = path / ".." / folder
        assert (
            runner.invoke(app, ["import", source, str(again), "--store", str(store_dir)]).exit_code
            == 0
        )
        assert objects() == before
    table = read_spans(open_store(str(store_dir)))
    keys = list(zip(table["trace_id"].to_pylist(), table["span_id"].to_pylist(), strict=True))
    assert len(set(keys)) == len(keys)


def test_out_writes_otlp_json_lines_and_reports_problems(tmp_path: Path) -> None:
    out = tmp_path / "traces.jsonl"
    result = runner.invoke(app, ["import", "codex", str(TESTDATA / "codex"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    requests = [decode_request(line) for line in out.read_bytes().splitlines()]
    assert len(requests) == 2  # one per session
    assert "rollout-2026-01-11T09-00-00" in result.output
    assert ":17:" in result.output


class _FlakyCollector(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first POST, then 200: the importer must retry. Any path other than
    /v1/traces gets 404, which must not be retried."""

    bodies: ClassVar[list[bytes]] = []
    calls = 0

    def do_POST(self) -> None:
        type(self).calls += 1
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v1/traces":
            self.send_response(404)
        elif type(self).calls == 1:
            self.send_response(503)
            self.send_header("Retry-After", "0")
        else:
            type(self).bodies.append(body)
            assert self.headers["Content-Type"] == "application/x-protobuf"
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    _FlakyCollector.bodies, _FlakyCollector.calls = [], 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FlakyCollector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_endpoint_receives_protobuf_after_a_retry(collector: str) -> None:
    result = runner.invoke(app, ["import", "pi", str(TESTDATA / "pi"), "--endpoint", collector])
    assert result.exit_code == 0, result.output
    assert _FlakyCollector.calls == 4  # three sessions, the first sent twice
    received = [ExportTraceServiceRequest.FromString(body) for body in _FlakyCollector.bodies]
    names = {
        s.name
        for r in received
        for rs in r.resource_spans
        for ss in rs.scope_spans
        for s in ss.spans
    }
    assert "invoke_agent pi" in names
    assert "execute_tool bash" in names


def test_endpoint_rejection_is_a_clear_error(collector: str) -> None:
    args = ["import", "sts", str(TESTDATA / "sts"), "--endpoint", collector + "/v1/logs"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "HTTP 404" in result.output
    assert _FlakyCollector.calls == 1  # a 4xx other than 429 is not retried


def test_redaction_applies_on_import(tmp_path: Path) -> None:
    out = tmp_path / "redacted.jsonl"
    source = TESTDATA / "otlp_json"
    result = runner.invoke(app, ["import", "otlp-json", str(source), "--out", str(out), "--redact"])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "4111 1111 1111 1111" not in text
    assert "[REDACTED:" in text
    assert "agenttrace.redaction.count" in text
    config = tmp_path / "redaction.json"
    config.write_text('{"redaction": {"enabled": false}}')
    plain = tmp_path / "plain.jsonl"
    args = ["import", "otlp-json", str(source), "--out", str(plain), "--redact-config", str(config)]
    assert runner.invoke(app, args).exit_code == 0
    assert "4111 1111 1111 1111" in plain.read_text()


def test_clear_errors(tmp_path: Path) -> None:
    unknown = runner.invoke(app, ["import", "cursor", str(tmp_path), "--out", str(tmp_path / "x")])
    assert unknown.exit_code == 1
    assert "unknown source 'cursor'" in unknown.output
    nowhere = runner.invoke(app, ["import", "pi", str(TESTDATA / "pi")])
    assert nowhere.exit_code == 1
    assert "--store" in nowhere.output
    missing = runner.invoke(
        app, ["import", "pi", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]
    )
    assert missing.exit_code == 1
    assert "no such file or directory" in missing.output
    assert not (tmp_path / "x").exists()  # nothing is created for a bad invocation
    empty = runner.invoke(app, ["import", "codex", str(tmp_path), "--out", str(tmp_path / "y")])
    assert empty.exit_code == 1
    assert "no codex session files" in empty.output


def test_progress_reports_every_byte() -> None:
    seen: list[int] = []
    totals: list[int] = []
    summary = run_import(
        "claude-code",
        [TESTDATA / "claude_code"],
        [],
        on_units=lambda units: totals.append(sum(u.size_bytes for u in units)),
        on_progress=seen.append,
    )
    expected = sum(p.stat().st_size for p in (TESTDATA / "claude_code").rglob("*.jsonl"))
    assert totals == [expected]
    assert sum(seen) == expected == summary.bytes_read
    assert summary.sessions == 4


def test_worker_processes_give_the_same_output(tmp_path: Path) -> None:
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs-{jobs}.jsonl"
        args = ["import", "claude-code", str(TESTDATA / "claude_code"), "--out", str(out)]
        result = runner.invoke(app, [*args, "--jobs", jobs])
        assert result.exit_code == 0, result.output
        assert re.search(r"repeated lines skipped\s+3 *\n", result.output)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert len(outputs[0].splitlines()) == 4
