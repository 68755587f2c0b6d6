"""How much CPU the collector uses while it ingests: is it bound by one core (the GIL)?

    .venv/bin/python bench/collector_cores.py [--redaction] [--workers 1] [--concurrency 4,8,16,32]

Starts the collector as the throughput benchmark does, drives it over OTLP/HTTP for 10 s per
concurrency level, and reads ``/proc``: the CPU seconds of the collector process itself (its
receivers, and its processors when ``--workers 1``), and how busy the whole machine was. A
collector process near 1.0 cores while the machine still has idle time is bound by the GIL.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from collector_throughput import (
    build_requests,
    published_spans,
    run_load,
    start_collector,
    wait_published,
)


def machine_ticks() -> tuple[int, int]:
    """(all, idle) CPU ticks of the whole machine since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]


def process_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redaction", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", default="4,8,16,32")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    bodies = [request.SerializeToString() for request in build_requests(8)]
    processors = [{"type": "redaction"}] if args.redaction else []
    with tempfile.TemporaryDirectory(prefix="collector-cores-") as tmp:
        collector = start_collector(Path(tmp), "cores", processors, workers=args.workers)
        try:
            run_load("http", collector.http_traces_url, bodies, 8, 2.0)  # warm-up
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                before = published_spans(collector)
                ticks, idle = machine_ticks()
                cpu = process_cpu_seconds(collector.process.pid)
                result = run_load(
                    "http", collector.http_traces_url, bodies, concurrency, args.seconds
                )
                ticks2, idle2 = machine_ticks()
                cpu2 = process_cpu_seconds(collector.process.pid)
                drain = wait_published(collector, before + result["acked_spans"])
                seconds = result["seconds"]
                print(
                    f"concurrency {concurrency}: acknowledged "
                    f"{result['acked_spans'] / seconds:,.0f} spans/s, sustained "
                    f"{result['acked_spans'] / (seconds + drain):,.0f}; collector process "
                    f"{(cpu2 - cpu) / seconds:.2f} cores; machine "
                    f"{1 - (idle2 - idle) / (ticks2 - ticks):.0%} busy ({os.cpu_count()} cores)",
                    flush=True,
                )
        finally:
            collector.stop(timeout_s=300)


if __name__ == "__main__":
    main()
