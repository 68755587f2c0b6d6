"""How much CPU the collector uses while it ingests, and which of its processes uses it.

    .venv/bin/python bench/collector_cores.py [--pipeline none|redaction|normalize+redaction+limits]
        [--workers 1] [--concurrency 4,8,16,32]

Starts the collector as the throughput benchmark does, drives it over OTLP/HTTP for 10 s per
concurrency level, and reads ``/proc``: the CPU seconds of the collector process itself (its
receivers, and its processors when ``--workers 1``), of its ingest workers and of its
publisher, each also as microseconds per acknowledged span, and how busy the whole machine was.
A collector process near 1.0 cores while the machine still has idle time is bound by the GIL;
a machine near 100 % busy is bound by its cores, and the figures per span say where they go.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from collector_throughput import (
    PIPELINES,
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


def process_tree(pid: int) -> dict[int, str]:
    """The collector and its descendants, each named by its role."""
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        command = f.read().replace(b"\0", b" ").decode(errors="replace")
    role = "collector" if " collector " in command else "other"
    if "multiprocessing" in command and "fork" in command:
        role = "worker"
    elif "agenttrace.collector.publisher" in command:
        role = "publisher"
    elif "resource_tracker" in command:
        role = "resource tracker"
    tree = {pid: role}
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            for child in f.read().split():
                tree.update(process_tree(int(child)))
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", choices=list(PIPELINES), default="none")
    parser.add_argument("--redaction", action="store_true", help="the same as --pipeline redaction")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", default="4,8,16,32")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    bodies = [request.SerializeToString() for request in build_requests(8)]
    processors = PIPELINES["redaction" if args.redaction else args.pipeline]
    with tempfile.TemporaryDirectory(prefix="collector-cores-") as tmp:
        collector = start_collector(Path(tmp), "cores", processors, workers=args.workers)
        try:
            run_load("http", collector.http_traces_url, bodies, 8, 2.0)  # warm-up
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                before = published_spans(collector)
                tree = process_tree(collector.process.pid)
                ticks, idle = machine_ticks()
                cpu = {pid: process_cpu_seconds(pid) for pid in tree}
                result = run_load(
                    "http", collector.http_traces_url, bodies, concurrency, args.seconds
                )
                ticks2, idle2 = machine_ticks()
                cpu2 = {pid: process_cpu_seconds(pid) for pid in tree}
                drain = wait_published(collector, before + result["acked_spans"])
                seconds, spans = result["seconds"], result["acked_spans"]
                print(
                    f"concurrency {concurrency}: acknowledged "
                    f"{spans / seconds:,.0f} spans/s, sustained "
                    f"{spans / (seconds + drain):,.0f}; machine "
                    f"{1 - (idle2 - idle) / (ticks2 - ticks):.0%} busy ({os.cpu_count()} cores)",
                    flush=True,
                )
                for role in ("collector", "worker", "publisher"):
                    used = sum(cpu2[pid] - cpu[pid] for pid, r in tree.items() if r == role)
                    if used:
                        print(
                            f"  {role + 's' if role == 'worker' else role}: "
                            f"{used / seconds:.2f} cores, {used / max(spans, 1) * 1e6:.1f} us "
                            "per acknowledged span",
                            flush=True,
                        )
        finally:
            collector.stop(timeout_s=300)


if __name__ == "__main__":
    main()
