"""Ingest worker processes (``receivers.workers`` > 1): decoding and processors off the GIL.

The receivers' event loop, the WAL and the acknowledgements stay in the collector process;
each worker process builds its own copy of the processors from the same config and returns,
per request, the bytes to log and the counts the collector reports. One Python process runs
its processors on one core at a time, and redaction makes that the ceiling; workers let the
other cores take part.

Only processors that keep no state across requests can run this way (the config check refuses
tail sampling, which holds spans until their trace is complete); forwarders stay in the
collector process and get the request re-read from the logged bytes.

Bodies reach the workers through shared memory: the collector copies a body into a free slot
and sends the slot's number, not the body. Pickled through the executor's pipe, a 700 KB body
cost the two sides 2.7 ms of CPU per request (pickling, pipe copies in and out, unpickling,
and the page faults of fresh buffers each time); through a slot, 0.7 ms, most of it the
executor's own bookkeeping. A body larger than a slot goes through the pipe as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory
from typing import Any

from agenttrace.collector._layout import PackedEdits, pack_edits
from agenttrace.collector.errors import CollectorError, WorkerLost

log = logging.getLogger("agenttrace.collector.pool")

# (type, name, options, key path) of one processor, as the config lists it.
ProcessorEntry = tuple[str, str, Mapping[str, Any], str]

SLOT_BYTES = 4 << 20
"""A body up to this size goes through shared memory. Only the pages a body touches become
resident, so a slot costs memory in proportion to the bodies it has held, not to this."""
MAX_SLOTS = 8
"""At most 32 MB of shared memory: a container's ``/dev/shm`` is often 64 MB, and a write
past a full one is a SIGBUS, not an error."""


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
_slots: list[SharedMemory] = []  # the pool's shared bodies, attached once per worker


def _start_worker(entries: Sequence[ProcessorEntry], slots_name: str | None) -> None:
    # The processors package registers every processor type; the service's imports (gRPC,
    # aiohttp) are left out to keep each worker small.
    import agenttrace.collector.processors  # noqa: F401
    from agenttrace.collector.processors._screen import share_scans
    from agenttrace.collector.processors.base import build_processor

    _processors[:] = [build_processor(*entry) for entry in entries]
    share_scans(_processors)
    _slots[:] = [] if slots_name is None else [SharedMemory(name=slots_name)]


def _ready() -> int:
    return os.getpid()


def _slot_view(slots: SharedMemory, slot: int, size: int) -> memoryview:
    start = slot * SLOT_BYTES
    buffer = slots.buf
    assert buffer is not None  # None only once closed
    return buffer[start : start + size]


def _prepare_slot(slot: int, size: int, fmt: str) -> Outcome:
    return _prepare(bytes(_slot_view(_slots[0], slot, size)), fmt)


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
        # One request running in each worker and one queued behind it, plus one being copied
        # in: more would only hold bodies that wait anyway.
        count = min(2 * workers + 1, MAX_SLOTS)
        # Created before the workers, and unlinked at shutdown; after a kill -9, the
        # multiprocessing resource tracker unlinks it.
        self._slots: SharedMemory | None = None
        try:
            self._slots = SharedMemory(create=True, size=count * SLOT_BYTES)
        except OSError as err:  # no /dev/shm: every body goes through the pipe
            log.warning("no shared memory for the ingest workers: %s", err)
            count = 0
        self._free_slots = list(range(count))
        self._slot_freed: asyncio.Semaphore | None = None  # made on the event loop
        self._executor = self._new_executor()
        # Latest cumulative counters per worker process and processor.
        self._metrics: dict[int, tuple[Mapping[str, float], ...]] = {}

    def _new_executor(self) -> ProcessPoolExecutor:
        # spawn: the collector process runs gRPC and other threads, which fork would copy.
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._entries, None if self._slots is None else self._slots.name),
        )

    async def start(self) -> None:
        """Start every worker now (importing and compiling the screens takes a second or two),
        so the first requests do not wait for it."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, _ready) for _ in range(self.workers))
        )

    async def prepare(self, body: bytes, fmt: str) -> Outcome:
        executor = self._executor
        try:
            outcome: Outcome
            if self._slots is None or len(body) > SLOT_BYTES:
                outcome = await asyncio.wrap_future(executor.submit(_prepare, body, fmt))
            else:
                outcome = await self._prepare_in_slot(executor, self._slots, body, fmt)
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

    async def _prepare_in_slot(
        self, executor: ProcessPoolExecutor, slots: SharedMemory, body: bytes, fmt: str
    ) -> Outcome:
        if self._slot_freed is None:
            self._slot_freed = asyncio.Semaphore(len(self._free_slots))
        freed = self._slot_freed
        await freed.acquire()
        slot = self._free_slots.pop()

        def release() -> None:
            self._free_slots.append(slot)
            freed.release()

        try:
            _slot_view(slots, slot, len(body))[:] = body
            future: Future[Outcome] = executor.submit(_prepare_slot, slot, len(body), fmt)
        except BaseException:
            release()
            raise
        loop = asyncio.get_running_loop()

        def on_done(_: Future[Outcome]) -> None:
            # Freed when the worker is done with it, not when this caller stops waiting: a
            # cancelled request's worker may still be reading the slot. A closed loop raises
            # RuntimeError, and then nothing will ask for a slot again.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(release)

        future.add_done_callback(on_done)
        return await asyncio.wrap_future(future)

    @property
    def shared_memory_name(self) -> str | None:
        """The name of the slots' shared memory block, ``None`` without one."""
        return None if self._slots is None else self._slots.name

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
        if self._slots is not None:
            self._slots.close()
            self._slots.unlink()


@dataclass
class PooledProcessorView:
    """What ``/metrics`` reads of a processor that runs in the workers."""

    name: str
    pool: IngestPool
    index: int

    def metrics(self) -> dict[str, float]:
        return self.pool.processor_metrics(self.index)
