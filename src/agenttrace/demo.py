"""``make demo``: the whole path on the embedded default, end to end.

1. start the collector on a local-directory store (``./data`` unless ``--store`` says otherwise);
2. run the example agent (scripted model, no network) three times: a baseline run, a run that
   branches at a known step, and a run that fails;
3. wait for the spans to land in Parquet;
4. print the trace summary, the span tree of the first run and the diff of the first two runs,
   all read back from the store;
5. stop the collector cleanly (SIGTERM: drain, publish, exit 0).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from rich.console import Console

import agenttrace
from agenttrace.cli import app
from agenttrace.collector.background import run_in_background
from agenttrace.examples.research_agent import ToolFailed, research_agent
from agenttrace.query.engine import open_engine
from agenttrace.query.errors import QueryError

TASK = "Make the unit tests pass"


def run_agents() -> dict[str, str]:
    """Run the example agent once per script; returns script → trace id."""
    trace_ids = {}
    for script in ("baseline", "read-first"):
        trace_ids[script] = research_agent(TASK, script=script).trace_id
    with contextlib.suppress(ToolFailed):  # planted: the failing run is part of the demo
        research_agent(TASK, script="broken")
    return trace_ids


def wait_for_traces(store: str, trace_ids: set[str], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            found = {row["trace_id"] for row in open_engine(store).traces()}
        except QueryError:
            found = set()  # no Parquet file published yet
        if trace_ids <= found:
            return
        time.sleep(0.5)
    raise SystemExit(f"demo: traces did not reach the store at {store} in {timeout_s:.0f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="./data", help="local store directory")
    parser.add_argument("--wal-dir", default=".agenttrace/wal", help="collector write-ahead log")
    args = parser.parse_args(argv)
    console = Console()
    store = str(Path(args.store).resolve())

    console.rule("1. collector")
    with run_in_background(store, wal_dir=args.wal_dir, roll_interval_s=1.0) as collector:
        console.print(
            f"collector on {collector.http_url} (gRPC {collector.grpc_endpoint}) → {store}"
        )
        console.rule("2. example agent")
        agenttrace.init(service_name="research-agent", endpoint=collector.http_url)
        trace_ids = run_agents()
        agenttrace.flush()
        console.print(f"ran 3 agent runs: {', '.join(f'{k}={v}' for k, v in trace_ids.items())}")
        console.rule("3. waiting for Parquet")
        wait_for_traces(store, set(trace_ids.values()))
        agenttrace.shutdown()
        console.rule("5. stopping the collector")
    console.print(
        f"collector exited with {collector.process.returncode if collector.process else 0}"
    )

    console.rule("4. from the store")
    for command in (
        ["traces", "--store", store],
        ["show", trace_ids["baseline"], "--store", store],
        ["stats", "--store", store],
        ["diff", trace_ids["baseline"], trace_ids["read-first"], "--store", store],
        ["failures", "--store", store],
    ):
        console.print(f"[bold]$ agenttrace {' '.join(command)}[/bold]")
        app(command, standalone_mode=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
