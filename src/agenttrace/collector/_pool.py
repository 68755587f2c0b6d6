"""Ingest worker processes (``receivers.workers`` > 1): decoding and processors off the GIL.

The receivers' event loop, the WAL and the acknowledgements stay in the collector process;
each worker process builds its own copy of the processors from the same config and returns,
per request, the bytes to log and the counts the collector reports. One Python process runs
its processors on one core at a time, and redaction makes that the ceiling; workers let the
other cores take part.

Only processors that keep no state across requests can run this way (the config check refuses
tail sampling, which holds spans until their trace is complete); forwarders stay in the
collector process and get the request re-read from the logged bytes.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from agenttrace.collector._layout import PackedEdits, pack_edits
from agenttrace.collector.errors import CollectorError, WorkerLost

# (type, name, options, key path) of one processor, as the config lists it.
ProcessorEntry = tuple[str, str, Mapping[str, Any], str]


class WorkerFailure(RuntimeError):
    """A processor raised something other than a collector error in a worker."""


@dataclass(frozen=True)
class Outcome:
    """What the collector needs back from a worker for one request (picklable)."""

    payload: bytes | None  # None: nothing left to store, ``unchanged``, or see ``edits``
    unchanged: bool  # store the received body as it is (not sent back across the pipe)
    edits: PackedEdits | None  # store the received body with these edits (smaller than the result)
    spans: int
    rejected: int
    message: str
    kept: int
    pid: int
    processor_metrics: tuple[Mapping[str, float], ...]


_processors: list[Any] = []


def _start_worker(entries: Sequence[ProcessorEntry]) -> None:
    # The processors package registers every processor type; the service's imports (gRPC,
    # aiohttp) are left out to keep each worker small.
    import agenttrace.collector.processors  # noqa: F401
    from agenttrace.collector.processors.base import build_processor

    _processors[:] = [build_processor(*entry) for entry in entries]


def _ready() -> int:
    return os.getpid()


def _prepare(body: bytes, fmt: str) -> Outcome:
    from agenttrace.collector.ingest import prepare_request

    try:
        prepared = prepare_request(body, fmt, _processors)
    except CollectorError:
        raise
    except Exception as err:  # the original may not survive pickling back
        raise WorkerFailure(f"{type(err).__name__}: {err}") from None
    unchanged = prepared.payload is body
    payload = None if unchanged or prepared.edits is not None else prepared.payload
    result = prepared.result
    metrics = tuple(dict(p.metrics()) if hasattr(p, "metrics") else {} for p in _processors)
    return Outcome(
        payload,
        unchanged,
        None if prepared.edits is None else pack_edits(prepared.edits),
        prepared.spans,
        result.rejected_spans,
        result.message,
        prepared.kept,
        os.getpid(),
        metrics,
    )


class IngestPool:
    """``workers`` processes that each run :func:`_prepare`; restarted if one dies."""

    def __init__(self, workers: int, entries: Sequence[ProcessorEntry]) -> None:
        self.workers = workers
        self._entries = list(entries)
        self._executor = self._new_executor()
        # Latest cumulative counters per worker process and processor.
        self._metrics: dict[int, tuple[Mapping[str, float], ...]] = {}

    def _new_executor(self) -> ProcessPoolExecutor:
        # spawn: the collector process runs gRPC and other threads, which fork would copy.
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._entries,),
        )

    async def start(self) -> None:
        """Start every worker now (importing and compiling the screens takes a second or two),
        so the first requests do not wait for it."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, _ready) for _ in range(self.workers))
        )

    async def prepare(self, body: bytes, fmt: str) -> Outcome:
        loop = asyncio.get_running_loop()
        executor = self._executor
        try:
            outcome: Outcome = await loop.run_in_executor(executor, _prepare, body, fmt)
        except BrokenProcessPool:
            # A worker died (killed for memory, say): requests in flight are refused as
            # retryable and a new pool takes over (started by the first request to notice).
            if executor is self._executor:
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()
                self._metrics.clear()
                await self.start()
            raise WorkerLost("an ingest worker process died; retry") from None
        self._metrics[outcome.pid] = outcome.processor_metrics
        return outcome

    def pids(self) -> list[int]:
        processes = getattr(self._executor, "_processes", None) or {}
        return list(processes)

    def processor_metrics(self, index: int) -> dict[str, float]:
        """Processor ``index``'s counters, summed over the workers."""
        total: dict[str, float] = {}
        for per_worker in self._metrics.values():
            for key, value in per_worker[index].items():
                total[key] = total.get(key, 0.0) + value
        return total

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


@dataclass
class PooledProcessorView:
    """What ``/metrics`` reads of a processor that runs in the workers."""

    name: str
    pool: IngestPool
    index: int

    def metrics(self) -> dict[str, float]:
        return self.pool.processor_metrics(self.index)
