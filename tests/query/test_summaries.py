"""The incremental summary index: traces split across files, duplicates, vanished files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from agenttrace.query._example import BASE_TIME_NS, MS, build_run, example_runs, to_request
from agenttrace.query.engine import QueryEngine, TraceFilter, open_engine
from agenttrace.query.errors import QueryError
from agenttrace.query.summaries import SummaryIndex
from agenttrace.store import open_store
from agenttrace.store.writer import write_requests

BOTH = pytest.mark.parametrize("empty_store_url", ["local", "s3"], indirect=True)


def _scratch(url: str, trace_id: str, tmp_path: Path) -> dict[str, object]:
    """The summary as a from-scratch index computes it."""
    engine = QueryEngine(url, index_path=tmp_path / "scratch.duckdb")
    engine.refresh()
    return engine.summary(trace_id)


@BOTH
def test_trace_split_across_files_comes_out_right(empty_store_url: str, tmp_path: Path) -> None:
    spans = example_runs()["baseline"].spans
    trace_id = spans[0].trace_id.hex()
    write_requests(empty_store_url, [to_request(spans[:6])], writer_id="first")
    engine = open_engine(empty_store_url)
    assert engine.summary(trace_id)["span_count"] == 6

    write_requests(empty_store_url, [to_request(spans[6:11])], writer_id="second")
    write_requests(empty_store_url, [to_request(spans[11:])], writer_id="third")
    report = engine.refresh()
    assert (report.new_files, report.spans_read, report.traces_updated) == (2, len(spans) - 6, 1)
    incremental = engine.summary(trace_id)
    assert incremental["span_count"] == len(spans)
    assert incremental == _scratch(empty_store_url, trace_id, tmp_path)
    # The attribution of early spans is redone once their step and agent spans arrive.
    loaded = engine.load_spans([trace_id])[trace_id]
    first_chat = next(s for s in loaded if s.kind == "model")
    assert (first_chat.step_name, first_chat.agent) == ("research", "researcher")


@BOTH
def test_duplicate_delivery_is_counted_once(empty_store_url: str, tmp_path: Path) -> None:
    spans = example_runs()["variant"].spans
    trace_id = spans[0].trace_id.hex()
    write_requests(empty_store_url, [to_request(spans)], writer_id="once")
    engine = open_engine(empty_store_url)
    before = engine.summary(trace_id)
    write_requests(empty_store_url, [to_request(spans[3:])], writer_id="again")
    assert engine.refresh().new_files == 1
    assert engine.summary(trace_id) == before
    _columns, rows = engine.sql("SELECT count(*), count(DISTINCT span_id) FROM spans")
    assert rows == [(len(spans), len(spans))]


def test_refresh_reads_only_new_files(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    runs = example_runs()
    write_requests(url, [to_request(runs["baseline"].spans)], writer_id="a")
    engine = open_engine(url)
    assert engine.refresh().new_files == 0  # nothing new: no file is read again
    write_requests(url, [to_request(runs["variant"].spans)], writer_id="b")
    report = engine.refresh()
    assert (report.new_files, report.spans_read) == (1, len(runs["variant"].spans))
    # A second engine on the same store reuses the persisted index.
    assert open_engine(url).index.refresh().new_files == 0
    assert len(open_engine(url).traces()) == 2


def test_compaction_and_deletion_are_followed(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    store = open_store(url)
    spans = example_runs()["baseline"].spans
    trace_id = spans[0].trace_id.hex()
    parts = write_requests(url, [to_request(spans[:7])], writer_id="part1")
    parts += write_requests(url, [to_request(spans[7:])], writer_id="part2")
    engine = open_engine(url)
    whole = engine.summary(trace_id)

    # Compaction: one file with every span replaces the two parts.
    compacted = write_requests(url, [to_request(spans)], writer_id="compacted")
    for key in parts:
        store.delete(key)
    report = engine.refresh()
    assert (report.new_files, report.removed_files) == (1, 2)
    assert engine.summary(trace_id) == whole
    with engine.connect() as con:
        files = con.execute(
            "SELECT file FROM idx.trace_files WHERE trace_id = ?", [trace_id]
        ).fetchall()
    assert [Path(f[0]).name for f in files] == [Path(compacted[0]).name]

    # Retention deletes the last file: the trace is gone from the summaries.
    store.delete(compacted[0])
    engine.refresh()
    assert engine.traces(TraceFilter(trace_ids=[trace_id])) == []


def test_time_filters_read_only_matching_partitions(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    early = build_run("early", BASE_TIME_NS)
    late = build_run("late", BASE_TIME_NS + 26 * 3600_000 * MS)  # the next day
    write_requests(url, [to_request(early.spans)], writer_id="early")
    write_requests(url, [to_request(late.spans)], writer_id="late")
    engine = open_engine(url)
    since = dt.datetime.fromtimestamp(BASE_TIME_NS / 1e9 + 3600, tz=dt.timezone.utc)
    assert len(engine.source.list_files()) == 2
    assert len(engine.source.list_files(since=since)) == 1
    _, rows = engine.sql("SELECT DISTINCT trace_id FROM spans", since=since)
    assert rows == [(late.trace_id.hex(),)]
    listed = engine.traces(TraceFilter(since=since))
    assert [t["trace_id"] for t in listed] == [late.trace_id.hex()]


def test_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="no span files"):
        open_engine(str(tmp_path / "nothing-here"))


def test_engines_in_one_process_share_the_index(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    runs = example_runs()
    write_requests(url, [to_request(runs["baseline"].spans)], writer_id="a")
    reading = open_engine(url)
    assert len(reading.traces()) == 1  # holds a read connection to the index
    write_requests(url, [to_request(runs["variant"].spans)], writer_id="b")
    refreshing = QueryEngine(url)
    assert refreshing.refresh().new_files == 1
    assert len(refreshing.traces()) == 2
    assert len(reading.traces()) == 2  # reopened its connection and sees the new trace


def test_duplicates_within_one_refresh_are_merged(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    spans = example_runs()["baseline"].spans
    write_requests(url, [to_request(spans[:10])], writer_id="first")
    write_requests(url, [to_request(spans[4:])], writer_id="overlap")
    engine = open_engine(url)
    assert engine.summary(spans[0].trace_id.hex())["span_count"] == len(spans)


def test_span_index_parts_are_merged_without_losing_or_repeating_rows(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    runs = example_runs()
    split = runs["baseline"].spans
    index_path = tmp_path / "index" / "index.duckdb"
    engine = QueryEngine(url, index_path=index_path)
    index = SummaryIndex(engine.source, index_path, max_parts=2)
    # Four refreshes: a trace continued across three of them, and a second whole trace.
    for number, chunk in enumerate((split[:4], split[4:9], runs["variant"].spans, split[9:])):
        write_requests(url, [to_request(chunk)], writer_id=f"w{number}")
        index.refresh()
        assert len(list(index.parts_dir.glob("*.parquet"))) <= 2
    # The third refresh merged three parts into one; the fourth added one.
    assert sorted(p.name for p in index.parts_dir.iterdir()) == [
        "part-00000004.parquet",
        "part-00000005.parquet",
    ]
    _columns, rows = engine.sql(
        "SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM span_index"
    )
    total = len(split) + len(runs["variant"].spans)
    assert rows == [(total, total)]
    trace_id = split[0].trace_id.hex()
    assert engine.summary(trace_id) == _scratch(url, trace_id, tmp_path)
    scratch = QueryEngine(url, index_path=tmp_path / "scratch.duckdb")
    loaded, expected = (e.load_spans([trace_id])[trace_id] for e in (engine, scratch))
    assert [(s.span_id, s.step_name, s.agent) for s in loaded] == [
        (s.span_id, s.step_name, s.agent) for s in expected
    ]


def test_deleted_span_index_parts_are_rebuilt(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    runs = example_runs()
    write_requests(url, [to_request(runs["baseline"].spans)], writer_id="a")
    engine = open_engine(url)
    before = engine.traces()
    engine.close()
    for part in engine.index.parts_dir.iterdir():
        part.unlink()
    rebuilt = open_engine(url)
    assert rebuilt.traces() == before
    _columns, rows = rebuilt.sql("SELECT count(*) FROM span_index")
    assert rows == [(len(runs["baseline"].spans),)]
