"""SDK overhead: agenttrace decorators against a hand-written OTel wrapper, in one run.

    .venv/bin/python bench/sdk_overhead.py [--calls 20000] [--rounds 7]

Every figure is a ratio of per-call times measured in the same process, with a real
BatchSpanProcessor and an exporter that drops spans. Times are the calling thread's CPU time
(``time.thread_time``), which other processes on a shared machine do not inflate. Rounds
interleave the variants and the median round is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import agenttrace


class NullExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(NullExporter(), max_queue_size=1 << 16))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("bench")
ARG = "x" * 1024


def noop(arg: str) -> None:
    return None


async def anoop(arg: str) -> None:
    return None


def gen(arg: str) -> Any:
    yield 1


def hand_sync(arg: str) -> None:
    with tracer.start_as_current_span("noop"):
        return noop(arg)


SAME_ATTRIBUTES = {
    "gen_ai.operation.name": "execute_tool",
    "gen_ai.tool.name": "noop",
    "gen_ai.tool.type": "function",
}


def hand_sync_attributes(arg: str) -> None:
    # The same span agenttrace makes, written by hand: name, kind and semconv attributes.
    with tracer.start_as_current_span("execute_tool noop", attributes=SAME_ATTRIBUTES):
        return noop(arg)


async def hand_async(arg: str) -> None:
    with tracer.start_as_current_span("noop"):
        return await anoop(arg)


def hand_gen(arg: str) -> Any:
    with tracer.start_as_current_span("noop"):
        yield from gen(arg)


def time_sync(fn: Callable[[str], Any], calls: int) -> float:
    start = time.thread_time()
    for _ in range(calls):
        fn(ARG)
    return (time.thread_time() - start) / calls


def time_gen(fn: Callable[[str], Any], calls: int) -> float:
    start = time.thread_time()
    for _ in range(calls):
        for _ in fn(ARG):
            pass
    return (time.thread_time() - start) / calls


def time_async(fn: Callable[[str], Any], calls: int) -> float:
    async def loop() -> float:
        start = time.thread_time()
        for _ in range(calls):
            await fn(ARG)
        return (time.thread_time() - start) / calls

    return asyncio.run(loop())


def measure(calls: int, rounds: int) -> dict[str, float]:
    traced_sync = agenttrace.tool(noop)
    traced_async = agenttrace.tool(anoop)
    traced_gen = agenttrace.tool(gen)
    cases: dict[str, tuple[Callable[..., float], Callable[[str], Any], bool]] = {
        "hand sync": (time_sync, hand_sync, False),
        "hand sync, same attributes": (time_sync, hand_sync_attributes, False),
        "sync, capture off": (time_sync, traced_sync, False),
        "sync, capture on, 1 KB arg": (time_sync, traced_sync, True),
        "hand async": (time_async, hand_async, False),
        "async, capture off": (time_async, traced_async, False),
        "hand generator": (time_gen, hand_gen, False),
        "generator, capture off": (time_gen, traced_gen, False),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (timer, fn, capture) in cases.items():
            agenttrace.configure(capture_content=capture)
            samples[name].append(timer(fn, calls))
            provider.force_flush()
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    measure(2_000, 1)  # warm-up
    result = measure(args.calls, args.rounds)
    rows = [
        ("sync, capture off", "hand sync", 1.25),
        ("sync, capture off", "hand sync, same attributes", None),
        ("sync, capture on, 1 KB arg", "hand sync", 2.0),
        ("async, capture off", "hand async", None),
        ("generator, capture off", "hand generator", None),
    ]
    print("| case | reference | per call (µs) | reference (µs) | ratio | target |")
    print("|---|---|---|---|---|---|")
    for case, reference, target in rows:
        ratio = result[case] / result[reference]
        print(
            f"| {case} | {reference} | {result[case] * 1e6:.1f} | {result[reference] * 1e6:.1f} "
            f"| {ratio:.2f}× | {f'≤ {target}×' if target else 'report'} |"
        )
    provider.shutdown()


if __name__ == "__main__":
    main()
