from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agenttrace.collector.wal import Wal, WalLocked, iter_records, sealed_segments


async def _append_all(wal: Wal, payloads: list[bytes]) -> list[int]:
    return list(await asyncio.gather(*(wal.append(p) for p in payloads)))


async def test_group_commit_shares_fsyncs_and_orders_sequence_numbers(tmp_path: Path) -> None:
    wal = Wal.open(tmp_path, 1 << 20, 60)
    seqs = await _append_all(wal, [f"r{i}".encode() for i in range(200)])
    assert seqs == list(range(200))
    assert wal.fsyncs < 200  # concurrent appends were committed together
    await wal.close()
    (segment,) = sealed_segments(tmp_path / "segments")
    records = [(seq, payload) for seq, payload, _ in iter_records(segment)]
    assert records == [(i, f"r{i}".encode()) for i in range(200)]


async def test_rolls_on_size_and_time(tmp_path: Path) -> None:
    wal = Wal.open(tmp_path, 4096, 0.2)
    for _ in range(3):
        await wal.append(b"x" * 3000)  # each append after the first crosses 4096 bytes
    assert len(sealed_segments(tmp_path / "segments")) == 2
    await asyncio.sleep(0.25)
    assert await wal.roll_if_due()
    assert len(sealed_segments(tmp_path / "segments")) == 3
    await wal.close()


async def test_torn_tail_is_truncated_and_numbers_never_repeat(tmp_path: Path) -> None:
    wal = Wal.open(tmp_path, 1 << 20, 60)
    await _append_all(wal, [b"a", b"b", b"c"])
    active = next((tmp_path / "segments").glob("*.open"))
    wal.release()  # simulate a crash: the segment stays open
    with active.open("ab") as f:
        f.write(b"\x05\x00\x00\x00garbage")  # a record header cut short
    wal = Wal.open(tmp_path, 1 << 20, 60)
    (recovered,) = sealed_segments(tmp_path / "segments")
    assert [p for _, p, _ in iter_records(recovered)] == [b"a", b"b", b"c"]
    recovered.unlink()  # as if published
    wal2_seq = await wal.append(b"d")
    assert wal2_seq == 3
    await wal.close()
    (second,) = sealed_segments(tmp_path / "segments")
    assert second.name != recovered.name
    assert int(second.name.split(".")[0]) > int(recovered.name.split(".")[0])


def test_one_collector_per_wal_dir(tmp_path: Path) -> None:
    wal = Wal.open(tmp_path, 1 << 20, 60)
    with pytest.raises(WalLocked, match="in use"):
        Wal.open(tmp_path, 1 << 20, 60)
    wal.release()
    assert Wal.open(tmp_path, 1 << 20, 60).writer_id == wal.writer_id


def test_records_carry_zlibs_crc32_so_older_segments_stay_readable(tmp_path: Path) -> None:
    import zlib

    from agenttrace.collector.wal import RECORD_HEADER, SEQ, record_header

    payload = bytes(range(256)) * 300
    length, crc, seq = RECORD_HEADER.unpack(record_header(41, payload))
    assert (length, seq) == (len(payload), 41)
    assert crc == zlib.crc32(payload, zlib.crc32(SEQ.pack(41)))
