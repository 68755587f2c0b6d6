"""The ingest workers' two fixed costs, each against its alternative in the same run.

    .venv/bin/python bench/worker_path.py [--requests 200] [--values 5]

* ``transport``: CPU per span in the collector process and in the workers when a body
  reaches a worker through a shared-memory slot, against the executor's pipe. The collector's
  own ``IngestPool`` (2 workers, no processors, 8 requests in flight) takes bodies just under
  ``SLOT_BYTES`` (a slot) and just over it (the pipe): the same code and nearly the same bytes
  per request, so the difference is the transport.
* ``emails``: microseconds per value of ``Redactor.redact_value`` on the collector
  benchmark's values that hold an email, with only the email detector screened (as the
  collector's byte path calls it), with the native email finder and with ``accelerate:
  false`` (the ``re`` path), interleaved, best of ``--values`` passes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import collector_throughput as load
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from agenttrace.collector._pool import SLOT_BYTES, IngestPool
from agenttrace.redaction import RedactionConfig, RedactionSummary, Redactor

IN_FLIGHT = 8


def _process_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _body_near(size: int, above: bool) -> tuple[bytes, int]:
    """A request of the benchmark's spans just over (``above``) or under ``size`` bytes."""
    request = ExportTraceServiceRequest()
    seed = 0
    while True:
        part = load.build_request(seed)
        seed += 1
        grown = ExportTraceServiceRequest()
        grown.CopyFrom(request)
        grown.resource_spans.extend(part.resource_spans)
        if grown.ByteSize() > size:
            chosen = grown if above else request
            spans = sum(len(ss.spans) for rs in chosen.resource_spans for ss in rs.scope_spans)
            return chosen.SerializeToString(), spans
        request = grown


async def _drive(pool: IngestPool, body: bytes, count: int) -> None:
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> None:
        async with slots:
            await pool.prepare(body, "protobuf")

    await asyncio.gather(*(one() for _ in range(count)))


async def _transport(requests: int) -> dict[str, Any]:
    pool = IngestPool(2, [])
    await pool.start()
    results: dict[str, Any] = {}
    try:
        for name, above in (("shared memory", False), ("pipe", True)):
            body, spans = _body_near(SLOT_BYTES, above)
            await _drive(pool, body, 4)  # warm-up
            workers = pool.pids()
            own, theirs = os.times(), sum(map(_process_cpu, workers))
            started = time.perf_counter()
            await _drive(pool, body, requests)
            wall = time.perf_counter() - started
            after = os.times()
            collector = (after.user + after.system) - (own.user + own.system)
            worker = sum(map(_process_cpu, workers)) - theirs
            total = requests * spans
            results[name] = {
                "body_bytes": len(body),
                "collector_us_per_span": collector / total * 1e6,
                "workers_us_per_span": worker / total * 1e6,
                "spans_per_s": total / wall,
            }
            print(
                f"  {name:13s} {len(body):>9,} B/request: collector {collector / total * 1e6:.2f}"
                f" us/span, workers {worker / total * 1e6:.2f} us/span, "
                f"{total / wall:,.0f} spans/s",
                flush=True,
            )
    finally:
        pool.shutdown()
    return results


def _email_values() -> dict[str, list[tuple[str, str]]]:
    """The benchmark's text values that hold an email: tool results and JSON messages."""
    rng = random.Random(5)
    values: dict[str, list[tuple[str, str]]] = {"tool result": [], "JSON message": []}
    while min(map(len, values.values())) < 200:
        text = load._text(rng, 200)
        if "@" in text:
            values["tool result"].append(("gen_ai.tool.call.result", text))
        messages = load._messages(rng, "user")
        if "@" in messages:
            values["JSON message"].append(("gen_ai.input.messages", messages))
    return values


def _emails(passes: int) -> dict[str, Any]:
    native, general = Redactor(), Redactor(RedactionConfig(accelerate=False))
    screened = native._emails_only
    assert screened is not None, "the native email finder is not built"
    results: dict[str, Any] = {}
    for kind, values in _email_values().items():
        best = {"native": float("inf"), "re": float("inf")}
        for _ in range(passes):
            for name, redactor in (("native", native), ("re", general)):
                started = time.perf_counter()
                for key, value in values:
                    redactor.redact_value(key, value, RedactionSummary(), screened=screened)
                best[name] = min(best[name], (time.perf_counter() - started) / len(values))
        results[kind] = {name: seconds * 1e6 for name, seconds in best.items()}
        results[kind]["ratio"] = best["re"] / best["native"]
        print(
            f"  {kind:12s} re {best['re'] * 1e6:6.1f} us/value, native "
            f"{best['native'] * 1e6:6.1f} us/value: {best['re'] / best['native']:.2f}x",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="per transport")
    parser.add_argument("--values", type=int, default=5, help="passes over the email values")
    args = parser.parse_args()
    print("transport (2 workers, no processors):", flush=True)
    results = {"transport": asyncio.run(_transport(args.requests))}
    print("emails (redact_value, email detector screened):", flush=True)
    results["emails"] = _emails(args.values)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
