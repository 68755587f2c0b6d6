"""SDK overhead: agenttrace decorators against a hand-written OTel wrapper, in one run.

    .venv/bin/python bench/sdk_overhead.py [--calls 2000] [--rounds 25]

Every figure is a ratio of per-call times measured in the same process, with a real
BatchSpanProcessor and an exporter that drops spans. Times are the calling thread's CPU time
(``time.thread_time``), which other processes on a shared machine do not inflate. Rounds
pair each case with its reference (reference, case, reference) and the median ratio is
reported.
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


Timer = Callable[[Callable[[str], Any], int], float]


def measure(calls: int, rounds: int) -> list[tuple[str, str, float | None, float, float, float]]:
    """Per comparison: (case, reference, target, case µs, reference µs, median ratio).

    Each round times the reference, the case, then the reference again, and takes the case's
    ratio to the mean of both reference timings; the median over rounds is reported. Pairing
    within a round cancels the drift of a shared machine.
    """
    traced_sync = agenttrace.tool(noop)
    comparisons: list[
        tuple[str, str, float | None, Timer, Callable[[str], Any], Callable[[str], Any], bool]
    ] = [
        ("sync, capture off", "hand sync", 1.25, time_sync, traced_sync, hand_sync, False),
        (
            "sync, capture off",
            "hand sync, same attributes",
            None,
            time_sync,
            traced_sync,
            hand_sync_attributes,
            False,
        ),
        ("sync, capture on, 1 KB arg", "hand sync", 2.0, time_sync, traced_sync, hand_sync, True),
        (
            "async, capture off",
            "hand async",
            None,
            time_async,
            agenttrace.tool(anoop),
            hand_async,
            False,
        ),
        (
            "generator, capture off",
            "hand generator",
            None,
            time_gen,
            agenttrace.tool(gen),
            hand_gen,
            False,
        ),
    ]
    rows = []
    for case, reference, target, timer, traced, hand, capture in comparisons:
        agenttrace.configure(capture_content=capture)
        ratios, case_times, reference_times = [], [], []
        for _ in range(rounds):
            before = timer(hand, calls)
            took = timer(traced, calls)
            after = timer(hand, calls)
            provider.force_flush()
            ratios.append(took / ((before + after) / 2))
            case_times.append(took)
            reference_times.append((before + after) / 2)
        rows.append(
            (
                case,
                reference,
                target,
                statistics.median(case_times) * 1e6,
                statistics.median(reference_times) * 1e6,
                statistics.median(ratios),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2_000, help="calls per timing")
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    measure(500, 2)  # warm-up
    print("| case | reference | per call (µs) | reference (µs) | ratio (median) | target |")
    print("|---|---|---|---|---|---|")
    for case, reference, target, took, ref, ratio in measure(args.calls, args.rounds):
        print(
            f"| {case} | {reference} | {took:.1f} | {ref:.1f} | {ratio:.2f}× "
            f"| {f'≤ {target}×' if target else 'report'} |"
        )
    provider.shutdown()


if __name__ == "__main__":
    main()
