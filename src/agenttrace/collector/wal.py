"""A segmented write-ahead log with group commit.

Layout of ``<wal dir>``::

    LOCK                      flock'ed by the one collector using this directory
    writer_id                 stable id of this WAL dir, part of every published object name
    state.json                {"next_segment": N, "next_seq": S}, rewritten at each seal
    segments/000000000007.open     the active segment (at most one)
    segments/000000000006.sealed   complete segments waiting to be published

A segment is a header (magic, segment number, creation time) followed by records::

    u32 length | u32 crc32(seq + payload) | u64 seq | payload (a serialized OTLP request)

Group commit: requests that arrive while an fsync is running are written together and share
the next fsync, which runs in a thread so the event loop keeps accepting. A request's future
resolves only after the fsync covering it, which is what makes acknowledgements durable.

Recovery: a torn or corrupt tail (a crash mid-write) is truncated, never fatal, and the
segment is sealed. Segment numbers never repeat (``state.json`` plus the files on disk), so
object names derived from them are unique forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import mmap
import os
import struct
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agenttrace.collector.errors import WalFailure

try:  # zlib's CRC-32, folded with carry-less multiplication: some 20 times faster
    from zlib_ng.zlib_ng import crc32
except ImportError:  # pragma: no cover - the collector extra installs it
    from zlib import crc32

log = logging.getLogger("agenttrace.collector.wal")

MAGIC = b"ATWAL001"
SEGMENT_HEADER = struct.Struct("<8sQd")  # magic, segment number, creation unix time
RECORD_HEADER = struct.Struct("<IIQ")  # payload length, crc32, seq
SEQ = struct.Struct("<Q")
OPEN_SUFFIX = ".open"
_IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024)
SEALED_SUFFIX = ".sealed"
_MAP_WINDOW = 16 * 1024 * 1024  # the publisher's chunk size: a chunk spans one or two windows


class WalLocked(RuntimeError):
    """Another process already uses this WAL directory."""


@dataclass(frozen=True)
class SegmentInfo:
    number: int
    path: Path
    created: float


def record_header(seq: int, payload: bytes) -> bytes:
    """The header that precedes ``payload`` on disk (kept apart to avoid copying payloads)."""
    crc = crc32(payload, crc32(SEQ.pack(seq)))
    return RECORD_HEADER.pack(len(payload), crc, seq)


def segment_path(segments_dir: Path, number: int, suffix: str) -> Path:
    return segments_dir / f"{number:012d}{suffix}"


def read_segment_header(path: Path) -> SegmentInfo | None:
    with path.open("rb") as f:
        raw = f.read(SEGMENT_HEADER.size)
    if len(raw) < SEGMENT_HEADER.size:
        return None
    magic, number, created = SEGMENT_HEADER.unpack(raw)
    return SegmentInfo(number, path, created) if magic == MAGIC else None


def iter_records(path: Path) -> Iterator[tuple[int, memoryview, int]]:
    """Yield ``(seq, payload, end_offset)`` for every intact record; stop at a torn tail.

    Payloads are read-only views of the memory-mapped segment: copying every payload out of
    the page cache into fresh memory cost more CPU than the CRC check. A view keeps its
    window of the mapping alive, so only the windows of records still in use stay resident.
    """
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        offset = SEGMENT_HEADER.size
        base = mapped_end = 0
        window = memoryview(b"")
        while offset + RECORD_HEADER.size <= size:
            start = offset + RECORD_HEADER.size
            if start > mapped_end:
                base, window = _map_window(f.fileno(), offset, start, size)
                mapped_end = base + len(window)
            length, crc, seq = RECORD_HEADER.unpack_from(window, offset - base)
            end = start + length
            if end > size:  # torn length field or payload
                return
            if end > mapped_end:
                base, window = _map_window(f.fileno(), offset, end, size)
                mapped_end = base + len(window)
            payload = window[start - base : end - base]
            if crc32(payload, crc32(SEQ.pack(seq))) != crc:
                return
            offset = end
            yield seq, payload, offset


def _map_window(fd: int, offset: int, needed: int, size: int) -> tuple[int, memoryview]:
    """Map at least ``offset..needed`` of the file, and up to :data:`_MAP_WINDOW` bytes more;
    returns the file offset where the mapping starts and a view of it."""
    base = offset - offset % mmap.ALLOCATIONGRANULARITY
    end = min(size, max(needed, base + _MAP_WINDOW))
    return base, memoryview(mmap.mmap(fd, end - base, access=mmap.ACCESS_READ, offset=base))


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sealed_segments(segments_dir: Path) -> list[Path]:
    return sorted(segments_dir.glob(f"*{SEALED_SUFFIX}"))


def wal_disk_usage(segments_dir: Path) -> tuple[int, float | None]:
    """Total bytes of all segments, and creation time of the oldest one (None when empty)."""
    total, oldest = 0, None
    with os.scandir(segments_dir) as entries:
        for entry in entries:
            try:
                total += entry.stat().st_size
            except FileNotFoundError:  # published and deleted meanwhile
                continue
            if oldest is None or entry.name < oldest:
                oldest = entry.name
    if oldest is None:
        return total, None
    try:
        info = read_segment_header(segments_dir / oldest)
    except FileNotFoundError:
        return total, None
    return total, info.created if info else None


class _ActiveSegment:
    """The open segment file; only touched from the flush thread under ``Wal._lock``."""

    def __init__(self, segments_dir: Path, number: int) -> None:
        self.number = number
        self.created = time.time()
        self.path = segment_path(segments_dir, number, OPEN_SUFFIX)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self.size = 0
        self.records = 0
        self._write(SEGMENT_HEADER.pack(MAGIC, number, self.created))
        os.fdatasync(self.fd)
        fsync_dir(segments_dir)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.size += len(data)

    def append(self, buffers: list[bytes], records: int) -> None:
        """Write ``buffers`` with gathered writes (no joining copy), then fdatasync."""
        for start in range(0, len(buffers), _IOV_MAX):
            group = buffers[start : start + _IOV_MAX]
            expected = sum(len(b) for b in group)
            written = os.writev(self.fd, group)
            self.size += written
            if written < expected:  # rare short write: finish it the simple way
                self._write(b"".join(group)[written:])
        os.fdatasync(self.fd)
        self.records += records

    def close(self) -> None:
        os.close(self.fd)


class Wal:
    """Append-only, fsync'ed, segmented log. Use :meth:`open`, then ``await append(...)``."""

    def __init__(
        self,
        directory: Path,
        writer_id: str,
        next_segment: int,
        next_seq: int,
        segment_max_bytes: int,
        roll_interval_s: float,
        lock_fd: int,
    ) -> None:
        self.directory = directory
        self.segments_dir = directory / "segments"
        self.writer_id = writer_id
        self.segment_max_bytes = segment_max_bytes
        self.roll_interval_s = roll_interval_s
        self._lock_fd = lock_fd
        self._next_segment = next_segment
        self._next_seq = next_seq
        self._active: _ActiveSegment | None = None
        self._pending: list[bytes] = []  # record headers and payloads, interleaved
        self._waiters: list[asyncio.Future[None]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        # After a failed write or fsync the file's state is unknown (and Linux may already
        # have dropped the dirty pages), so the WAL refuses all further appends.
        self.broken: str | None = None
        self.fsyncs = 0
        self.bytes_written = 0

    # -- opening and recovery -------------------------------------------------------------
    @classmethod
    def open(
        cls, directory: str | os.PathLike[str], segment_max_bytes: int, roll_interval_s: float
    ) -> Wal:
        root = Path(directory)
        segments_dir = root / "segments"
        segments_dir.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(root / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            os.close(lock_fd)
            raise WalLocked(f"WAL directory {root} is in use by another collector") from err
        writer_id = _load_writer_id(root)
        state = _load_state(root)
        next_segment, next_seq = state.get("next_segment", 0), state.get("next_seq", 0)
        for path in sorted(segments_dir.iterdir()):
            number = int(path.name.split(".")[0]) if path.name.split(".")[0].isdigit() else -1
            if number < 0:
                continue
            next_segment = max(next_segment, number + 1)
            if path.suffix == OPEN_SUFFIX:
                last_seq = _recover_open_segment(path)
                if last_seq is not None:
                    next_seq = max(next_seq, last_seq + 1)
        _write_state(root, next_segment, next_seq)
        fsync_dir(segments_dir)
        return cls(
            root, writer_id, next_segment, next_seq, segment_max_bytes, roll_interval_s, lock_fd
        )

    # -- appending ----------------------------------------------------------------------
    async def append(self, payload: bytes) -> int:
        """Append one record; returns its sequence number once it is fsync'ed."""
        if self.broken is not None:
            raise WalFailure(f"write-ahead log unavailable: {self.broken}")
        seq = self._next_seq
        self._next_seq += 1
        self._pending += (record_header(seq, payload), payload)
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_loop())
        await asyncio.shield(waiter)
        return seq

    async def _flush_loop(self) -> None:
        while self._pending:
            batch, waiters = self._pending, self._waiters
            self._pending, self._waiters = [], []
            size = sum(len(b) for b in batch)
            try:
                async with self._lock:
                    await asyncio.to_thread(self._write_batch, batch, size, len(waiters))
            except OSError as err:
                log.error("wal write failed", extra={"error": str(err)})
                self.broken = str(err)
                failure = WalFailure(f"write-ahead log write failed: {err.strerror}")
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(failure)
                continue
            self.fsyncs += 1
            self.bytes_written += size
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def _write_batch(self, batch: list[bytes], size: int, records: int) -> None:
        active = self._active
        if active is not None and self._roll_due(active, size):
            self._seal_active()
            active = None
        if active is None:
            active = self._active = self._open_segment()
        active.append(batch, records)

    def _roll_due(self, active: _ActiveSegment, incoming: int = 0) -> bool:
        if active.records == 0:
            return False
        too_big = active.size + incoming > self.segment_max_bytes
        return too_big or time.time() - active.created >= self.roll_interval_s

    def _open_segment(self) -> _ActiveSegment:
        number = self._next_segment
        self._next_segment += 1
        return _ActiveSegment(self.segments_dir, number)

    def _seal_active(self) -> None:
        active = self._active
        if active is None:
            return
        self._active = None
        active.close()
        if active.records == 0:
            active.path.unlink()
            return
        # State first: if we crash before the rename, recovery seals the .open file anyway.
        _write_state(self.directory, self._next_segment, self._next_seq)
        active.path.rename(segment_path(self.segments_dir, active.number, SEALED_SUFFIX))
        fsync_dir(self.segments_dir)

    async def roll_if_due(self) -> bool:
        """Seal the active segment if it is old or big enough (called by a timer)."""
        async with self._lock:
            active = self._active
            if active is None or not self._roll_due(active):
                return False
            await asyncio.to_thread(self._seal_active)
            return True

    async def close(self) -> None:
        """Flush pending appends, seal the active segment and release the directory."""
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        async with self._lock:
            await asyncio.to_thread(self._seal_active)
        self.release()

    def release(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def disk_usage(self) -> tuple[int, float | None]:
        return wal_disk_usage(self.segments_dir)


def _load_writer_id(root: Path) -> str:
    path = root / "writer_id"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    writer_id = uuid.uuid4().hex[:16]  # random: two WAL dirs never share an id
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="ascii") as f:
        f.write(writer_id)
        f.flush()
        os.fsync(f.fileno())
    tmp.rename(path)
    fsync_dir(root)
    return writer_id


def _load_state(root: Path) -> dict[str, int]:
    try:
        data = json.loads((root / "state.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return {k: int(v) for k, v in data.items() if k in ("next_segment", "next_seq")}


def _write_state(root: Path, next_segment: int, next_seq: int) -> None:
    tmp = root / "state.json.tmp"
    with tmp.open("w", encoding="utf-8") as f:
        json.dump({"next_segment": next_segment, "next_seq": next_seq}, f)
        f.flush()
        os.fsync(f.fileno())
    tmp.rename(root / "state.json")
    fsync_dir(root)


def _recover_open_segment(path: Path) -> int | None:
    """Truncate a torn tail, seal the segment; returns its last seq (None if it was empty)."""
    end, last_seq = SEGMENT_HEADER.size, None
    if read_segment_header(path) is not None:
        for seq, _payload, offset in iter_records(path):
            end, last_seq = offset, seq
    if last_seq is None:
        path.unlink()
        return None
    with path.open("r+b") as f:
        if f.seek(0, os.SEEK_END) != end:
            log.warning("truncating torn WAL tail", extra={"segment": path.name, "at": end})
            f.truncate(end)
        f.flush()
        os.fsync(f.fileno())
    path.rename(path.with_suffix(SEALED_SUFFIX))
    return last_seq
