"""Ingest worker processes (``receivers.workers``): a worker that dies costs the requests in
flight a retryable 503, never an acknowledged span, and a new pool takes over."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import urllib.error
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "pipeline"))

from pipeline_helpers import build_request, collector_config, post_protobuf, tree_bytes, wait_rows

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
