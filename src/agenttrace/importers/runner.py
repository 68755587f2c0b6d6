"""One import run: find files, convert them session by session, send the traces to sinks."""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from agenttrace import semconv
from agenttrace.importers import get_importer
from agenttrace.importers._base import ImportUnit
from agenttrace.importers._io import Problem, ProblemLog
from agenttrace.importers.sinks import Sink
from agenttrace.redaction import RedactionConfig

_COUNTED = {
    semconv.GEN_AI_USAGE_INPUT_TOKENS: "input_tokens",
    semconv.GEN_AI_USAGE_OUTPUT_TOKENS: "output_tokens",
    semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: "cache_read_tokens",
    semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: "cache_write_tokens",
}

_MODEL_CALLS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})


@dataclass(slots=True)
class ImportSummary:
    """What a run produced; tokens and cost are summed over model-call spans."""

    source: str
    files: int = 0
    bytes_read: int = 0
    sessions: int = 0
    spans: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    duplicates_skipped: int = 0
    problems: list[Problem] = field(default_factory=list)

    def add_request(self, request: ExportTraceServiceRequest) -> None:
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self._add_span(span.attributes)

    def _add_span(self, attributes: Iterable[KeyValue]) -> None:
        self.spans += 1
        operation = None
        counts: dict[str, int] = {}
        cost = 0.0
        for key_value in attributes:
            key = key_value.key  # reading .value only on a match skips most wrapper objects
            if key == semconv.GEN_AI_OPERATION_NAME:
                operation = key_value.value.string_value
            elif key in _COUNTED:
                counts[_COUNTED[key]] = key_value.value.int_value
            elif key == semconv.AGENTTRACE_COST_USD:
                cost = key_value.value.double_value
        if operation == "execute_tool":
            self.tool_calls += 1
        # Agent spans may repeat their children's totals: count model calls only.
        if operation not in _MODEL_CALLS and (operation is not None or not counts):
            return
        self.model_calls += 1
        self.cost_usd += cost
        for name, count in counts.items():
            setattr(self, name, getattr(self, name) + count)


ProgressCallback = Callable[[int], None]
AUTO_PARALLEL_BYTES = 64 << 20
MAX_AUTO_JOBS = 4


def run_import(
    source: str,
    paths: Sequence[Path],
    sinks: Sequence[Sink],
    *,
    redaction: RedactionConfig | None = None,
    jobs: int | None = 1,
    on_units: Callable[[list[ImportUnit]], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import every session under ``paths`` into ``sinks``; bad input is reported, not raised.

    With ``jobs`` > 1, units are converted in that many worker processes; results are still
    written in unit order, so the output is the same as with one job. ``jobs=None`` picks
    with :func:`auto_jobs`. ``on_units`` sees the planned units before conversion starts;
    ``on_progress`` gets the byte size of each unit once it has been written.
    """
    importer = get_importer(source)
    redactor = None
    if redaction is not None:
        # The collector's own processor: an imported session is redacted exactly as the same
        # spans sent to the collector would be.
        from agenttrace.collector.processors.redaction import (
            RedactionProcessor,
            RedactionProcessorConfig,
        )

        redactor = RedactionProcessor(RedactionProcessorConfig(redaction))
    problems = ProblemLog()
    summary = ImportSummary(source=source)
    try:
        files = importer.collect(paths)
        summary.files = len(files)
        units = importer.group(files, problems)
        if on_units is not None:
            on_units(units)
        if jobs is None:
            jobs = auto_jobs(sum(unit.size_bytes for unit in units))
        converted = (
            _convert_in_processes(source, units, jobs, problems)
            if jobs > 1 and len(units) > 1
            else ((unit, list(importer.convert(unit, problems))) for unit in units)
        )
        for unit, requests in converted:
            if redactor is not None:
                for request in requests:
                    redactor.process(request)
            if requests:
                summary.sessions += 1
                for request in requests:
                    summary.add_request(request)
                for sink in sinks:
                    sink.write(unit, requests)
            size = unit.size_bytes
            summary.bytes_read += size
            if on_progress is not None:
                on_progress(size)
    finally:
        for sink in sinks:
            sink.close()
    summary.problems = problems.problems
    summary.duplicates_skipped = problems.duplicates_skipped
    return summary


def auto_jobs(total_bytes: int) -> int:
    """Worker processes pay off once their start-up cost is small next to the work, and only
    with a core to spare: the main process decodes, summarises and writes the store."""
    if total_bytes < AUTO_PARALLEL_BYTES:
        return 1
    spare = (os.cpu_count() or 1) - 1
    return min(spare, MAX_AUTO_JOBS) if spare >= 2 else 1


def _convert_in_processes(
    source: str, units: list[ImportUnit], jobs: int, problems: ProblemLog
) -> Iterator[tuple[ImportUnit, list[ExportTraceServiceRequest]]]:
    """Convert units in worker processes, yielding results in unit order.

    A bounded window of units is in flight, so memory stays at a few sessions' worth.
    """
    context = multiprocessing.get_context("spawn")  # no fork: the caller may run threads
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        window: deque[tuple[ImportUnit, Future[_WorkerResult]]] = deque()
        queued = iter(units)
        for unit in itertools.islice(queued, jobs * 2):
            window.append((unit, pool.submit(_convert_unit, source, unit)))
        while window:
            unit, future = window.popleft()
            payloads, unit_problems, duplicates = future.result()
            problems.problems.extend(unit_problems)
            problems.duplicates_skipped += duplicates
            following = next(queued, None)
            if following is not None:
                window.append((following, pool.submit(_convert_unit, source, following)))
            yield unit, [ExportTraceServiceRequest.FromString(data) for data in payloads]


_WorkerResult = tuple[list[bytes], list[Problem], int]


def _convert_unit(source: str, unit: ImportUnit) -> _WorkerResult:
    """Worker side: convert one unit; requests travel back serialized."""
    problems = ProblemLog()
    payloads = [r.SerializeToString() for r in get_importer(source).convert(unit, problems)]
    return payloads, problems.problems, problems.duplicates_skipped
