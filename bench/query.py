"""Query benchmark: analysis commands over a 1,000,000-span store, as ratios of a full read.

Builds a store of 10,000 agent traces × 100 spans with the project's writer
(``agenttrace.store.writer.ParquetPublisher``): 100 template traces are generated as OTLP
protobuf (``agenttrace.store.sample``) and converted once, then re-published 100 times under fresh
trace ids and shifted times (generating 1M protobuf spans would take ~20 minutes here). Each
publish of 10,000 spans is one file, as one collector flush would be.

The reference is reading the whole store (every column) with pyarrow, timed right before each
run of each operation so both see the same load (the machine is shared); each operation is timed
end to end as the CLI runs it (engine open, summary-index refresh check, query). Figures are
medians of ``--repeat`` pairs.

    .venv/bin/python bench/query.py            # full size
    .venv/bin/python bench/query.py --traces 1000   # quick
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from agenttrace.query._example import to_request
from agenttrace.query.diff import diff
from agenttrace.query.engine import QueryEngine, TraceFilter
from agenttrace.query.search import search
from agenttrace.query.show import span_tree
from agenttrace.query.stats import stats
from agenttrace.store import open_store
from agenttrace.store.convert import requests_to_table
from agenttrace.store.sample import BASE_TIME_NS, agent_run_spans
from agenttrace.store.writer import ParquetPublisher

SPANS_PER_TRACE = 100  # agent_run_spans with 50 turns: root + 50 chat + 49 tool spans
TRACES_PER_FILE = 100
RUN_INTERVAL_NS = 2_000_000_000

TARGETS = {
    "traces listing (50 newest)": 1.0,
    "traces listing (all)": 1.0,
    "stats (all traces)": 1.0,
    "show one trace": 0.1,
    "diff two traces": 0.1,
    "search (word with hits)": 2.0,
    "search (no hits, full scan)": 2.0,
    "incremental refresh (+1 file of 10,000 spans)": 0.05,
}


def template_table() -> pa.Table:
    spans = [
        span
        for index in range(TRACES_PER_FILE)
        for span in agent_run_spans(7, index, BASE_TIME_NS + index * RUN_INTERVAL_NS, turns=50)
    ]
    return requests_to_table([to_request(spans, service="coding-agent")])


def batch(template: pa.Table, number: int) -> pa.Table:
    """The template under fresh trace ids, shifted ``number`` batches later in time."""
    encoded = pc.dictionary_encode(template.column("trace_id")).combine_chunks()
    fresh = pa.array([secrets.token_hex(16) for _ in range(len(encoded.dictionary))])
    shift = number * TRACES_PER_FILE * RUN_INTERVAL_NS
    table = template.set_column(
        template.schema.get_field_index("trace_id"), "trace_id", fresh.take(encoded.indices)
    )
    for name in ("start_time_unix_nano", "end_time_unix_nano"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pc.add(table.column(name), shift))
    return table


def build_store(root: Path, traces: int) -> tuple[pa.Table, ParquetPublisher]:
    template = template_table()
    assert template.num_rows == TRACES_PER_FILE * SPANS_PER_TRACE, template.num_rows
    publisher = ParquetPublisher(open_store(str(root)), "bench")
    for number in range(traces // TRACES_PER_FILE):
        table = batch(template, number)
        publisher.publish(table, segment=number, first_seq=0, last_seq=table.num_rows - 1)
    return template, publisher


def search_word(template: pa.Table) -> str:
    """A word that occurs in the generated tool results (the generator's vocabulary)."""
    results = template.column("gen_ai_tool_call_result").drop_null()
    words = [w for w in str(results[0]).split() if w.isalpha() and len(w) >= 6]
    return words[0]


def seconds(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def paired(
    action: Callable[[], Any],
    reference: Callable[[], Any],
    repeat: int,
    setup: Callable[[], Any] = lambda: None,
) -> tuple[float, float]:
    """Median seconds of ``action`` and of a reference run right before each of its runs, so
    both see the same load on a shared machine."""
    runs, references = [], []
    for _ in range(repeat):
        references.append(seconds(reference))
        setup()
        runs.append(seconds(action))
    return statistics.median(runs), statistics.median(references)


def engine_for(url: str) -> QueryEngine:
    engine = QueryEngine(url)
    engine.refresh()
    return engine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="build the store here (kept)")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="agenttrace-bench-query-"))
    url = str(root)
    try:
        started = time.perf_counter()
        template, publisher = build_store(root, args.traces)
        build_s = time.perf_counter() - started
        source = QueryEngine(url).source
        files = source.list_files()

        def full_read() -> int:
            dataset = ds.dataset(files, filesystem=source.fs, format="parquet")
            return int(dataset.to_table().num_rows)

        spans = full_read()
        started = time.perf_counter()
        engine = engine_for(url)
        initial_index_s = time.perf_counter() - started
        ids = [t["trace_id"] for t in engine.traces(TraceFilter(limit=2))]
        word = search_word(template)
        hits = search(engine, word, limit=0)["total_hits"]

        def show_one() -> None:
            e = engine_for(url)
            trace_id = e.resolve(ids[0])
            e.summary(trace_id)
            span_tree(e.load_spans([trace_id])[trace_id])

        extra = iter(range(args.traces // TRACES_PER_FILE, 10**6))

        def publish_one_file() -> None:
            number = next(extra)
            table = batch(template, number)
            publisher.publish(table, segment=number, first_seq=0, last_seq=table.num_rows - 1)

        def refresh() -> None:
            report = QueryEngine(url).refresh()
            if report.spans_read != TRACES_PER_FILE * SPANS_PER_TRACE:
                raise RuntimeError(f"refresh read {report.spans_read} spans, expected 10,000")

        actions: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
            "traces listing (50 newest)": (
                lambda: engine_for(url).traces(TraceFilter(limit=50)),
                lambda: None,
            ),
            "traces listing (all)": (lambda: engine_for(url).traces(), lambda: None),
            "stats (all traces)": (lambda: stats(engine_for(url)), lambda: None),
            "show one trace": (show_one, lambda: None),
            "diff two traces": (lambda: diff(engine_for(url), ids[0], ids[1]), lambda: None),
            "search (word with hits)": (lambda: search(engine_for(url), word), lambda: None),
            "search (no hits, full scan)": (
                lambda: search(engine_for(url), "zq-no-such-text"),
                lambda: None,
            ),
            "incremental refresh (+1 file of 10,000 spans)": (refresh, publish_one_file),
        }
        print(
            f"store: {spans:,} spans in {args.traces:,} traces, {len(files)} files "
            f"(built in {build_s:.0f} s); initial summary index build {initial_index_s:.2f} s; "
            f"search word {word!r} is in {hits:,} spans"
        )
        print("\n| operation | time (s) | full read (s) | ratio | target |")
        print("|---|---:|---:|---:|---:|")
        failed = False
        for name, (action, setup) in actions.items():
            took, reference = paired(action, full_read, args.repeat, setup)
            ratio = took / reference
            ok = ratio <= TARGETS[name]
            failed |= not ok
            verdict = "✓" if ok else "✗"
            print(
                f"| {name} | {took:.3f} | {reference:.2f} | {ratio:.3f}× "
                f"| ≤{TARGETS[name]}× {verdict} |",
                flush=True,
            )
        return 1 if failed else 0
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
