"""Turns sealed WAL segments into Parquet objects, then deletes them.

Runs in a child process by default (``wal.publisher: process``) so Arrow conversion and
Parquet encoding use the second core instead of competing with the receivers for the GIL;
``thread`` mode runs the same loop in-process. The publisher finds work by listing the WAL's
``segments/`` directory, so it needs no channel from the receivers, and it survives a crash of
either side: a sealed segment stays until every one of its chunks is published.

A segment is published in chunks of at most :data:`CHUNK_BYTES` of WAL payload. Chunk
boundaries depend only on the immutable segment contents, so after a crash the same chunk
gets the same object name (``<writer>-<segment>-<first seq>-<last seq>``) and the create-only
write turns the repeat into a no-op: no loss, no duplicate rows.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agenttrace.collector.wal import fsync_dir, iter_records, read_segment_header, sealed_segments

log = logging.getLogger("agenttrace.collector.publisher")

CHUNK_BYTES = 16 * 1024 * 1024
"""Fixed, not configurable: changing it while segments are pending would change object names.
16 MB of OTLP (about 12k spans) keeps the publisher process near 200 MB at its peak."""

CONVERT_BATCH_BYTES = 2 * 1024 * 1024

BACKOFF_INITIAL_S = 0.25
BACKOFF_MAX_S = 15.0
POLL_INTERVAL_S = 0.1

Event = dict[str, Any]


class _Flag(Protocol):
    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True)
class PublisherSettings:
    segments_dir: str
    store_url: str
    store_options: Mapping[str, str]
    writer_id: str
    log_level: str = "INFO"
    shard: int = 0  # with several publishers, this one takes segments number % shards == shard
    shards: int = 1


@dataclass(frozen=True)
class Chunk:
    first_seq: int
    last_seq: int
    payloads: list[memoryview]  # views of the mapped segment (see iter_records)


def iter_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Chunk]:
    payloads: list[memoryview] = []
    size, first = 0, -1
    last = -1
    for seq, payload, _end in iter_records(path):
        if not payloads:
            first = seq
        payloads.append(payload)
        size += len(payload)
        last = seq
        if size >= chunk_bytes:
            yield Chunk(first, last, payloads)
            payloads, size = [], 0
    if payloads:
        yield Chunk(first, last, payloads)


def chunk_to_table(payloads: Sequence[bytes | memoryview]) -> Any:
    """Convert a chunk in one native decode, or in sub-batches of :data:`CONVERT_BATCH_BYTES`
    if the native decoder is missing or declines part of it.

    The native result is compact and contiguous, so decoding the whole chunk at once saves
    the concatenation and a chunked gather when sorting. Conversion on the fallback path needs
    working memory several times the size of the Arrow result (Python objects); doing it a few
    requests at a time and concatenating the compact Arrow tables keeps the peak low.
    """
    import pyarrow as pa

    from agenttrace.store.convert import native_payloads_to_table, payloads_to_table

    table = native_payloads_to_table(payloads)
    if table is not None:
        return table
    tables = []
    batch: list[bytes | memoryview] = []
    size = 0
    for payload in payloads:
        batch.append(payload)
        size += len(payload)
        if size >= CONVERT_BATCH_BYTES:
            tables.append(payloads_to_table(batch))
            batch, size = [], 0
    if batch:
        tables.append(payloads_to_table(batch))
    return pa.concat_tables(tables)


class SegmentPublisher:
    """Publishes every sealed segment in ``segments_dir``; ``emit`` reports progress events."""

    def __init__(self, settings: PublisherSettings, emit: Callable[[Event], None]) -> None:
        from agenttrace.store.objectstore import open_store
        from agenttrace.store.writer import ParquetPublisher

        self.settings = settings
        self.segments_dir = Path(settings.segments_dir)
        self.emit = emit
        store = open_store(settings.store_url, options=dict(settings.store_options))
        store.remove_stale_temp_files()  # left by a writer killed mid-write
        self._publisher = ParquetPublisher(store, settings.writer_id)

    def publish_segment(self, path: Path) -> None:
        """Publish all chunks of one sealed segment, then delete it. Raises on store errors."""
        header = read_segment_header(path)
        if header is None:  # never written past the header: nothing to publish
            self._delete(path)
            return
        for chunk in iter_chunks(path):
            started = time.monotonic()
            table = chunk_to_table(chunk.payloads)
            result = self._publisher.publish(
                table, segment=header.number, first_seq=chunk.first_seq, last_seq=chunk.last_seq
            )
            files = len(result) if isinstance(result, (list, tuple)) else 1
            self.emit(
                {
                    "event": "published",
                    "segment": header.number,
                    "first_seq": chunk.first_seq,
                    "last_seq": chunk.last_seq,
                    "spans": table.num_rows,
                    "files": files,
                    "bytes": sum(len(p) for p in chunk.payloads),
                    "seconds": time.monotonic() - started,
                }
            )
        self._delete(path)

    def _delete(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        fsync_dir(path.parent)
        self.emit({"event": "deleted", "segment": path.name})

    def my_segments(self) -> list[Path]:
        shard, shards = self.settings.shard, self.settings.shards
        return [
            path
            for path in sealed_segments(self.segments_dir)
            if int(path.name.split(".")[0]) % shards == shard
        ]

    def publish_pending(self) -> int:
        """Publish every sealed segment of this shard present now, oldest first."""
        done = 0
        for path in self.my_segments():
            if path.exists():
                self.publish_segment(path)
                done += 1
        return done

    def run(self, stop: _Flag, drain: _Flag) -> None:
        """Loop until ``stop``; after ``drain`` is set, exit once nothing sealed is left."""
        from agenttrace.store.errors import StoreUnavailable

        backoff = BACKOFF_INITIAL_S
        while not stop.is_set():
            try:
                self.publish_pending()
            except StoreUnavailable as err:
                self.emit({"event": "error", "kind": "StoreUnavailable", "message": str(err)})
                stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            except Exception as err:  # a permanent store error or a bug: keep the WAL, retry
                log.exception("publishing failed")
                self.emit({"event": "error", "kind": type(err).__name__, "message": str(err)})
                stop.wait(BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_INITIAL_S
            if drain.is_set() and not self.my_segments():
                return
            stop.wait(POLL_INTERVAL_S)


def _child_main(argv: list[str]) -> None:
    """``python -m agenttrace.collector.publisher SETTINGS_JSON``: the publisher process.

    Protocol with the collector: commands ``drain``/``stop`` arrive as lines on stdin, and
    progress events leave as JSON lines on stdout. EOF on stdin means the collector is gone
    (even after kill -9), and the publisher exits: the next collector starts a fresh one.
    """
    # The collector decides when to stop: a Ctrl-C or SIGTERM sent to the process group must
    # not kill the publisher in the middle of a drain.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    settings = PublisherSettings(**json.loads(argv[0]))
    from agenttrace.collector.logs import configure_logging

    configure_logging(settings.log_level, "json")
    stop, drain = threading.Event(), threading.Event()
    out_lock = threading.Lock()

    def emit(event: Event) -> None:
        with out_lock:
            try:
                sys.stdout.write(json.dumps(event) + "\n")
                sys.stdout.flush()
            except (BrokenPipeError, ValueError):  # the collector is gone; stdin EOF follows
                stop.set()

    def read_commands() -> None:
        for line in sys.stdin:
            command = line.strip()
            if command == "drain":
                drain.set()
            elif command == "stop":
                break
        stop.set()

    threading.Thread(target=read_commands, daemon=True).start()
    SegmentPublisher(settings, emit).run(stop, drain)
    emit({"event": "exited"})


if __name__ == "__main__":
    _child_main(sys.argv[1:])
