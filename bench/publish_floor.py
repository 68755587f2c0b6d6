"""How far the publisher's OTLP → Arrow conversion is from the cost of just reading the spans.

Reads the collector benchmark's requests (512 agent spans each) through the protobuf runtime the
way any Python converter must, step by step (iterate the spans, then every attribute, then its
key, value and string), and times ``requests_to_table`` on the same requests in the same run.
The last access step is a floor for a converter written in Python on this runtime: it touches
each value once and builds nothing. ``payloads_to_table`` (the publisher's path: the C decoder
from the serialized bytes, no protobuf objects) is timed alongside, parse not needed, and so is
the publisher's whole path: a sealed WAL segment of the same requests read, decoded, sorted,
encoded and written to a local store.

    .venv/bin/python bench/publish_floor.py
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from collector_throughput import build_requests

from agenttrace.collector.publisher import PublisherSettings, SegmentPublisher
from agenttrace.collector.wal import Wal, sealed_segments
from agenttrace.store.convert import payloads_to_table, requests_to_table


def best_seconds(action: Callable[[], Any], repeat: int) -> float:
    """Best CPU time: the machine is shared, so wall time would mostly measure the others."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        action()
        best = min(best, time.process_time() - started)
    return best


def publisher_path(payloads: list[bytes], root: Path) -> Callable[[], None]:
    """One sealed WAL segment of ``payloads``; the action publishes a fresh copy of it."""

    async def write() -> None:
        wal = Wal.open(root / "wal", segment_max_bytes=1 << 40, roll_interval_s=1e9)
        for payload in payloads:
            await wal.append(payload)
        await wal.close()

    asyncio.run(write())
    (segment,) = sealed_segments(root / "wal" / "segments")
    pristine = root / "segment"
    os.link(segment, pristine)
    segment.unlink()
    runs = itertools.count()

    def publish() -> None:
        os.link(pristine, segment)  # publishing deletes the segment: a new name costs no copy
        settings = PublisherSettings(str(segment.parent), str(root / f"store{next(runs)}"), {}, "b")
        SegmentPublisher(settings, lambda event: None).publish_segment(segment)

    return publish


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    requests = build_requests(args.requests)
    spans = [
        span
        for request in requests
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]
    attributes = sum(len(span.attributes) for span in spans)
    payloads = [request.SerializeToString() for request in requests]

    def attributes_only() -> None:
        for span in spans:
            for _kv in span.attributes:
                pass

    def keys() -> None:
        for span in spans:
            for kv in span.attributes:
                _ = kv.key

    def key_value_string() -> None:
        for span in spans:
            for kv in span.attributes:
                _ = kv.key, kv.value.string_value

    root = Path(tempfile.mkdtemp(prefix="publish-floor-"))
    steps: dict[str, Callable[[], Any]] = {
        "iterate attributes": attributes_only,
        "+ read each key": keys,
        "+ read each value's string (the floor)": key_value_string,
        "requests_to_table": lambda: requests_to_table(requests),
        "payloads_to_table (native, from bytes)": lambda: payloads_to_table(payloads),
        "publish a WAL segment (the publisher's path)": publisher_path(payloads, root),
    }
    print(f"{len(spans):,} spans, {attributes / len(spans):.1f} attributes per span\n")
    print("| step | us per span (CPU) | ratio to the floor |")
    print("|---|---:|---:|")
    try:
        timings = {
            name: best_seconds(step, args.repeat) / len(spans) * 1e6 for name, step in steps.items()
        }
    finally:
        shutil.rmtree(root)
    floor = timings["+ read each value's string (the floor)"]
    for name, micros in timings.items():
        print(f"| {name} | {micros:.2f} | {micros / floor:.2f} |")


if __name__ == "__main__":
    main()
