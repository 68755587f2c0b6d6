"""The analysis commands through the real CLI app: --json forms parse, text forms render."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from agenttrace.cli import app
from agenttrace.query._example import BRANCH_STEP_INDEX, COSTLIEST_STEP, write_example_store

runner = CliRunner()
Local = tuple[str, dict[str, str]]


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def run_json(*args: str) -> object:
    return orjson.loads(run(*args, "--json"))


def test_traces_json_lists_trace_objects(local_example: Local) -> None:
    store, ids = local_example
    rows = run_json("traces", "--store", store)
    assert isinstance(rows, list)
    assert len(rows) == len(ids)
    assert all(set(row) >= {"trace_id", "cost_usd", "models", "outcome"} for row in rows)
    failing = run_json("traces", "--store", store, "--status", "failure", "--min-duration", "30000")
    assert {r["trace_id"] for r in failing} == {ids[f"fail-fetch-{i}"] for i in range(3)}
    by_text = run_json(
        "traces", "--store", store, "--text", "demographics_of_paris", "--limit", "0"
    )
    assert ids["baseline"] in {r["trace_id"] for r in by_text}
    assert ids["variant"] not in {r["trace_id"] for r in by_text}
    assert run_json("traces", "--store", store, "--model", "no-such-model") == []


def test_show_json_and_replay_json(local_example: Local) -> None:
    store, ids = local_example
    tree = run_json("show", ids["baseline"][:8], "--store", store)
    assert tree["trace"]["trace_id"] == ids["baseline"]
    (root,) = tree["spans"]
    assert root["name"] == "invoke_agent researcher"
    assert [c["name"] for c in root["children"]] == [
        "step recall",
        "step research",
        "step summarize",
        "step answer",
    ]
    replay = run_json("show", ids["baseline"], "--replay", "--store", store)
    assert [s["index"] for s in replay["steps"]] == [1, 2, 3, 4, 5]


def test_stats_diff_search_failures_json(local_example: Local) -> None:
    store, ids = local_example
    stats = run_json("stats", ids["baseline"], "--store", store)
    assert stats["costliest_step"]["name"] == COSTLIEST_STEP
    overall = run_json("stats", "--store", store)
    assert overall["totals"]["traces"] == len(ids)
    report = run_json("diff", ids["baseline"], ids["variant"], "--store", store)
    assert report["branch_point"]["index"] == BRANCH_STEP_INDEX
    assert set(report) >= {"a", "b", "deltas", "branch_point"}
    hits = run_json("search", "wikipedia", "--store", store)
    assert hits["total_hits"] > 0
    assert hits["hits"][0]["snippet"]
    patterns = run_json("failures", "--store", store)
    assert [p["count"] for p in patterns["patterns"]] == [3, 2, 1]
    rows = run_json(
        "sql", "SELECT outcome, count(*) AS n FROM traces GROUP BY 1 ORDER BY 1", "--store", store
    )
    assert rows == [{"outcome": "failure", "n": 6}, {"outcome": "success", "n": 2}]


@pytest.mark.parametrize("fmt", ["eval", "sts", "halo"])
def test_export_writes_parseable_jsonl(local_example: Local, fmt: str, tmp_path: Path) -> None:
    store, ids = local_example
    out = tmp_path / f"out.{fmt}.jsonl"
    result = runner.invoke(
        app, ["export", "--format", fmt, "--store", store, "-o", str(out), "--redact"]
    )
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert b"presse@insee.fr" not in out.read_bytes()
    if fmt == "eval":
        assert {line["trace_id"] for line in lines} == set(ids.values())
    elif fmt == "sts":
        assert sum(line["type"] == "session" for line in lines) == len(ids)
    else:
        assert {line["trace_id"] for line in lines} == set(ids.values())


def test_export_sts_to_a_directory_writes_one_session_per_file(
    local_example: Local, tmp_path: Path
) -> None:
    store, ids = local_example
    run(
        "export",
        ids["baseline"],
        ids["variant"],
        "--format",
        "sts",
        "--store",
        store,
        "-o",
        str(tmp_path),
    )
    files = sorted(tmp_path.glob("*.jsonl"))
    assert {f.stem for f in files} == {ids["baseline"], ids["variant"]}
    first = orjson.loads(files[0].read_bytes().splitlines()[0])
    assert first["type"] == "session"


def test_export_json_reports_what_was_written(local_example: Local, tmp_path: Path) -> None:
    store, ids = local_example
    out = tmp_path / "eval.jsonl"
    summary = run_json("export", "--store", store, "-o", str(out), "--json")
    assert summary == {
        "format": "eval",
        "traces": len(ids),
        "written": len(ids),
        "output": str(out),
    }
    assert len(out.read_bytes().splitlines()) == len(ids)


def test_text_output_renders(local_example: Local) -> None:
    store, ids = local_example
    assert ids["baseline"] in run("traces", "--store", store)
    assert "step answer" in run("show", ids["baseline"], "--store", store)
    replay = run("show", ids["baseline"], "--replay", "--store", store)
    assert replay.index("Step 1") < replay.index("Step 2") < replay.index("Step 5")
    assert "Costliest step: answer" in run("stats", ids["baseline"], "--store", store)
    assert f"First branch point at step {BRANCH_STEP_INDEX}" in run(
        "diff", ids["baseline"], ids["variant"], "--store", store
    )
    assert "TimeoutError" in run("failures", "--store", store)
    assert "hit(s)" in run("search", "INSEE", "--store", store)


def test_errors_exit_2_with_a_message(local_example: Local, tmp_path: Path) -> None:
    store, _ = local_example
    unknown = runner.invoke(app, ["show", "ffffffffffffffff", "--store", store])
    assert unknown.exit_code == 2
    assert "no trace" in unknown.stderr
    bad_sql = runner.invoke(app, ["sql", "SELECT nope FROM traces", "--store", store])
    assert bad_sql.exit_code == 2
    assert "SQL error" in bad_sql.stderr
    read_only = runner.invoke(app, ["sql", "DELETE FROM idx.trace_summary", "--store", store])
    assert read_only.exit_code == 2
    empty = runner.invoke(app, ["traces", "--store", str(tmp_path / "none")])
    assert empty.exit_code == 2
    assert "no span files" in empty.stderr
    bad_time = runner.invoke(app, ["traces", "--store", store, "--since", "yesterday-ish"])
    assert bad_time.exit_code == 2
    assert "cannot parse time" in bad_time.stderr


@pytest.mark.parametrize("empty_store_url", ["s3"], indirect=True)
def test_s3_store_through_the_cli(empty_store_url: str) -> None:
    url = empty_store_url
    ids = write_example_store(url)
    rows = run_json("traces", "--store", url)
    assert {r["trace_id"] for r in rows} == set(ids.values())
    report = run_json("diff", ids["baseline"], ids["variant"], "--store", url)
    assert report["branch_point"]["index"] == BRANCH_STEP_INDEX
