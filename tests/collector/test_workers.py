"""Ingest worker processes (``receivers.workers``): a worker that dies costs the requests in
flight a retryable 503, never an acknowledged span, and a new pool takes over."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.error
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "pipeline"))

from pipeline_helpers import (
    EMAIL,
    build_request,
    collector_config,
    post_protobuf,
    tree_bytes,
    wait_rows,
)

from agenttrace.collector._layout import apply_edits
from agenttrace.collector._pool import SLOT_BYTES
from agenttrace.collector.ingest import prepare_request
from agenttrace.collector.processors.base import build_processor
from agenttrace.collector.service import Collector


def _post(url: str, span_id: int) -> int:
    body = build_request([{"span_id": span_id, "name": f"s{span_id}"}]).SerializeToString()
    try:
        return post_protobuf(url, body)
    except urllib.error.HTTPError as err:
        return err.code


async def test_a_killed_worker_is_replaced_and_no_acknowledged_span_is_lost(
    tmp_path: Path,
) -> None:
    collector = Collector(collector_config(tmp_path, 0.2, [{"type": "redaction"}], workers=2))
    await collector.start()
    try:
        assert collector.ingest is not None
        assert collector.ingest.pool is not None
        url = f"{collector.endpoints.http}/v1/traces"
        assert await asyncio.to_thread(_post, url, 1) == 200
        os.kill(collector.ingest.pool.pids()[0], signal.SIGKILL)
        await asyncio.sleep(0.5)  # the executor notices a dead worker within milliseconds
        statuses = [await asyncio.to_thread(_post, url, n) for n in range(2, 8)]
        # The request that met the broken pool was refused as retryable; then it recovered.
        assert statuses[0] == 503
        assert set(statuses) <= {200, 503}
        assert statuses[-1] == 200
        acknowledged = {1} | {n for n, s in zip(range(2, 8), statuses, strict=True) if s == 200}
        assert len(collector.ingest.pool.pids()) == 2
    finally:
        await collector.shutdown()
    rows = await wait_rows(tmp_path / "store", len(acknowledged))
    assert {int(span_id, 16) for span_id in rows} == acknowledged


async def test_a_request_no_processor_changed_is_logged_as_received(tmp_path: Path) -> None:
    """The worker does not send unchanged bytes back; the collector logs its own copy."""
    collector = Collector(collector_config(tmp_path, 30.0, [{"type": "limits"}], workers=2))
    await collector.start()
    try:
        body = build_request([{"span_id": 9, "name": "kept as sent"}]).SerializeToString()
        url = f"{collector.endpoints.http}/v1/traces"
        assert await asyncio.to_thread(post_protobuf, url, body) == 200
        assert body in await asyncio.to_thread(tree_bytes, tmp_path / "wal")
    finally:
        await collector.shutdown()
    assert set(await wait_rows(tmp_path / "store", 1)) == {f"{9:016x}"}


async def test_a_redacted_request_comes_back_as_edits_of_the_received_body(
    tmp_path: Path,
) -> None:
    """Redaction splices the spans it changed; the worker sends only those edits and the
    collector applies them to its own copy of the body: the WAL and the store hold the
    redacted request, with every untouched span as it was."""
    collector = Collector(collector_config(tmp_path, 30.0, [{"type": "redaction"}], workers=2))
    await collector.start()
    spans = [
        {"span_id": n, "name": f"step {n}", "attributes": {"note": f"n{n}"}} for n in range(1, 41)
    ]
    spans[2]["attributes"] = {"note": f"mail {EMAIL} now", "gen_ai.input.messages": "[]"}
    try:
        body = build_request(spans).SerializeToString()
        url = f"{collector.endpoints.http}/v1/traces"
        assert await asyncio.to_thread(post_protobuf, url, body) == 200
        logged = await asyncio.to_thread(tree_bytes, tmp_path / "wal")
        assert EMAIL.encode() not in logged
        assert b"mail [REDACTED:email] now" in logged
    finally:
        await collector.shutdown()
    rows = await wait_rows(tmp_path / "store", 40)
    redacted = json.loads(rows[f"{3:016x}"]["attributes"])
    assert redacted["note"] == "mail [REDACTED:email] now"
    assert redacted["agenttrace.redaction.count"] == 1
    assert json.loads(rows[f"{4:016x}"]["attributes"]) == {"note": "n4"}
    # What the worker sent back: edits of the body, much smaller than the request; with
    # normalize splicing first too (the schema URL), edits of the body still.
    for types in (["redaction"], ["normalize", "redaction", "limits"]):
        processors = [build_processor(t, t, {}, f"processors[{n}]") for n, t in enumerate(types)]
        prepared = prepare_request(body, "protobuf", processors)
        assert prepared.edits is not None
        assert prepared.payload is not None
        assert apply_edits(body, prepared.edits) == prepared.payload
        assert sum(len(replacement) for _, _, replacement in prepared.edits) < len(body) / 10


def _shared_memory_exists(name: str) -> bool:
    return Path("/dev/shm", name.lstrip("/")).exists()  # where Linux keeps POSIX shared memory


async def test_bodies_in_shared_memory_and_through_the_pipe_are_both_redacted(
    tmp_path: Path,
) -> None:
    """A body that fits a shared-memory slot and one larger than a slot (sent through the
    executor's pipe) come out alike; the pool's shared memory is gone after shutdown."""
    collector = Collector(collector_config(tmp_path, 30.0, [{"type": "redaction"}], workers=2))
    await collector.start()
    filler = "x" * 4096
    large = [
        {"span_id": n, "name": f"big {n}", "attributes": {"note": f"mail {EMAIL}", "pad": filler}}
        for n in range(1, (SLOT_BYTES // 4096) + 50)
    ]
    small = [{"span_id": 1 << 40, "name": "small", "attributes": {"note": f"mail {EMAIL}"}}]
    try:
        assert collector.ingest is not None
        assert collector.ingest.pool is not None
        slots = collector.ingest.pool.shared_memory_name
        assert slots is not None
        assert _shared_memory_exists(slots)
        url = f"{collector.endpoints.http}/v1/traces"
        for spans in (large, small):
            body = build_request(spans).SerializeToString()
            assert (len(body) > SLOT_BYTES) == (spans is large)
            assert await asyncio.to_thread(post_protobuf, url, body) == 200
        logged = await asyncio.to_thread(tree_bytes, tmp_path / "wal")
        assert EMAIL.encode() not in logged
        assert logged.count(b"mail [REDACTED:email]") == len(large) + 1
    finally:
        await collector.shutdown()
    assert not _shared_memory_exists(slots)
