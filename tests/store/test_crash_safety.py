"""kill -9 of a publishing process: no partial file is visible, republishing loses nothing and
duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from agenttrace.store import list_span_files, open_store, read_spans
from agenttrace.store.sample import agent_requests

SPANS = 4096
SEGMENT_ROWS = 512

WORKER = textwrap.dedent(
    """
    import sys
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from agenttrace.store import ParquetPublisher, open_store, requests_to_table

    data = open(sys.argv[2], "rb").read()
    requests, offset = [], 0
    while offset < len(data):
        size = int.from_bytes(data[offset : offset + 8], "little")
        requests.append(ExportTraceServiceRequest.FromString(data[offset + 8 : offset + 8 + size]))
        offset += 8 + size
    table = requests_to_table(requests)
    publisher = ParquetPublisher(open_store(sys.argv[1]), "crashy")
    print("ready", flush=True)
    # Each WAL segment holds SEGMENT_ROWS records and spans two or three hour partitions.
    for segment, first in enumerate(range(0, table.num_rows, int(sys.argv[3]))):
        part = table.slice(first, int(sys.argv[3]))
        publisher.publish(part, segment=segment, first_seq=first, last_seq=first + part.num_rows - 1)
        print("published", segment, flush=True)
    print("done", flush=True)
    """
)


def run_worker(
    store: Path, requests_file: Path, kill_after: tuple[int, float] | None = None
) -> bool:
    """Run the publisher. With ``kill_after=(segment, delay)``, kill -9 it ``delay`` seconds
    after it reports ``segment`` published, while it works on the next one. Returns whether it
    finished on its own."""
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(store), str(requests_file), str(SEGMENT_ROWS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    if kill_after is not None:
        segment, delay = kill_after
        while process.stdout.readline().strip() != f"published {segment}":
            pass
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=120)
    finished = process.stdout.read().strip().endswith("done")
    process.stdout.close()
    return finished


def assert_visible_files_are_complete(store_dir: Path) -> None:
    store = open_store(store_dir)
    for key in list_span_files(store):
        # A truncated or half-written file would fail to parse its footer here.
        assert pq.ParquetFile(store_dir / key).metadata.num_rows > 0


def test_kill_during_publish_then_republish(tmp_path: Path) -> None:
    requests_file = tmp_path / "requests.bin"
    with requests_file.open("wb") as out:
        for request in agent_requests(SPANS, run_interval_ns=60_000_000_000):
            data = request.SerializeToString()
            out.write(len(data).to_bytes(8, "little") + data)
    store_dir = tmp_path / "store"

    # Kill points after different segments and at different moments inside the next one.
    for kill_after in ((0, 0.0), (2, 0.003), (3, 0.01)):
        assert not run_worker(store_dir, requests_file, kill_after), "worker was not interrupted"
        assert_visible_files_are_complete(store_dir)

    assert run_worker(store_dir, requests_file)
    store = open_store(store_dir)
    table = read_spans(store, columns=["span_id"])
    assert table.num_rows == SPANS
    assert pc.count_distinct(table.column("span_id")).as_py() == SPANS
    # Every file name is the deterministic one for its segment and range.
    names = {key.rsplit("/", 1)[1] for key in list_span_files(store)}
    expected = {
        f"crashy-{seg:012d}-{first:012d}-{first + SEGMENT_ROWS - 1:012d}.parquet"
        for seg, first in enumerate(range(0, SPANS, SEGMENT_ROWS))
    }
    assert names == expected
    # Temp files of killed writers are dot-files that no reader matched; sweep them.
    leftovers = [p for p in store_dir.rglob(".*.tmp")]
    assert store.remove_stale_temp_files(older_than_s=0) == len(leftovers)
    assert not any(name.startswith(".") for _, _, files in os.walk(store_dir) for name in files)
